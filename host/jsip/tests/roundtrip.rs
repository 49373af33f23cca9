//! Property tests: every valid message survives `to_frame` → `parse` unchanged
//! (after the normalisations the spec prescribes), serialisation is a fixed
//! point, and `parse` never panics on any input.

use std::collections::BTreeSet;

use jsip::message::reason_phrase;
use jsip::syntax::{MAX_CSEQ, MAX_EXPIRE, check_outgoing, parse};
use jsip::{Json, Kind, Message, Method};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::Value;

const NO_LIMIT: usize = usize::MAX;

/// Member names the message model types for some kind, or that the writer
/// rewrites; extra headers never use them (they are covered as "noise" below).
const RESERVED: [&str; 12] = [
    "Body",
    "CSeq",
    "Code",
    "Desc",
    "DialogueID",
    "Expire",
    "From",
    "RelatedID",
    "Request-URI",
    "Router",
    "To",
    "Type",
];

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

/// Characters JSON has to escape or that a careless writer might mangle.
const TRICKY: [char; 25] = [
    '"',
    '\\',
    '/',
    '\u{0}',
    '\n',
    '\r',
    '\t',
    '\u{8}',
    '\u{c}',
    '\u{1f}',
    '\u{7f}',
    '\u{80}',
    '\u{2028}',
    '\u{2029}',
    '\u{feff}',
    '\u{fffd}',
    '\u{10ffff}',
    ',',
    ' ',
    '\u{a0}',
    '\u{85}',
    'é',
    '😀',
    '{',
    '[',
];

/// Characters with a bias towards what JSON has to escape or might mangle.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => any::<char>(),
        3 => proptest::char::range(' ', '~'),
        2 => select(TRICKY.to_vec()),
        1 => proptest::char::range('\u{0}', '\u{1f}'),
    ]
}

/// A long string drawn from a seed with the same bias as [`tricky_char`]
/// (a per-character strategy is too slow for hundreds of characters in debug builds).
fn synthetic(mut seed: u64, max_bytes: usize) -> String {
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut s = String::new();
    loop {
        let r = next();
        let c = match r % 10 {
            0..=3 => char::from(b' ' + (r >> 8) as u8 % 95),
            4..=5 => TRICKY[(r >> 8) as usize % TRICKY.len()],
            6 => char::from((r >> 8) as u8 % 0x20),
            _ => char::from_u32((r >> 8) as u32 % 0x11_0000).unwrap_or('\u{fffd}'),
        };
        if s.len() + c.len_utf8() > max_bytes {
            return s;
        }
        s.push(c);
    }
}

/// A string of `min_bytes..=max_bytes` UTF-8 bytes.
fn text(min_bytes: usize, max_bytes: usize) -> impl Strategy<Value = String> {
    let short = vec(tricky_char(), min_bytes..=max_bytes.min(24)).prop_map(String::from_iter).boxed();
    let long =
        (any::<u64>(), max_bytes / 2..=max_bytes).prop_map(|(seed, max)| synthetic(seed | 1, max)).boxed();
    prop_oneof![4 => short, 1 => long]
        .prop_map(move |s| {
            let mut end = s.len().min(max_bytes);
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s[..end].to_owned()
        })
        .prop_filter("too short", move |s| s.len() >= min_bytes)
}

fn cseq() -> impl Strategy<Value = u64> {
    prop_oneof![Just(1), Just(MAX_CSEQ), 1..=MAX_CSEQ, 1..=u64::from(u32::MAX)]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("not finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        text(0, 40).prop_map(Value::String),
    ]
}

/// Arbitrary JSON trees, rendered compact or pretty, then read as a [`Json`].
fn json() -> impl Strategy<Value = Json> {
    let tree = json_leaf().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Value::Array),
            vec((text(0, 12), inner), 0..5).prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    });
    render(tree)
}

/// A scalar JSON value (cheaper to generate than a tree).
fn json_scalar() -> impl Strategy<Value = Json> {
    render(json_leaf())
}

