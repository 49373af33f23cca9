//! The `hostile` SLP: misbehaves on purpose, to test that the host contains
//! a bad instance (spec §12.4–§12.6) and keeps serving everyone else.
//!
//! The mode is chosen by the Request-URI of the instance's first message: its
//! user part (`panic@hostile` selects `panic`, and the host's first label
//! `hostile` selects this SLP), or the whole Request-URI when it has no `@`
//! (for requests routed here with `Router: "x;type=hostile"`).
//!
//! | mode | what the instance does |
//! |---|---|
//! | `panic` | panics at once (trap `panic`) |
//! | `loop` | spins forever (trap `deadline`) |
//! | `oom` | keeps 1 MiB blocks alive until an allocation fails (trap `memory`) |
//! | `recurse` | recurses without bound (a stack overflow: trap `other`) |
//! | `panic_in_dialogue` | answers an INVITE 200, then panics when the ACK arrives (the host sends a quit BYE, Reason `SLP failure`) |
//! | `answer_then_panic` | sends nothing, logs an error line and aborts through `slp_sdk::trap` (trap `panic`); the request gets 500 `SLP failure` from the host |
//! | `flood` | tries 2000 sends of a MESSAGE to the unconnected user `flood-sink@nowhere.invalid` (each on its own DialogueID, answered later by a synthetic 404) in one call; past the per-call quota (1024) they fail with `quota`. That call's quota also covers its answer, so the SLP answers from a 1 ms timer call: 200 with `X-Sent` = the sends that succeeded and `X-Error` = the code of the first failure, then finishes |
//! | `timers` | tries to start 5000 one-hour timers in one call (the cap is `slp.max_timers`, default 64), answers 200 with `X-Timers` = the ones started and `X-Attempts` = 5000, then finishes |
//! | `huge_log` | logs one 1 MiB line and 200 short lines (the host cuts lines to 4 KiB and keeps 100 per call), then answers 200 and finishes |
//! | `bad_send` | sends messages the stack rejects, one of each kind: a response without a transaction, a request without Request-URI and To, a BYE, an ACK and a CANCEL without a dialogue, a MESSAGE larger than `rtc.max_frame`, a MESSAGE whose route does not parse, and the same MESSAGE (to the user `bad-sink`, whose answer keeps the transaction live) twice; answers 200 with `X-Error` = the first one's code and `X-Errors` = an object of every attempt's code (`ok` when it was sent), then finishes |
//! | `kv_big` | oversized key-value entries: a 1 MiB value, a 600-byte key, then 60 KiB values under new keys until the namespace's byte cap (`slp.kv_max_bytes`) refuses one (at most 4096 tries); answers 200 with `X-Kv` = `{"big_value": code, "long_key": code, "filled": n, "fill_error": code}`, deletes what it stored, then finishes |
//! | `exit` | calls `std::process::exit(0)` (trap `host`) |
//! | `relid` | binds a relid and answers 200 with `X-Relid`; the relid keeps the instance alive. A later request routed here by that relid (first Router URI `…;relid=<it>`) is answered 200 with `X-Via` = the relid and `X-First` = the delivery's `first` flag; then the relid is released and the instance finishes |
//! | anything else | answers 200 like `echo`: finishes outside an INVITE dialogue |
//!
//! Only `huge_log` and `answer_then_panic` write to the log.

use std::hint::black_box;
use std::sync::Mutex;

use slp_sdk::build::{request, response};
use slp_sdk::{Context, Delivery, InitKind, Json, Kind, Message, Method, Slp};

struct Hostile {
    /// The mode, from the first message.
    mode: Option<String>,
    /// `flood`: the request to answer from the timer call, the successful
    /// sends and the code of the first failed one.
    pending: Option<Message>,
    sent: i64,
    first_error: Option<&'static str>,
}

/// Memory the `oom` mode never gives back.
static HOARD: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

impl Slp for Hostile {
    fn init(_kind: InitKind, _ctx: &Context) -> Self {
        Hostile { mode: None, pending: None, sent: 0, first_error: None }
    }

