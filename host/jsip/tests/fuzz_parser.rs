//! A deterministic mutation fuzzer for the syntax layer that runs in CI for a
//! bounded number of iterations (not a time budget), so every run tests
//! exactly the same inputs.
//!
//! Starting from a corpus of valid and invalid frames it applies byte flips,
//! insertions (of random bytes and JSON tokens), deletions, splices between
//! frames, duplications and truncations. Mutants that parse are added back to
//! the pool, so later iterations dig deeper. For every input it asserts:
//!
//! * `parse` does not panic;
//! * an accepted message re-serialises, re-parses to the same message (after
//!   the normalisations of §2.5 / §4.4) and serialisation is a fixed point;
//! * a 400 answer is writable and a close has a valid code and short reason;
//! * every Body and header value of an accepted message is canonical text:
//!   parsing it again gives the same text. The SDK relies on this when it
//!   takes what the host delivers as it is (`Json::from_canonical`).
//!
//! Environment overrides for longer local runs: `JSIP_FUZZ_ITERS` (per seed)
//! and `JSIP_FUZZ_SEED` (added to the fixed seeds).
//! For coverage-guided fuzzing with nightly, see `host/jsip/fuzz/`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use jsip::message::reason_phrase;
use jsip::syntax::{DEFAULT_MAX_FRAME, parse};
use jsip::{Json, Kind, Message, Rejection};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Iterations per seed; four seeds run as four tests (in parallel).
const ITERATIONS: usize = 50_000;
const POOL_LIMIT: usize = 512;

const CORPUS: &[&str] = &[
    // Valid requests of every method.
    r#"{"Type":"INVITE","Request-URI":"conf@example.org","From":"erin@example.org","To":"conf@example.org","DialogueID":"i-2","CSeq":1,"Expire":600,"Body":{"sdp":"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n","codecs":[0,8,{"pt":101,"name":"telephone-event"}]}}"#,
    r#"{"Type":"ACK","Request-URI":"conf@example.org","From":"erin@example.org","To":"conf@example.org","DialogueID":"i-2","CSeq":3,"RelatedID":1}"#,
    r#"{"Type":"BYE","Request-URI":"bob@example.org","From":"alice@example.org","To":"bob@example.org","DialogueID":"d-1","CSeq":9,"Router":"media.example.org;type=conf, bob@example.org"}"#,
    r#"{"Type":"CANCEL","Request-URI":"conf@example.org","From":"erin@example.org","To":"conf@example.org","DialogueID":"i-2","CSeq":2,"RelatedID":1.0}"#,
    r#"{"Type":"REGISTER","Request-URI":"reg.example.org","From":"u@example.org","To":"u@example.org","DialogueID":"r-1","CSeq":2e0,"X-Expires":3600}"#,
    r#"{"Type":"OPTIONS","Request-URI":"svc.example.org","From":"erin@example.org","To":"svc.example.org","DialogueID":"o-1","CSeq":1}"#,
    r#"{"Type":"INFO","Request-URI":"","From":"a","To":"b","DialogueID":"n","CSeq":9007199254740991,"Body":null}"#,
    r#"{"Type":"UPDATE","Request-URI":"frank@example.org","From":"svc@example.org","To":"frank@example.org","DialogueID":"dlg_node1.example.net_1","CSeq":88173,"Expire":60}"#,
    r#"{"Type":"PRACK","Request-URI":"b","From":"a","To":"b","DialogueID":"p","CSeq":4,"Code":200,"Desc":"ignored"}"#,
    r#"{"Type":"SUBSCRIBE","Request-URI":"room@chat.example.org","From":"u@example.org","To":"room@chat.example.org","DialogueID":"s-1","CSeq":5,"Router":"chatroom.example.org, ,x"}"#,
    r#"{"Type":"MESSAGE","Request-URI":"news@example.org","From":"carol@example.org","To":"news@example.org","DialogueID":"k2-77","CSeq":12,"Body":{"text":"hello \"world\" \\ \u00e9 \ud83d\ude00 \u0000"},"X-Trace":"a1"}"#,
    r#"{"Type":"NOTIFY","Request-URI":"u@example.org","From":"room@chat.example.org","To":"u@example.org","DialogueID":"s-1","CSeq":6,"Body":[[[[{"z":1,"a":[true,false,null,-0.5e-3,123456789012345678901234567890]}]]]]}"#,
    // Responses.
    r#"{"CSeq":12,"Code":200,"Desc":"OK","DialogueID":"k2-77","From":"carol@example.org","To":"news@example.org","Type":"RESPONSE"}"#,
    r#"{"CSeq":3,"Code":481,"Desc":"Call Leg/Transaction Does Not Exist","DialogueID":"zz-1","From":"carol@example.org","Reason":"no dialogue","To":"dave@example.org","Type":"RESPONSE","Request-URI":"stale","Router":"stale","Expire":5}"#,
    r#" { "Type" : "RESPONSE" , "Code" : 1.8e2 , "From" : "a" , "To" : "b" , "DialogueID" : "d" , "CSeq" : 1 , "Body" : { "b" : 1 , "a" : 2 } } "#,
    // Invalid frames.
    r#"{"Type":"MESSAGE","Request-URI":"x","To":"y","DialogueID":"v-1","CSeq":9}"#,
    r#"{"Type":"TERM","Request-URI":"b@example.org","From":"a@example.org","To":"b@example.org","DialogueID":"q-10","CSeq":1,"X-A":1,"X-A":2}"#,
    r#"{"Type":"INVITE","Request-URI":"b","From":"a","To":"b","DialogueID":"d","CSeq":1,"Expire":"10","RelatedID":-1}"#,
    r#"{"Type":"RESPONSE","Code":700,"From":"","To":"b","DialogueID":"","CSeq":0}"#,
    r#"{"Type":"BYE","CSeq":1,"CSeq":2,"\u0054ype":"x","Body":[1,2}"#,
    r#"{"Type":"MESSAGE","Request-URI":"u","From":"f","To":"t","DialogueID":"d","CSeq":1,"Body":{"\ud800":1,"\u0062":2,"a":3}}"#,
    r#"[{"Type":"INVITE"}]"#,
    "",
];

