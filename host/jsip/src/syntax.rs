//! The syntax layer (spec §4): turns a received text payload into a
//! [`Message`], or into a [`Rejection`] that says exactly what to do instead
//! (close the socket, answer 400, or drop), with the reason to log and count.
//! Also the validation of messages an SLP sends (spec §13.4 `invalid-message`).

use std::borrow::Cow;
use std::fmt;

use serde::Deserializer as _;
use serde::de::{self, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::json::{self, Json, JsonError};
use crate::message::{DialogueId, Headers, Kind, Message, Method, is_valid_code};

/// Largest CSeq / RelatedID: 2^53 − 1.
pub const MAX_CSEQ: u64 = (1 << 53) - 1;
/// Largest `Expire` on an initial INVITE: 2^32 − 1.
pub const MAX_EXPIRE: u64 = u32::MAX as u64;
/// Largest DialogueID in bytes.
pub const MAX_DIALOGUE_ID: usize = 256;
/// Default maximum frame size (`rtc.max_frame`).
pub const DEFAULT_MAX_FRAME: usize = 64 * 1024;

/// What the receiver must do with a frame that failed the syntax layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Close the socket with this WebSocket close code and reason (spec §4.1).
    Close { code: u16, reason: &'static str },
    /// Send this 400 response back on the same socket (spec §4.2).
    Answer(Box<Message>),
    /// Drop the frame; nothing is sent (spec §4.2).
    Drop { reason: Cow<'static, str> },
}

impl Rejection {
    /// The counter label of `slp_host_invalid_messages_total{action}`.
    pub fn action(&self) -> &'static str {
        match self {
            Rejection::Close { .. } => "closed",
            Rejection::Answer(_) => "answered_400",
            Rejection::Drop { .. } => "dropped",
        }
    }

    /// The human-readable reason: close reason, 400 `Reason`, or drop reason.
    pub fn reason(&self) -> Cow<'_, str> {
        match self {
            Rejection::Close { reason, .. } => Cow::Borrowed(reason),
            Rejection::Answer(m) => m.reason().unwrap_or(Cow::Borrowed("")),
            Rejection::Drop { reason } => Cow::Borrowed(reason),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.action(), self.reason())
    }
}

const CLOSE_INVALID_UTF8: Rejection = Rejection::Close { code: 1007, reason: "invalid UTF-8" };
const CLOSE_INVALID_JSON: Rejection = Rejection::Close { code: 1007, reason: "invalid JSON" };
const CLOSE_NOT_OBJECT: Rejection = Rejection::Close { code: 1007, reason: "not a JSON object" };
const CLOSE_TOO_LARGE: Rejection = Rejection::Close { code: 1009, reason: "frame too large" };

/// Parses and validates one received text payload (spec §4.1 rows 3–6 and §4.2).
/// Binary frames (row 1) are the transport's business; the size limit (row 2)
/// is checked here too so that every driver of the stack enforces it.
pub fn parse(payload: &[u8], max_frame: usize) -> Result<Message, Rejection> {
    if payload.len() > max_frame {
        return Err(CLOSE_TOO_LARGE);
    }
    let text = std::str::from_utf8(payload).map_err(|_| CLOSE_INVALID_UTF8)?;
    let members = read_object(text)?;
    validate(members)
}

/// A member value as it appeared: its raw JSON text, or a duplicate marker.
#[derive(Default)]
enum Slot<'a> {
    #[default]
    Absent,
    Once(&'a str),
    Duplicated,
}

impl<'a> Slot<'a> {
    fn put(&mut self, raw: &'a str) {
        *self = match self {
            Slot::Absent => Slot::Once(raw),
            _ => Slot::Duplicated,
        };
    }

