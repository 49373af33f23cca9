//! Messages across the host/SLP boundary: `jsip::Message` ↔ the WIT records.
//! Parsed once on the way in, serialised once on the way out; headers travel
//! as JSON text without being turned into trees.

use jsip::stack::{Delivery, Origin, SendError, TermKind};
use jsip::{Headers, Json, Kind, Message, Method};

use super::bindings::types as wit;

/// The WIT method of a jsip method.
pub fn method_to_wit(m: Method) -> wit::Method {
    match m {
        Method::Invite => wit::Method::Invite,
        Method::Ack => wit::Method::Ack,
        Method::Bye => wit::Method::Bye,
        Method::Cancel => wit::Method::Cancel,
        Method::Register => wit::Method::Register,
        Method::Options => wit::Method::Options,
        Method::Info => wit::Method::Info,
        Method::Update => wit::Method::Update,
        Method::Prack => wit::Method::Prack,
        Method::Subscribe => wit::Method::Subscribe,
        Method::Message => wit::Method::Message,
        Method::Notify => wit::Method::Notify,
    }
}

/// The jsip method of a WIT method.
pub fn method_from_wit(m: wit::Method) -> Method {
    match m {
        wit::Method::Invite => Method::Invite,
        wit::Method::Ack => Method::Ack,
        wit::Method::Bye => Method::Bye,
        wit::Method::Cancel => Method::Cancel,
        wit::Method::Register => Method::Register,
        wit::Method::Options => Method::Options,
        wit::Method::Info => Method::Info,
        wit::Method::Update => Method::Update,
        wit::Method::Prack => Method::Prack,
        wit::Method::Subscribe => Method::Subscribe,
        wit::Method::Message => Method::Message,
        wit::Method::Notify => Method::Notify,
    }
}

/// A message as the SLP sees it.
pub fn message_to_wit(m: &Message) -> wit::Message {
    wit::Message {
        kind: match m.kind {
            Kind::Request(method) => wit::Kind::Request(method_to_wit(method)),
            Kind::Response(code) => wit::Kind::Response(code),
        },
        dialogue_id: m.dialogue_id.to_string(),
        cseq: m.cseq,
        from: m.from.clone(),
        to: m.to.clone(),
        request_uri: m.request_uri.clone(),
        router: m.router.clone(),
        expire: m.expire,
        related_id: m.related_id,
        body: m.body.as_ref().map(|b| b.text().to_owned()),
        headers: m
            .headers
            .iter()
            .map(|(name, value)| wit::Header { name: name.to_owned(), value: value.text().to_owned() })
            .collect(),
    }
}

/// A message an SLP sends; invalid JSON in a header or the body is `invalid-message`.
pub fn message_from_wit(m: wit::Message) -> Result<Message, SendError> {
    let invalid = |what: String| SendError::InvalidMessage(what);
    let mut headers = Headers::default();
    for h in m.headers {
        let value = Json::parse(&h.value).map_err(|e| invalid(format!("header {}: {e}", h.name)))?;
        if headers.get(&h.name).is_some() {
            return Err(invalid(format!("duplicate header {}", h.name)));
        }
        headers.set(&h.name, value);
    }
    let body = match m.body {
        Some(text) => Some(Json::parse(&text).map_err(|e| invalid(format!("Body: {e}")))?),
        None => None,
    };
    Ok(Message {
        kind: match m.kind {
            wit::Kind::Request(method) => Kind::Request(method_from_wit(method)),
            wit::Kind::Response(code) => Kind::Response(code),
        },
        dialogue_id: m.dialogue_id.into(),
        cseq: m.cseq,
        from: m.from,
        to: m.to,
        request_uri: m.request_uri,
        router: m.router,
        expire: m.expire,
        related_id: m.related_id,
        body: body.filter(|b| !b.is_null()),
        headers,
    })
}

/// A delivery as the SLP sees it.
pub fn delivery_to_wit(d: &Delivery, relid: Option<String>) -> wit::Delivery {
    let (origin, source) = match &d.origin {
        Origin::Peer(e) => (wit::Origin::Peer, Some(e.to_string())),
        Origin::Stack => (wit::Origin::Stack, None),
    };
    wit::Delivery {
        message: message_to_wit(&d.message),
        method: method_to_wit(d.method),
        origin,
        source,
        relid,
        first: d.first,
    }
}

/// A TERM kind as the SLP sees it.
pub fn term_to_wit(kind: TermKind) -> wit::TermKind {
    match kind {
        TermKind::Dialogue => wit::TermKind::Dialogue,
        TermKind::Transactions => wit::TermKind::Transactions,
    }
}

/// A send error as the SLP sees it.
pub fn send_error_to_wit(e: &SendError) -> wit::SendError {
    use wit::SendErrorCode as C;
    let code = match e {
        SendError::InvalidMessage(_) => C::InvalidMessage,
        SendError::TooLarge => C::TooLarge,
        SendError::NotOwner => C::NotOwner,
        SendError::DuplicateCseq => C::DuplicateCseq,
        SendError::NoTransaction => C::NoTransaction,
        SendError::NoDialogue => C::NoDialogue,
        SendError::InvalidState(_) => C::InvalidState,
        SendError::BadRelatedId => C::BadRelatedId,
        SendError::BadRoute(_) => C::BadRoute,
        SendError::Quota(_) => C::Quota,
    };
    wit::SendError { code, detail: e.detail() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_cross_the_boundary_without_loss() {
        let frame = br#"{"Type":"INVITE","Request-URI":"b","From":"a","To":"b","DialogueID":"d","CSeq":3,"Expire":60,"Router":"x, y","Body":{"k":[1,2]},"X-A":{"z":1,"a":2},"X-N":12345678901234567890123}"#;
        let m = jsip::syntax::parse(frame, 65536).expect("valid");
        let back = message_from_wit(message_to_wit(&m)).expect("valid");
        assert_eq!(back, m);
    }

    #[test]
    fn invalid_header_json_is_invalid_message() {
        let mut w = message_to_wit(&Message::request(Method::Message, "u", "f", "t", "d", 1));
        w.headers.push(wit::Header { name: "X".into(), value: "{nope".into() });
        assert_eq!(message_from_wit(w).unwrap_err().code(), "invalid-message");
    }
}