/// Tokens worth inserting: JSON syntax, member names, edge-case values.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "\\u",
    "\\ud800",
    "\\u0000",
    "\\\"",
    " ",
    "\t",
    "\n",
    "null",
    "true",
    "false",
    "0",
    "-0",
    "1e2",
    "2.5",
    "1e999",
    "9007199254740992",
    "4294967296",
    "\"Type\":",
    "\"CSeq\":",
    "\"DialogueID\":",
    "\"From\":",
    "\"To\":",
    "\"Request-URI\":",
    "\"Router\":",
    "\"Body\":",
    "\"Expire\":",
    "\"RelatedID\":",
    "\"Code\":",
    "\"Desc\":",
    "\"RESPONSE\"",
    "\"INVITE\"",
    "\"ACK\"",
    "\"CANCEL\"",
    "\"\"",
    "[[[[[[[[[[[[[[[[",
    "]]]]]]]]]]]]]]]]",
    "{\"a\":{\"a\":{\"a\":",
    "}}}",
    "\u{e9}",
    "\u{1f600}",
    "\u{2028}",
];

/// Values worth putting where a value was.
const VALUES: &[&str] = &[
    "null",
    "true",
    "0",
    "-1",
    "1",
    "200",
    "2e2",
    "200.5",
    "700",
    "4294967295",
    "4294967296",
    "9007199254740991",
    "9007199254740992",
    r#""""#,
    r#""x""#,
    r#""10""#,
    r#""INVITE""#,
    r#""ACK""#,
    r#""CANCEL""#,
    r#""RESPONSE""#,
    r#""TERM""#,
    r#""a, b,,c""#,
    "[]",
    "{}",
    r#"[1,{"b":2,"a":1}]"#,
    r#"{"z":{"y":[null]}}"#,
];

/// Text worth putting inside a string literal (escapes included).
const IN_STRING: &[&str] = &[
    "a",
    r"\n",
    r#"\""#,
    r"\\",
    r"\u00e9",
    r"\ud83d\ude00",
    r"\ud800",
    r"\u0000",
    ",",
    " ",
    "\u{e9}",
    "\u{1f600}",
    r"\/",
    "@",
    ";x=1",
    ":5060",
];

