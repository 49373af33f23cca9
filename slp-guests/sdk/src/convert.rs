//! Conversions between the WIT records of `jsip:slp/types` and the protocol
//! core's types: typed fields map one to one, `headers` and `body` carry
//! JSON text that becomes [`jsip::Json`] and back. What the host delivers is
//! canonical JSON text already (the WIT says so), so it is taken as it is
//! instead of being parsed again.

use jsip::{DialogueId, Headers, Json, Kind, Message, Method, TermKind};

use crate::Delivery;
use crate::bindings::jsip::slp::types as wit;

pub(crate) fn method_from_wit(m: wit::Method) -> Method {
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

pub(crate) fn method_to_wit(m: Method) -> wit::Method {
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

pub(crate) fn term_kind_from_wit(k: wit::TermKind) -> TermKind {
    match k {
        wit::TermKind::Dialogue => TermKind::Dialogue,
        wit::TermKind::Transactions => TermKind::Transactions,
    }
}

/// A delivered WIT message as a [`Message`]; its JSON texts are canonical.
pub(crate) fn message_from_wit(m: wit::Message) -> Message {
    let kind = match m.kind {
        wit::Kind::Request(method) => Kind::Request(method_from_wit(method)),
        wit::Kind::Response(code) => Kind::Response(code),
    };
    let mut headers = Headers::default();
    for h in m.headers {
        headers.set(&h.name, Json::from_canonical(h.value));
    }
    Message {
        kind,
        dialogue_id: DialogueId::from(m.dialogue_id),
        cseq: m.cseq,
        from: m.from,
        to: m.to,
        request_uri: m.request_uri,
        router: m.router,
        expire: m.expire,
        related_id: m.related_id,
        body: m.body.map(Json::from_canonical),
        headers,
    }
}

/// A [`Message`] as a WIT message; a `null` body is sent as no body.
pub(crate) fn message_to_wit(m: &Message) -> wit::Message {
    wit::Message {
        kind: match m.kind {
            Kind::Request(method) => wit::Kind::Request(method_to_wit(method)),
            Kind::Response(code) => wit::Kind::Response(code),
        },
        dialogue_id: m.dialogue_id.as_str().to_owned(),
        cseq: m.cseq,
        from: m.from.clone(),
        to: m.to.clone(),
        request_uri: m.request_uri.clone(),
        router: m.router.clone(),
        expire: m.expire,
        related_id: m.related_id,
        body: m.body.as_ref().filter(|b| !b.is_null()).map(|b| b.text().to_owned()),
        headers: m
            .headers
            .iter()
            .map(|(name, value)| wit::Header { name: name.to_owned(), value: value.text().to_owned() })
            .collect(),
    }
}

/// A WIT delivery as a [`Delivery`].
pub(crate) fn delivery_from_wit(d: wit::Delivery) -> Delivery {
    Delivery {
        message: message_from_wit(d.message),
        method: method_from_wit(d.method),
        origin: d.origin,
        source: d.source,
        relid: d.relid,
        first: d.first,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Origin;

    fn wit_invite() -> wit::Message {
        wit::Message {
            kind: wit::Kind::Request(wit::Method::Invite),
            dialogue_id: "d-1".into(),
            cseq: 41,
            from: "alice@a.org".into(),
            to: "bob@b.org".into(),
            request_uri: Some("bob@b.org".into()),
            router: Some("svc.b.org;type=x, n2.b.org".into()),
            expire: Some(600),
            related_id: None,
            // Canonical texts, as the host delivers them.
            body: Some(r#"{"n":[1,2.50,{"a":true,"z":null}],"sdp":"v=0"}"#.into()),
            headers: vec![
                wit::Header { name: "A-First".into(), value: r#""a\u0041""#.into() },
                wit::Header { name: "Reason".into(), value: r#""why""#.into() },
                wit::Header { name: "X-Big".into(), value: "18446744073709551616".into() },
                wit::Header { name: "X-Obj".into(), value: r#"{"a":{},"b":[]}"#.into() },
            ],
        }
    }

    #[test]
    fn every_method_maps_both_ways() {
        for m in Method::ALL {
            assert_eq!(method_from_wit(method_to_wit(m)), m);
        }
        let all = [
            wit::Method::Invite,
            wit::Method::Ack,
            wit::Method::Bye,
            wit::Method::Cancel,
            wit::Method::Register,
            wit::Method::Options,
            wit::Method::Info,
            wit::Method::Update,
            wit::Method::Prack,
            wit::Method::Subscribe,
            wit::Method::Message,
            wit::Method::Notify,
        ];
        // Same order as spec §2.3 and `Method::ALL`.
        for (w, m) in all.into_iter().zip(Method::ALL) {
            assert_eq!(method_from_wit(w), m);
            assert_eq!(method_to_wit(m), w);
        }
    }

    #[test]
    fn typed_fields_map_one_to_one() {
        let m = message_from_wit(wit_invite());
        assert_eq!(m.kind, Kind::Request(Method::Invite));
        assert_eq!(m.dialogue_id.as_str(), "d-1");
        assert_eq!(m.cseq, 41);
        assert_eq!((m.from.as_str(), m.to.as_str()), ("alice@a.org", "bob@b.org"));
        assert_eq!(m.request_uri.as_deref(), Some("bob@b.org"));
        assert_eq!(m.router.as_deref(), Some("svc.b.org;type=x, n2.b.org"));
        assert_eq!((m.expire, m.related_id), (Some(600), None));
        assert_eq!(m.reason().as_deref(), Some("why"));
    }

    #[test]
    fn delivered_json_texts_are_kept_as_they_are() {
        let m = message_from_wit(wit_invite());
        assert_eq!(m.body.as_ref().unwrap().text(), r#"{"n":[1,2.50,{"a":true,"z":null}],"sdp":"v=0"}"#);
        assert_eq!(m.headers.get("X-Obj").unwrap().text(), r#"{"a":{},"b":[]}"#);
        assert_eq!(m.headers.get("X-Big").unwrap().text(), "18446744073709551616");
        assert_eq!(m.headers.get_str("A-First").as_deref(), Some("aA"));
        assert_eq!(m.headers.len(), 4);
        // The same values as parsing the texts would give.
        assert_eq!(m.headers.get("X-Obj"), Some(&Json::parse(r#"{ "b": [], "a": {} }"#).unwrap()));
    }

    #[test]
    fn request_round_trips_through_the_wit_record() {
        let m = message_from_wit(wit_invite());
        let w = message_to_wit(&m);
        // Canonical text on the way back; same members, same order.
        let names: Vec<&str> = w.headers.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["A-First", "Reason", "X-Big", "X-Obj"]);
        assert_eq!(w.headers[3].value, r#"{"a":{},"b":[]}"#);
        assert_eq!(w.body.as_deref(), Some(r#"{"n":[1,2.50,{"a":true,"z":null}],"sdp":"v=0"}"#));
        assert_eq!(message_from_wit(w.clone()), m);
        assert_eq!(message_to_wit(&message_from_wit(w.clone())), w);
        // The wire form is identical either way.
        assert_eq!(message_from_wit(w).to_frame().unwrap(), m.to_frame().unwrap());
    }

    #[test]
    fn response_round_trips_including_extras() {
        let mut r = jsip::build::response(&message_from_wit(wit_invite()), 183).unwrap();
        r.headers.set("X-Extra", Json::parse(r#"{"k":[true,false]}"#).unwrap());
        r.body = Some(Json::string("early"));
        let w = message_to_wit(&r);
        assert_eq!(w.kind, wit::Kind::Response(183));
        assert_eq!((w.request_uri.clone(), w.router.clone(), w.expire), (None, None, None));
        assert_eq!(w.body.as_deref(), Some(r#""early""#));
        assert_eq!(message_from_wit(w), r);
    }

    #[test]
    fn sdk_built_requests_round_trip() {
        let mut m = jsip::build::request(Method::Message, "u@x", "SendMessage", "u@x", "dlg_x_1");
        m.related_id = Some(7);
        m.expire = Some(60);
        let back = message_from_wit(message_to_wit(&m));
        assert_eq!(back, m);
        assert!(back.headers.is_empty() && back.body.is_none());
    }

    #[test]
    fn null_body_is_sent_as_no_body() {
        let mut m = message_from_wit(wit_invite());
        m.body = Some(Json::parse("null").unwrap());
        assert_eq!(message_to_wit(&m).body, None);
    }

    #[test]
    fn delivery_metadata_maps_and_helpers_work() {
        let d = delivery_from_wit(wit::Delivery {
            message: wit_invite(),
            method: wit::Method::Invite,
            origin: wit::Origin::Peer,
            source: Some("alice".into()),
            relid: Some("relx+1".into()),
            first: true,
        });
        assert_eq!(d.method, Method::Invite);
        assert_eq!(d.origin, Origin::Peer);
        assert_eq!((d.source.as_deref(), d.relid.as_deref(), d.first), (Some("alice"), Some("relx+1"), true));
        assert!(d.is_request() && d.is_request_of(Method::Invite) && !d.is_request_of(Method::Ack));
        assert_eq!((d.code(), d.name()), (None, "INVITE".to_owned()));
        assert!(d.ack().is_err());

        let ok = jsip::build::response(&d.message, 200).unwrap();
        let r = delivery_from_wit(wit::Delivery {
            message: message_to_wit(&ok),
            method: wit::Method::Invite,
            origin: wit::Origin::Stack,
            source: None,
            relid: None,
            first: false,
        });
        assert!(!r.is_request() && r.is_response_to(Method::Invite, 200));
        assert!(!r.is_response_to(Method::Update, 200) && !r.is_response_to(Method::Invite, 180));
        assert_eq!((r.code(), r.name(), r.origin), (Some(200), "INVITE_200".to_owned(), Origin::Stack));
        let ack = r.ack().unwrap();
        assert_eq!((ack.method(), ack.related_id), (Some(Method::Ack), Some(41)));
    }

    #[test]
    fn term_kinds_map() {
        assert_eq!(term_kind_from_wit(wit::TermKind::Dialogue), TermKind::Dialogue);
        assert_eq!(term_kind_from_wit(wit::TermKind::Transactions), TermKind::Transactions);
    }
}