    fn raw(&self) -> Option<&'a str> {
        match *self {
            Slot::Once(raw) => Some(raw),
            _ => None,
        }
    }

    /// The decoded string when the member appears once and is a string.
    fn string(&self) -> Option<Cow<'a, str>> {
        self.raw().and_then(json::decode_str)
    }

    /// The exact integer value when the member appears once and is a number.
    fn integer(&self) -> Option<i128> {
        self.raw().and_then(json::exact_integer)
    }
}

/// Every top-level member of a frame, sorted into the typed slots and the rest.
#[derive(Default)]
struct Members<'a> {
    ty: Slot<'a>,
    code: Slot<'a>,
    cseq: Slot<'a>,
    dialogue_id: Slot<'a>,
    from: Slot<'a>,
    to: Slot<'a>,
    request_uri: Slot<'a>,
    router: Slot<'a>,
    expire: Slot<'a>,
    related_id: Slot<'a>,
    body: Slot<'a>,
    others: Vec<(Cow<'a, str>, &'a str)>,
}

impl<'a> Members<'a> {
    fn add(&mut self, name: Cow<'a, str>, raw: &'a str) {
        let slot = match &*name {
            "Type" => &mut self.ty,
            "Code" => &mut self.code,
            "CSeq" => &mut self.cseq,
            "DialogueID" => &mut self.dialogue_id,
            "From" => &mut self.from,
            "To" => &mut self.to,
            "Request-URI" => &mut self.request_uri,
            "Router" => &mut self.router,
            "Expire" => &mut self.expire,
            "RelatedID" => &mut self.related_id,
            "Body" => &mut self.body,
            _ => return self.others.push((name, raw)),
        };
        slot.put(raw);
    }

    /// The first duplicated member name, if any (typed names first, then the rest in name order).
    fn duplicate(&self) -> Option<Cow<'a, str>> {
        let typed = [
            ("Type", &self.ty),
            ("Code", &self.code),
            ("CSeq", &self.cseq),
            ("DialogueID", &self.dialogue_id),
            ("From", &self.from),
            ("To", &self.to),
            ("Request-URI", &self.request_uri),
            ("Router", &self.router),
            ("Expire", &self.expire),
            ("RelatedID", &self.related_id),
            ("Body", &self.body),
        ];
        if let Some((name, _)) = typed.iter().find(|(_, s)| matches!(s, Slot::Duplicated)) {
            return Some(Cow::Borrowed(name));
        }
        // Few headers is the norm: compare pairwise without allocating.
        let names = &self.others;
        if names.len() <= 16 {
            let mut first: Option<&str> = None;
            for (i, (a, _)) in names.iter().enumerate() {
                if names[i + 1..].iter().any(|(b, _)| a == b) && first.is_none_or(|f| **a < *f) {
                    first = Some(a);
                }
            }
            return first.map(|n| Cow::Owned(n.to_owned()));
        }
        let mut sorted: Vec<&str> = names.iter().map(|(n, _)| &**n).collect();
        sorted.sort_unstable();
        sorted.windows(2).find(|w| w[0] == w[1]).map(|w| Cow::Owned(w[0].to_owned()))
    }
}

/// Reads the top-level object (spec §4.1 rows 4–5): strict JSON, one pass,
/// member values kept as raw text.
fn read_object(text: &str) -> Result<Members<'_>, Rejection> {
    if !text.trim_start().starts_with('{') {
        // Not an object; say whether it is JSON at all (the depth limit included).
        return Err(match serde_json::from_str::<de::IgnoredAny>(text) {
            Ok(_) if json::depth(text.trim_matches([' ', '\t', '\n', '\r'])) <= json::MAX_DEPTH => {
                CLOSE_NOT_OBJECT
            }
            _ => CLOSE_INVALID_JSON,
        });
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let members = de.deserialize_map(ObjectVisitor).map_err(|_| CLOSE_INVALID_JSON)?;
    de.end().map_err(|_| CLOSE_INVALID_JSON)?;
    Ok(members)
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Members<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
        let mut members = Members::default();
        while let Some(Key(name)) = map.next_key()? {
            let raw: &'de RawValue = map.next_value()?;
            let raw = raw.get();
            // §4.1 row 4 comes before every §4.2 row, so the depth is checked now.
            if 1 + json::depth(raw) > json::MAX_DEPTH {
                return Err(de::Error::custom("nested too deeply"));
            }
            members.add(name, raw);
        }
        Ok(members)
    }
}