fn positions(data: &[u8], byte: u8) -> Vec<usize> {
    data.iter().enumerate().filter(|&(_, &b)| b == byte).map(|(i, _)| i).collect()
}

fn pick<T: Copy>(rng: &mut StdRng, items: &[T]) -> Option<T> {
    (!items.is_empty()).then(|| items[rng.random_range(0..items.len())])
}

fn mutate(rng: &mut StdRng, input: &[u8], pool: &[Vec<u8>]) -> Vec<u8> {
    let mut data = input.to_vec();
    let rounds = if rng.random_bool(0.6) { 1 } else { rng.random_range(2..=4) };
    for _ in 0..rounds {
        let len = data.len();
        let at = if len == 0 { 0 } else { rng.random_range(0..len) };
        match rng.random_range(0..16) {
            // Bit flip.
            0 if len > 0 => data[at] ^= 1 << rng.random_range(0..8),
            // Random byte.
            1 if len > 0 => data[at] = rng.random(),
            // Insert a random byte.
            2 => data.insert(at.min(len), rng.random()),
            // Insert a token.
            3 => {
                let token = TOKENS[rng.random_range(0..TOKENS.len())].as_bytes();
                let at = rng.random_range(0..=len);
                data.splice(at..at, token.iter().copied());
            }
            // Delete a range.
            4 if len > 0 => {
                let end = (at + rng.random_range(1..=16)).min(len);
                data.drain(at..end);
            }
            // Splice a piece of another input in, replacing or inserting.
            5 => {
                let other = &pool[rng.random_range(0..pool.len())];
                if !other.is_empty() {
                    let start = rng.random_range(0..other.len());
                    let end = (start + rng.random_range(1..=64)).min(other.len());
                    let at = rng.random_range(0..=len);
                    let replace = if rng.random_bool(0.5) { (at + end - start).min(len) } else { at };
                    data.splice(at..replace, other[start..end].iter().copied());
                }
            }
            // Duplicate a piece of this input.
            6 if len > 0 => {
                let end = (at + rng.random_range(1..=32)).min(len);
                let piece = data[at..end].to_vec();
                let to = rng.random_range(0..=len);
                data.splice(to..to, piece);
            }
            // Truncate.
            7 if len > 0 => data.truncate(at),
            // Structure-aware: insert text just inside a string literal.
            8..=10 => {
                if let Some(quote) = pick(rng, &positions(&data, b'"')) {
                    let text = IN_STRING[rng.random_range(0..IN_STRING.len())].as_bytes();
                    data.splice(quote + 1..quote + 1, text.iter().copied());
                }
            }
            // Structure-aware: replace the value after a `:` up to the next `,` or `}`.
            11..=13 => {
                if let Some(colon) = pick(rng, &positions(&data, b':')) {
                    let end = data[colon + 1..]
                        .iter()
                        .position(|&b| b == b',' || b == b'}')
                        .map_or(data.len(), |p| colon + 1 + p);
                    let value = VALUES[rng.random_range(0..VALUES.len())].as_bytes();
                    data.splice(colon + 1..end, value.iter().copied());
                }
            }
            // Structure-aware: delete one flat member (from a `,` to the next), or duplicate it.
            _ => {
                if let Some(comma) = pick(rng, &positions(&data, b',')) {
                    let end = data[comma + 1..]
                        .iter()
                        .position(|&b| b == b',' || b == b'}')
                        .map_or(data.len(), |p| comma + 1 + p);
                    if rng.random_bool(0.5) {
                        data.drain(comma..end);
                    } else {
                        let member = data[comma..end].to_vec();
                        data.splice(end..end, member);
                    }
                }
            }
        }
    }
    data
}

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
            n.headers.set("Desc", Json::string(reason_phrase(code).unwrap()));
        }
    }
    n
}

#[derive(Default, Debug)]
struct Stats {
    ok: usize,
    answered: usize,
    dropped: usize,
    closed: usize,
}

