//! The JSIP message model (spec §2): methods, response codes, the typed core
//! fields, pass-through headers, and serialisation to a wire frame.

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use crate::json::{self, Json};

/// The 12 wire methods (spec §2.3). Any other `Type`, `TERM` included, is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    Invite,
    Ack,
    Bye,
    Cancel,
    Register,
    Options,
    Info,
    Update,
    Prack,
    Subscribe,
    Message,
    Notify,
}

impl Method {
    /// Every method, in the order of spec §2.3.
    pub const ALL: [Method; 12] = [
        Method::Invite,
        Method::Ack,
        Method::Bye,
        Method::Cancel,
        Method::Register,
        Method::Options,
        Method::Info,
        Method::Update,
        Method::Prack,
        Method::Subscribe,
        Method::Message,
        Method::Notify,
    ];

    /// The case-sensitive wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Info => "INFO",
            Method::Update => "UPDATE",
            Method::Prack => "PRACK",
            Method::Subscribe => "SUBSCRIBE",
            Method::Message => "MESSAGE",
            Method::Notify => "NOTIFY",
        }
    }

    /// Parses a wire name; `None` for anything else (wrong case, `TERM`, ...).
    pub fn parse(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// Methods that only exist inside an INVITE dialogue: a received one without
    /// a dialogue gets 481 (ACK is dropped) before dispatch (spec §7.3).
    pub const fn needs_dialogue(self) -> bool {
        matches!(self, Method::Ack | Method::Bye | Method::Cancel | Method::Prack | Method::Update)
    }

    /// Methods whose first request may create an SLP instance (spec §2.3, §9.2 step 5).
    pub const fn may_create_instance(self) -> bool {
        matches!(
            self,
            Method::Invite | Method::Register | Method::Options | Method::Message | Method::Subscribe
        )
    }

    /// Every request except ACK creates a transaction (spec §5.1).
    pub const fn has_transaction(self) -> bool {
        !matches!(self, Method::Ack)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// True for response codes 100–699.
pub const fn is_valid_code(code: u16) -> bool {
    code >= 100 && code <= 699
}

/// The reason phrase the stack writes as `Desc` (spec §2.4.2), kept identical
/// to gortc; `None` for codes outside 100–699.
pub fn reason_phrase(code: u16) -> Option<&'static str> {
    let known = match code {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        200 => "OK",
        202 => "Accepted",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        305 => "Use Proxy",
        380 => "Alternative Service",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Large",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        421 => "Extension Required",
        423 => "Interval Too Brief",
        480 => "Temporarily not available",
        481 => "Call Leg/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        485 => "Ambiguous",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        491 => "Request Pending",
        493 => "Undecipherable",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "SIP Version not supported",
        513 => "Message Too Large",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does not exist anywhere",
        606 => "Not Acceptable",
        _ => "",
    };
    if !known.is_empty() {
        return Some(known);
    }
    Some(match code / 100 {
        1 => "User Defined Provisional Response",
        2 => "User Defined Success Response",
        3 => "User Defined Redirection Response",
        4 => "User Defined Client Error Response",
        5 => "User Defined Server Error Response",
        6 => "User Defined Global Failure Response",
        _ => return None,
    })
}

/// A DialogueID: cheap to clone, because the stack keys all its state by it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DialogueId(Arc<str>);

impl DialogueId {
    /// Wraps a string. Validity (1–256 bytes) is checked by the syntax layer.
    pub fn new(id: impl Into<Arc<str>>) -> DialogueId {
        DialogueId(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for DialogueId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for DialogueId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DialogueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for DialogueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for DialogueId {
    fn from(s: &str) -> Self {
        DialogueId(s.into())
    }
}

impl From<String> for DialogueId {
    fn from(s: String) -> Self {
        DialogueId(s.into())
    }
}

/// What a message is: a request with its method, or a response with its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `Type` is a method name.
    Request(Method),
    /// `Type` is `"RESPONSE"`; the code is 100–699 on anything the stack accepted.
    Response(u16),
}

/// Members a request holds in typed fields; every other member of a request
/// lives in [`Headers`] (a `Code` on a request is a plain header, removed on write).
const REQUEST_TYPED: [&str; 10] =
    ["Body", "CSeq", "DialogueID", "Expire", "From", "RelatedID", "Request-URI", "Router", "To", "Type"];

/// Members a response holds in typed fields (`Request-URI` and `Router` on a
/// response are plain headers, removed on write; `Expire` passes through).
const RESPONSE_TYPED: [&str; 7] = ["Body", "CSeq", "Code", "DialogueID", "From", "To", "Type"];

/// Headers that carry no meaning for the kind and are never written (spec §2.2, §2.5).
fn dropped_on_write(is_request: bool, name: &str) -> bool {
    match is_request {
        true => matches!(name, "Code" | "Desc"),
        false => matches!(name, "Desc" | "Request-URI" | "Router"),
    }
}

/// Other members of a message: name and canonical JSON value, kept sorted by
/// name in byte order, which is also the order they are written in.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(Box<str>, Json)>);

impl Headers {
    /// The value of a header.
    pub fn get(&self, name: &str) -> Option<&Json> {
        self.find(name).ok().map(|i| &self.0[i].1)
    }

    /// A header's value when it is a JSON string.
    pub fn get_str(&self, name: &str) -> Option<Cow<'_, str>> {
        self.get(name).and_then(Json::as_str)
    }

    /// Sets a header, replacing any previous value.
    pub fn set(&mut self, name: &str, value: Json) {
        match self.find(name) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (name.into(), value)),
        }
    }

    /// Removes a header, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<Json> {
        self.find(name).ok().map(|i| self.0.remove(i).1)
    }

    /// All headers in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Json)> {
        self.0.iter().map(|(n, v)| (&**n, v))
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| n.as_bytes().cmp(name.as_bytes()))
    }

    /// Builds from pairs; the first duplicated name in sort order is returned as an error.
    pub(crate) fn from_unsorted(mut pairs: Vec<(Box<str>, Json)>) -> Result<Headers, Box<str>> {
        pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        if let Some(w) = pairs.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(w[0].0.clone());
        }
        Ok(Headers(pairs))
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// One JSIP message.
///
/// The typed fields are those the stack interprets; everything else rides in
/// [`Message::headers`] untouched. A message received from the wire has passed
/// the syntax layer; a message an SLP builds may be incomplete and is checked
/// when sent (see [`crate::syntax::check_outgoing`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    /// Request method or response code.
    pub kind: Kind,
    /// `DialogueID`.
    pub dialogue_id: DialogueId,
    /// `CSeq`; 0 on an outgoing request means "assign one".
    pub cseq: u64,
    /// `From`.
    pub from: String,
    /// `To`.
    pub to: String,
    /// `Request-URI` (requests only).
    pub request_uri: Option<String>,
    /// `Router`, as the comma-separated text (requests only).
    pub router: Option<String>,
    /// `Expire` in seconds, when it is an integer (requests only).
    pub expire: Option<u64>,
    /// `RelatedID`, when it is an integer (requests only).
    pub related_id: Option<u64>,
    /// `Body`; a JSON `null` counts as absent.
    pub body: Option<Json>,
    /// Every other member.
    pub headers: Headers,
}