/// A member name, borrowed unless it contained escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// Object validation in the order of spec §4.2; the first failure decides.
fn validate(m: Members<'_>) -> Result<Message, Rejection> {
    let drop = |reason: &'static str| Rejection::Drop { reason: Cow::Borrowed(reason) };
    // Row 0: the identifying members must be unambiguous.
    for (name, slot) in [("Type", &m.ty), ("DialogueID", &m.dialogue_id), ("CSeq", &m.cseq)] {
        if matches!(slot, Slot::Duplicated) {
            return Err(Rejection::Drop { reason: Cow::Owned(format!("duplicate {name}")) });
        }
    }
    // Row 1.
    let ty = m.ty.string().ok_or_else(|| drop("invalid Type"))?;
    if ty == "RESPONSE" {
        return validate_response(m);
    }
    // Rows 3–4: without these the request cannot even be answered.
    let dialogue_id = valid_dialogue_id(&m.dialogue_id).ok_or_else(|| drop("invalid DialogueID"))?;
    let cseq = valid_cseq(&m.cseq).ok_or_else(|| drop("invalid CSeq"))?;
    let method = Method::parse(&ty);
    // From here a failure is answered with 400, except for ACK, which is never answered.
    let reject = |reason: Cow<'static, str>| match method {
        Some(Method::Ack) => Rejection::Drop { reason },
        _ => Rejection::Answer(Box::new(bad_request(&m, &dialogue_id, cseq, &reason))),
    };
    // Row 5.
    if let Some(name) = m.duplicate() {
        return Err(reject(Cow::Owned(format!("duplicate {name}"))));
    }
    // Row 6.
    let Some(method) = method else {
        return Err(reject(Cow::Borrowed("unknown Type")));
    };
    // Row 7.
    let request_uri = required_string(&m.request_uri, "Request-URI", true).map_err(&reject)?;
    // Row 8.
    let router = match m.router.raw() {
        None => None,
        Some(raw) => {
            Some(json::decode_str(raw).ok_or_else(|| reject(Cow::Borrowed("invalid Router")))?.into_owned())
        }
    };
    // Rows 9–10.
    let from = required_string(&m.from, "From", false).map_err(&reject)?;
    let to = required_string(&m.to, "To", false).map_err(&reject)?;
    // Row 11: on an INVITE, `Expire` must be an integer 0 … 2^32−1.
    let expire = typed_integer(&m.expire, MAX_EXPIRE);
    if method == Method::Invite && expire.is_err() {
        return Err(reject(Cow::Borrowed("invalid Expire")));
    }
    // Row 12: on ACK and CANCEL, `RelatedID` must be an integer 0 … 2^53−1.
    let related_id = typed_integer(&m.related_id, MAX_CSEQ);
    if matches!(method, Method::Ack | Method::Cancel) && related_id.is_err() {
        return Err(reject(Cow::Borrowed("invalid RelatedID")));
    }
    let mut others = m.others;
    // Members that are typed for some kinds only, or not integers here, pass through.
    if expire.is_err() {
        others.push(("Expire".into(), m.expire.raw().unwrap_or("null")));
    }
    if related_id.is_err() {
        others.push(("RelatedID".into(), m.related_id.raw().unwrap_or("null")));
    }
    if let Some(code) = m.code.raw() {
        others.push(("Code".into(), code));
    }
    Ok(Message {
        kind: Kind::Request(method),
        dialogue_id,
        cseq,
        from,
        to,
        request_uri: Some(request_uri),
        router,
        expire: expire.unwrap_or(None),
        related_id: related_id.unwrap_or(None),
        body: body(&m.body).map_err(|_| CLOSE_INVALID_JSON)?,
        headers: headers(others).map_err(|_| CLOSE_INVALID_JSON)?,
    })
}