/// Checks one input; returns a description of the failure, if any.
fn check(input: &[u8], stats: &mut Stats) -> Result<bool, String> {
    let outcome = catch_unwind(AssertUnwindSafe(|| parse(input, DEFAULT_MAX_FRAME)))
        .map_err(|_| "parse panicked".to_string())?;
    match outcome {
        Ok(m) => {
            stats.ok += 1;
            let frame = m.to_frame().map_err(|e| format!("accepted but not writable: {e}"))?;
            let again = parse(frame.as_bytes(), usize::MAX)
                .map_err(|e| format!("re-parse of {frame} failed: {e:?}"))?;
            if again != normalise(&m) {
                return Err(format!("re-parse differs: {again:?} vs {m:?}"));
            }
            let frame2 = again.to_frame().map_err(|e| e.to_string())?;
            if frame2 != frame {
                return Err(format!("serialisation is not a fixed point: {frame} vs {frame2}"));
            }
            let values = m.body.iter().chain(m.headers.iter().map(|(_, v)| v));
            for value in values {
                match Json::parse(value.text()) {
                    Ok(again) if again.text() == value.text() => {}
                    _ => return Err(format!("value not canonical: {value}")),
                }
            }
            Ok(true)
        }
        Err(Rejection::Answer(answer)) => {
            stats.answered += 1;
            let frame = answer.to_frame().map_err(|e| format!("400 not writable: {e}"))?;
            let reason = answer.reason().unwrap_or_default();
            if answer.kind != Kind::Response(400)
                || reason.is_empty()
                || !frame.contains("\"Desc\":\"Bad Request\"")
            {
                return Err(format!("bad 400: {frame}"));
            }
            Ok(false)
        }
        Err(Rejection::Drop { reason }) => {
            stats.dropped += 1;
            if reason.is_empty() {
                return Err("drop without a reason".into());
            }
            Ok(false)
        }
        Err(Rejection::Close { code, reason }) => {
            stats.closed += 1;
            if !matches!(code, 1007 | 1009) || reason.len() > 123 {
                return Err(format!("bad close {code} {reason}"));
            }
            Ok(false)
        }
    }
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn fuzz(seed: u64) {
    let iterations = env_or("JSIP_FUZZ_ITERS", ITERATIONS as u64) as usize;
    let seed = seed + env_or("JSIP_FUZZ_SEED", 0);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut pool: Vec<Vec<u8>> = CORPUS.iter().map(|f| f.as_bytes().to_vec()).collect();
    let mut stats = Stats::default();
    for input in pool.clone() {
        if let Err(why) = check(&input, &mut stats) {
            panic!("seed corpus: {why}\ninput: {:?}", String::from_utf8_lossy(&input));
        }
    }
    let started = std::time::Instant::now();
    for i in 0..iterations {
        let parent = &pool[rng.random_range(0..pool.len())];
        let input = mutate(&mut rng, parent, &pool);
        match check(&input, &mut stats) {
            Err(why) => panic!(
                "seed {seed} iteration {i}: {why}\ninput bytes: {input:?}\ninput text: {:?}",
                String::from_utf8_lossy(&input)
            ),
            // Accepted mutants join the pool (replacing a random non-corpus entry when full).
            Ok(true) if input.len() < 4096 => {
                if pool.len() < POOL_LIMIT {
                    pool.push(input);
                } else {
                    let at = rng.random_range(CORPUS.len()..POOL_LIMIT);
                    pool[at] = input;
                }
            }
            Ok(_) => {}
        }
    }
    eprintln!("seed {seed}: {iterations} iterations in {:?}: {stats:?}", started.elapsed());
    // The fuzzer must reach every outcome, or it is not exploring.
    let floor = iterations / 100;
    assert!(stats.ok > floor, "{stats:?}");
    assert!(stats.answered > floor, "{stats:?}");
    assert!(stats.dropped > floor, "{stats:?}");
    assert!(stats.closed > floor, "{stats:?}");
}

#[test]
fn fuzz_seed_1() {
    fuzz(0x5eed_0001);
}

#[test]
fn fuzz_seed_2() {
    fuzz(0x5eed_0002);
}

#[test]
fn fuzz_seed_3() {
    fuzz(0x5eed_0003);
}

#[test]
fn fuzz_seed_4() {
    fuzz(0x5eed_0004);
}