    fn on_message(&mut self, d: Delivery) {
        let Kind::Request(method) = d.message.kind else { return };
        let mode = self.mode.get_or_insert_with(|| mode_of(&d.message)).clone();
        match mode.as_str() {
            "panic" => panic!("hostile: panic mode"),
            "loop" => {
                let mut n = 0u64;
                loop {
                    n = black_box(n.wrapping_add(1));
                }
            }
            // Untouched blocks: growing the memory is all the work, so the cap
            // is reached long before the CPU deadline, even on a slow machine.
            "oom" => loop {
                let block = Vec::with_capacity(1 << 20);
                HOARD.lock().unwrap_or_else(|e| e.into_inner()).push(black_box(block));
            },
            "recurse" => {
                black_box(recurse(0));
            }
            "panic_in_dialogue" if method == Method::Ack => panic!("hostile: panic on the ACK"),
            "answer_then_panic" => slp_sdk::trap("hostile: trapping without answering"),
            "flood" => {
                let mut first_error = None;
                for i in 0..2000 {
                    let dlg = format!("{}~flood{i}", d.message.dialogue_id);
                    let m =
                        request(Method::Message, "flood-sink@nowhere.invalid", "hostile", "flood-sink", &dlg);
                    match slp_sdk::send(&m) {
                        Ok(_) => self.sent += 1,
                        Err(e) => {
                            first_error.get_or_insert(e.code);
                        }
                    }
                }
                self.first_error = first_error.map(|c| c.as_str());
                // This call's sends are used up: answer from the timer call.
                self.pending = Some(d.message);
                if slp_sdk::start_timer(1, 0).is_err() {
                    slp_sdk::trap("hostile: cannot start the flood timer");
                }
            }
            "timers" => {
                const ATTEMPTS: u64 = 5000;
                let started = (0..ATTEMPTS).filter(|tag| slp_sdk::start_timer(3_600_000, *tag).is_ok()).count();
                let Ok(mut r) = response(&d.message, 200) else { return };
                r.headers.set("X-Timers", Json::integer(started as i64));
                r.headers.set("X-Attempts", Json::integer(ATTEMPTS as i64));
                let _ = slp_sdk::send(&r);
                slp_sdk::finish();
            }
            "kv_big" => {
                let report = kv_big();
                answer(&d, 200, Some(("X-Kv", report)));
                slp_sdk::finish();
            }
            "huge_log" => {
                slp_sdk::log(slp_sdk::LogLevel::Debug, &"x".repeat(1 << 20));
                for i in 0..200 {
                    slp_sdk::debug!("hostile: line {i}");
                }
                answer(&d, 200, None);
                slp_sdk::finish();
            }
            "bad_send" => {
                let codes = bad_sends(&d.message);
                let Ok(mut r) = response(&d.message, 200) else { return };
                r.headers.set("X-Error", Json::string(codes[0].1));
                let object: Vec<String> = codes.iter().map(|(k, c)| format!("\"{k}\":\"{c}\"")).collect();
                r.headers.set("X-Errors", Json::parse(&format!("{{{}}}", object.join(","))).expect("an object"));
                let _ = slp_sdk::send(&r);
                slp_sdk::finish();
            }
            "exit" => std::process::exit(0),
            "relid" => match d.relid.clone() {
                None => match slp_sdk::bind_relid() {
                    Ok(relid) => answer(&d, 200, Some(("X-Relid", Json::string(&relid)))),
                    Err(e) => slp_sdk::trap(&format!("hostile: bind_relid failed: {e}")),
                },
                Some(relid) => {
                    let Ok(mut r) = response(&d.message, 200) else { return };
                    r.headers.set("X-Via", Json::string(&relid));
                    r.headers.set("X-First", Json::parse(if d.first { "true" } else { "false" }).expect("literal"));
                    let _ = slp_sdk::send(&r);
                    slp_sdk::unbind_relid(&relid);
                    slp_sdk::finish();
                }
            },
            _ => match method {
                Method::Ack => {}
                Method::Invite | Method::Update | Method::Prack => answer(&d, 200, None),
                Method::Bye | Method::Cancel => slp_sdk::finish(),
                _ => {
                    answer(&d, 200, None);
                    slp_sdk::finish();
                }
            },
        }
    }

