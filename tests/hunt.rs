//! The hunt-group SLP (`slp-guests/hunt`): its scenario scripts in isolation
//! (virtual time, 15 s ring time), and the same behaviour over real
//! WebSockets with a caller and scripted agents and a 1 s ring time. The
//! agent `ghost` is configured but never connects, so every hunt past agent1
//! also skips an offline agent.

mod common;

use common::{Client, guest, request, response, start, upload};
use serde_json::{Value, json};
use slp_host::scenario::{self, Options, Script};
use slp_host::server::Server;

/// Every script in `slp-guests/hunt/scenarios/`, with `hunt-test.toml`, as
/// `slp-host test` runs them.
#[test]
fn scenario_scripts_pass_in_isolation() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../slp-guests/hunt");
    let mut files: Vec<_> = std::fs::read_dir(dir.join("scenarios"))
        .expect("scenarios")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 7, "{files:?}");
    let scripts: Vec<Script> =
        files.iter().map(|f| Script::load(f).unwrap_or_else(|e| panic!("{e}"))).collect();
    let config = std::fs::read_to_string(dir.join("hunt-test.toml")).expect("hunt-test.toml");
    let options = Options { config_toml: Some(config), ..Options::default() };
    let report = scenario::run_isolated(&guest("hunt"), &scripts, &options);
    assert!(report.passed(), "\n{report}");
}

const CONFIG: &str = r#"
[jsip]
pr_timer = "30s"
[slps.hunt.config]
agents = ["agent1", "ghost", "agent2"]
ring_seconds = 1
"#;

/// The service number: the first label `hunt` selects the SLP (spec §9.2).
const SERVICE: &str = "sales@hunt.example.com";

struct Call {
    server: Server,
    _root: common::TempRoot,
    caller: Client,
    agent1: Client,
    agent2: Client,
    /// The caller's INVITE.
    invite: Value,
}

/// A server with the hunt SLP loaded, three connected users, and a call placed.
async fn place_call(tag: &str) -> Call {
    let (server, root) = start(tag, CONFIG).await;
    let (status, r) = upload(server.api_addr, "hunt", &guest("hunt")).await;
    assert_eq!(status, 201, "{r}");
    let agent1 = Client::connect(server.rtc_addr, "agent1").await;
    let agent2 = Client::connect(server.rtc_addr, "agent2").await;
    let mut caller = Client::connect(server.rtc_addr, "caller").await;
    let mut invite = request("INVITE", SERVICE, "caller", SERVICE, "call-1", 1);
    invite["Body"] = json!({"sdp": "caller offer"});
    caller.send(invite.clone()).await;
    Call { server, _root: root, caller, agent1, agent2, invite }
}

/// The agent's next message must be an INVITE carrying the caller's offer.
async fn rung(agent: &mut Client) -> Value {
    let inv = agent.recv().await;
    assert_eq!(inv["Type"], "INVITE", "{inv}");
    assert_eq!(
        (inv["From"].as_str(), inv["To"].as_str()),
        (Some("caller"), Some(agent.userid.as_str())),
        "{inv}"
    );
    assert_eq!(inv["Body"]["sdp"], "caller offer");
    inv
}

/// The agent gets the CANCEL of an unanswered INVITE and completes it like a
/// phone would: 200 to the CANCEL, 487 to the INVITE, then the stack's ACK.
async fn cancelled(agent: &mut Client, inv: &Value) {
    let c = agent.recv().await;
    assert_eq!((c["Type"].as_str(), &c["RelatedID"]), (Some("CANCEL"), &inv["CSeq"]), "{c}");
    agent.send(response(&c, 200)).await;
    agent.send(response(inv, 487)).await;
    let a = agent.recv().await;
    assert_eq!(a["Type"], "ACK", "the stack ACKs the 487: {a}");
}