/// Row 2: a response with any fault is dropped; responses are never answered.
fn validate_response(m: Members<'_>) -> Result<Message, Rejection> {
    let fault = |reason: &'static str| Rejection::Drop { reason: Cow::Borrowed(reason) };
    let code = m
        .code
        .integer()
        .and_then(|c| u16::try_from(c).ok())
        .filter(|&c| is_valid_code(c))
        .ok_or_else(|| fault("invalid Code"))?;
    let non_empty = |slot: &Slot<'_>| slot.string().filter(|s| !s.is_empty()).map(Cow::into_owned);
    let from = non_empty(&m.from).ok_or_else(|| fault("invalid From"))?;
    let to = non_empty(&m.to).ok_or_else(|| fault("invalid To"))?;
    let cseq = valid_cseq(&m.cseq).ok_or_else(|| fault("invalid CSeq"))?;
    let dialogue_id = valid_dialogue_id(&m.dialogue_id).ok_or_else(|| fault("invalid DialogueID"))?;
    if m.duplicate().is_some() {
        return Err(fault("duplicate member"));
    }
    let mut others = m.others;
    for (name, slot) in [
        ("Request-URI", &m.request_uri),
        ("Router", &m.router),
        ("Expire", &m.expire),
        ("RelatedID", &m.related_id),
    ] {
        if let Some(raw) = slot.raw() {
            others.push((name.into(), raw));
        }
    }
    Ok(Message {
        kind: Kind::Response(code),
        dialogue_id,
        cseq,
        from,
        to,
        request_uri: None,
        router: None,
        expire: None,
        related_id: None,
        body: body(&m.body).map_err(|_| CLOSE_INVALID_JSON)?,
        headers: headers(others).map_err(|_| CLOSE_INVALID_JSON)?,
    })
}

fn valid_dialogue_id(slot: &Slot<'_>) -> Option<DialogueId> {
    let id = slot.string()?;
    (1..=MAX_DIALOGUE_ID).contains(&id.len()).then(|| DialogueId::new(&*id))
}

fn valid_cseq(slot: &Slot<'_>) -> Option<u64> {
    let n = slot.integer()?;
    (1..=i128::from(MAX_CSEQ)).contains(&n).then_some(n as u64)
}

/// `Ok(None)` when absent, `Ok(Some(n))` for an integer in 0..=max, `Err` otherwise.
fn typed_integer(slot: &Slot<'_>, max: u64) -> Result<Option<u64>, ()> {
    match slot {
        Slot::Absent => Ok(None),
        _ => match slot.integer() {
            Some(n) if (0..=i128::from(max)).contains(&n) => Ok(Some(n as u64)),
            _ => Err(()),
        },
    }
}