/// Why a message could not be written (spec §2.5 step 6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteError {
    /// A response code outside 100–699.
    InvalidCode(u16),
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::InvalidCode(c) => write!(f, "response code {c} is not 100-699"),
        }
    }
}

impl std::error::Error for WriteError {}

impl Message {
    /// A request with the mandatory fields and nothing else.
    pub fn request(
        method: Method,
        request_uri: impl Into<String>,
        from: impl Into<String>,
        to: impl Into<String>,
        dialogue_id: impl Into<DialogueId>,
        cseq: u64,
    ) -> Message {
        Message {
            kind: Kind::Request(method),
            dialogue_id: dialogue_id.into(),
            cseq,
            from: from.into(),
            to: to.into(),
            request_uri: Some(request_uri.into()),
            router: None,
            expire: None,
            related_id: None,
            body: None,
            headers: Headers::default(),
        }
    }

    /// A bare response carrying `From`, `To`, `CSeq` and `DialogueID` of `req`.
    pub fn response_to(req: &Message, code: u16) -> Message {
        Message::bare_response(req.dialogue_id.clone(), req.cseq, req.from.clone(), req.to.clone(), code)
    }

    /// A response with the four identifying members and nothing else.
    pub fn bare_response(dialogue_id: DialogueId, cseq: u64, from: String, to: String, code: u16) -> Message {
        Message {
            kind: Kind::Response(code),
            dialogue_id,
            cseq,
            from,
            to,
            request_uri: None,
            router: None,
            expire: None,
            related_id: None,
            body: None,
            headers: Headers::default(),
        }
    }

