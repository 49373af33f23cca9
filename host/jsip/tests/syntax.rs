//! The syntax layer and the serialiser against the spec checklist:
//! §18.1 (types, codes, integer spellings), §18.3 (every §4.1 and §4.2 row),
//! §18.4 (serialisation) and the `invalid-message` checks of §13.4.
//!
//! Binary frames (§4.1 row 1) are the transport's business and are not tested here.

use std::borrow::Cow;

use jsip::build;
use jsip::message::{WriteError, is_valid_code, reason_phrase};
use jsip::syntax::{
    DEFAULT_MAX_FRAME, InvalidMessage, MAX_CSEQ, MAX_DIALOGUE_ID, MAX_EXPIRE, check_outgoing, parse,
};
use jsip::{Json, Kind, Message, Method, Rejection};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A frame under construction: members in wire order, values as raw JSON text.
/// Duplicated members are possible (`add`), which a JSON library would not allow.
#[derive(Clone)]
struct F(Vec<(String, String)>);

fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

impl F {
    fn req(method: &str) -> F {
        F(vec![
            ("Type".into(), q(method)),
            ("Request-URI".into(), q("bob@example.org")),
            ("From".into(), q("alice@example.org")),
            ("To".into(), q("bob@example.org")),
            ("DialogueID".into(), q("d-1")),
            ("CSeq".into(), "7".into()),
        ])
    }

    fn resp(code: &str) -> F {
        F(vec![
            ("Type".into(), q("RESPONSE")),
            ("Code".into(), code.into()),
            ("From".into(), q("alice@example.org")),
            ("To".into(), q("bob@example.org")),
            ("DialogueID".into(), q("d-1")),
            ("CSeq".into(), "7".into()),
        ])
    }

    /// Replaces the first member called `name`, or appends it.
    fn set(mut self, name: &str, raw: &str) -> F {
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some(member) => member.1 = raw.into(),
            None => self.0.push((name.into(), raw.into())),
        }
        self
    }

    /// Appends a member, even when the name is already present.
    fn add(mut self, name: &str, raw: &str) -> F {
        self.0.push((name.into(), raw.into()));
        self
    }

    /// Removes every member called `name`.
    fn del(mut self, name: &str) -> F {
        self.0.retain(|(n, _)| n != name);
        self
    }

    fn text(&self) -> String {
        // A name holding a backslash is taken as already escaped (to test escaped names).
        let name = |n: &str| if n.contains('\\') { format!("\"{n}\"") } else { q(n) };
        let members: Vec<String> = self.0.iter().map(|(n, v)| format!("{}:{v}", name(n))).collect();
        format!("{{{}}}", members.join(","))
    }
}

fn run(frame: &str) -> Result<Message, Rejection> {
    parse(frame.as_bytes(), DEFAULT_MAX_FRAME)
}

#[track_caller]
fn accept(frame: &str) -> Message {
    match run(frame) {
        Ok(m) => m,
        Err(e) => panic!("{frame} was rejected: {e:?}"),
    }
}

/// The 400 a frame is answered with; checks the parts every validation 400 shares.
#[track_caller]
fn answered(frame: &str) -> Message {
    match run(frame) {
        Err(Rejection::Answer(m)) => {
            assert_eq!(m.kind, Kind::Response(400), "{frame}");
            assert_eq!(m.request_uri, None);
            assert_eq!(m.router, None);
            assert_eq!(m.body, None);
            assert_eq!(m.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(), ["Reason"]);
            *m
        }
        other => panic!("{frame}: expected a 400 answer, got {other:?}"),
    }
}

#[track_caller]
fn reason400(frame: &str) -> String {
    let m = answered(frame);
    let reason = m.reason().expect("a 400 carries a Reason").into_owned();
    let r = run(frame).unwrap_err();
    assert_eq!(r.action(), "answered_400");
    assert_eq!(r.reason(), reason);
    reason
}

#[track_caller]
fn dropped(frame: &str) -> String {
    match run(frame) {
        Err(r @ Rejection::Drop { .. }) => {
            assert_eq!(r.action(), "dropped");
            r.reason().into_owned()
        }
        other => panic!("{frame}: expected a drop, got {other:?}"),
    }
}

#[track_caller]
fn closed(payload: &[u8]) -> (u16, &'static str) {
    closed_with(payload, DEFAULT_MAX_FRAME)
}

#[track_caller]
fn closed_with(payload: &[u8], max_frame: usize) -> (u16, &'static str) {
    match parse(payload, max_frame) {
        Err(r @ Rejection::Close { code, reason }) => {
            assert_eq!(r.action(), "closed");
            assert_eq!(r.reason(), reason);
            (code, reason)
        }
        other => panic!("{:?}: expected a close, got {other:?}", String::from_utf8_lossy(payload)),
    }
}

const INVALID_JSON: (u16, &str) = (1007, "invalid JSON");
const NOT_OBJECT: (u16, &str) = (1007, "not a JSON object");
const INVALID_UTF8: (u16, &str) = (1007, "invalid UTF-8");
const TOO_LARGE: (u16, &str) = (1009, "frame too large");

fn nested_arrays(levels: usize) -> String {
    format!("{}{}", "[".repeat(levels), "]".repeat(levels))
}

fn nested_objects(levels: usize) -> String {
    format!("{}1{}", "{\"a\":".repeat(levels), "}".repeat(levels))
}

fn minimal_invite() -> Message {
    Message::request(Method::Invite, "bob@example.org", "alice@example.org", "bob@example.org", "d-1", 7)
}

// ---------------------------------------------------------------------------
// §18.1 Types, codes, classification
// ---------------------------------------------------------------------------

#[test]
fn each_of_the_12_methods_parses_and_is_written_back() {
    let names = [
        "INVITE",
        "ACK",
        "BYE",
        "CANCEL",
        "REGISTER",
        "OPTIONS",
        "INFO",
        "UPDATE",
        "PRACK",
        "SUBSCRIBE",
        "MESSAGE",
        "NOTIFY",
    ];
    assert_eq!(Method::ALL.map(Method::as_str), names);
    for (name, method) in names.into_iter().zip(Method::ALL) {
        let m = accept(&F::req(name).text());
        assert_eq!(m.kind, Kind::Request(method), "{name}");
        assert_eq!(m.method(), Some(method));
        assert_eq!(m.dialogue_id.as_str(), "d-1");
        assert_eq!(m.cseq, 7);
        assert_eq!(m.from, "alice@example.org");
        assert_eq!(m.to, "bob@example.org");
        assert_eq!(m.request_uri.as_deref(), Some("bob@example.org"));
        assert!(m.headers.is_empty());
        assert_eq!(
            m.to_frame().unwrap(),
            format!(
                r#"{{"CSeq":7,"DialogueID":"d-1","From":"alice@example.org","Request-URI":"bob@example.org","To":"bob@example.org","Type":"{name}"}}"#
            )
        );
    }
}

#[test]
fn unknown_types_wrong_case_and_term_are_answered_unknown_type() {
    for ty in ["TTT", "invite", "Invite", "TERM", "", "INVITE ", "RESPONSEX", "response"] {
        assert_eq!(reason400(&F::req(ty).text()), "unknown Type", "{ty:?}");
    }
    assert_eq!(Method::parse("TERM"), None);
    assert_eq!(Method::parse("invite"), None);
}