/// The agent answers with its SDP; the caller gets the 200 with it and ACKs;
/// the agent gets the ACK of its 200.
async fn answer(call: &mut Call, agent_inv: &Value, which: usize) {
    let mut ok = response(agent_inv, 200);
    ok["Body"] = json!({"sdp": "agent answer"});
    let agent = if which == 1 { &mut call.agent1 } else { &mut call.agent2 };
    agent.send(ok).await;
    let got = call.caller.recv().await;
    assert_eq!((got["Code"].as_u64(), &got["CSeq"]), (Some(200), &call.invite["CSeq"]), "{got}");
    assert_eq!(got["Body"]["sdp"], "agent answer");
    let mut ack = request("ACK", SERVICE, "caller", SERVICE, "call-1", 2);
    ack["RelatedID"] = json!(1);
    call.caller.send(ack).await;
    let agent = if which == 1 { &mut call.agent1 } else { &mut call.agent2 };
    let a = agent.recv().await;
    assert_eq!((a["Type"].as_str(), &a["RelatedID"]), (Some("ACK"), &agent_inv["CSeq"]), "{a}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_agent_answers_and_the_callers_bye_reaches_it() {
    let mut call = place_call("hunt-first").await;
    let inv = rung(&mut call.agent1).await;
    // A provisional answer is relayed.
    call.agent1.send(response(&inv, 180)).await;
    let ringing = call.caller.recv().await;
    assert_eq!((ringing["Code"].as_u64(), ringing["DialogueID"].as_str()), (Some(180), Some("call-1")));
    answer(&mut call, &inv, 1).await;
    // The caller hangs up: the stack answers it, the agent gets a BYE.
    call.caller.send(request("BYE", SERVICE, "caller", SERVICE, "call-1", 3)).await;
    assert_eq!(call.caller.recv().await["Code"], 200);
    let bye = call.agent1.recv().await;
    assert_eq!((bye["Type"].as_str(), &bye["DialogueID"]), (Some("BYE"), &inv["DialogueID"]), "{bye}");
    call.agent1.send(response(&bye, 200)).await;
    call.agent2.expect_silence(std::time::Duration::from_millis(300)).await;
    // The agent's 200 reaches the SLP's BYE transaction, although neither
    // DialogueID is bound any more (spec §5.7, §9.5): the session ends now,
    // not when the BYE would have timed out (32 s), and nothing is dropped.
    let api = call.server.api_addr;
    let five_s = std::time::Duration::from_secs(5);
    common::state_until(api, five_s, "the session outlived its last transaction", |s| s["sessions"] == 0)
        .await;
    let (_, _, body) = common::http(api, "GET", "/metrics", &[], b"").await;
    let body = String::from_utf8(body).expect("metrics are text");
    for sample in [
        "slp_host_dropped_messages_total{reason=\"no_transaction\"} 0",
        "slp_host_transaction_timeouts_total{role=\"client\",method=\"BYE\"} 0",
    ] {
        assert!(body.contains(sample), "{sample}\n{body}");
    }
    call.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_invites_are_relayed_both_ways_and_the_agents_bye_reaches_the_caller() {
    let mut call = place_call("hunt-reinvite").await;
    let inv = rung(&mut call.agent1).await;
    answer(&mut call, &inv, 1).await;

    // Caller → agent re-INVITE, with a new offer; the answer and the ACK come back.
    let mut re = request("INVITE", SERVICE, "caller", SERVICE, "call-1", 4);
    re["Body"] = json!({"sdp": "hold"});
    call.caller.send(re.clone()).await;
    let copy = call.agent1.recv().await;
    assert_eq!((copy["Type"].as_str(), &copy["DialogueID"]), (Some("INVITE"), &inv["DialogueID"]), "{copy}");
    assert_eq!(copy["Body"]["sdp"], "hold");
    let mut ok = response(&copy, 200);
    ok["Body"] = json!({"sdp": "held"});
    call.agent1.send(ok).await;
    let got = call.caller.recv().await;
    assert_eq!(
        (got["Code"].as_u64(), got["CSeq"].as_u64(), &got["Body"]["sdp"]),
        (Some(200), Some(4), &json!("held"))
    );
    let mut ack = request("ACK", SERVICE, "caller", SERVICE, "call-1", 5);
    ack["RelatedID"] = json!(4);
    call.caller.send(ack).await;
    let a = call.agent1.recv().await;
    assert_eq!((a["Type"].as_str(), &a["RelatedID"]), (Some("ACK"), &copy["CSeq"]), "{a}");

    // Agent → caller re-INVITE.
    let mut re = request("INVITE", "caller", "caller", "agent1", inv["DialogueID"].as_str().unwrap(), 7);
    re["Body"] = json!({"sdp": "resume"});
    call.agent1.send(re).await;
    let copy = call.caller.recv().await;
    assert_eq!(
        (copy["Type"].as_str(), copy["DialogueID"].as_str()),
        (Some("INVITE"), Some("call-1")),
        "{copy}"
    );
    assert_eq!(copy["Body"]["sdp"], "resume");
    call.caller.send(response(&copy, 200)).await;
    let got = call.agent1.recv().await;
    assert_eq!((got["Code"].as_u64(), got["CSeq"].as_u64()), (Some(200), Some(7)), "{got}");
    let mut ack = request("ACK", "caller", "caller", "agent1", inv["DialogueID"].as_str().unwrap(), 8);
    ack["RelatedID"] = json!(7);
    call.agent1.send(ack).await;
    let a = call.caller.recv().await;
    assert_eq!((a["Type"].as_str(), &a["RelatedID"]), (Some("ACK"), &copy["CSeq"]), "{a}");

    // The agent hangs up: the caller gets the BYE.
    call.agent1
        .send(request("BYE", "caller", "caller", "agent1", inv["DialogueID"].as_str().unwrap(), 9))
        .await;
    assert_eq!(call.agent1.recv().await["Code"], 200);
    let bye = call.caller.recv().await;
    assert_eq!((bye["Type"].as_str(), bye["DialogueID"].as_str()), (Some("BYE"), Some("call-1")), "{bye}");
    call.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_that_does_not_answer_in_time_is_cancelled_and_the_next_answers() {
    let mut call = place_call("hunt-timeout").await;
    let inv1 = rung(&mut call.agent1).await;
    call.agent1.send(response(&inv1, 180)).await;
    assert_eq!(call.caller.recv().await["Code"], 180);
    // No answer within ring_seconds: cancelled; `ghost` is offline; agent2 rings.
    cancelled(&mut call.agent1, &inv1).await;
    let inv2 = rung(&mut call.agent2).await;
    assert_ne!(inv2["DialogueID"], inv1["DialogueID"], "each agent gets its own leg");
    answer(&mut call, &inv2, 2).await;
    call.agent1.expect_silence(std::time::Duration::from_millis(300)).await;
    call.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_agent_is_skipped_and_the_caller_gets_480_when_nobody_answers() {
    let mut call = place_call("hunt-480").await;
    let inv1 = rung(&mut call.agent1).await;
    call.agent1.send(response(&inv1, 486)).await;
    assert_eq!(call.agent1.recv().await["Type"], "ACK", "the stack ACKs the 486");
    let inv2 = rung(&mut call.agent2).await;
    cancelled(&mut call.agent2, &inv2).await;
    let last = call.caller.recv().await;
    assert_eq!((last["Code"].as_u64(), last["CSeq"].as_u64()), (Some(480), Some(1)), "{last}");
    assert_eq!(last["Reason"], "no agent answered");
    call.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_cancel_cancels_the_ringing_agent() {
    let mut call = place_call("hunt-cancel").await;
    let inv = rung(&mut call.agent1).await;
    let mut c = request("CANCEL", SERVICE, "caller", SERVICE, "call-1", 2);
    c["RelatedID"] = json!(1);
    call.caller.send(c).await;
    let codes = [call.caller.recv().await["Code"].clone(), call.caller.recv().await["Code"].clone()];
    assert_eq!(codes, [json!(200), json!(487)]);
    cancelled(&mut call.agent1, &inv).await;
    call.agent2.expect_silence(std::time::Duration::from_millis(1500)).await;
    call.server.stop().await;
}
