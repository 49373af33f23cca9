//! Fuzz target: `jsip::syntax::parse` on arbitrary bytes, then the round trip
//! of whatever it accepts (the same checks as `tests/fuzz_parser.rs`).
//!
//!     cd host/jsip && cargo +nightly fuzz run parse

#![no_main]

use jsip::message::reason_phrase;
use jsip::syntax::{DEFAULT_MAX_FRAME, parse};
use jsip::{Json, Kind, Message, Rejection};
use libfuzzer_sys::fuzz_target;

/// What `parse(to_frame(m))` gives back (spec §2.2, §2.5, §3.4, §4.4).
fn normalise(m: &Message) -> Message {
    let mut n = m.clone();
    match n.kind {
        Kind::Request(_) => {
            n.headers.remove("Code");
            n.headers.remove("Desc");
            n.router = n.router.map(|r| r.split(',').map(str::trim).collect::<Vec<_>>().join(", "));
        }
        Kind::Response(code) => {
            n.headers.remove("Request-URI");
            n.headers.remove("Router");
            let desc = reason_phrase(code).expect("an accepted response has a valid code");
            n.headers.set("Desc", Json::string(desc));
        }
    }
    n
}

fuzz_target!(|data: &[u8]| {
    match parse(data, DEFAULT_MAX_FRAME) {
        Ok(m) => {
            let frame = m.to_frame().expect("an accepted message is writable");
            let again = parse(frame.as_bytes(), usize::MAX).expect("a written message parses");
            assert_eq!(again, normalise(&m), "re-parse of {frame}");
            assert_eq!(again.to_frame().expect("writable"), frame, "serialisation is a fixed point");
            // What the SDK takes as it is (`Json::from_canonical`) must be canonical.
            for value in m.body.iter().chain(m.headers.iter().map(|(_, v)| v)) {
                let reparsed = Json::parse(value.text()).expect("a value parses");
                assert_eq!(reparsed.text(), value.text(), "canonical value");
            }
        }
        Err(Rejection::Answer(answer)) => {
            assert_eq!(answer.kind, Kind::Response(400));
            assert!(answer.reason().is_some_and(|r| !r.is_empty()));
            answer.to_frame().expect("a 400 is writable");
        }
        Err(Rejection::Drop { reason }) => assert!(!reason.is_empty()),
        Err(Rejection::Close { code, reason }) => {
            assert!(matches!(code, 1007 | 1009));
            assert!(reason.len() <= 123);
        }
    }
});
