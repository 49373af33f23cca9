//! Isolation of misbehaving SLPs (spec §12.4–§12.6), end to end with the
//! `hostile` guest: every kind of trap is answered `500 SLP failure`, counted
//! by kind in `/metrics` and `/slpm/v1/<name>`, raises the unhealthy flag past
//! the threshold, and leaves every other session and the server untouched;
//! the per-call quotas fail the host call instead of trapping.
//!
//! No assertion depends on machine speed: waits are the harness's generous
//! `WAIT`, and the one ordering check has a deadline of seconds as its margin.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{Client, api_json, guest, http, request, response, start, upload};
use serde_json::{Value, json};

/// Uploads the hostile SLP under the name `hostile`; returns its hash.
async fn load_hostile(api: SocketAddr) -> String {
    let (status, r) = upload(api, "hostile", &guest("hostile")).await;
    assert_eq!(status, 201, "{r}");
    r["hash"].as_str().expect("hash").to_owned()
}

/// `GET /metrics` as text.
async fn metrics(api: SocketAddr) -> String {
    let (status, _, body) = http(api, "GET", "/metrics", &[], b"").await;
    assert_eq!(status, 200);
    String::from_utf8(body).expect("metrics are text")
}

/// The value of one series in the metrics text (0 when absent).
fn series(text: &str, name_and_labels: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0)
}

/// `slp_host_traps_total{slp="hostile",hash=…,kind=…}`.
fn traps(text: &str, hash: &str, kind: &str) -> u64 {
    series(text, &format!("slp_host_traps_total{{slp=\"hostile\",hash=\"{hash}\",kind=\"{kind}\"}}"))
}

/// `GET /slpm/v1/hostile`.
async fn hostile_entry(api: SocketAddr) -> Value {
    let (status, e) = api_json(api, "GET", "/slpm/v1/hostile").await;
    assert_eq!(status, 200, "{e}");
    e
}

/// Sends a MESSAGE selecting `mode` of the hostile SLP on a new DialogueID and returns the answer.
async fn hostile_message(c: &mut Client, mode: &str, d: &str) -> Value {
    let from = c.userid.clone();
    c.send(request("MESSAGE", &format!("{mode}@hostile"), &from, "hostile", d, 1)).await;
    let answer = c.recv().await;
    assert_eq!(
        (answer["Type"].as_str(), answer["DialogueID"].as_str()),
        (Some("RESPONSE"), Some(d)),
        "{answer}"
    );
    answer
}

/// Asserts a stack-generated `500 SLP failure`.
fn assert_slp_failure(answer: &Value, what: &str) {
    assert_eq!(
        (answer["Code"].as_u64(), answer["Reason"].as_str()),
        (Some(500), Some("SLP failure")),
        "{what}: {answer}"
    );
}

