//! Observability end to end (spec §14.5, §14.7, §15.5): a real server serves
//! a call, a MESSAGE and hostile traps; `/metrics` is parsed as Prometheus
//! text and every series is checked against what happened; the live gauges
//! fall back to zero when the sessions end; the unhealthy flag shows in the
//! gauge and the API. The real binary, configured for JSON logs, writes lines
//! that carry the session span's DialogueID, SLP name, hash and instance.
//!
//! Counters are updated a moment after the frames they count reach the
//! client, so checks of exact values poll until they hold (up to `WAIT`);
//! nothing depends on machine speed.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Client, WAIT, api_json, guest, http, request, start, temp_root, upload};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// A parsed exposition: samples by series text (`name{labels}`), and the
/// declared type of every family.
struct Scrape {
    samples: BTreeMap<String, f64>,
    types: BTreeMap<String, String>,
    text: String,
}

impl Scrape {
    /// Parses the text, checking the format as it goes: every sample's family
    /// was declared by `# HELP` and `# TYPE` lines before it, every name has
    /// the `slp_host_` prefix, and no series appears twice.
    fn parse(text: String) -> Scrape {
        let mut samples = BTreeMap::new();
        let mut types = BTreeMap::new();
        let mut helped = BTreeSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').expect("HELP has a text");
                assert!(!help.is_empty(), "{line}");
                helped.insert(name.to_owned());
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("TYPE has a kind");
                assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
                assert!(helped.contains(name), "TYPE before HELP: {line}");
                assert!(
                    types.insert(name.to_owned(), kind.to_owned()).is_none(),
                    "family declared twice: {name}"
                );
            } else if !line.is_empty() {
                let (series, value) = line.rsplit_once(' ').expect("sample has a value");
                let name = series.split('{').next().unwrap();
                assert!(name.starts_with("slp_host_"), "{line}");
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| {
                        name.strip_suffix(s).filter(|f| types.get(*f).is_some_and(|k| k == "histogram"))
                    })
                    .unwrap_or(name);
                assert!(types.contains_key(family), "sample before its TYPE: {line}");
                let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value: {line}"));
                assert!(samples.insert(series.to_owned(), value).is_none(), "series twice: {series}");
            }
        }
        Scrape { samples, types, text }
    }

    /// The value of a series; panics when it is missing.
    fn get(&self, series: &str) -> f64 {
        *self.samples.get(series).unwrap_or_else(|| panic!("no series {series} in\n{}", self.text))
    }

    /// Sum of the series whose text starts with `prefix`.
    fn sum(&self, prefix: &str) -> f64 {
        self.samples
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
    }

    /// The histogram `slp_host_slp_call_seconds` of one SLP: buckets are
    /// cumulative (never decrease), `+Inf` equals `_count`; returns the count.
    fn check_histogram(&self, slp: &str) -> f64 {
        let prefix = format!("slp_host_slp_call_seconds_bucket{{slp=\"{slp}\",le=\"");
        let mut buckets: Vec<(f64, f64)> = self
            .samples
            .iter()
            .filter_map(|(k, v)| {
                let le = k.strip_prefix(&prefix)?.strip_suffix("\"}")?;
                Some((if le == "+Inf" { f64::INFINITY } else { le.parse().expect("le is a number") }, *v))
            })
            .collect();
        buckets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
        assert!(buckets.len() >= 10, "buckets of {slp}: {buckets:?}");
        assert!((buckets[0].0 - 1e-5).abs() < 1e-12, "the first bucket is 10 µs: {buckets:?}");
        assert_eq!(buckets[buckets.len() - 2].0, 1.0, "the last finite bucket is 1 s");
        for w in buckets.windows(2) {
            assert!(w[0].1 <= w[1].1, "buckets of {slp} decrease: {buckets:?}");
        }
        let count = self.get(&format!("slp_host_slp_call_seconds_count{{slp=\"{slp}\"}}"));
        assert_eq!(buckets.last().unwrap().1, count, "+Inf bucket = _count");
        assert!(self.get(&format!("slp_host_slp_call_seconds_sum{{slp=\"{slp}\"}}")) > 0.0);
        count
    }
}