    /// The method of a request.
    pub fn method(&self) -> Option<Method> {
        match self.kind {
            Kind::Request(m) => Some(m),
            Kind::Response(_) => None,
        }
    }

    /// The code of a response.
    pub fn code(&self) -> Option<u16> {
        match self.kind {
            Kind::Response(c) => Some(c),
            Kind::Request(_) => None,
        }
    }

    /// True for requests.
    pub fn is_request(&self) -> bool {
        matches!(self.kind, Kind::Request(_))
    }

    /// The `Reason` header when it is a string.
    pub fn reason(&self) -> Option<Cow<'_, str>> {
        self.headers.get_str("Reason")
    }

    /// Sets the `Reason` header.
    pub fn set_reason(&mut self, reason: &str) {
        self.headers.set("Reason", Json::string(reason));
    }

    /// True when `name` is held in a typed field rather than in `headers`
    /// for this kind of message.
    pub fn is_typed_member(&self, name: &str) -> bool {
        match self.kind {
            Kind::Request(_) => REQUEST_TYPED.contains(&name),
            Kind::Response(_) => RESPONSE_TYPED.contains(&name),
        }
    }

    /// Writes the message as a wire frame (spec §2.5): compact JSON, members
    /// sorted by name, `Type`/`Code`/`Desc` written from the kind, integers plain,
    /// and the members that have no meaning for this kind left out.
    pub fn to_frame(&self) -> Result<String, WriteError> {
        let mut out = String::with_capacity(self.size_hint());
        self.write_frame(&mut out)?;
        Ok(out)
    }

    /// Like [`Message::to_frame`], appending to `out`.
    pub fn write_frame(&self, out: &mut String) -> Result<(), WriteError> {
        let (method, code) = match self.kind {
            Kind::Request(m) => (Some(m), None),
            Kind::Response(c) => (None, Some(c)),
        };
        let desc = match code {
            Some(c) => Some(reason_phrase(c).ok_or(WriteError::InvalidCode(c))?),
            None => None,
        };
        let is_request = method.is_some();
        let mut w = ObjectWriter { out, first: true, is_request, headers: self.headers.iter().peekable() };
        w.out.push('{');
        // Members in byte order of their names; `w.member` first flushes the
        // headers whose names sort before the typed one.
        if let Some(body) = self.body.as_ref().filter(|b| !b.is_null()) {
            w.member("Body", |o| o.push_str(body.text()));
        }
        w.member("CSeq", |o| push_u64(o, self.cseq));
        if let Some(code) = code {
            w.member("Code", |o| push_u64(o, u64::from(code)));
        }
        if let Some(desc) = desc {
            w.member("Desc", |o| json::write_str(o, desc));
        }
        w.member("DialogueID", |o| json::write_str(o, &self.dialogue_id));
        if let (true, Some(expire)) = (is_request, self.expire) {
            w.member("Expire", |o| push_u64(o, expire));
        }
        // An empty From/To means "absent": a validation 400 omits an invalid
        // one (spec §4.2), and an SLP's empty one is filled in before sending (§13.4).
        if !self.from.is_empty() {
            w.member("From", |o| json::write_str(o, &self.from));
        }
        if let (true, Some(related)) = (is_request, self.related_id) {
            w.member("RelatedID", |o| push_u64(o, related));
        }
        if let (true, Some(uri)) = (is_request, &self.request_uri) {
            w.member("Request-URI", |o| json::write_str(o, uri));
        }
        if let (true, Some(router)) = (is_request, &self.router) {
            w.member("Router", |o| write_router(o, router));
        }
        if !self.to.is_empty() {
            w.member("To", |o| json::write_str(o, &self.to));
        }
        w.member("Type", |o| match method {
            Some(m) => json::write_str(o, m.as_str()),
            None => o.push_str("\"RESPONSE\""),
        });
        w.flush_headers(None);
        w.out.push('}');
        Ok(())
    }

    fn size_hint(&self) -> usize {
        let headers: usize = self.headers.iter().map(|(n, v)| n.len() + v.text().len() + 4).sum();
        let body = self.body.as_ref().map_or(0, |b| b.text().len());
        let fields = [&self.from, &self.to].iter().map(|s| s.len()).sum::<usize>()
            + self.request_uri.as_ref().map_or(0, String::len)
            + self.router.as_ref().map_or(0, String::len)
            + self.dialogue_id.len();
        160 + headers + body + fields
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_frame() {
            Ok(frame) => f.write_str(&frame),
            Err(_) => f
                .debug_struct("Message")
                .field("kind", &self.kind)
                .field("dialogue_id", &self.dialogue_id)
                .field("cseq", &self.cseq)
                .finish_non_exhaustive(),
        }
    }
}

