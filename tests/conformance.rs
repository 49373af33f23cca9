//! The conformance SLP of spec §16 driven over real WebSockets, as a gortc
//! client suite would. Timers are shortened (trans 1 s, pr 3 s), so every
//! case here finishes within a few seconds; the two cases that need 30 s or
//! more (Send_INVITE, Send_INVITE_Session_Timeout) are covered by the stack
//! tests in host/jsip/tests/stack_conformance.rs.

mod common;

use std::time::{Duration, Instant};

use common::{Client, request, response, start};
use serde_json::{Value, json};

/// A request to the conformance SLP (selected by `type`), case = Request-URI.
fn case(ty: &str, case: &str, from: &str, d: &str, cseq: u64) -> Value {
    let mut m = request(ty, case, from, "svc", d, cseq);
    m["Router"] = json!("svc.example.org;type=conformance");
    m
}

fn ack_for(d: &str, from: &str, invite_cseq: u64, cseq: u64) -> Value {
    let mut a = request("ACK", "svc", from, "svc", d, cseq);
    a["RelatedID"] = json!(invite_cseq);
    a
}

async fn client(server: &slp_host::server::Server, user: &str) -> Client {
    Client::connect(server.rtc_addr, user).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_case_and_recv_message() {
    let (server, _root) = start("conf-basic", "").await;
    let mut c = client(&server, "u1").await;
    c.send(case("MESSAGE", "Nope", "u1", "k-1", 1)).await;
    assert_eq!(c.recv().await["Code"], 404);
    c.send(case("MESSAGE", "Recv_MESSAGE", "u1", "k-2", 1)).await;
    assert_eq!(c.recv().await["Code"], 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_error_cases_answer_200_only() {
    let (server, _root) = start("conf-errors", "").await;
    let mut c = client(&server, "u2").await;
    for (i, name) in [
        "Send_Error_Msg",
        "Send_BYE_481",
        "Send_ACK_No_Session",
        "Send_CANCEL_No_Session",
        "Send_Resp_No_Session",
        "Send_UPDATE_No_Session",
    ]
    .iter()
    .enumerate()
    {
        c.send(case("MESSAGE", name, "u2", &format!("e-{i}"), 1)).await;
        assert_eq!(c.recv().await["Code"], 200, "{name}");
    }
    c.expect_silence(Duration::from_millis(500)).await;
    // None of them trapped (a trap would be counted against the version).
    let (_, list) = common::api_json(server.api_addr, "GET", "/slpm/v1/conformance").await;
    assert_eq!(list["versions"][0]["traps_total"], 0, "{list}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recv_invite_full_uas_flow() {
    let (server, _root) = start("conf-recv-invite", "").await;
    let mut c = client(&server, "u3").await;
    c.send(case("INVITE", "Recv_INVITE", "u3", "i-1", 1)).await;
    assert_eq!(c.recv().await["Code"], 180);
    c.send(request("PRACK", "svc", "u3", "svc", "i-1", 2)).await;
    let prack_ok = c.recv().await;
    assert_eq!((prack_ok["Code"].as_u64(), prack_ok["CSeq"].as_u64()), (Some(200), Some(2)));
    let update = c.recv().await;
    assert_eq!((update["Type"].as_str(), update["From"].as_str()), (Some("UPDATE"), Some("u3")));
    c.send(response(&update, 200)).await;
    let invite_ok = c.recv().await;
    assert_eq!((invite_ok["Code"].as_u64(), invite_ok["CSeq"].as_u64()), (Some(200), Some(1)));
    c.send(ack_for("i-1", "u3", 1, 3)).await;
    // A refresh UPDATE is answered by the stack; a re-INVITE by the SLP; BYE by the stack.
    c.send(request("UPDATE", "svc", "u3", "svc", "i-1", 4)).await;
    assert_eq!(c.recv().await["Code"], 200);
    c.send(request("INVITE", "svc", "u3", "svc", "i-1", 5)).await;
    let reinvite_ok = c.recv().await;
    assert_eq!((reinvite_ok["Code"].as_u64(), reinvite_ok["CSeq"].as_u64()), (Some(200), Some(5)));
    c.send(request("BYE", "svc", "u3", "svc", "i-1", 6)).await;
    let bye_ok = c.recv().await;
    assert_eq!((bye_ok["Code"].as_u64(), bye_ok["CSeq"].as_u64()), (Some(200), Some(6)));
    c.expect_silence(Duration::from_millis(300)).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recv_cancel_and_wrong_related_id() {
    let (server, _root) = start("conf-recv-cancel", "").await;
    let mut c = client(&server, "u4").await;
    c.send(case("INVITE", "Recv_CANCEL", "u4", "c-1", 1)).await;
    let mut cancel = request("CANCEL", "svc", "u4", "svc", "c-1", 2);
    cancel["RelatedID"] = json!(1);
    c.send(cancel).await;
    let first = c.recv().await;
    let second = c.recv().await;
    assert_eq!((first["Code"].as_u64(), first["CSeq"].as_u64()), (Some(200), Some(2)), "CANCEL_200 first");
    assert_eq!((second["Code"].as_u64(), second["CSeq"].as_u64()), (Some(487), Some(1)), "then INVITE_487");
    c.send(ack_for("c-1", "u4", 1, 3)).await;
    // A CANCEL with a wrong RelatedID gets 481 and nothing else.
    c.send(case("INVITE", "Recv_CANCEL", "u4", "c-2", 1)).await;
    let mut cancel = request("CANCEL", "svc", "u4", "svc", "c-2", 2);
    cancel["RelatedID"] = json!(99);
    c.send(cancel).await;
    assert_eq!(c.recv().await["Code"], 481);
    c.expect_silence(Duration::from_millis(300)).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_recv_invite_and_recv_message() {
    let (server, _root) = start("conf-timeouts", "").await;
    let mut c = client(&server, "u5").await;
    let t0 = Instant::now();
    c.send(case("MESSAGE", "Recv_MESSAGE_Timeout", "u5", "t-1", 1)).await;
    c.send(case("INVITE", "Recv_INVITE_Timeout", "u5", "t-2", 1)).await;
    let a = c.recv().await;
    assert_eq!((a["Code"].as_u64(), a["DialogueID"].as_str()), (Some(408), Some("t-1")), "trans_timer 1 s");
    let b = c.recv().await;
    assert_eq!(
        (b["Code"].as_u64(), b["DialogueID"].as_str(), b["Reason"].as_str()),
        (Some(408), Some("t-2"), Some("timeout"))
    );
    assert!(t0.elapsed() >= Duration::from_secs(3), "INVITE_408 comes after pr_timer (3 s)");
    c.send(ack_for("t-2", "u5", 1, 2)).await;
    c.expect_silence(Duration::from_millis(300)).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recv_invite_session_timeout_sends_bye_after_the_interval() {
    let (server, _root) = start("conf-session", "").await;
    let mut c = client(&server, "u6").await;
    let mut inv = case("INVITE", "Recv_INVITE_Session_Timeout", "u6", "s-1", 1);
    inv["Expire"] = json!(2);
    c.send(inv).await;
    assert_eq!(c.recv().await["Code"], 180);
    assert_eq!(c.recv().await["Code"], 200);
    c.send(ack_for("s-1", "u6", 1, 2)).await;
    let t0 = Instant::now();
    let bye = c.recv().await;
    assert_eq!(
        (bye["Type"].as_str(), bye["DialogueID"].as_str(), bye["From"].as_str()),
        (Some("BYE"), Some("s-1"), Some("u6"))
    );
    assert!(t0.elapsed() >= Duration::from_millis(1500), "about the 2 s interval after the 200");
    c.send(response(&bye, 200)).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_message_and_send_message_timeout() {
    let (server, _root) = start("conf-send-message", "").await;
    let mut c = client(&server, "u7").await;
    c.send(case("MESSAGE", "Send_MESSAGE", "u7", "sm-1", 1)).await;
    assert_eq!(c.recv().await["Code"], 200);
    let m = c.recv().await;
    assert_eq!(
        (m["Type"].as_str(), m["Request-URI"].as_str(), m["From"].as_str(), m["To"].as_str()),
        (Some("MESSAGE"), Some("u7"), Some("SendMessage"), Some("u7"))
    );
    c.send(response(&m, 200)).await;
    c.send(case("MESSAGE", "Send_MESSAGE_Timeout", "u7", "sm-2", 1)).await;
    assert_eq!(c.recv().await["Code"], 200);
    let m = c.recv().await;
    assert_eq!(m["From"], "SendMESSAGETimeout");
    // Left unanswered: the SLP gets a 408 after 1 s and finishes; the client sees nothing more.
    c.expect_silence(Duration::from_millis(1500)).await;
    let (_, list) = common::api_json(server.api_addr, "GET", "/slpm/v1/conformance").await;
    assert_eq!(list["versions"][0]["traps_total"], 0, "{list}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_invite_timeout_sends_cancel() {
    let (server, _root) = start("conf-send-invite-timeout", "").await;
    let mut c = client(&server, "u8").await;
    c.send(case("MESSAGE", "Send_INVITE_Timeout", "u8", "it-1", 1)).await;
    assert_eq!(c.recv().await["Code"], 200);
    let inv = c.recv().await;
    assert_eq!(
        (inv["Type"].as_str(), inv["Expire"].as_u64()),
        (Some("INVITE"), Some(9)),
        "Expire added: the session interval"
    );
    c.send(response(&inv, 180)).await;
    let cancel = c.recv().await;
    assert_eq!(
        (cancel["Type"].as_str(), cancel["RelatedID"].as_u64()),
        (Some("CANCEL"), inv["CSeq"].as_u64())
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_cancel_acks_the_487() {
    let (server, _root) = start("conf-send-cancel", "").await;
    let mut c = client(&server, "u9").await;
    c.send(case("MESSAGE", "Send_CANCEL", "u9", "sc-1", 1)).await;
    assert_eq!(c.recv().await["Code"], 200);
    let inv = c.recv().await;
    let cancel = c.recv().await;
    assert_eq!((inv["Type"].as_str(), cancel["Type"].as_str()), (Some("INVITE"), Some("CANCEL")));
    assert_eq!(cancel["RelatedID"], inv["CSeq"]);
    c.send(response(&cancel, 200)).await;
    c.send(response(&inv, 487)).await;
    let ack = c.recv().await;
    assert_eq!((ack["Type"].as_str(), ack["RelatedID"].as_u64()), (Some("ACK"), inv["CSeq"].as_u64()));
    server.stop().await;
}