fn render(values: impl Strategy<Value = Value>) -> impl Strategy<Value = Json> {
    (values, any::<bool>()).prop_map(|(value, pretty)| {
        let rendered = match pretty {
            true => serde_json::to_string_pretty(&value).unwrap(),
            false => serde_json::to_string(&value).unwrap(),
        };
        Json::parse(&rendered).unwrap()
    })
}

/// Number spellings serde_json's `Value` cannot hold: huge, fractional, exponents.
fn raw_number() -> impl Strategy<Value = String> {
    "-?(0|[1-9][0-9]{0,40})(\\.[0-9]{1,12})?([eE][+-]?[0-9]{1,4})?"
}

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "X-[A-Za-z0-9-]{1,12}",
        1 => text(0, 24),
        1 => select(vec!["Reason", "reason", "cseq", "TYPE", "from", "Bodies", "A", "Z", "~"]).prop_map(String::from),
    ]
    .prop_filter("reserved name", |n| !RESERVED.contains(&n.as_str()))
}

fn headers() -> impl Strategy<Value = Vec<(String, Json)>> {
    let value = prop_oneof![
        4 => json(),
        1 => raw_number().prop_map(|n| Json::parse(&n).unwrap()),
        1 => vec(raw_number(), 0..5).prop_map(|ns| Json::parse(&format!("[{}]", ns.join(" , "))).unwrap()),
    ];
    vec((header_name(), value), 0..5)
}

/// Members that the writer removes or that the parser reads back differently.
#[derive(Debug, Clone)]
struct Noise {
    code: Option<Json>,
    desc: Option<Json>,
    request_uri: Option<Json>,
    router: Option<Json>,
    expire: Option<Json>,
    related_id: Option<Json>,
    null_body: bool,
}

fn noise() -> impl Strategy<Value = Noise> {
    let o = || proptest::option::weighted(0.15, json_scalar());
    (o(), o(), o(), o(), o(), o(), proptest::bool::weighted(0.1)).prop_map(
        |(code, desc, request_uri, router, expire, related_id, null_body)| Noise {
            code,
            desc,
            request_uri,
            router,
            expire,
            related_id,
            null_body,
        },
    )
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        2 => select(Method::ALL.to_vec()).prop_map(Kind::Request),
        1 => (100u16..=699).prop_map(Kind::Response),
        1 => select(vec![100u16, 180, 199, 200, 299, 300, 487, 600, 699]).prop_map(Kind::Response),
    ]
}

/// Any valid message, with the noise that a round trip is allowed to normalise.
fn message() -> impl Strategy<Value = Message> {
    let ids = (kind(), text(1, 256), text(1, 256), text(1, 256), text(0, 256), cseq());
    let optional = (
        proptest::option::of(text(0, 120)),
        proptest::option::of(0..=MAX_EXPIRE),
        proptest::option::of(prop_oneof![Just(0), Just(MAX_CSEQ), 0..=MAX_CSEQ]),
        proptest::option::of(json()),
        headers(),
        noise(),
    );
    (ids, optional).prop_map(
        |(
            (kind, dialogue_id, from, to, request_uri, cseq),
            (router, expire, related_id, body, headers, noise),
        )| {
            let mut m = Message::request(Method::Invite, request_uri, from, to, dialogue_id, cseq);
            m.kind = kind;
            m.router = router;
            m.expire = expire;
            m.related_id = related_id;
            m.body = body;
            if noise.null_body {
                m.body = Some(Json::parse("null").unwrap());
            }
            for (name, value) in headers {
                m.headers.set(&name, value);
            }
            match kind {
                Kind::Request(_) => {
                    // Code/Desc on a request: kept by the model, never written.
                    noise.code.into_iter().for_each(|v| m.headers.set("Code", v));
                    noise.desc.into_iter().for_each(|v| m.headers.set("Desc", v));
                }
                Kind::Response(_) => {
                    // A response leaves out request-only members, whether typed or headers,
                    // and keeps Expire/RelatedID headers as ordinary members.
                    if let Some(v) = noise.request_uri {
                        m.headers.set("Request-URI", v);
                    }
                    if let Some(v) = noise.router {
                        m.headers.set("Router", v);
                    }
                    if let Some(v) = noise.desc {
                        m.headers.set("Desc", v);
                    }
                    if let Some(v) = noise.expire {
                        m.headers.set("Expire", v);
                        m.expire = None;
                    }
                    if let Some(v) = noise.related_id {
                        m.headers.set("RelatedID", v);
                        m.related_id = None;
                    }
                }
            }
            m
        },
    )
}