#[test]
fn log_names_of_requests_and_responses() {
    let invite = minimal_invite();
    assert_eq!(build::name(&invite, Method::Invite), "INVITE");
    assert_eq!(build::name(&Message::response_to(&invite, 200), Method::Invite), "INVITE_200");
    let bye = Message::request(Method::Bye, "b", "a", "b", "d", 2);
    assert_eq!(build::name(&Message::response_to(&bye, 481), Method::Bye), "BYE_481");
}

#[test]
fn code_classes_of_received_responses() {
    for (code, class, desc) in [
        (100, 1, "Trying"),
        (180, 1, "Ringing"),
        (200, 2, "OK"),
        (302, 3, "Moved Temporarily"),
        (404, 4, "Not Found"),
        (500, 5, "Internal Server Error"),
        (699, 6, "User Defined Global Failure Response"),
    ] {
        let m = accept(&F::resp(&code.to_string()).text());
        assert_eq!(m.kind, Kind::Response(code));
        assert_eq!(m.code(), Some(code));
        assert_eq!(code / 100, class);
        assert!(is_valid_code(code));
        assert_eq!(reason_phrase(code), Some(desc));
        assert!(m.to_frame().unwrap().contains(&format!(r#""Code":{code},"Desc":"{desc}""#)));
    }
    for code in ["-1", "0", "99", "700", "1000", "65636"] {
        dropped(&F::resp(code).text());
    }
    for code in [0, 99, 700, u16::MAX] {
        assert!(!is_valid_code(code), "{code}");
    }
}

#[test]
fn reason_phrases() {
    assert_eq!(reason_phrase(180), Some("Ringing"));
    assert_eq!(reason_phrase(480), Some("Temporarily not available"));
    for (code, phrase) in [
        (101, "User Defined Provisional Response"),
        (299, "User Defined Success Response"),
        (388, "User Defined Redirection Response"),
        (477, "User Defined Client Error Response"),
        (566, "User Defined Server Error Response"),
        (655, "User Defined Global Failure Response"),
    ] {
        assert_eq!(reason_phrase(code), Some(phrase), "{code}");
    }
    for code in [0, 1, 99, 700, 999] {
        assert_eq!(reason_phrase(code), None, "{code}");
    }
}

#[test]
fn integer_members_accept_every_spelling_of_an_integer() {
    for spelling in ["200", "200.0", "2e2", "2E2", "2e+2", "2000e-1", "0.2e3", "200.000"] {
        assert_eq!(accept(&F::req("MESSAGE").set("CSeq", spelling).text()).cseq, 200, "CSeq {spelling}");
        assert_eq!(accept(&F::resp(spelling).text()).kind, Kind::Response(200), "Code {spelling}");
        assert_eq!(accept(&F::resp("200").set("CSeq", spelling).text()).cseq, 200);
        let invite = accept(&F::req("INVITE").set("Expire", spelling).text());
        assert_eq!(invite.expire, Some(200), "Expire {spelling}");
        let cancel = accept(&F::req("CANCEL").set("RelatedID", spelling).text());
        assert_eq!(cancel.related_id, Some(200), "RelatedID {spelling}");
        let ack = accept(&F::req("ACK").set("RelatedID", spelling).text());
        assert_eq!(ack.related_id, Some(200));
    }
    // The integer is written back plainly.
    let m = accept(&F::req("INVITE").set("CSeq", "2e2").set("Expire", "6.0e1").text());
    assert_eq!(
        m.to_frame().unwrap(),
        r#"{"CSeq":200,"DialogueID":"d-1","Expire":60,"From":"alice@example.org","Request-URI":"bob@example.org","To":"bob@example.org","Type":"INVITE"}"#
    );
}

#[test]
fn fractional_numbers_are_rejected() {
    assert_eq!(dropped(&F::req("MESSAGE").set("CSeq", "200.5").text()), "invalid CSeq");
    assert_eq!(dropped(&F::req("MESSAGE").set("CSeq", "2.005e2").text()), "invalid CSeq");
    dropped(&F::resp("200.5").text());
    dropped(&F::resp("200.9").text());
    dropped(&F::resp("200").set("CSeq", "7.5").text());
    assert_eq!(reason400(&F::req("INVITE").set("Expire", "10.5").text()), "invalid Expire");
    assert_eq!(reason400(&F::req("CANCEL").set("RelatedID", "1.5").text()), "invalid RelatedID");
}

#[test]
fn cseq_bounds() {
    let max = MAX_CSEQ.to_string();
    assert_eq!(MAX_CSEQ, 9_007_199_254_740_991);
    for (raw, value) in [("1", 1), (max.as_str(), MAX_CSEQ), ("9.007199254740991e15", MAX_CSEQ)] {
        assert_eq!(accept(&F::req("BYE").set("CSeq", raw).text()).cseq, value);
        assert_eq!(accept(&F::resp("200").set("CSeq", raw).text()).cseq, value);
    }
    for raw in
        ["0", "9007199254740992", "-1", "-0", "1e300", "18446744073709551617", "\"1\"", "null", "true", "[1]"]
    {
        assert_eq!(dropped(&F::req("BYE").set("CSeq", raw).text()), "invalid CSeq", "{raw}");
        dropped(&F::resp("200").set("CSeq", raw).text());
    }
    assert_eq!(dropped(&F::req("BYE").del("CSeq").text()), "invalid CSeq");
    dropped(&F::resp("200").del("CSeq").text());
}

#[test]
fn method_classes() {
    let uses_dialogue_layer =
        [Method::Invite, Method::Ack, Method::Bye, Method::Cancel, Method::Prack, Method::Update];
    for m in Method::ALL {
        let needs = m.needs_dialogue();
        assert_eq!(needs, uses_dialogue_layer.contains(&m) && m != Method::Invite, "{m}");
        assert_eq!(
            m.may_create_instance(),
            matches!(
                m,
                Method::Invite | Method::Register | Method::Options | Method::Message | Method::Subscribe
            ),
            "{m}"
        );
    }
    // INFO only uses the dialogue layer when a dialogue exists: it does not need one.
    assert!(!Method::Info.needs_dialogue());
    assert!(!Method::Notify.needs_dialogue() && !Method::Notify.may_create_instance());
}

// ---------------------------------------------------------------------------
// §18.3 / §4.1 frame-level checks
// ---------------------------------------------------------------------------

#[test]
fn oversize_payload_is_closed_1009() {
    let frame = F::req("MESSAGE").text();
    let n = frame.len();
    assert_eq!(parse(frame.as_bytes(), n).map(|m| m.cseq), Ok(7), "exactly the limit is accepted");
    assert_eq!(closed_with(frame.as_bytes(), n - 1), TOO_LARGE);
    // Size comes before UTF-8 and JSON validity.
    assert_eq!(closed_with(&[0xff; 10], 9), TOO_LARGE);
    assert_eq!(closed_with(b"not json", 3), TOO_LARGE);
    // The default limit is 64 KiB.
    assert_eq!(DEFAULT_MAX_FRAME, 65536);
    let big = F::req("MESSAGE").set("Body", &q(&"x".repeat(65536))).text();
    assert_eq!(closed(big.as_bytes()), TOO_LARGE);
    let pad = 65536 - F::req("MESSAGE").set("Body", "\"\"").text().len();
    let fits = F::req("MESSAGE").set("Body", &q(&"x".repeat(pad))).text();
    assert_eq!(fits.len(), 65536);
    assert!(run(&fits).is_ok());
}

#[test]
fn invalid_utf8_is_closed_1007() {
    let frame = F::req("MESSAGE").text().into_bytes();
    let mut bad = frame.clone();
    let at = bad.windows(5).position(|w| w == b"alice").unwrap();
    bad[at] = 0xff;
    assert_eq!(closed(&bad), INVALID_UTF8);
    for payload in [
        &b"\xff"[..],
        b"\xc3",                     // truncated sequence
        b"{\"a\":\"\xc0\xaf\"}",     // overlong encoding
        b"{\"a\":\"\xed\xa0\x80\"}", // UTF-8-encoded surrogate
        b"\x80{}",
        b"{}\xfe",
    ] {
        assert_eq!(closed(payload), INVALID_UTF8, "{payload:?}");
    }
}

#[test]
fn invalid_json_is_closed_1007() {
    let good = F::req("MESSAGE").text();
    let truncated = &good[..good.len() - 1];
    let trailing = format!("{good}x");
    let two = format!("{good}{good}");
    let trailing_comma = format!("{},}}", &good[..good.len() - 1]);
    for payload in [
        "",
        " ",
        "\n\t",
        "{",
        "}",
        "{\"Type\"}",
        "{\"Type\":}",
        "{'Type':'INVITE'}",
        "{Type:\"INVITE\"}",
        "{\"a\":1,}",
        "{\"a\":01}",
        "{\"a\":1.}",
        "{\"a\":.5}",
        "{\"a\":+1}",
        "{\"a\":NaN}",
        "{\"a\":Infinity}",
        "{\"a\":\"\u{1}\"}",
        "{\"a\":\"\\x\"}",
        "{\"a\":tru}",
        "{\"a\":1 /* c */}",
        "\u{feff}{}",
        "\u{a0}{}",
        "{}\u{a0}",
        truncated,
        trailing.as_str(),
        two.as_str(),
        trailing_comma.as_str(),
    ] {
        assert_eq!(closed(payload.as_bytes()), INVALID_JSON, "{payload:?}");
    }
}

#[test]
fn body_with_an_unterminated_array_is_invalid_json() {
    let frame = F::req("MESSAGE").set("Body", "[1,2").set("X-After", "1").text();
    assert_eq!(closed(frame.as_bytes()), INVALID_JSON);
    let frame = F::req("MESSAGE").set("Body", "{\"a\":[1,2}").text();
    assert_eq!(closed(frame.as_bytes()), INVALID_JSON);
    let frame =
        format!("{},\"Body\":[1,2}}", &F::req("MESSAGE").text()[..F::req("MESSAGE").text().len() - 1]);
    assert_eq!(closed(frame.as_bytes()), INVALID_JSON);
}

#[test]
fn nesting_depth_64_is_accepted_and_65_closes() {
    // The top-level object is depth 1, so a member may nest 63 more levels.
    let m = accept(&F::req("MESSAGE").set("Body", &nested_arrays(63)).text());
    assert_eq!(m.body.unwrap().text(), nested_arrays(63));
    let m = accept(&F::req("MESSAGE").set("X-Deep", &nested_objects(63)).text());
    assert_eq!(m.headers.get("X-Deep").unwrap().text(), nested_objects(63));
    for value in [nested_arrays(64), nested_objects(64), nested_arrays(100), nested_arrays(1000)] {
        assert_eq!(closed(F::req("MESSAGE").set("Body", &value).text().as_bytes()), INVALID_JSON);
        assert_eq!(closed(F::req("MESSAGE").set("X-Deep", &value).text().as_bytes()), INVALID_JSON);
        // Depth is a JSON check (§4.1 row 4): it wins over every §4.2 row.
        assert_eq!(closed(F::resp("999").set("X", &value).text().as_bytes()), INVALID_JSON);
        assert_eq!(closed(F::req("ACK").del("From").set("X", &value).text().as_bytes()), INVALID_JSON);
    }
    // Brackets inside strings do not count.
    let m = accept(&F::req("MESSAGE").set("Body", &q(&"[{".repeat(200))).text());
    assert_eq!(m.body.unwrap().as_str().unwrap(), "[{".repeat(200));
}

#[test]
fn top_level_non_objects_are_closed_1007() {
    for payload in
        ["[]", "[1,2]", "[{\"Type\":\"INVITE\"}]", "1", "-2.5e3", "\"x\"", "true", "false", "null", " 7 "]
    {
        assert_eq!(closed(payload.as_bytes()), NOT_OBJECT, "{payload:?}");
    }
    // An array that is too deep is not valid JSON in the first place (row 4 before row 5).
    assert_eq!(closed(nested_arrays(64).as_bytes()), NOT_OBJECT);
    assert_eq!(closed(nested_arrays(65).as_bytes()), INVALID_JSON);
    assert_eq!(closed(b"[1,"), INVALID_JSON);
}

#[test]
fn whitespace_around_and_inside_the_object_is_accepted() {
    let frame = " \n\t{ \"Type\" : \"BYE\" ,\r\n \"Request-URI\":\"u\", \"From\":\"f\",\"To\":\"t\",\"DialogueID\":\"d\",\"CSeq\":1 } \n";
    let m = accept(frame);
    assert_eq!(m.kind, Kind::Request(Method::Bye));
    assert_eq!(
        m.to_frame().unwrap(),
        r#"{"CSeq":1,"DialogueID":"d","From":"f","Request-URI":"u","To":"t","Type":"BYE"}"#
    );
}

// ---------------------------------------------------------------------------
// §18.3 / §4.2 object validation, row by row
// ---------------------------------------------------------------------------

#[test]
fn row0_duplicated_type_dialogue_id_or_cseq_is_dropped() {
    for (name, raw) in [("CSeq", "7"), ("CSeq", "8"), ("Type", "\"MESSAGE\""), ("DialogueID", "\"d-2\"")] {
        let frame = F::req("MESSAGE").add(name, raw).text();
        assert_eq!(dropped(&frame), format!("duplicate {name}"), "{frame}");
        dropped(&F::resp("200").add(name, raw).text());
        dropped(&F::req("INVITE").del("From").add(name, raw).text());
    }
    // Duplicate names are detected after decoding escapes.
    assert_eq!(dropped(&F::req("MESSAGE").add("C\\u0053eq", "7").text()), "duplicate CSeq");
    // Row 0 comes before row 1.
    assert_eq!(dropped(&F::req("MESSAGE").set("Type", "1").add("CSeq", "1").text()), "duplicate CSeq");
}

#[test]
fn row1_type_must_be_a_string() {
    for raw in ["1", "null", "true", "[\"INVITE\"]", "{\"INVITE\":1}"] {
        assert_eq!(dropped(&F::req("MESSAGE").set("Type", raw).text()), "invalid Type", "{raw}");
    }
    assert_eq!(dropped(&F::req("MESSAGE").del("Type").text()), "invalid Type");
    assert_eq!(dropped("{}"), "invalid Type");
}

#[test]
fn row2_faulty_responses_are_dropped_never_answered() {
    let long_id = q(&"x".repeat(MAX_DIALOGUE_ID + 1));
    for frame in [
        F::resp("200").del("Code"),
        F::resp("\"200\""),
        F::resp("null"),
        F::resp("99"),
        F::resp("700"),
        F::resp("200").del("From"),
        F::resp("200").set("From", "\"\""),
        F::resp("200").set("From", "1"),
        F::resp("200").del("To"),
        F::resp("200").set("To", "\"\""),
        F::resp("200").set("To", "[]"),
        F::resp("200").set("CSeq", "0"),
        F::resp("200").set("CSeq", "\"7\""),
        F::resp("200").del("DialogueID"),
        F::resp("200").set("DialogueID", "\"\""),
        F::resp("200").set("DialogueID", &long_id),
        F::resp("200").set("DialogueID", "7"),
        F::resp("200").add("X-A", "1").add("X-A", "2"),
        F::resp("200").add("From", "\"x@y\""),
        F::resp("200").add("Code", "200"),
        F::resp("200").add("Body", "1").add("Body", "1"),
    ] {
        dropped(&frame.text());
    }
    // Fields that only matter for requests are not checked on a response.
    let m = accept(
        &F::resp("200")
            .set("Request-URI", "5")
            .set("Router", "[]")
            .set("Expire", "-1")
            .set("RelatedID", "\"x\"")
            .text(),
    );
    assert_eq!(m.kind, Kind::Response(200));
}

#[test]
fn row3_dialogue_id_must_be_1_to_256_bytes() {
    for raw in [
        "\"\"".to_string(),
        "1".into(),
        "null".into(),
        "[\"d\"]".into(),
        q(&"x".repeat(257)),
        q(&"é".repeat(129)), // 129 characters, 258 bytes
        q(&"€".repeat(86)),  // 86 characters, 258 bytes
    ] {
        assert_eq!(dropped(&F::req("MESSAGE").set("DialogueID", &raw).text()), "invalid DialogueID", "{raw}");
    }
    assert_eq!(dropped(&F::req("MESSAGE").del("DialogueID").text()), "invalid DialogueID");
    for id in ["x".to_string(), "x".repeat(256), "é".repeat(128), "\"\\\u{1}".into()] {
        assert_eq!(accept(&F::req("MESSAGE").set("DialogueID", &q(&id)).text()).dialogue_id.as_str(), id);
    }
    // Row 3 before row 4; both before everything that is answered.
    assert_eq!(dropped(&F::req("MESSAGE").del("DialogueID").del("CSeq").text()), "invalid DialogueID");
    assert_eq!(dropped(&F::req("XYZ").del("From").set("CSeq", "0").text()), "invalid CSeq");
    assert_eq!(
        dropped(&F::req("XYZ").add("X-A", "1").add("X-A", "1").set("DialogueID", "\"\"").text()),
        "invalid DialogueID"
    );
}

#[test]
fn row5_duplicated_member_is_answered_duplicate_name() {
    let frame = F::req("MESSAGE").add("X-A", "1").add("X-A", "2").text();
    assert_eq!(reason400(&frame), "duplicate X-A");
    assert_eq!(
        answered(&frame).to_frame().unwrap(),
        r#"{"CSeq":7,"Code":400,"Desc":"Bad Request","DialogueID":"d-1","From":"alice@example.org","Reason":"duplicate X-A","To":"bob@example.org","Type":"RESPONSE"}"#
    );
    // Same name after decoding escapes.
    assert_eq!(reason400(&F::req("MESSAGE").add("X-A", "1").add("X-\\u0041", "1").text()), "duplicate X-A");
    for name in ["Request-URI", "Router", "Body", "Code", "Desc", "Expire", "RelatedID", "Reason"] {
        let frame = F::req("INVITE").add(name, "\"v\"").add(name, "\"v\"").text();
        assert_eq!(reason400(&frame), format!("duplicate {name}"));
    }
    // Row 5 comes before row 6 and row 9.
    assert_eq!(reason400(&F::req("TERM").add("X-A", "1").add("X-A", "1").text()), "duplicate X-A");
    assert_eq!(
        reason400(&F::req("MESSAGE").del("From").add("X-A", "1").add("X-A", "1").text()),
        "duplicate X-A"
    );
}

#[test]
fn the_400_omits_a_duplicated_or_invalid_from_or_to_and_copies_dialogue_id_and_cseq() {
    let dup_from = F::req("MESSAGE").add("From", "\"alice@example.org\"").text();
    assert_eq!(reason400(&dup_from), "duplicate From");
    assert_eq!(
        answered(&dup_from).to_frame().unwrap(),
        r#"{"CSeq":7,"Code":400,"Desc":"Bad Request","DialogueID":"d-1","Reason":"duplicate From","To":"bob@example.org","Type":"RESPONSE"}"#
    );
    let dup_to = F::req("MESSAGE").add("To", "\"other\"").text();
    assert_eq!(reason400(&dup_to), "duplicate To");
    assert_eq!(
        answered(&dup_to).to_frame().unwrap(),
        r#"{"CSeq":7,"Code":400,"Desc":"Bad Request","DialogueID":"d-1","From":"alice@example.org","Reason":"duplicate To","Type":"RESPONSE"}"#
    );
    let invalid_from =
        F::req("MESSAGE").set("From", "42").set("CSeq", "3e0").set("DialogueID", "\"z\\\"9\"").text();
    assert_eq!(
        answered(&invalid_from).to_frame().unwrap(),
        r#"{"CSeq":3,"Code":400,"Desc":"Bad Request","DialogueID":"z\"9","Reason":"invalid From","To":"bob@example.org","Type":"RESPONSE"}"#
    );
    let empty_to = F::req("MESSAGE").set("To", "\"\"").text();
    assert_eq!(
        answered(&empty_to).to_frame().unwrap(),
        r#"{"CSeq":7,"Code":400,"Desc":"Bad Request","DialogueID":"d-1","From":"alice@example.org","Reason":"empty To","Type":"RESPONSE"}"#
    );
    // An invalid From and To both go missing, and nothing else of the request is copied.
    let frame = F::req("INVITE")
        .set("From", "\"\"")
        .set("To", "null")
        .set("Body", "{\"a\":1}")
        .set("Router", "\"r\"")
        .set("X-Trace", "\"t\"")
        .text();
    let m = answered(&frame);
    assert_eq!((m.from.as_str(), m.to.as_str()), ("", ""));
    assert_eq!(
        m.to_frame().unwrap(),
        r#"{"CSeq":7,"Code":400,"Desc":"Bad Request","DialogueID":"d-1","Reason":"empty From","Type":"RESPONSE"}"#
    );
}

#[test]
fn the_400_examples_of_section_4_2() {
    let missing_from = r#"{"Type":"MESSAGE","Request-URI":"svc@example.org","To":"svc@example.org","DialogueID":"q-9","CSeq":5}"#;
    assert_eq!(
        answered(missing_from).to_frame().unwrap(),
        r#"{"CSeq":5,"Code":400,"Desc":"Bad Request","DialogueID":"q-9","Reason":"missing From","To":"svc@example.org","Type":"RESPONSE"}"#
    );
    let unknown_type = r#"{"Type":"TERM","Request-URI":"b@example.org","From":"a@example.org","To":"b@example.org","DialogueID":"q-10","CSeq":1}"#;
    assert_eq!(
        answered(unknown_type).to_frame().unwrap(),
        r#"{"CSeq":1,"Code":400,"Desc":"Bad Request","DialogueID":"q-10","From":"a@example.org","Reason":"unknown Type","To":"b@example.org","Type":"RESPONSE"}"#
    );
    // Appendix B.5.
    let b5 = r#"{"Type":"MESSAGE","Request-URI":"x","To":"y","DialogueID":"v-1","CSeq":9}"#;
    assert_eq!(
        answered(b5).to_frame().unwrap(),
        r#"{"CSeq":9,"Code":400,"Desc":"Bad Request","DialogueID":"v-1","Reason":"missing From","To":"y","Type":"RESPONSE"}"#
    );
    assert_eq!(closed(br#"{"Type":"MESSAGE", "#), INVALID_JSON);
}

#[test]
fn row6_unknown_type_before_request_uri() {
    assert_eq!(reason400(&F::req("TERM").del("Request-URI").del("From").text()), "unknown Type");
    assert_eq!(reason400(&F::req("invite").set("Router", "1").text()), "unknown Type");
}

#[test]
fn row7_request_uri_present_and_a_string() {
    assert_eq!(reason400(&F::req("MESSAGE").del("Request-URI").text()), "missing Request-URI");
    for raw in ["1", "null", "[]", "{}", "false"] {
        assert_eq!(
            reason400(&F::req("MESSAGE").set("Request-URI", raw).text()),
            "invalid Request-URI",
            "{raw}"
        );
    }
    // The empty string is accepted.
    let m = accept(&F::req("MESSAGE").set("Request-URI", "\"\"").text());
    assert_eq!(m.request_uri.as_deref(), Some(""));
    assert!(m.to_frame().unwrap().contains(r#""Request-URI":"""#));
    // Row 7 before rows 8 and 9.
    assert_eq!(
        reason400(&F::req("MESSAGE").del("Request-URI").set("Router", "1").del("From").text()),
        "missing Request-URI"
    );
}

#[test]
fn row8_router_absent_or_a_string() {
    for raw in ["1", "null", "[\"a\"]", "{}", "true"] {
        assert_eq!(reason400(&F::req("MESSAGE").set("Router", raw).text()), "invalid Router", "{raw}");
    }
    assert_eq!(accept(&F::req("MESSAGE").text()).router, None);
    assert_eq!(accept(&F::req("MESSAGE").set("Router", "\"\"").text()).router.as_deref(), Some(""));
    let m = accept(&F::req("MESSAGE").set("Router", "\"router1, router2\"").text());
    assert_eq!(m.router.as_deref(), Some("router1, router2"));
    // Row 8 before row 9.
    assert_eq!(reason400(&F::req("MESSAGE").set("Router", "1").del("From").text()), "invalid Router");
}

#[test]
fn rows9_10_from_and_to_in_order() {
    // Order: an object missing both From and To gets `missing From`.
    assert_eq!(reason400(&F::req("MESSAGE").del("From").del("To").text()), "missing From");
    assert_eq!(reason400(&F::req("MESSAGE").set("From", "\"\"").set("To", "1").text()), "empty From");
    assert_eq!(reason400(&F::req("MESSAGE").set("From", "1").del("To").text()), "invalid From");
    for (name, missing, invalid, empty) in [
        ("From", "missing From", "invalid From", "empty From"),
        ("To", "missing To", "invalid To", "empty To"),
    ] {
        assert_eq!(reason400(&F::req("OPTIONS").del(name).text()), missing);
        for raw in ["1", "null", "[\"a\"]", "{\"a\":\"b\"}", "true"] {
            assert_eq!(reason400(&F::req("OPTIONS").set(name, raw).text()), invalid, "{raw}");
        }
        assert_eq!(reason400(&F::req("OPTIONS").set(name, "\"\"").text()), empty);
        // Row 9/10 before row 11.
        assert_eq!(reason400(&F::req("INVITE").del(name).set("Expire", "-1").text()), missing);
    }
    // A single space is not empty.
    assert_eq!(accept(&F::req("OPTIONS").set("From", "\" \"").text()).from, " ");
}

#[test]
fn row11_expire_on_invite() {
    assert_eq!(accept(&F::req("INVITE").text()).expire, None);
    assert_eq!(accept(&F::req("INVITE").set("Expire", "0").text()).expire, Some(0));
    assert_eq!(accept(&F::req("INVITE").set("Expire", "10").text()).expire, Some(10));
    assert_eq!(accept(&F::req("INVITE").set("Expire", "4294967295").text()).expire, Some(MAX_EXPIRE));
    for raw in ["-1", "\"10\"", "4294967296", "10.5", "null", "true", "[10]", "{}", "1e10"] {
        assert_eq!(reason400(&F::req("INVITE").set("Expire", raw).text()), "invalid Expire", "{raw}");
    }
    // Expire passes through on other requests; it is typed only when it is an integer.
    let m = accept(&F::req("UPDATE").set("Expire", "60").text());
    assert_eq!(m.expire, Some(60));
    assert!(m.headers.is_empty());
    let m = accept(&F::req("BYE").set("Expire", "\"10\"").text());
    assert_eq!(m.expire, None);
    assert_eq!(m.headers.get("Expire").map(Json::text), Some("\"10\""));
    assert!(m.to_frame().unwrap().contains(r#""Expire":"10""#));
    // Expire on an ACK is not checked either.
    assert_eq!(
        accept(&F::req("ACK").set("Expire", "-1").text()).headers.get("Expire").map(Json::text),
        Some("-1")
    );
}

#[test]
fn row12_related_id_on_ack_and_cancel() {
    for raw in ["0", "1", "9007199254740991"] {
        let value: u64 = raw.parse().unwrap();
        assert_eq!(accept(&F::req("CANCEL").set("RelatedID", raw).text()).related_id, Some(value));
        assert_eq!(accept(&F::req("ACK").set("RelatedID", raw).text()).related_id, Some(value));
    }
    assert_eq!(accept(&F::req("CANCEL").text()).related_id, None);
    assert_eq!(accept(&F::req("ACK").text()).related_id, None);
    for raw in ["-1", "\"1\"", "9007199254740992", "1.5", "null", "[1]"] {
        assert_eq!(reason400(&F::req("CANCEL").set("RelatedID", raw).text()), "invalid RelatedID", "{raw}");
        assert_eq!(dropped(&F::req("ACK").set("RelatedID", raw).text()), "invalid RelatedID", "{raw}");
    }
    // RelatedID on another request passes through.
    let m = accept(&F::req("BYE").set("RelatedID", "\"x\"").text());
    assert_eq!(m.related_id, None);
    assert_eq!(m.headers.get("RelatedID").map(Json::text), Some("\"x\""));
    // Row 11 applies to INVITE only and row 12 to ACK/CANCEL only.
    assert_eq!(accept(&F::req("CANCEL").set("Expire", "-1").text()).expire, None);
    assert_eq!(accept(&F::req("INVITE").set("RelatedID", "-1").text()).related_id, None);
}

#[test]
fn an_ack_is_never_answered() {
    let cases = [
        (F::req("ACK").add("X-A", "1").add("X-A", "1"), "duplicate X-A"),
        (F::req("ACK").del("Request-URI"), "missing Request-URI"),
        (F::req("ACK").set("Request-URI", "1"), "invalid Request-URI"),
        (F::req("ACK").set("Router", "1"), "invalid Router"),
        (F::req("ACK").del("From").del("To"), "missing From"),
        (F::req("ACK").set("From", "\"\""), "empty From"),
        (F::req("ACK").set("To", "1"), "invalid To"),
        (F::req("ACK").set("RelatedID", "\"1\""), "invalid RelatedID"),
        (F::req("ACK").set("DialogueID", "\"\""), "invalid DialogueID"),
        (F::req("ACK").set("CSeq", "0"), "invalid CSeq"),
    ];
    for (frame, reason) in cases {
        assert_eq!(dropped(&frame.text()), reason);
    }
}

#[test]
fn every_answered_row_is_a_400_for_every_other_method() {
    for method in Method::ALL.into_iter().filter(|&m| m != Method::Ack) {
        let name = method.as_str();
        assert_eq!(reason400(&F::req(name).add("X-A", "1").add("X-A", "1").text()), "duplicate X-A");
        assert_eq!(reason400(&F::req(name).del("Request-URI").text()), "missing Request-URI");
        assert_eq!(reason400(&F::req(name).set("Router", "0").text()), "invalid Router");
        assert_eq!(reason400(&F::req(name).del("From").text()), "missing From");
        assert_eq!(reason400(&F::req(name).set("To", "\"\"").text()), "empty To");
    }
}

// ---------------------------------------------------------------------------
// Accepted edge cases
// ---------------------------------------------------------------------------

#[test]
fn extra_members_of_any_type_are_kept() {
    let frame = F::req("MESSAGE")
        .set("X-Null", "null")
        .set("X-True", "true")
        .set("X-False", "false")
        .set("X-Int", "-12")
        .set("X-Big", "123456789012345678901234567890")
        .set("X-Float", "1.50")
        .set("X-Exp", "2E2")
        .set("X-Str", "\"a\\u00e9\\n\"")
        .set("X-Arr", "[ 1 , \"two\" , [ ] , { } ]")
        .set("X-Obj", "{ \"z\" : 1 , \"a\" : { \"y\" : [ 3 ] , \"b\" : null } }")
        .set("Reason", "\"because\"")
        .set("x-lower", "0")
        .set("", "\"empty name\"")
        .set("ü", "1")
        .text();
    let m = accept(&frame);
    let got: Vec<(&str, &str)> = m.headers.iter().map(|(n, v)| (n, v.text())).collect();
    assert_eq!(
        got,
        [
            ("", "\"empty name\""),
            ("Reason", "\"because\""),
            ("X-Arr", "[1,\"two\",[],{}]"),
            ("X-Big", "123456789012345678901234567890"),
            ("X-Exp", "2E2"),
            ("X-False", "false"),
            ("X-Float", "1.50"),
            ("X-Int", "-12"),
            ("X-Null", "null"),
            ("X-Obj", "{\"a\":{\"b\":null,\"y\":[3]},\"z\":1}"),
            ("X-Str", "\"a\\u00e9\\n\""),
            ("X-True", "true"),
            ("x-lower", "0"),
            ("ü", "1"),
        ]
    );
    assert_eq!(
        m.to_frame().unwrap(),
        concat!(
            r#"{"":"empty name","CSeq":7,"DialogueID":"d-1","From":"alice@example.org","Reason":"because","#,
            r#""Request-URI":"bob@example.org","To":"bob@example.org","Type":"MESSAGE","X-Arr":[1,"two",[],{}],"#,
            r#""X-Big":123456789012345678901234567890,"X-Exp":2E2,"X-False":false,"X-Float":1.50,"X-Int":-12,"#,
            r#""X-Null":null,"X-Obj":{"a":{"b":null,"y":[3]},"z":1},"X-Str":"a\u00e9\n","X-True":true,"x-lower":0,"ü":1}"#
        )
    );
}

#[test]
fn member_names_are_case_sensitive() {
    // `from` is not `From`: the request is missing From, and `from` is an extra member.
    let frame = F::req("MESSAGE").del("From").set("from", "\"a\"").text();
    assert_eq!(reason400(&frame), "missing From");
    let m = accept(&F::req("MESSAGE").set("cseq", "0").set("type", "\"x\"").text());
    assert_eq!(m.cseq, 7);
    assert_eq!(m.headers.get("cseq").map(Json::text), Some("0"));
    // Escaped member names are decoded.
    let m = accept(&F::req("MESSAGE").del("From").set("\\u0046rom", "\"f@x\"").text());
    assert_eq!(m.from, "f@x");
}

#[test]
fn code_on_a_request_is_kept_as_a_header_and_not_written() {
    for raw in ["200", "\"x\"", "700", "[1]"] {
        let m = accept(&F::req("MESSAGE").set("Code", raw).set("Desc", "\"OK\"").text());
        assert_eq!(m.kind, Kind::Request(Method::Message));
        assert_eq!(m.headers.get("Code").map(Json::text), Some(raw));
        assert_eq!(m.headers.get("Desc").map(Json::text), Some("\"OK\""));
        let frame = m.to_frame().unwrap();
        assert!(!frame.contains("Code") && !frame.contains("Desc"), "{frame}");
    }
}

#[test]
fn request_members_on_a_response_are_kept_as_headers_and_not_written() {
    let frame = F::resp("180")
        .set("Request-URI", "\"stale@example.org\"")
        .set("Router", "\"r1, r2\"")
        .set("Desc", "\"Whatever\"")
        .set("Expire", "60")
        .set("RelatedID", "3")
        .set("Reason", "\"why\"")
        .text();
    let m = accept(&frame);
    assert_eq!(m.kind, Kind::Response(180));
    assert_eq!(
        (m.request_uri.as_deref(), m.router.as_deref(), m.expire, m.related_id),
        (None, None, None, None)
    );
    assert_eq!(m.headers.get("Request-URI").map(Json::text), Some("\"stale@example.org\""));
    assert_eq!(m.headers.get("Router").map(Json::text), Some("\"r1, r2\""));
    assert_eq!(
        m.to_frame().unwrap(),
        r#"{"CSeq":7,"Code":180,"Desc":"Ringing","DialogueID":"d-1","Expire":60,"From":"alice@example.org","Reason":"why","RelatedID":3,"To":"bob@example.org","Type":"RESPONSE"}"#
    );
}

#[test]
fn body_null_counts_as_absent() {
    let m = accept(&F::req("MESSAGE").set("Body", "null").text());
    assert_eq!(m.body, None);
    assert!(!m.to_frame().unwrap().contains("Body"));
    let m = accept(&F::resp("200").set("Body", " null ").text());
    assert_eq!(m.body, None);
    for raw in ["0", "false", "\"\"", "[]", "{}", "[null]"] {
        let m = accept(&F::req("MESSAGE").set("Body", raw).text());
        assert_eq!(m.body.as_ref().map(Json::text), Some(raw));
        assert!(m.to_frame().unwrap().starts_with(&format!("{{\"Body\":{raw},")));
    }
}

// ---------------------------------------------------------------------------
// §18.4 Serialisation
// ---------------------------------------------------------------------------

#[test]
fn minimal_invite_is_written_sorted_and_compact() {
    assert_eq!(
        minimal_invite().to_frame().unwrap(),
        r#"{"CSeq":7,"DialogueID":"d-1","From":"alice@example.org","Request-URI":"bob@example.org","To":"bob@example.org","Type":"INVITE"}"#
    );
    // The same from a frame with members out of order, whitespace and a non-plain integer.
    let received = r#" { "To" : "bob@example.org", "Type":"INVITE", "CSeq": 7.0e0, "From":"alice@example.org",
        "DialogueID":"d-1", "Request-URI":"bob@example.org" } "#;
    assert_eq!(accept(received).to_frame(), minimal_invite().to_frame());
    assert_eq!(accept(received), minimal_invite());
}

#[test]
fn desc_is_rewritten_on_every_response() {
    for (code, desc) in
        [("200", "OK"), ("487", "Request Terminated"), ("299", "User Defined Success Response")]
    {
        let m = accept(&F::resp(code).set("Desc", "\"Something else\"").text());
        let frame = m.to_frame().unwrap();
        assert!(frame.contains(&format!(r#""Desc":"{desc}""#)), "{frame}");
        assert_eq!(frame.matches("Desc").count(), 1);
    }
    let mut r = Message::response_to(&minimal_invite(), 486);
    r.headers.set("Desc", Json::string("Nope"));
    assert_eq!(
        r.to_frame().unwrap(),
        r#"{"CSeq":7,"Code":486,"Desc":"Busy Here","DialogueID":"d-1","From":"alice@example.org","To":"bob@example.org","Type":"RESPONSE"}"#
    );
}

#[test]
fn code_and_desc_are_removed_from_requests() {
    let mut m = minimal_invite();
    m.headers.set("Code", Json::integer(200));
    m.headers.set("Desc", Json::string("OK"));
    m.headers.set("Dz", Json::integer(1));
    assert_eq!(
        m.to_frame().unwrap(),
        r#"{"CSeq":7,"DialogueID":"d-1","Dz":1,"From":"alice@example.org","Request-URI":"bob@example.org","To":"bob@example.org","Type":"INVITE"}"#
    );
}

#[test]
fn request_uri_and_router_are_removed_from_responses() {
    let mut r = Message::response_to(&minimal_invite(), 200);
    r.request_uri = Some("stale".into());
    r.router = Some("a, b".into());
    r.headers.set("Request-URI", Json::string("stale"));
    r.headers.set("Router", Json::string("stale"));
    assert_eq!(
        r.to_frame().unwrap(),
        r#"{"CSeq":7,"Code":200,"Desc":"OK","DialogueID":"d-1","From":"alice@example.org","To":"bob@example.org","Type":"RESPONSE"}"#
    );
}

#[test]
fn router_is_omitted_when_absent_and_joined_with_comma_space() {
    let mut m = minimal_invite();
    assert!(!m.to_frame().unwrap().contains("Router"));
    for (router, written) in [
        ("a", "a"),
        ("", ""),
        ("router1,router2", "router1, router2"),
        ("  a ;x=1 ,\tb@c:5 ", "a ;x=1, b@c:5"),
        ("a,,b", "a, , b"),
        (",", ", "),
        ("a, b", "a, b"),
    ] {
        m.router = Some(router.into());
        let frame = m.to_frame().unwrap();
        assert!(frame.contains(&format!(r#","Router":"{written}","#)), "{router:?} → {frame}");
        // And it reads back as the written list.
        assert_eq!(accept(&frame).router.as_deref(), Some(written));
    }
    // Received Router text is kept as received, and normalised when written.
    let m = accept(&F::req("MESSAGE").set("Router", "\"x ,y\"").text());
    assert_eq!(m.router.as_deref(), Some("x ,y"));
    assert!(m.to_frame().unwrap().contains(r#""Router":"x, y""#));
}

#[test]
fn extra_members_and_body_are_preserved_nested_sorted_and_digit_for_digit() {
    let body = r#"{"z":{"b":[{"y":1,"x":2}],"a":9007199254740993},"a":-0.0,"m":1E+400}"#;
    let frame = F::req("MESSAGE")
        .set("Body", body)
        .set("X-Big", "18446744073709551616123")
        .set("X-Nested", r#"{"b":{"d":1,"c":2},"a":[{"f":1,"e":2}]}"#)
        .text();
    let m = accept(&frame);
    let written = m.to_frame().unwrap();
    assert_eq!(
        written,
        concat!(
            r#"{"Body":{"a":-0.0,"m":1E+400,"z":{"a":9007199254740993,"b":[{"x":2,"y":1}]}},"CSeq":7,"DialogueID":"d-1","#,
            r#""From":"alice@example.org","Request-URI":"bob@example.org","To":"bob@example.org","Type":"MESSAGE","#,
            r#""X-Big":18446744073709551616123,"X-Nested":{"a":[{"e":2,"f":1}],"b":{"c":2,"d":1}}}"#
        )
    );
    assert_eq!(accept(&written), m);
}

#[test]
fn strings_are_escaped_on_write_and_decoded_on_read() {
    let tricky = "q\"b\\s/n\nt\tc\u{1}\u{1f}\u{7f}é\u{2028}😀";
    let m = Message::request(Method::Message, tricky, tricky, tricky, tricky, 1);
    let frame = m.to_frame().unwrap();
    assert!(frame.contains(r#""From":"q\"b\\s/n\nt\tc\u0001\u001f"#), "{frame}");
    assert_eq!(accept(&frame), m);
    // Escapes in received typed strings are decoded.
    let m = accept(&F::req("MESSAGE").set("From", r#""a\u0040b\/c\ud83d\ude00""#).text());
    assert_eq!(m.from, "a@b/c😀");
}

#[test]
fn a_response_with_an_invalid_code_is_never_written() {
    for code in [0, 99, 700, 1000] {
        let r = Message::response_to(&minimal_invite(), code);
        assert_eq!(r.to_frame(), Err(WriteError::InvalidCode(code)));
        let mut out = String::from("untouched");
        assert!(r.write_frame(&mut out).is_err());
        assert_eq!(out, "untouched", "nothing is written for code {code}");
    }
}

#[test]
fn received_messages_round_trip() {
    for frame in [
        F::req("INVITE").set("Expire", "600").set("Body", r#"{"sdp":"v=0"}"#).set("Router", "\"a, b\""),
        F::req("CANCEL").set("RelatedID", "1"),
        F::resp("183").set("Body", "[1,{\"b\":2,\"a\":1}]").set("Reason", "\"r\""),
        F::req("NOTIFY").set("X", "{\"k\":[true,false,null]}"),
    ] {
        let m = accept(&frame.text());
        let written = m.to_frame().unwrap();
        let mut again = accept(&written);
        // A received response keeps the Desc it came with (§4.4); it is rewritten anyway.
        if let Kind::Response(code) = m.kind {
            assert_eq!(again.headers.remove("Desc"), Some(Json::string(reason_phrase(code).unwrap())));
        }
        assert_eq!(again, m);
        assert_eq!(again.to_frame().unwrap(), written);
    }
}

// ---------------------------------------------------------------------------
// §13.4 invalid-message (check_outgoing)
// ---------------------------------------------------------------------------

#[track_caller]
fn invalid(m: &Message) -> Cow<'static, str> {
    match check_outgoing(m) {
        Err(InvalidMessage(why)) => why,
        Ok(()) => panic!("{m:?} passed check_outgoing"),
    }
}

#[test]
fn check_outgoing_accepts_valid_messages() {
    let m = minimal_invite();
    assert_eq!(check_outgoing(&m), Ok(()));
    // CSeq 0 on a request means "assign one".
    let mut zero = m.clone();
    zero.cseq = 0;
    assert_eq!(check_outgoing(&zero), Ok(()));
    let mut edge = m.clone();
    edge.cseq = MAX_CSEQ;
    edge.dialogue_id = "x".repeat(256).into();
    edge.router = Some(String::new());
    edge.expire = Some(0);
    edge.related_id = Some(MAX_CSEQ);
    edge.headers.set("Code", Json::string("ignored"));
    assert_eq!(check_outgoing(&edge), Ok(()));
    // A response's empty From/To is filled from the request later.
    let mut r = Message::response_to(&m, 200);
    r.from.clear();
    r.to.clear();
    assert_eq!(check_outgoing(&r), Ok(()));
    // Request-only members on a response are not checked (they are not written).
    r.headers.set("Expire", Json::string("x"));
    r.headers.set("Router", Json::integer(1));
    assert_eq!(check_outgoing(&r), Ok(()));
}

#[test]
fn check_outgoing_rejects_each_invalid_message_condition() {
    let base = minimal_invite();
    let with = |f: &dyn Fn(&mut Message)| {
        let mut m = base.clone();
        f(&mut m);
        m
    };
    let cases: Vec<(Message, &str)> = vec![
        (Message::response_to(&base, 99), "Code"),
        (Message::response_to(&base, 700), "Code"),
        (with(&|m| m.request_uri = None), "Request-URI"),
        (with(&|m| m.request_uri = Some(String::new())), "Request-URI"),
        (with(&|m| m.from.clear()), "From"),
        (with(&|m| m.to.clear()), "To"),
        (with(&|m| m.dialogue_id = "".into()), "DialogueID"),
        (with(&|m| m.dialogue_id = "x".repeat(257).into()), "DialogueID"),
        (with(&|m| m.dialogue_id = "é".repeat(129).into()), "DialogueID"),
        (with(&|m| m.cseq = MAX_CSEQ + 1), "CSeq"),
        (with(&|m| m.cseq = u64::MAX), "CSeq"),
        (
            {
                let mut r = Message::response_to(&base, 200);
                r.cseq = 0;
                r
            },
            "CSeq",
        ),
        (
            {
                let mut r = Message::response_to(&base, 200);
                r.cseq = MAX_CSEQ + 1;
                r
            },
            "CSeq",
        ),
        (
            {
                let mut r = Message::response_to(&base, 200);
                r.dialogue_id = "".into();
                r
            },
            "DialogueID",
        ),
        (with(&|m| m.headers.set("Router", Json::integer(1))), "Router"),
        (with(&|m| m.headers.set("Expire", Json::string("10"))), "Expire"),
        (with(&|m| m.headers.set("Expire", Json::parse("1.5").unwrap())), "Expire"),
        (with(&|m| m.headers.set("RelatedID", Json::parse("null").unwrap())), "RelatedID"),
        (with(&|m| m.related_id = Some(MAX_CSEQ + 1)), "RelatedID"),
    ];
    for (m, field) in cases {
        let why = invalid(&m);
        assert!(why.contains(field), "{m:?}: {why:?} does not name {field}");
    }
}

// ---------------------------------------------------------------------------
// Regression: nested member order must be a total order (found while writing
// these tests: keys holding a lone surrogate escape made the order depend on
// the input order, and made `sort_by` panic on objects with > 20 members).
// ---------------------------------------------------------------------------

#[test]
fn nested_members_are_sorted_whatever_their_input_order() {
    let keys = [r#""\u0062""#, r#""\ud800""#, r#""a""#, r#""\u00e9""#, r#""b2""#];
    let mut written = Vec::new();
    for rotation in 0..keys.len() {
        for reversed in [false, true] {
            let mut order: Vec<&str> = keys.to_vec();
            order.rotate_left(rotation);
            if reversed {
                order.reverse();
            }
            let members: Vec<String> =
                order.iter().enumerate().map(|(i, k)| format!("{k}:{{\"{i}\":0}}")).collect();
            let body = format!("{{{}}}", members.join(","));
            let m = accept(&F::req("MESSAGE").set("Body", &body).text());
            // Values differ per permutation; compare the key order only.
            let text = m.body.unwrap().text().to_owned();
            let order: Vec<&str> = keys.iter().copied().filter(|k| text.contains(k)).collect();
            let mut positions: Vec<(usize, &str)> =
                order.iter().map(|k| (text.find(k).unwrap(), *k)).collect();
            positions.sort();
            written.push(positions.into_iter().map(|(_, k)| k).collect::<Vec<_>>());
        }
    }
    // Decoded order: "a" < "b" (\u0062) < "b2" < "é" (\u00e9); the undecodable key by its raw text.
    for order in &written {
        assert_eq!(order, &written[0]);
    }
    let decodable: Vec<&str> = written[0].iter().copied().filter(|k| *k != r#""\ud800""#).collect();
    assert_eq!(decodable, [r#""a""#, r#""\u0062""#, r#""b2""#, r#""\u00e9""#]);
}

#[test]
fn large_objects_with_undecodable_keys_never_panic() {
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for n in [21, 33, 64, 200] {
        for _ in 0..20 {
            let mut keys: Vec<String> = (0..n)
                .map(|i| match rng.random_range(0..3) {
                    0 => format!("\"\\u00{:02x}{i}\"", rng.random_range(0x41..0x7a)),
                    1 => format!("\"\\ud8{:02x}{i}\"", rng.random_range(0..0xff)),
                    _ => format!("\"{}{i}\"", char::from(rng.random_range(b'a'..=b'z'))),
                })
                .collect();
            keys.shuffle(&mut rng);
            let body = format!("{{{}}}", keys.iter().map(|k| format!("{k}:1")).collect::<Vec<_>>().join(","));
            let first = accept(&F::req("MESSAGE").set("Body", &body).text()).body.unwrap();
            keys.shuffle(&mut rng);
            let body = format!("{{{}}}", keys.iter().map(|k| format!("{k}:1")).collect::<Vec<_>>().join(","));
            let second = accept(&F::req("MESSAGE").set("Body", &body).text()).body.unwrap();
            assert_eq!(first, second);
            assert_eq!(Json::parse(first.text()).unwrap(), first);
        }
    }
}

#[test]
fn check_outgoing_rejects_typed_members_given_as_headers() {
    use jsip::{Json, Message, Method, syntax::check_outgoing};
    let mut m = Message::request(Method::Message, "u", "f", "t", "d", 1);
    m.headers.set("CSeq", Json::integer(5));
    assert_eq!(check_outgoing(&m).unwrap_err().0, "CSeq must be given in its own field, not as a header");
    let mut r = Message::response_to(&Message::request(Method::Message, "u", "f", "t", "d", 1), 200);
    r.headers.set("Request-URI", Json::string("x"));
    assert!(check_outgoing(&r).is_ok(), "Request-URI is a plain header on a response");
}

#[test]
fn check_outgoing_passes_integer_expire_out_of_typed_range_on_other_methods() {
    use jsip::{Json, Message, Method, syntax::check_outgoing};
    let mut update = Message::request(Method::Update, "u", "f", "t", "d", 1);
    update.headers.set("Expire", Json::integer(-1));
    assert!(check_outgoing(&update).is_ok());
    update.headers.set("Expire", Json::string("soon"));
    assert_eq!(check_outgoing(&update).unwrap_err().0, "Expire is not an integer");
    let mut invite = Message::request(Method::Invite, "u", "f", "t", "d", 1);
    invite.headers.set("Expire", Json::integer(-1));
    assert_eq!(check_outgoing(&invite).unwrap_err().0, "Expire is out of range");
    let mut ack = Message::request(Method::Ack, "u", "f", "t", "d", 1);
    ack.headers.set("RelatedID", Json::integer(-3));
    assert_eq!(check_outgoing(&ack).unwrap_err().0, "RelatedID is out of range");
}