/// A mandatory string member: `missing X`, `invalid X` or `empty X`.
fn required_string(slot: &Slot<'_>, name: &str, empty_ok: bool) -> Result<String, Cow<'static, str>> {
    match slot {
        Slot::Absent => Err(Cow::Owned(format!("missing {name}"))),
        _ => match slot.string() {
            None => Err(Cow::Owned(format!("invalid {name}"))),
            Some(s) if s.is_empty() && !empty_ok => Err(Cow::Owned(format!("empty {name}"))),
            Some(s) => Ok(s.into_owned()),
        },
    }
}

fn body(slot: &Slot<'_>) -> Result<Option<Json>, JsonError> {
    match slot.raw() {
        Some(raw) if raw != "null" => Json::from_valid(raw, 1).map(Some),
        _ => Ok(None),
    }
}

fn headers(others: Vec<(Cow<'_, str>, &str)>) -> Result<Headers, JsonError> {
    let mut pairs = Vec::with_capacity(others.len());
    for (name, raw) in others {
        pairs.push((Box::<str>::from(&*name), Json::from_valid(raw, 1)?));
    }
    // Duplicates were rejected before, so this cannot fail.
    Headers::from_unsorted(pairs).map_err(|_| JsonError::Invalid)
}

/// The 400 answer to a request that failed validation: `DialogueID` and `CSeq`
/// copied, `From` and `To` only when each is a non-empty string appearing once.
fn bad_request(m: &Members<'_>, dialogue_id: &DialogueId, cseq: u64, reason: &str) -> Message {
    let copy = |slot: &Slot<'_>| slot.string().filter(|s| !s.is_empty()).map(Cow::into_owned);
    let mut answer = Message::bare_response(
        dialogue_id.clone(),
        cseq,
        copy(&m.from).unwrap_or_default(),
        copy(&m.to).unwrap_or_default(),
        400,
    );
    answer.set_reason(reason);
    answer
}

/// Why an SLP's message is not a valid JSIP message (`invalid-message`, spec §13.4);
/// the text names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidMessage(pub Cow<'static, str>);

impl fmt::Display for InvalidMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidMessage {}

/// The checks of spec §13.4 on a message an SLP (or the stack) sends. CSeq 0
/// on a request is allowed here: it means "assign one".
pub fn check_outgoing(m: &Message) -> Result<(), InvalidMessage> {
    let invalid = |why: &'static str| Err(InvalidMessage(Cow::Borrowed(why)));
    if m.dialogue_id.is_empty() {
        return invalid("DialogueID is missing or empty");
    }
    if m.dialogue_id.len() > MAX_DIALOGUE_ID {
        return invalid("DialogueID is longer than 256 bytes");
    }
    if m.cseq > MAX_CSEQ {
        return invalid("CSeq is not an integer in 1 … 2^53−1");
    }
    // A typed member must travel in its field: as a header too it would be written twice.
    if let Some((name, _)) = m.headers.iter().find(|(name, _)| {
        m.is_typed_member(name) && !(m.is_request() && matches!(*name, "Expire" | "RelatedID"))
    }) {
        return Err(InvalidMessage(Cow::Owned(format!(
            "{name} must be given in its own field, not as a header"
        ))));
    }
    match m.kind {
        Kind::Response(code) => {
            if !is_valid_code(code) {
                return invalid("Code is not an integer 100–699");
            }
            if m.cseq == 0 {
                return invalid("CSeq is missing");
            }
        }
        Kind::Request(_) => {
            if m.request_uri.as_deref().unwrap_or("").is_empty() {
                return invalid("Request-URI is missing or empty");
            }
            if m.from.is_empty() {
                return invalid("From is missing or empty");
            }
            if m.to.is_empty() {
                return invalid("To is missing or empty");
            }
            // An integer outside the typed range passes through as a header
            // (e.g. a received `Expire: -1` on an UPDATE); anything else is not an integer.
            for name in ["Expire", "RelatedID"] {
                if m.headers.get(name).is_some_and(|v| json::exact_integer(v.text()).is_none()) {
                    return Err(InvalidMessage(Cow::Owned(format!("{name} is not an integer"))));
                }
            }
            // Where the stack reads or adds the field, it must be typed (in range) or absent.
            let method = m.method();
            let typed_here = |name: &str| match name {
                "Expire" => m.expire.is_some() || method == Some(Method::Invite),
                _ => m.related_id.is_some() || matches!(method, Some(Method::Ack | Method::Cancel)),
            };
            for name in ["Expire", "RelatedID"] {
                if m.headers.get(name).is_some() && typed_here(name) {
                    return Err(InvalidMessage(Cow::Owned(format!("{name} is out of range"))));
                }
            }
            if m.headers.get("Router").is_some() {
                return invalid("Router is not a string");
            }
            if m.related_id.is_some_and(|r| r > MAX_CSEQ) {
                return invalid("RelatedID is out of range");
            }
        }
    }
    Ok(())
}