// ---------------------------------------------------------------------------
// The normalisation the spec prescribes
// ---------------------------------------------------------------------------

/// What `parse(to_frame(m))` gives back, derived from the spec rather than the code:
/// * a `null` Body is absent (§2.2);
/// * requests lose `Code` and `Desc` (§2.5 step 2), and `Router` is read back as
///   its elements, split at `,`, trimmed, joined with ", " (§3.4);
/// * responses lose `Request-URI` and `Router` (§2.5 step 3) and have no typed
///   `Expire`/`RelatedID` (§2.2); their rewritten `Desc` is delivered as received (§4.4).
fn normalise(m: &Message) -> Message {
    let mut n = m.clone();
    if n.body.as_ref().is_some_and(Json::is_null) {
        n.body = None;
    }
    match n.kind {
        Kind::Request(_) => {
            n.headers.remove("Code");
            n.headers.remove("Desc");
            n.router = n.router.map(|r| r.split(',').map(str::trim).collect::<Vec<_>>().join(", "));
        }
        Kind::Response(code) => {
            n.request_uri = None;
            n.router = None;
            n.expire = None;
            n.related_id = None;
            n.headers.remove("Request-URI");
            n.headers.remove("Router");
            n.headers.set("Desc", Json::string(reason_phrase(code).unwrap()));
        }
    }
    n
}

/// Checks the round trip of a message that `parse` accepted (or that is valid).
fn assert_round_trip(m: &Message) -> Result<(), TestCaseError> {
    let frame = m.to_frame().map_err(|e| TestCaseError::fail(format!("{m:?} not writable: {e}")))?;
    prop_assert!(!frame.is_empty());
    let parsed = match parse(frame.as_bytes(), NO_LIMIT) {
        Ok(p) => p,
        Err(e) => return Err(TestCaseError::fail(format!("{frame} rejected: {e:?}"))),
    };
    prop_assert_eq!(&parsed, &normalise(m), "frame {}", frame);
    let again = parsed.to_frame().map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&again, &frame);
    // The frame is JSON that any strict reader accepts, with unique members sorted
    // in byte order, and no whitespace outside strings.
    let keys = member_names(&frame);
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    prop_assert_eq!(&keys, &sorted, "{}", frame);
    prop_assert!(!outside_strings(&frame).any(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t')), "{}", frame);
    Ok(())
}

/// The top-level member names of a JSON object text, in order.
fn member_names(frame: &str) -> Vec<String> {
    use serde::de::{Deserializer as _, IgnoredAny, MapAccess, Visitor};
    struct Names;
    impl<'de> Visitor<'de> for Names {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<String>, A::Error> {
            let mut names = Vec::new();
            while let Some(name) = map.next_key::<String>()? {
                map.next_value::<IgnoredAny>()?;
                names.push(name);
            }
            Ok(names)
        }
    }
    serde_json::Deserializer::from_str(frame).deserialize_map(Names).unwrap()
}

/// The bytes of a JSON text that are not inside string literals.
fn outside_strings(text: &str) -> impl Iterator<Item = u8> + '_ {
    let (mut in_string, mut escaped) = (false, false);
    text.bytes().filter(move |&b| {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            return false;
        }
        in_string = b == b'"';
        !in_string
    })
}