/// A MESSAGE to the bundled echo SLP (`default`) is answered 200.
async fn echo_still_answers(c: &mut Client, d: &str) {
    let from = c.userid.clone();
    c.send(request("MESSAGE", "svc", &from, "svc", d, 1)).await;
    let answer = c.recv().await;
    assert_eq!((answer["Code"].as_u64(), answer["DialogueID"].as_str()), (Some(200), Some(d)), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_trap_kind_is_answered_counted_and_flags_the_version() {
    // A deadline far above what these calls need, so that a slow or busy
    // machine cannot turn another kind into `deadline` (the loop tests below
    // keep the default 50 ms).
    let (server, _root) = start("traps-kinds", "[slps.hostile]\ncpu_deadline = \"5s\"\n").await;
    let api = server.api_addr;
    let hash = load_hostile(api).await;
    let e = hostile_entry(api).await;
    assert_eq!((e["versions"][0]["traps_total"].as_u64(), e["unhealthy"].as_bool()), (Some(0), Some(false)));
    let mut c = Client::connect(server.rtc_addr, "mallory").await;

    // A normal session of the same component is served.
    assert_eq!(hostile_message(&mut c, "hello", "k-hello").await["Code"], 200);

    // Five traps of five kinds, each answered 500 `SLP failure` and counted.
    let cases = [
        ("panic", "panic"),
        ("oom", "memory"),
        ("recurse", "other"), // a stack overflow is neither panic, deadline, memory nor host
        ("exit", "host"),
        ("answer_then_panic", "panic"),
    ];
    let mut expected: std::collections::BTreeMap<&str, u64> = Default::default();
    for (n, (mode, kind)) in cases.into_iter().enumerate() {
        let answer = hostile_message(&mut c, mode, &format!("k-{mode}")).await;
        assert_slp_failure(&answer, mode);
        *expected.entry(kind).or_default() += 1;
        let m = metrics(api).await;
        for (k, count) in &expected {
            assert_eq!(traps(&m, &hash, k), *count, "after {mode}: kind {k}\n{m}");
        }
        let e = hostile_entry(api).await;
        assert_eq!(e["versions"][0]["traps_total"].as_u64(), Some(n as u64 + 1), "after {mode}: {e}");
        // Five traps in a minute is the threshold, not above it.
        assert_eq!(e["unhealthy"].as_bool(), Some(false), "after {mode}: {e}");
    }

    // An INVITE whose instance panics gets INVITE_500 through the dialogue,
    // which then waits for (and swallows) the ACK. The sixth trap in a
    // minute flags the version.
    c.send(request("INVITE", "panic@hostile", "mallory", "hostile", "k-invite", 1)).await;
    let answer = c.recv().await;
    assert_slp_failure(&answer, "INVITE panic");
    assert_eq!((answer["CSeq"].as_u64(), answer["DialogueID"].as_str()), (Some(1), Some("k-invite")));
    let mut ack = request("ACK", "panic@hostile", "mallory", "hostile", "k-invite", 2);
    ack["RelatedID"] = json!(1);
    c.send(ack).await;
    let e = hostile_entry(api).await;
    let v = &e["versions"][0];
    assert_eq!(
        (
            v["hash"].as_str(),
            v["traps_total"].as_u64(),
            v["traps_last_minute"].as_u64(),
            v["unhealthy"].as_bool(),
            e["unhealthy"].as_bool()
        ),
        (Some(hash.as_str()), Some(6), Some(6), Some(true), Some(true)),
        "{e}"
    );
    let (_, list) = api_json(api, "GET", "/slpm/v1/slps").await;
    let listed = list["slps"].as_array().unwrap().iter().find(|s| s["name"] == "hostile").expect("listed");
    assert_eq!(listed["unhealthy"].as_bool(), Some(true), "{list}");

    // A confirmed dialogue whose instance traps gets a quit BYE `SLP failure`.
    c.send(request("INVITE", "panic_in_dialogue@hostile", "mallory", "hostile", "k-dlg", 1)).await;
    let ok = c.recv().await;
    assert_eq!((ok["Code"].as_u64(), ok["DialogueID"].as_str()), (Some(200), Some("k-dlg")), "{ok}");
    let mut ack = request("ACK", "panic_in_dialogue@hostile", "mallory", "hostile", "k-dlg", 2);
    ack["RelatedID"] = json!(1);
    c.send(ack).await;
    let bye = c.recv().await;
    assert_eq!(
        (bye["Type"].as_str(), bye["DialogueID"].as_str(), bye["Reason"].as_str()),
        (Some("BYE"), Some("k-dlg"), Some("SLP failure")),
        "{bye}"
    );
    c.send(response(&bye, 200)).await;
    c.expect_silence(Duration::from_millis(300)).await;

    let m = metrics(api).await;
    assert_eq!(
        ["panic", "deadline", "memory", "other", "host"].map(|k| traps(&m, &hash, k)),
        [4, 0, 1, 1, 1],
        "{m}"
    );
    let e = hostile_entry(api).await;
    assert_eq!(e["versions"][0]["traps_total"].as_u64(), Some(7), "{e}");

    // The host is unaffected: the same version and the echo SLP keep serving,
    // and a new connection is accepted.
    assert_eq!(hostile_message(&mut c, "hello", "k-after").await["Code"], 200);
    echo_still_answers(&mut c, "k-echo").await;
    let mut other = Client::connect(server.rtc_addr, "bystander").await;
    echo_still_answers(&mut other, "k-echo-2").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn looping_guests_hit_the_deadline_while_others_are_served() {
    let (server, _root) = start("traps-loop", "").await;
    let api = server.api_addr;
    let hash = load_hostile(api).await;
    let mut looper = Client::connect(server.rtc_addr, "looper").await;
    let mut bystander = Client::connect(server.rtc_addr, "bystander").await;

    const LOOPS: usize = 6;
    const ECHOES: usize = 20;
    for i in 0..LOOPS {
        looper.send(request("MESSAGE", "loop@hostile", "looper", "hostile", &format!("l-{i}"), 1)).await;
    }
    let loops = tokio::spawn(async move {
        let mut answers = Vec::new();
        for _ in 0..LOOPS {
            answers.push(looper.recv().await);
        }
        (looper, answers)
    });
    for i in 0..ECHOES {
        bystander.send(request("MESSAGE", "svc", "bystander", "svc", &format!("e-{i}"), 1)).await;
    }
    let mut answered = std::collections::BTreeSet::new();
    for _ in 0..ECHOES {
        let a = bystander.recv().await;
        assert_eq!(a["Code"], 200, "{a}");
        answered.insert(a["DialogueID"].as_str().unwrap().to_owned());
    }
    assert_eq!(answered.len(), ECHOES, "every bystander request is answered once");

    let (mut looper, answers) = loops.await.expect("looper task");
    let mut ids: Vec<&str> = answers.iter().map(|a| a["DialogueID"].as_str().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, (0..LOOPS).map(|i| format!("l-{i}")).collect::<Vec<_>>());
    for a in &answers {
        assert_slp_failure(a, "loop");
    }
    let m = metrics(api).await;
    assert_eq!(traps(&m, &hash, "deadline"), LOOPS as u64, "{m}");
    assert_eq!(traps(&m, &hash, "panic"), 0, "{m}");
    let e = hostile_entry(api).await;
    assert_eq!(e["versions"][0]["traps_total"].as_u64(), Some(LOOPS as u64), "{e}");
    assert_eq!(e["unhealthy"].as_bool(), Some(true), "{LOOPS} traps within a minute: {e}");

    // Afterwards everything answers normally.
    assert_eq!(hostile_message(&mut looper, "hello", "l-after").await["Code"], 200);
    echo_still_answers(&mut bystander, "e-after").await;
    server.stop().await;
}

/// Spec §8.2: "A slow or looping instance delays only its own mailbox". With
/// a deadline of seconds and more looping instances than the runtime has
/// worker threads, the bystander's requests must all be answered before the
/// first looping instance is stopped. The deadline is the margin; nothing
/// else is timed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn looping_guests_delay_only_their_own_mailbox() {
    const DEADLINE: Duration = Duration::from_secs(3);
    let (server, _root) = start("traps-loop-long", "[slps.hostile]\ncpu_deadline = \"3s\"\n").await;
    let api = server.api_addr;
    load_hostile(api).await;
    let mut looper = Client::connect(server.rtc_addr, "looper").await;
    let mut bystander = Client::connect(server.rtc_addr, "bystander").await;
    // Warm up: the echo path works before the loops start.
    echo_still_answers(&mut bystander, "w-0").await;

    const LOOPS: usize = 3; // more than the 2 worker threads
    const ECHOES: usize = 20;
    let started = Instant::now();
    for i in 0..LOOPS {
        looper.send(request("MESSAGE", "loop@hostile", "looper", "hostile", &format!("ll-{i}"), 1)).await;
    }
    // Receive the loop answers on their own task, recording when each came.
    let loops = tokio::spawn(async move {
        let mut answers = Vec::new();
        for _ in 0..LOOPS {
            let a = looper.recv_within(common::WAIT + LOOPS as u32 * DEADLINE).await.expect("loop answered");
            answers.push((Instant::now(), a));
        }
        answers
    });
    for i in 0..ECHOES {
        bystander.send(request("MESSAGE", "svc", "bystander", "svc", &format!("ee-{i}"), 1)).await;
    }
    for _ in 0..ECHOES {
        let a = bystander.recv_within(common::WAIT + LOOPS as u32 * DEADLINE).await.expect("echo answered");
        assert_eq!(a["Code"], 200, "{a}");
    }
    let echoes_done = Instant::now();
    let answers = loops.await.expect("looper task");
    for (_, a) in &answers {
        assert_slp_failure(a, "loop");
    }
    let first_trap = answers.iter().map(|(t, _)| *t).min().expect("answers");
    eprintln!(
        "bystander done after {:?}; first loop trapped after {:?}",
        echoes_done - started,
        first_trap - started
    );
    assert!(
        echoes_done < first_trap,
        "the bystander waited for the looping instances: its {ECHOES} answers took {:?}, the first loop trapped after {:?}",
        echoes_done - started,
        first_trap - started
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_call_quotas_fail_the_host_call_without_trapping() {
    // A generous deadline: a debug build of the host makes 1024 sends slowly.
    let (server, _root) = start("traps-quotas", "[slps.hostile]\ncpu_deadline = \"10s\"\n").await;
    let api = server.api_addr;
    let hash = load_hostile(api).await;
    let mut c = Client::connect(server.rtc_addr, "quota").await;

    // 2000 sends in one call: the first 1024 succeed, the rest fail with
    // `quota` (the SLP answers from a timer call, whose quota is fresh).
    let a = hostile_message(&mut c, "flood", "q-flood").await;
    assert_eq!(
        (a["Code"].as_u64(), a["X-Sent"].as_u64(), a["X-Error"].as_str()),
        (Some(200), Some(1024), Some("quota")),
        "{a}"
    );

    // Timers until `start_timer` fails: 64.
    let a = hostile_message(&mut c, "timers", "q-timers").await;
    assert_eq!((a["Code"].as_u64(), a["X-Timers"].as_u64()), (Some(200), Some(64)), "{a}");

    // A 1 MiB line and 200 more: cut and capped, never a trap; 201 lines, 100 kept.
    let before = series(&metrics(api).await, "slp_host_slp_log_lines_dropped_total");
    let a = hostile_message(&mut c, "huge_log", "q-log").await;
    assert_eq!(a["Code"].as_u64(), Some(200), "{a}");
    let dropped = series(&metrics(api).await, "slp_host_slp_log_lines_dropped_total");
    assert_eq!(dropped - before, 101, "log lines beyond 100 in one call are dropped and counted");

    // A response without a transaction: the send fails with `no-transaction`.
    let a = hostile_message(&mut c, "bad_send", "q-bad").await;
    assert_eq!((a["Code"].as_u64(), a["X-Error"].as_str()), (Some(200), Some("no-transaction")), "{a}");

    // None of this was a trap, and the server carries on.
    let m = metrics(api).await;
    for kind in ["panic", "deadline", "memory", "other", "host"] {
        assert_eq!(traps(&m, &hash, kind), 0, "{kind}\n{m}");
    }
    let e = hostile_entry(api).await;
    assert_eq!((e["versions"][0]["traps_total"].as_u64(), e["unhealthy"].as_bool()), (Some(0), Some(false)));
    c.expect_silence(Duration::from_millis(300)).await;
    echo_still_answers(&mut c, "q-echo").await;
    server.stop().await;
}

/// Dispatch by relid (spec §9.2 step 4, §13.6): a request whose first Router
/// URI carries a bound relid reaches the instance that bound it, on a new
/// DialogueID, with the delivery's relid metadata set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relid_routes_a_new_request_to_its_instance() {
    let (server, _root) = start("relid", "").await;
    assert_eq!(upload(server.api_addr, "hostile", &guest("hostile")).await.0, 201);
    let mut c = Client::connect(server.rtc_addr, "rel-user").await;
    c.send(request("MESSAGE", "relid@hostile.example.org", "rel-user", "svc", "rel-1", 1)).await;
    let first = c.recv().await;
    assert_eq!(first["Code"], 200);
    let relid = first["X-Relid"].as_str().expect("X-Relid").to_owned();
    assert!(relid.starts_with("reltest.local+"), "rel<realm>+<uuid>: {relid}");
    // NOTIFY may not create an instance, but a relid routes it anyway.
    let mut notify = request("NOTIFY", "svc", "rel-user", "svc", "rel-2", 1);
    notify["Router"] = json!(format!("svc.example.org;relid={relid}"));
    c.send(notify).await;
    let via = c.recv().await;
    assert_eq!((via["Code"].as_u64(), via["DialogueID"].as_str()), (Some(200), Some("rel-2")));
    assert_eq!((via["X-Via"].as_str(), via["X-First"].as_bool()), (Some(relid.as_str()), Some(true)));
    // Released: the same relid is unknown now.
    let mut again = request("MESSAGE", "svc", "rel-user", "svc", "rel-3", 1);
    again["Router"] = json!(format!("svc.example.org;relid={relid}"));
    c.send(again).await;
    let gone = c.recv().await;
    assert_eq!((gone["Code"].as_u64(), gone["Reason"].as_str()), (Some(404), Some("unknown relid")));
    server.stop().await;
}