async fn scrape(api: SocketAddr) -> Scrape {
    let (status, headers, body) = http(api, "GET", "/metrics", &[], b"").await;
    assert_eq!(status, 200);
    assert!(headers.contains("content-type: text/plain; version=0.0.4"), "{headers}");
    Scrape::parse(String::from_utf8(body).expect("metrics are text"))
}

/// Scrapes until `check` finds what it wants (returns `None`), or fails with its last complaint.
async fn scrape_until(api: SocketAddr, check: impl Fn(&Scrape) -> Option<String>) -> Scrape {
    let deadline = Instant::now() + WAIT;
    loop {
        let s = scrape(api).await;
        match check(&s) {
            None => return s,
            Some(why) if Instant::now() > deadline => panic!("{why}\n{}", s.text),
            Some(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// `None` when every (series, value) holds, else the first mismatch.
fn expect(s: &Scrape, want: &[(&str, f64)]) -> Option<String> {
    want.iter().find_map(|(series, value)| match s.samples.get(*series) {
        Some(v) if v == value => None,
        got => Some(format!("{series}: want {value}, got {got:?}")),
    })
}

async fn hash_of(api: SocketAddr, name: &str) -> String {
    let (status, e) = api_json(api, "GET", &format!("/slpm/v1/{name}")).await;
    assert_eq!(status, 200, "{e}");
    e["hash"].as_str().expect("hash").to_owned()
}

const FAMILIES: [(&str, &str); 29] = [
    ("build_info", "gauge"),
    ("connections", "gauge"),
    ("connections_opened_total", "counter"),
    ("endpoints", "gauge"),
    ("queued_messages", "gauge"),
    ("frames_total", "counter"),
    ("messages_total", "counter"),
    ("dropped_messages_total", "counter"),
    ("dialogues", "gauge"),
    ("orphaned_dialogues", "gauge"),
    ("transactions", "gauge"),
    ("instances", "gauge"),
    ("version_dialogues", "gauge"),
    ("instances_created_total", "counter"),
    ("traps_total", "counter"),
    ("version_unhealthy", "gauge"),
    ("slp_calls_total", "counter"),
    ("slp_call_seconds", "histogram"),
    ("kv_keys", "gauge"),
    ("kv_bytes", "gauge"),
    ("ws_handshakes_total", "counter"),
    ("ws_closed_total", "counter"),
    ("invalid_messages_total", "counter"),
    ("api_requests_total", "counter"),
    ("generated_responses_total", "counter"),
    ("transaction_timeouts_total", "counter"),
    ("dialogue_timeouts_total", "counter"),
    ("slp_log_lines_dropped_total", "counter"),
    ("state_entries_skipped_total", "counter"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_a_message_and_traps_show_in_metrics_and_state() {
    // Threshold 1: the second trap within 60 s flags the version.
    let (server, _root) = start("metrics", "[slp]\ntrap_threshold = 1\n").await;
    let api = server.api_addr;
    let echo = hash_of(api, "default").await;
    let s = scrape(api).await;
    assert_eq!(s.get(&format!("slp_host_build_info{{version=\"{}\"}}", env!("CARGO_PKG_VERSION"))), 1.0);
    assert_eq!(s.get("slp_host_connections"), 0.0);
    let (status, r) = upload(api, "hostile", &guest("hostile")).await;
    assert_eq!(status, 201, "{r}");
    let hostile = r["hash"].as_str().unwrap().to_owned();
    let v = |slp: &str, hash: &str| format!("slp=\"{slp}\",hash=\"{hash}\"");
    let (ve, vh) = (v("default", &echo), v("hostile", &hostile));

    let mut alice = Client::connect(server.rtc_addr, "alice").await;
    // A call: INVITE → 200, ACK; while it is up, the gauges and the state show it.
    alice.send(request("INVITE", "svc", "alice", "svc", "c-1", 1)).await;
    assert_eq!(alice.recv().await["Code"], 200);
    let mut ack = request("ACK", "svc", "alice", "svc", "c-1", 2);
    ack["RelatedID"] = json!(1);
    alice.send(ack).await;
    scrape_until(api, |s| {
        expect(
            s,
            &[
                ("slp_host_dialogues{state=\"ACK\"}", 1.0),
                (&format!("slp_host_instances{{{ve},kind=\"session\"}}"), 1.0),
                (&format!("slp_host_version_dialogues{{{ve}}}"), 1.0),
                ("slp_host_connections", 1.0),
                ("slp_host_endpoints{kind=\"user\",state=\"connected\"}", 1.0),
            ],
        )
    })
    .await;
    let (_, state) = api_json(api, "GET", "/runtime/v1/state").await;
    assert_eq!(state["dialogues"]["by_state"]["ACK"], 1, "{state}");
    assert_eq!(state["dialogues"]["total"], 1, "{state}");
    assert!(state["transactions"]["server"].is_number() && state["transactions"]["client"].is_number());
    let entry =
        state["instances"].as_array().unwrap().iter().find(|i| i["slp"] == "default").cloned().unwrap();
    assert_eq!((entry["live"].as_u64(), entry["dialogues"].as_i64()), (Some(1), Some(1)), "{state}");
    assert_eq!(entry["unhealthy"], false);
    alice.send(request("BYE", "svc", "alice", "svc", "c-1", 3)).await;
    assert_eq!(alice.recv().await["Code"], 200);

    // A MESSAGE transaction.
    alice.send(request("MESSAGE", "svc", "alice", "svc", "m-1", 1)).await;
    assert_eq!(alice.recv().await["Code"], 200);

    // Two traps of the hostile SLP: each answered 500, the second flags the version.
    for d in ["t-1", "t-2"] {
        alice.send(request("MESSAGE", "panic@hostile", "alice", "hostile", d, 1)).await;
        assert_eq!(alice.recv().await["Code"], 500);
    }

    // Everything counted; all sessions over, so the live gauges are back to zero.
    let s = scrape_until(api, |s| {
        expect(
            s,
            &[
                ("slp_host_frames_total{direction=\"in\"}", 6.0),
                ("slp_host_frames_total{direction=\"out\"}", 5.0),
                ("slp_host_messages_total{direction=\"in\",kind=\"request\",method=\"INVITE\"}", 1.0),
                ("slp_host_messages_total{direction=\"in\",kind=\"request\",method=\"ACK\"}", 1.0),
                ("slp_host_messages_total{direction=\"in\",kind=\"request\",method=\"BYE\"}", 1.0),
                ("slp_host_messages_total{direction=\"in\",kind=\"request\",method=\"MESSAGE\"}", 3.0),
                ("slp_host_messages_total{direction=\"in\",kind=\"response\",class=\"2xx\"}", 0.0),
                ("slp_host_messages_total{direction=\"out\",kind=\"response\",class=\"2xx\"}", 3.0),
                ("slp_host_messages_total{direction=\"out\",kind=\"response\",class=\"5xx\"}", 2.0),
                ("slp_host_messages_total{direction=\"out\",kind=\"request\",method=\"BYE\"}", 0.0),
                (&format!("slp_host_instances_created_total{{{ve}}}"), 2.0),
                (&format!("slp_host_instances_created_total{{{vh}}}"), 2.0),
                (&format!("slp_host_traps_total{{{vh},kind=\"panic\"}}"), 2.0),
                (&format!("slp_host_traps_total{{{vh},kind=\"memory\"}}"), 0.0),
                (&format!("slp_host_traps_total{{{ve},kind=\"panic\"}}"), 0.0),
                (&format!("slp_host_version_unhealthy{{{vh}}}"), 1.0),
                (&format!("slp_host_version_unhealthy{{{ve}}}"), 0.0),
                (&format!("slp_host_instances{{{ve},kind=\"session\"}}"), 0.0),
                (&format!("slp_host_instances{{{vh},kind=\"session\"}}"), 0.0),
                (&format!("slp_host_version_dialogues{{{ve}}}"), 0.0),
                ("slp_host_dialogues{state=\"ACK\"}", 0.0),
                ("slp_host_transactions{role=\"server\"}", 0.0),
                ("slp_host_transactions{role=\"client\"}", 0.0),
                ("slp_host_orphaned_dialogues", 0.0),
                ("slp_host_slp_calls_total{slp=\"hostile\",entry=\"message\"}", 2.0),
                ("slp_host_connections_opened_total", 1.0),
                ("slp_host_ws_handshakes_total{result=\"accepted\"}", 1.0),
                ("slp_host_queued_messages", 0.0),
                // The stack's automatic BYE_200 and its 500s for the trapped calls.
                ("slp_host_generated_responses_total{code=\"200\",to=\"peer\"}", 1.0),
                ("slp_host_generated_responses_total{code=\"500\",to=\"peer\"}", 2.0),
            ],
        )
    })
    .await;
    for (family, kind) in FAMILIES {
        assert_eq!(s.types.get(&format!("slp_host_{family}")).map(String::as_str), Some(kind), "{family}");
    }
    assert_eq!(s.sum("slp_host_dialogues{"), 0.0);
    // Two sessions each, plus any on-load instance's `init`.
    assert!(s.get("slp_host_slp_calls_total{slp=\"default\",entry=\"init\"}") >= 2.0);
    assert!(s.get("slp_host_slp_calls_total{slp=\"hostile\",entry=\"init\"}") >= 2.0);
    // Requests that reached the SLP: INVITE, ACK, BYE and the MESSAGE; TERMs are extra calls.
    let echo_calls = s.sum("slp_host_slp_calls_total{slp=\"default\",");
    assert!(s.get("slp_host_slp_calls_total{slp=\"default\",entry=\"message\"}") >= 4.0);
    assert_eq!(s.check_histogram("default"), echo_calls, "one duration per call");
    // The two trapped calls were timed too.
    assert_eq!(s.check_histogram("hostile"), s.sum("slp_host_slp_calls_total{slp=\"hostile\","));
    assert!(s.get("slp_host_api_requests_total{route=\"/metrics\",status=\"200\"}") >= 1.0);

    // The API shows the flag as well.
    let (_, e) = api_json(api, "GET", "/slpm/v1/hostile").await;
    assert_eq!(
        (e["unhealthy"].as_bool(), e["versions"][0]["traps_total"].as_u64()),
        (Some(true), Some(2)),
        "{e}"
    );
    let (_, state) = api_json(api, "GET", "/runtime/v1/state").await;
    let entry =
        state["instances"].as_array().unwrap().iter().find(|i| i["slp"] == "hostile").cloned().unwrap();
    assert_eq!(entry["unhealthy"], true, "{state}");
    assert_eq!(state["dialogues"]["total"], 0, "{state}");

    // Closing the socket is counted by code, and the connection gauge drops.
    alice
        .send_frame(WsMessage::Close(Some(CloseFrame { code: CloseCode::Normal, reason: "bye".into() })))
        .await;
    scrape_until(api, |s| {
        expect(s, &[("slp_host_ws_closed_total{code=\"1000\"}", 1.0), ("slp_host_connections", 0.0)])
    })
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_and_drops_are_counted_by_reason() {
    let (server, _root) = start("metrics-bad", "").await;
    let api = server.api_addr;
    let mut c = Client::connect(server.rtc_addr, "carol").await;
    // Not JSIP: answered 400 (a request missing From) or dropped (a response), by reason.
    c.send(json!({"Type":"MESSAGE","Request-URI":"x","To":"y","DialogueID":"b-1","CSeq":1})).await;
    assert_eq!(c.recv().await["Code"], 400);
    // Valid, but for no transaction; and an ACK without a dialogue.
    c.send(json!({"Type":"RESPONSE","Code":180,"From":"a","To":"b","DialogueID":"b-2","CSeq":1})).await;
    c.send(json!({"Type":"ACK","Request-URI":"x","From":"a","To":"y","DialogueID":"b-3","CSeq":1})).await;
    c.expect_silence(Duration::from_millis(200)).await;
    scrape_until(api, |s| {
        expect(
            s,
            &[
                ("slp_host_invalid_messages_total{action=\"answered_400\",reason=\"missing From\"}", 1.0),
                ("slp_host_generated_responses_total{code=\"400\",to=\"peer\"}", 1.0),
                ("slp_host_dropped_messages_total{reason=\"no_transaction\"}", 1.0),
                ("slp_host_dropped_messages_total{reason=\"ack_no_dialogue\"}", 1.0),
                ("slp_host_messages_total{direction=\"in\",kind=\"response\",class=\"1xx\"}", 1.0),
                ("slp_host_messages_total{direction=\"out\",kind=\"response\",class=\"4xx\"}", 1.0),
                ("slp_host_frames_total{direction=\"in\"}", 3.0),
            ],
        )
    })
    .await;
    // A binary frame closes the socket with 1003: counted as closed, with its reason.
    c.send_frame(WsMessage::Binary(vec![1, 2, 3].into())).await;
    assert_eq!(c.closed().await.map(|(code, _)| code), Some(1003));
    scrape_until(api, |s| {
        expect(
            s,
            &[
                ("slp_host_ws_closed_total{code=\"1003\"}", 1.0),
                ("slp_host_invalid_messages_total{action=\"closed\",reason=\"binary frames not supported\"}", 1.0),
            ],
        )
    })
    .await;
    server.stop().await;
}

/// A request to the conformance SLP (selected by `type`), case = Request-URI.
fn conformance_case(ty: &str, case: &str, from: &str, d: &str) -> Value {
    let mut m = request(ty, case, from, "svc", d, 1);
    m["Router"] = json!("svc.example.org;type=conformance");
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stack_timer_expiries_and_generated_responses_are_counted() {
    // trans_timer is 1 s in tests; pr_timer 1 s makes T-est 1 s as well.
    let (server, _root) = start("metrics-timeouts", "[jsip]\npr_timer = \"1s\"\n").await;
    let api = server.api_addr;
    let (status, r) = upload(api, "conformance", &guest("conformance")).await;
    assert_eq!(status, 201, "{r}");
    let mut c = Client::connect(server.rtc_addr, "tim").await;

    // Send_MESSAGE_Timeout: the SLP's MESSAGE to us goes unanswered: a client
    // MESSAGE timeout, and a 408 delivered to the SLP.
    c.send(conformance_case("MESSAGE", "Send_MESSAGE_Timeout", "tim", "to-1")).await;
    assert_eq!(c.recv().await["Code"], 200);
    assert_eq!(c.recv().await["Type"], "MESSAGE");
    // Recv_MESSAGE_Timeout: the SLP never answers ours: a server MESSAGE timeout, 408 to us.
    c.send(conformance_case("MESSAGE", "Recv_MESSAGE_Timeout", "tim", "to-2")).await;
    let a = c.recv().await;
    assert_eq!((a["Code"].as_u64(), a["DialogueID"].as_str()), (Some(408), Some("to-2")), "{a}");
    // Recv_INVITE_Timeout: T-est answers INVITE_408; we never ACK it, so T-ack expires too.
    c.send(conformance_case("INVITE", "Recv_INVITE_Timeout", "tim", "to-3")).await;
    let a = c.recv().await;
    assert_eq!((a["Code"].as_u64(), a["DialogueID"].as_str()), (Some(408), Some("to-3")), "{a}");
    // An INVITE that echo answers 200, never ACKed, with a 1 s session interval:
    // T-refresh on the UAS side ends it with a BYE, which we leave unanswered,
    // so the stack's BYE times out as a client transaction.
    let mut inv = request("INVITE", "svc", "tim", "svc", "to-4", 1);
    inv["Expire"] = json!(1);
    c.send(inv).await;
    assert_eq!(c.recv().await["Code"], 200);
    let bye = c.recv().await;
    assert_eq!((bye["Type"].as_str(), bye["DialogueID"].as_str()), (Some("BYE"), Some("to-4")), "{bye}");
    // A BYE without a dialogue: the dispatcher's stateless 481 counts in the same family.
    c.send(request("BYE", "svc", "tim", "svc", "to-5", 1)).await;
    assert_eq!(c.recv().await["Code"], 481);

    let tt = |role: &str, method: &str| {
        format!("slp_host_transaction_timeouts_total{{role=\"{role}\",method=\"{method}\"}}")
    };
    let dt = |timer: &str| format!("slp_host_dialogue_timeouts_total{{timer=\"{timer}\",side=\"uas\"}}");
    let generated =
        |code: &str, to: &str| format!("slp_host_generated_responses_total{{code=\"{code}\",to=\"{to}\"}}");
    let s = scrape_until(api, |s| {
        expect(
            s,
            &[
                (&tt("client", "MESSAGE"), 1.0),
                (&tt("server", "MESSAGE"), 1.0),
                (&tt("client", "BYE"), 1.0),
                (&tt("server", "INVITE"), 0.0),
                (&dt("est"), 1.0),
                (&dt("ack"), 1.0),
                (&dt("refresh"), 1.0),
                (&generated("408", "slp"), 1.0),
                (&generated("408", "peer"), 2.0),
                (&generated("481", "peer"), 1.0),
                ("slp_host_dialogues{state=\"ERR\"}", 0.0),
                ("slp_host_transactions{role=\"client\"}", 0.0),
            ],
        )
    })
    .await;
    assert_eq!(s.sum("slp_host_transaction_timeouts_total{"), 3.0, "nothing else timed out: {}", s.text);
    assert_eq!(s.sum("slp_host_dialogue_timeouts_total{"), 3.0);
    assert_eq!(s.sum("slp_host_generated_responses_total{"), 4.0, "408 ×3 and 481, nothing else: {}", s.text);
    assert_eq!(s.get(&generated("other", "peer")), 0.0);
    assert_eq!(s.types.get("slp_host_generated_responses_total").map(String::as_str), Some("counter"));
    server.stop().await;
}

/// Kills the server process it holds when dropped (a failed assertion included).
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_lines_carry_the_session_span() {
    let root = temp_root("metrics-log");
    let log = root.join("logs/server.log");
    let conf = root.join("conf/slp-host.toml");
    std::fs::write(
        &conf,
        format!(
            "root = \"{}\"\n[log]\nfile = \"{}\"\nlevel = \"debug\"\nformat = \"json\"\n\
             [rtc]\nlisten = \"127.0.0.1:0\"\naccess_log = \"\"\n[api]\nlisten = \"127.0.0.1:0\"\naccess_log = \"\"\n",
            root.display(),
            log.display()
        ),
    )
    .unwrap();
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_slp-host"))
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("slp-host starts"),
    );
    // "slp-host ready: ws://<rtc>/rtc?userid=<id>  management API http://<api>"
    let mut ready = String::new();
    BufReader::new(child.0.stdout.take().unwrap()).read_line(&mut ready).unwrap();
    let rtc: SocketAddr =
        ready.split("ws://").nth(1).and_then(|r| r.split('/').next()).unwrap().parse().unwrap();
    let api: SocketAddr = ready.split("http://").nth(1).unwrap().trim().parse().unwrap();
    let (status, r) = upload(api, "hostile", &guest("hostile")).await;
    assert_eq!(status, 201, "{r}");
    let hash = r["hash"].as_str().unwrap().to_owned();
    let mut c = Client::connect(rtc, "dora").await;
    // The guest logs its own debug lines in this mode; they carry only the text.
    c.send(request("MESSAGE", "huge_log@hostile", "dora", "hostile", "log-1", 1)).await;
    assert_eq!(c.recv().await["Code"], 200);
    drop(child);

    let text = std::fs::read_to_string(&log).expect("the log file exists");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for l in &lines {
        for member in ["ts", "level", "target", "msg"] {
            assert!(l[member].is_string(), "{member} missing: {l}");
        }
    }
    let guest_line = lines
        .iter()
        .find(|l| l["msg"] == "hostile: line 0")
        .unwrap_or_else(|| panic!("no guest line in\n{text}"));
    assert_eq!(guest_line["target"], "slp");
    assert_eq!(guest_line["level"], "DEBUG");
    assert_eq!(guest_line["dialogue"], "log-1", "the DialogueID comes from the session span: {guest_line}");
    assert_eq!(guest_line["slp"], "hostile");
    assert_eq!(guest_line["hash"], &hash[..8]);
    assert!(guest_line["instance"].as_u64().is_some_and(|i| i > 0), "{guest_line}");
    // Lines outside any session carry no session fields.
    let startup =
        lines.iter().find(|l| l["target"] == "main").unwrap_or_else(|| panic!("no main line in\n{text}"));
    assert!(startup.get("dialogue").is_none(), "{startup}");
}