fn mutate(frame: &mut Vec<u8>, op: u8, at: Index, byte: u8, len: usize) {
    if frame.is_empty() {
        frame.push(byte);
        return;
    }
    let i = at.index(frame.len());
    match op % 6 {
        0 => frame[i] ^= 1 << (byte % 8),
        1 => frame[i] = byte,
        2 => frame.insert(i, byte),
        3 => {
            let end = (i + len).min(frame.len());
            frame.drain(i..end);
        }
        4 => frame.truncate(i),
        _ => {
            // Duplicate a slice of the frame somewhere else.
            let end = (i + len).min(frame.len());
            let piece: Vec<u8> = frame[i..end].to_vec();
            let to = (i + byte as usize) % (frame.len() + 1);
            let tail = frame.split_off(to);
            frame.extend(piece);
            frame.extend(tail);
        }
    }
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig { cases: n, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn valid_messages_round_trip(m in message()) {
        assert_round_trip(&m)?;
        // Every valid message except a request with an empty Request-URI may also be sent.
        let sendable = m.request_uri.as_deref() != Some("") || !m.is_request();
        prop_assert_eq!(check_outgoing(&m).is_ok(), sendable, "{:?}", m);
    }

    #[test]
    fn parse_never_panics_on_mutated_frames(
        m in message(),
        mutations in vec((any::<u8>(), any::<Index>(), any::<u8>(), 1usize..16), 1..6),
    ) {
        let mut frame = m.to_frame().unwrap().into_bytes();
        for (op, at, byte, len) in mutations {
            mutate(&mut frame, op, at, byte, len);
        }
        if let Ok(m) = parse(&frame, NO_LIMIT) {
            assert_round_trip(&m)?;
        }
    }
}

proptest! {
    #![proptest_config(cases(2048))]

    #[test]
    fn parse_never_panics_on_arbitrary_bytes(bytes in vec(any::<u8>(), 0..600)) {
        if let Ok(m) = parse(&bytes, NO_LIMIT) {
            assert_round_trip(&m)?;
        }
    }

    #[test]
    fn parse_never_panics_on_json_like_text(
        text in vec(select(b"{}[]{}[]\":,\\ \"\"::,,0123456789.eE+-tfnulrsaTypeCSqDIRFomB".to_vec()), 0..300)
    ) {
        if let Ok(m) = parse(&text, NO_LIMIT) {
            assert_round_trip(&m)?;
        }
    }
}

proptest! {
    #![proptest_config(cases(128))]

    #[test]
    fn raw_numbers_in_extra_members_are_kept_digit_for_digit(numbers in vec(raw_number(), 1..8)) {
        let mut m = Message::request(Method::Message, "u", "f", "t", "d", 1);
        for (i, n) in numbers.iter().enumerate() {
            m.headers.set(&format!("N{i}"), Json::parse(n).unwrap());
        }
        let frame = m.to_frame().unwrap();
        for (i, n) in numbers.iter().enumerate() {
            let member = format!("\"N{i}\":{n}");
            prop_assert!(frame.contains(&member), "{} lacks {}", frame, member);
        }
        assert_round_trip(&m)?;
    }

    #[test]
    fn size_limit_is_exact(m in message()) {
        let frame = m.to_frame().unwrap();
        prop_assert!(parse(frame.as_bytes(), frame.len()).is_ok());
        prop_assert_eq!(
            parse(frame.as_bytes(), frame.len() - 1).unwrap_err(),
            jsip::Rejection::Close { code: 1009, reason: "frame too large" }
        );
    }

    #[test]
    fn header_names_are_unique_and_sorted_after_parse(m in message()) {
        let parsed = parse(m.to_frame().unwrap().as_bytes(), NO_LIMIT).unwrap();
        let names: Vec<&str> = parsed.headers.iter().map(|(n, _)| n).collect();
        let set: BTreeSet<&str> = names.iter().copied().collect();
        prop_assert_eq!(names, set.into_iter().collect::<Vec<_>>());
    }
}
