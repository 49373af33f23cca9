//! Building messages from other messages: the SDK helper constructions of
//! spec §13.8, which are also the messages the stack builds itself (§6.7).
//! One implementation serves the stack, the SDK and the test harness.

use std::fmt;

use crate::message::{DialogueId, Kind, Message, Method, is_valid_code};

/// A helper's precondition did not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelperError(pub &'static str);

impl fmt::Display for HelperError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for HelperError {}

/// A new CSeq: uniformly random in 1 … 2^32−1 from a cryptographically seeded
/// generator (gortc differs: unseeded, and 0 was possible).
pub fn new_cseq() -> u64 {
    rand::random_range(1..=u64::from(u32::MAX))
}

/// `request(method, request_uri, from, to, dialogue_id)`: the four fields, a new
/// CSeq, and nothing else.
pub fn request(method: Method, request_uri: &str, from: &str, to: &str, dialogue_id: &str) -> Message {
    Message::request(method, request_uri, from, to, dialogue_id, new_cseq())
}

/// `response(req, code)`: `From`, `To`, `CSeq` and `DialogueID` of `req`, nothing else.
pub fn response(req: &Message, code: u16) -> Result<Message, HelperError> {
    match req.kind {
        Kind::Response(_) => Err(HelperError("response() needs a request")),
        Kind::Request(Method::Ack) => Err(HelperError("an ACK is never answered")),
        Kind::Request(_) if !is_valid_code(code) => Err(HelperError("code must be 100-699")),
        Kind::Request(_) => Ok(Message::response_to(req, code)),
    }
}

/// `ack(resp)`: the ACK for a final response to an INVITE. `method` is the
/// method of the request `resp` answers (not on the wire; the delivery carries it).
pub fn ack(resp: &Message, method: Method) -> Result<Message, HelperError> {
    match resp.kind {
        Kind::Response(code) if method == Method::Invite && code >= 200 => {
            let mut ack = Message::request(
                Method::Ack,
                resp.to.clone(),
                resp.from.clone(),
                resp.to.clone(),
                resp.dialogue_id.clone(),
                new_cseq(),
            );
            ack.related_id = Some(resp.cseq);
            Ok(ack)
        }
        _ => Err(HelperError("ack() needs a final response to an INVITE")),
    }
}

/// `cancel(invite)`: `Request-URI`, `From`, `To`, `DialogueID` copied, a new
/// CSeq, `RelatedID` = the INVITE's CSeq; no Router, no Body.
pub fn cancel(invite: &Message) -> Result<Message, HelperError> {
    let mut cancel = from_invite(Method::Cancel, invite)?;
    cancel.related_id = Some(invite.cseq);
    Ok(cancel)
}

/// `bye(invite)`: `Request-URI`, `From`, `To`, `DialogueID` copied unchanged
/// (not swapped, as in gortc), a new CSeq; nothing else.
pub fn bye(invite: &Message) -> Result<Message, HelperError> {
    from_invite(Method::Bye, invite)
}

/// `update(invite)`: like [`bye`] with `Type` UPDATE.
pub fn update(invite: &Message) -> Result<Message, HelperError> {
    from_invite(Method::Update, invite)
}

fn from_invite(method: Method, invite: &Message) -> Result<Message, HelperError> {
    if invite.method() != Some(Method::Invite) {
        return Err(HelperError("needs the INVITE request of the dialogue"));
    }
    Ok(Message::request(
        method,
        invite.request_uri.clone().unwrap_or_default(),
        invite.from.clone(),
        invite.to.clone(),
        invite.dialogue_id.clone(),
        new_cseq(),
    ))
}

/// `clone(msg, dialogue_id)`: a deep copy of every member with `DialogueID`
/// replaced; a request gets a new CSeq, a response keeps its CSeq (gortc
/// differs: a cloned response got CSeq 0 and could not be sent).
pub fn clone_to(msg: &Message, dialogue_id: &str) -> Message {
    let mut copy = msg.clone();
    copy.dialogue_id = DialogueId::from(dialogue_id);
    if copy.is_request() {
        copy.cseq = new_cseq();
    }
    copy
}

/// `name(msg)`: `METHOD` for a request, `METHOD_code` for a response to `method`.
pub fn name(msg: &Message, method: Method) -> String {
    match msg.kind {
        Kind::Request(m) => m.as_str().to_owned(),
        Kind::Response(code) => format!("{method}_{code}"),
    }
}