/// Writes the members of one object in order, merging the sorted headers in.
struct ObjectWriter<'a, I: Iterator<Item = (&'a str, &'a Json)>> {
    out: &'a mut String,
    first: bool,
    is_request: bool,
    headers: std::iter::Peekable<I>,
}

impl<'a, I: Iterator<Item = (&'a str, &'a Json)>> ObjectWriter<'a, I> {
    fn key(&mut self, name: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        json::write_str(self.out, name);
        self.out.push(':');
    }

    fn member(&mut self, name: &str, value: impl FnOnce(&mut String)) {
        self.flush_headers(Some(name));
        self.key(name);
        value(self.out);
    }

    /// Writes the headers sorting before `upto` (all of them for `None`),
    /// leaving out those with no meaning for the kind (e.g. `Code` on a request).
    fn flush_headers(&mut self, upto: Option<&str>) {
        while let Some(&(name, value)) = self.headers.peek() {
            if upto.is_some_and(|u| name.as_bytes() >= u.as_bytes()) {
                break;
            }
            self.headers.next();
            if dropped_on_write(self.is_request, name) {
                continue;
            }
            self.key(name);
            self.out.push_str(value.text());
        }
    }
}

fn push_u64(out: &mut String, n: u64) {
    use std::fmt::Write;
    let _ = write!(out, "{n}");
}