    fn on_timer(&mut self, _id: u64, _tag: u64) {
        if let Some(req) = self.pending.take() {
            let Ok(mut r) = response(&req, 200) else { return };
            r.headers.set("X-Sent", Json::integer(self.sent));
            if let Some(code) = self.first_error {
                r.headers.set("X-Error", Json::string(code));
            }
            let _ = slp_sdk::send(&r);
            slp_sdk::finish();
        }
    }
}

/// `bad_send`: one message of each kind the stack rejects, and the code each
/// send got (`ok` if it went out).
fn bad_sends(req: &Message) -> Vec<(&'static str, &'static str)> {
    let code = |m: &Message| match slp_sdk::send(m) {
        Ok(_) => "ok",
        Err(e) => e.code.as_str(),
    };
    let fresh = |tag: &str| format!("{}~bad-{tag}", req.dialogue_id);
    let sink = |method, tag: &str| request(method, "bad-sink", "hostile", "bad-sink", &fresh(tag));
    let mut out = Vec::new();
    let mut orphan = response(req, 200).expect("a request");
    orphan.cseq = req.cseq.wrapping_add(1_000_000);
    out.push(("response_without_transaction", code(&orphan)));
    out.push(("request_without_uri", code(&request(Method::Invite, "", "hostile", "", &fresh("empty")))));
    out.push(("bye_without_dialogue", code(&sink(Method::Bye, "bye"))));
    let mut ack = sink(Method::Ack, "ack");
    ack.related_id = Some(1);
    out.push(("ack_without_dialogue", code(&ack)));
    out.push(("cancel_without_dialogue", code(&sink(Method::Cancel, "cancel"))));
    let mut huge = sink(Method::Message, "huge");
    huge.body = Some(Json::string(&"x".repeat(100 << 10)));
    out.push(("larger_than_max_frame", code(&huge)));
    let mut unroutable = sink(Method::Message, "route");
    unroutable.router = Some(";;;".to_owned());
    out.push(("route_does_not_parse", code(&unroutable)));
    let mut twice = sink(Method::Message, "twice");
    twice.cseq = 7;
    out.push(("first_of_twice", code(&twice)));
    out.push(("duplicate_cseq", code(&twice)));
    out
}

/// `kv_big`: oversized entries, then filling the namespace up to its cap.
fn kv_big() -> Json {
    use slp_sdk::kv;
    let name = |r: Result<u64, kv::KvError>| r.map_or_else(|e| e.name(), |_| "ok");
    let big_value = name(kv::put("hostile-big", &vec![0u8; 1 << 20], None));
    let long_key = name(kv::put(&"k".repeat(600), b"v", None));
    let block = vec![7u8; 60 << 10];
    let mut filled = 0;
    let mut fill_error = "none";
    for i in 0..4096 {
        match kv::put(&format!("hostile-fill-{i}"), &block, None) {
            Ok(_) => filled += 1,
            Err(e) => {
                fill_error = e.name();
                break;
            }
        }
    }
    for i in 0..filled {
        kv::delete(&format!("hostile-fill-{i}"));
    }
    let text = format!(
        "{{\"big_value\":\"{big_value}\",\"long_key\":\"{long_key}\",\"filled\":{filled},\"fill_error\":\"{fill_error}\"}}"
    );
    Json::parse(&text).expect("an object")
}

/// The user part of the Request-URI, or the whole of it without an `@`.
fn mode_of(m: &Message) -> String {
    let uri = m.request_uri.as_deref().unwrap_or("");
    let host_part = uri.split(';').next().unwrap_or("").trim();
    host_part.split_once('@').map_or(host_part, |(user, _)| user).to_owned()
}

/// Recursion the compiler can neither remove nor turn into a loop: every
/// frame keeps a buffer on the stack and uses the callee's result.
fn recurse(depth: u64) -> u64 {
    let buf = black_box([depth as u8; 256]);
    if black_box(depth) == u64::MAX {
        return 0;
    }
    recurse(depth + 1).wrapping_add(u64::from(buf[depth as usize % 256]))
}

fn answer(d: &Delivery, code: u16, header: Option<(&str, Json)>) {
    let Ok(mut r) = response(&d.message, code) else { return };
    if let Some((name, value)) = header {
        r.headers.set(name, value);
    }
    let _ = slp_sdk::send(&r);
}

slp_sdk::export_slp!(Hostile);