/// A response the stack generates (spec §2.4.3): `From`, `To`, `CSeq`,
/// `DialogueID` of the request, `Reason` when given, nothing else.
pub(crate) fn stack_response(
    dialogue_id: &DialogueId,
    cseq: u64,
    from: &str,
    to: &str,
    code: u16,
    reason: Option<&str>,
) -> Message {
    let mut m = Message::bare_response(dialogue_id.clone(), cseq, from.to_owned(), to.to_owned(), code);
    if let Some(reason) = reason {
        m.set_reason(reason);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Json;

    fn invite() -> Message {
        let mut m = Message::request(Method::Invite, "bob@b.org", "alice@a.org", "bob@b.org", "d1", 41);
        m.router = Some("svc.b.org;type=x".into());
        m.body = Some(Json::parse(r#"{"sdp":"v=0"}"#).unwrap());
        m.headers.set("X-A", Json::integer(1));
        m.expire = Some(600);
        m
    }

    #[test]
    fn request_has_the_four_fields_and_a_random_cseq() {
        let r = request(Method::Message, "u", "f", "t", "d");
        assert!((1..=u64::from(u32::MAX)).contains(&r.cseq));
        assert_eq!(
            r.to_frame().unwrap(),
            format!(
                r#"{{"CSeq":{},"DialogueID":"d","From":"f","Request-URI":"u","To":"t","Type":"MESSAGE"}}"#,
                r.cseq
            )
        );
        let cseqs: std::collections::HashSet<u64> = (0..64).map(|_| new_cseq()).collect();
        assert!(cseqs.len() > 60, "CSeqs must be random");
    }

    #[test]
    fn response_copies_four_fields_only() {
        let r = response(&invite(), 200).unwrap();
        assert_eq!(
            r.to_frame().unwrap(),
            r#"{"CSeq":41,"Code":200,"Desc":"OK","DialogueID":"d1","From":"alice@a.org","To":"bob@b.org","Type":"RESPONSE"}"#
        );
        assert!(response(&invite(), 10).is_err());
        assert!(response(&invite(), 700).is_err());
        assert!(response(&r, 200).is_err(), "a response to a response");
        let ack = ack(&r, Method::Invite).unwrap();
        assert!(response(&ack, 200).is_err(), "a response to an ACK");
    }

    #[test]
    fn ack_takes_its_fields_from_the_final_response() {
        let mut ok = response(&invite(), 200).unwrap();
        ok.to = "bob-contact@b.org".into();
        let a = ack(&ok, Method::Invite).unwrap();
        assert_eq!(a.method(), Some(Method::Ack));
        assert_eq!(a.request_uri.as_deref(), Some("bob-contact@b.org"));
        assert_eq!((a.from.as_str(), a.to.as_str()), ("alice@a.org", "bob-contact@b.org"));
        assert_eq!(a.related_id, Some(41));
        assert_eq!(a.dialogue_id.as_str(), "d1");
        assert!(ack(&response(&invite(), 486).unwrap(), Method::Invite).is_ok());
        assert!(ack(&response(&invite(), 180).unwrap(), Method::Invite).is_err());
        assert!(ack(&ok, Method::Register).is_err());
        assert!(ack(&invite(), Method::Invite).is_err());
    }

    #[test]
    fn cancel_bye_update_copy_the_invite_unswapped() {
        let c = cancel(&invite()).unwrap();
        assert_eq!(c.related_id, Some(41));
        assert_eq!(c.router, None);
        assert_eq!(c.body, None);
        assert!(c.headers.is_empty());
        for m in [bye(&invite()).unwrap(), update(&invite()).unwrap()] {
            assert_eq!(m.request_uri.as_deref(), Some("bob@b.org"));
            assert_eq!((m.from.as_str(), m.to.as_str()), ("alice@a.org", "bob@b.org"));
            assert_eq!((m.router.clone(), m.body.clone(), m.related_id, m.expire), (None, None, None, None));
            assert_ne!(m.cseq, 0);
        }
        let register = Message::request(Method::Register, "r", "f", "t", "d", 1);
        assert!(cancel(&register).is_err());
        assert!(bye(&response(&invite(), 200).unwrap()).is_err());
        assert!(update(&bye(&invite()).unwrap()).is_err());
    }

    #[test]
    fn clone_copies_everything_and_keeps_response_cseq() {
        let c = clone_to(&invite(), "d2");
        assert_eq!(c.dialogue_id.as_str(), "d2");
        assert_eq!((c.router.clone(), c.body.clone(), c.headers.clone()), {
            let i = invite();
            (i.router, i.body, i.headers)
        });
        let r = clone_to(&response(&invite(), 200).unwrap(), "d3");
        assert_eq!(r.cseq, 41);
    }

    #[test]
    fn names() {
        let i = invite();
        assert_eq!(name(&i, Method::Invite), "INVITE");
        assert_eq!(name(&response(&i, 200).unwrap(), Method::Invite), "INVITE_200");
        assert_eq!(name(&response(&i, 481).unwrap(), Method::Bye), "BYE_481");
    }
}