/// `Router` is written as its elements joined with ", " (spec §3.4).
fn write_router(out: &mut String, router: &str) {
    if !router.contains(',') && router.trim() == router {
        json::write_str(out, router);
        return;
    }
    let joined: Vec<&str> = router.split(',').map(str::trim).collect();
    json::write_str(out, &joined.join(", "));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_round_trips_and_case_matters() {
        for m in Method::ALL {
            assert_eq!(Method::parse(m.as_str()), Some(m));
        }
        for bad in ["TTT", "invite", "TERM", "RESPONSE", ""] {
            assert_eq!(Method::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn method_classes() {
        let creating: Vec<_> = Method::ALL.into_iter().filter(|m| m.may_create_instance()).collect();
        assert_eq!(
            creating,
            [Method::Invite, Method::Register, Method::Options, Method::Subscribe, Method::Message]
        );
        let in_dialogue: Vec<_> = Method::ALL.into_iter().filter(|m| m.needs_dialogue()).collect();
        assert_eq!(in_dialogue, [Method::Ack, Method::Bye, Method::Cancel, Method::Update, Method::Prack]);
        assert!(!Method::Ack.has_transaction());
        assert!(Method::Info.has_transaction() && !Method::Info.needs_dialogue());
    }

    #[test]
    fn reason_phrases_and_classes() {
        assert_eq!(reason_phrase(180), Some("Ringing"));
        assert_eq!(reason_phrase(480), Some("Temporarily not available"));
        assert_eq!(reason_phrase(101), Some("User Defined Provisional Response"));
        assert_eq!(reason_phrase(299), Some("User Defined Success Response"));
        assert_eq!(reason_phrase(388), Some("User Defined Redirection Response"));
        assert_eq!(reason_phrase(477), Some("User Defined Client Error Response"));
        assert_eq!(reason_phrase(566), Some("User Defined Server Error Response"));
        assert_eq!(reason_phrase(655), Some("User Defined Global Failure Response"));
        for bad in [0, 99, 700, 1000] {
            assert_eq!(reason_phrase(bad), None, "{bad}");
            assert!(!is_valid_code(bad));
        }
        assert!(is_valid_code(100) && is_valid_code(699));
    }

    fn invite() -> Message {
        Message::request(Method::Invite, "bob@example.org", "alice@example.org", "bob@example.org", "d-1", 7)
    }

    #[test]
    fn minimal_invite_is_written_sorted_and_compact() {
        assert_eq!(
            invite().to_frame().unwrap(),
            r#"{"CSeq":7,"DialogueID":"d-1","From":"alice@example.org","Request-URI":"bob@example.org","To":"bob@example.org","Type":"INVITE"}"#
        );
    }

    #[test]
    fn headers_merge_into_the_sorted_order() {
        let mut m = invite();
        m.headers.set("Zed", Json::integer(1));
        m.headers.set("A-First", Json::string("a"));
        m.headers.set("Dz", Json::parse("[1]").unwrap());
        m.body = Some(Json::parse(r#"{"b":1,"a":2}"#).unwrap());
        m.expire = Some(600);
        m.router = Some("r1 ,r2".into());
        assert_eq!(
            m.to_frame().unwrap(),
            r#"{"A-First":"a","Body":{"a":2,"b":1},"CSeq":7,"DialogueID":"d-1","Dz":[1],"Expire":600,"From":"alice@example.org","Request-URI":"bob@example.org","Router":"r1, r2","To":"bob@example.org","Type":"INVITE","Zed":1}"#
        );
    }

    #[test]
    fn responses_get_desc_and_lose_request_only_members() {
        let mut r = Message::response_to(&invite(), 180);
        r.headers.set("Request-URI", Json::string("stale"));
        r.headers.set("Router", Json::string("stale"));
        r.headers.set("Desc", Json::string("whatever"));
        r.request_uri = Some("stale".into());
        r.expire = Some(3);
        r.headers.set("X-Keep", Json::integer(1));
        assert_eq!(
            r.to_frame().unwrap(),
            r#"{"CSeq":7,"Code":180,"Desc":"Ringing","DialogueID":"d-1","From":"alice@example.org","To":"bob@example.org","Type":"RESPONSE","X-Keep":1}"#
        );
    }

    #[test]
    fn requests_lose_code_and_desc_and_null_body() {
        let mut m = invite();
        m.headers.set("Code", Json::integer(200));
        m.headers.set("Desc", Json::string("OK"));
        m.body = Some(Json::parse("null").unwrap());
        assert!(!m.to_frame().unwrap().contains("Code"));
        assert!(!m.to_frame().unwrap().contains("Desc"));
        assert!(!m.to_frame().unwrap().contains("Body"));
    }

    #[test]
    fn invalid_code_is_never_written() {
        let r = Message::response_to(&invite(), 700);
        assert_eq!(r.to_frame(), Err(WriteError::InvalidCode(700)));
    }

    #[test]
    fn typed_members_depend_on_the_kind() {
        let req = invite();
        let resp = Message::response_to(&req, 200);
        assert!(req.is_typed_member("Router") && !req.is_typed_member("Code"));
        assert!(resp.is_typed_member("Code") && !resp.is_typed_member("Router"));
        assert!(!req.is_typed_member("Reason"));
        assert!(req.is_typed_member("Expire") && !resp.is_typed_member("Expire"));
    }
}
