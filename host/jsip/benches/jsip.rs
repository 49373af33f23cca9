//! Micro-benchmarks of the protocol core: parse + validate, serialise, and one
//! whole call (INVITE → 200 → ACK → BYE) through a fresh stack, as the host
//! runs it for every session. Figures go to BENCHMARKS.md.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jsip::build;
use jsip::stack::{Config, Endpoint, Output, Stack};
use jsip::syntax::{self, DEFAULT_MAX_FRAME};
use jsip::{Message, Time};

/// A typical INVITE of about 300 bytes.
const INVITE: &str = r#"{"Type":"INVITE","Request-URI":"bob@example.org","From":"alice@example.org","To":"bob@example.org","DialogueID":"a84b4c76e66710-9f2d-4b8e","CSeq":314159,"Expire":600,"Router":"conf.example.org;type=conf","Body":{"sdp":"v=0 o=alice 2890844526 2890844526 IN IP4 host.example.org"},"X-Trace":"a1b2c3"}"#;
const MESSAGE: &str = r#"{"Type":"MESSAGE","Request-URI":"news@example.org","From":"carol@example.org","To":"news@example.org","DialogueID":"k2-77","CSeq":12,"Body":{"text":"hello"},"X-Trace":"a1"}"#;

fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    for (name, frame) in [("invite", INVITE), ("message", MESSAGE)] {
        g.throughput(Throughput::Bytes(frame.len() as u64));
        g.bench_function(format!("{name}_parse_and_validate"), |b| {
            b.iter(|| syntax::parse(black_box(frame.as_bytes()), DEFAULT_MAX_FRAME))
        });
        // Baseline: serde_json only checking that the text is JSON.
        g.bench_function(format!("{name}_json_scan_only"), |b| {
            b.iter(|| serde_json::from_slice::<serde::de::IgnoredAny>(black_box(frame.as_bytes())))
        });
    }
    g.finish();
}

fn serialize(c: &mut Criterion) {
    let invite = syntax::parse(INVITE.as_bytes(), DEFAULT_MAX_FRAME).expect("valid");
    let ok = build::response(&invite, 200).expect("request");
    let mut g = c.benchmark_group("serialize");
    g.bench_function("invite_to_frame", |b| b.iter(|| black_box(&invite).to_frame()));
    g.bench_function("response_to_frame", |b| b.iter(|| black_box(&ok).to_frame()));
    g.bench_function("check_outgoing_invite", |b| b.iter(|| syntax::check_outgoing(black_box(&invite))));
    g.finish();
}

fn drain(stack: &mut Stack) -> Option<Message> {
    let mut delivered = None;
    while let Some(out) = stack.poll_output() {
        if let Output::Deliver(d) = out {
            delivered = Some(d.message);
        }
    }
    delivered
}

/// One UAS call through a new stack, as a session actor runs it; the frames
/// are parsed from text each time, as they would arrive.
fn call(c: &mut Criterion) {
    let alice = Endpoint::from("alice@example.org");
    let no_routes = |_: &str| -> Option<Endpoint> { None };
    let ack = r#"{"Type":"ACK","Request-URI":"bob@example.org","From":"alice@example.org","To":"bob@example.org","DialogueID":"a84b4c76e66710-9f2d-4b8e","CSeq":314160,"RelatedID":314159}"#;
    let bye = r#"{"Type":"BYE","Request-URI":"bob@example.org","From":"alice@example.org","To":"bob@example.org","DialogueID":"a84b4c76e66710-9f2d-4b8e","CSeq":314161}"#;
    c.bench_function("stack/uas_call_invite_200_ack_bye", |b| {
        b.iter(|| {
            let now = Time::from_millis(1);
            let mut stack = Stack::new(Config::default());
            let invite = syntax::parse(INVITE.as_bytes(), DEFAULT_MAX_FRAME).expect("valid");
            stack.receive(invite, &alice, now);
            let invite = drain(&mut stack).expect("INVITE delivered");
            let ok = build::response(&invite, 200).expect("request");
            stack.send(ok, now, &no_routes).expect("200 accepted");
            drain(&mut stack);
            stack.receive(syntax::parse(ack.as_bytes(), DEFAULT_MAX_FRAME).expect("valid"), &alice, now);
            drain(&mut stack);
            stack.receive(syntax::parse(bye.as_bytes(), DEFAULT_MAX_FRAME).expect("valid"), &alice, now);
            drain(&mut stack);
            assert!(stack.is_idle());
        })
    });
    c.bench_function("stack/message_transaction", |b| {
        b.iter(|| {
            let now = Time::from_millis(1);
            let mut stack = Stack::new(Config::default());
            stack.receive(syntax::parse(MESSAGE.as_bytes(), DEFAULT_MAX_FRAME).expect("valid"), &alice, now);
            let m = drain(&mut stack).expect("delivered");
            stack.send(build::response(&m, 200).expect("request"), now, &no_routes).expect("ok");
            drain(&mut stack);
            assert!(stack.is_idle());
        })
    });
}

criterion_group!(benches, parse, serialize, call);
criterion_main!(benches);
