//! The conformance cases of §16.3 (and §16.4) replayed as stack-level flows,
//! with the real default timers (trans 5 s, pr 60 s, session 600 s). The
//! test plays both the client (frames on endpoint `alice`) and the
//! conformance SLP (sends and `finish`).

mod common;

use common::*;
use jsip::Method;
use jsip::build;

fn harness() -> Harness {
    Harness::new(real())
}

/// #0 of the outbound cases: a MESSAGE from the client, answered 200.
fn case_start(h: &mut Harness, case: &str) -> jsip::Message {
    h.recv_json(
        "alice",
        &format!(r#"{{"Type":"MESSAGE","Request-URI":"{case}","From":"alice","To":"svc","DialogueID":"c0","CSeq":1}}"#),
    );
    let m0 = h.dmsg("MESSAGE");
    h.answer(&m0, 200);
    assert_eq!(h.take(), lines(&["deliver MESSAGE", "tx alice MESSAGE_200", "term c0 transactions"]));
    m0
}

// ============================================================ inbound cases

#[test]
fn recv_invite_full_uas_flow() {
    let mut h = harness();
    h.recv_json("alice", r#"{"Type":"INVITE","Request-URI":"Recv_INVITE","From":"alice","To":"svc","DialogueID":"ri","CSeq":1}"#);
    let inv = h.dmsg("INVITE"); // #0
    assert_eq!(inv.expire, Some(600));
    h.answer(&inv, 180);
    h.advance(1_000);
    h.recv_json("alice", r#"{"Type":"PRACK","Request-URI":"Recv_INVITE","From":"alice","To":"svc","DialogueID":"ri","CSeq":2}"#);
    let prack = h.dmsg("PRACK"); // #1
    h.answer(&prack, 200);
    h.send_ok(build::update(&inv).unwrap());
    let update = h.tx("UPDATE");
    assert_eq!(
        (update.request_uri.as_deref(), update.from.as_str(), update.to.as_str()),
        (Some("Recv_INVITE"), "alice", "svc")
    );
    h.advance(1_000);
    h.recv_json(
        "alice",
        &format!(
            r#"{{"Type":"RESPONSE","Code":200,"From":"alice","To":"svc","DialogueID":"ri","CSeq":{}}}"#,
            update.cseq
        ),
    );
    h.dmsg("UPDATE_200"); // #2
    h.answer(&inv, 200);
    h.advance(1_000);
    h.recv_json("alice", r#"{"Type":"ACK","Request-URI":"svc","From":"alice","To":"svc","DialogueID":"ri","CSeq":3,"RelatedID":1}"#); // #3
    // A refresh UPDATE from the client: 200 by the stack, not delivered.
    h.advance(1_000);
    h.recv_json("alice", r#"{"Type":"UPDATE","Request-URI":"svc","From":"alice","To":"svc","DialogueID":"ri","CSeq":4,"Expire":600}"#);
    // re-INVITE: #4, 200; no ACK required.
    h.recv_json(
        "alice",
        r#"{"Type":"INVITE","Request-URI":"svc","From":"alice","To":"svc","DialogueID":"ri","CSeq":5}"#,
    );
    let reinv = h.dmsg("INVITE");
    h.answer(&reinv, 200);
    h.advance(1_000);
    h.recv_json(
        "alice",
        r#"{"Type":"BYE","Request-URI":"svc","From":"alice","To":"svc","DialogueID":"ri","CSeq":6}"#,
    ); // #5
    h.end(End::Finished);
    h.advance(700_000);
    assert_eq!(
        h.take_timed(),
        lines(&[
            "@0 deliver INVITE",
            "@0 tx alice INVITE_180",
            "@1000 deliver PRACK",
            "@1000 tx alice PRACK_200",
            "@1000 tx alice UPDATE",
            "@2000 deliver UPDATE_200",
            "@2000 tx alice INVITE_200",
            "@3000 deliver ACK",
            "@4000 tx alice UPDATE_200",
            "@4000 deliver INVITE",
            "@4000 tx alice INVITE_200",
            "@5000 tx alice BYE_200",
            "@5000 deliver BYE",
            "@5000 term ri dialogue",
        ])
    );
    assert!(h.stack.is_idle());
}

#[test]
fn recv_invite_timeout() {
    let mut h = harness();
    h.recv("alice", peer(Method::Invite, "rt", 1)); // #0, no answer
    h.advance(60_000);
    assert_eq!(
        h.take_timed(),
        lines(&["@0 deliver INVITE", "@60000 deliver CANCEL (stack)", "@60000 tx alice INVITE_408"])
    );
    h.end(End::Finished); // on #1
    h.advance(1_000);
    h.recv("alice", peer_ack("rt", 2, Some(1)));
    assert_eq!(h.take(), Vec::<String>::new(), "the ACK is swallowed");
    assert!(h.stack.is_idle());
}

#[test]
fn recv_invite_timeout_in_prack_state() {
    let mut h = harness();
    let inv = h.uas_invite("rt", 1);
    h.answer(&inv, 183);
    h.advance(59_000);
    h.recv("alice", peer(Method::Prack, "rt", 2));
    h.advance(1_000);
    assert_eq!(
        h.take_timed(),
        lines(&[
            "@0 tx alice INVITE_183",
            "@59000 deliver PRACK",
            "@60000 deliver CANCEL (stack)",
            "@60000 tx alice INVITE_408",
            "@60000 tx alice PRACK_487",
        ])
    );
}

#[test]
fn recv_message_timeout() {
    let mut h = harness();
    h.recv("alice", peer(Method::Message, "rm", 1));
    h.end(End::Finished);
    h.advance(10_000);
    assert_eq!(h.take_timed(), lines(&["@0 deliver MESSAGE", "@5000 tx alice MESSAGE_408"]));
}

#[test]
fn recv_invite_session_timeout_with_expire() {
    let mut h = harness();
    h.recv_json(
        "alice",
        r#"{"Type":"INVITE","Request-URI":"Recv_INVITE_Session_Timeout","From":"alice","To":"svc","DialogueID":"rs","CSeq":1,"Expire":30}"#,
    );
    let inv = h.dmsg("INVITE");
    assert_eq!(inv.expire, Some(30));
    h.answer(&inv, 180);
    h.answer(&inv, 200);
    h.recv("alice", peer_ack("rs", 2, Some(1)));
    h.advance(30_000);
    assert_eq!(
        h.take_timed(),
        lines(&[
            "@0 deliver INVITE",
            "@0 tx alice INVITE_180",
            "@0 tx alice INVITE_200",
            "@0 deliver ACK",
            "@30000 tx alice BYE",
            "@30000 deliver BYE (stack)",
            "@30000 term rs dialogue",
        ])
    );
    let bye = h.tx("BYE");
    assert_eq!(
        (bye.request_uri.as_deref(), bye.from.as_str(), bye.to.as_str(), bye.dialogue_id.as_str()),
        (Some("Recv_INVITE_Session_Timeout"), "alice", "svc", "rs")
    );
    assert_ne!(bye.cseq, 1);
    h.end(End::Finished);
    h.recv("alice", resp(&bye, 200));
    assert_eq!(h.take(), Vec::<String>::new());
}

#[test]
fn recv_invite_session_timeout_600s_runs_in_microseconds() {
    let started = std::time::Instant::now();
    let mut h = harness();
    let inv = h.uas_invite("rs", 1);
    assert_eq!(inv.expire, Some(600));
    h.answer(&inv, 180);
    h.answer(&inv, 200);
    h.recv("alice", peer_ack("rs", 2, Some(1)));
    h.take();
    h.advance(599_999);
    assert_eq!(h.take(), Vec::<String>::new());
    h.advance(1);
    assert_eq!(
        h.take_timed(),
        lines(&["@600000 tx alice BYE", "@600000 deliver BYE (stack)", "@600000 term rs dialogue"])
    );
    assert!(started.elapsed() < std::time::Duration::from_millis(200), "virtual time, not wall time");
}

#[test]
fn recv_invite_session_timeout_expire_0_is_the_session_interval() {
    let mut h = harness();
    h.recv_json("alice", r#"{"Type":"INVITE","Request-URI":"x","From":"alice","To":"svc","DialogueID":"rs","CSeq":1,"Expire":0}"#);
    let inv = h.dmsg("INVITE");
    assert_eq!(inv.expire, Some(600));
    h.answer(&inv, 200);
    h.take();
    h.advance(600_000);
    assert_eq!(h.take_timed().first().map(String::as_str), Some("@600000 tx alice BYE"));
}

#[test]
fn recv_cancel() {
    let mut h = harness();
    h.recv("alice", peer(Method::Invite, "rc", 1)); // #0
    h.recv_json("alice", r#"{"Type":"CANCEL","Request-URI":"svc","From":"alice","To":"svc","DialogueID":"rc","CSeq":2,"RelatedID":1}"#);
    assert_eq!(h.delivered("CANCEL").origin, jsip::Origin::Peer("alice".into())); // #1
    h.end(End::Finished);
    h.recv("alice", peer_ack("rc", 3, Some(1)));
    assert_eq!(
        h.take(),
        lines(&["deliver INVITE", "tx alice CANCEL_200", "tx alice INVITE_487", "deliver CANCEL"])
    );
    assert!(h.stack.is_idle());
}

#[test]
fn recv_cancel_with_a_wrong_related_id_ends_like_recv_invite_timeout() {
    let mut h = harness();
    h.recv("alice", peer(Method::Invite, "rc", 1));
    h.recv("alice", peer_cancel("rc", 2, Some(7)));
    h.advance(60_000);
    assert_eq!(
        h.take_timed(),
        lines(&[
            "@0 deliver INVITE",
            "@0 tx alice CANCEL_481",
            "@60000 deliver CANCEL (stack)",
            "@60000 tx alice INVITE_408"
        ])
    );
    assert_eq!(h.dmsg("CANCEL").related_id, Some(1));
}

#[test]
fn unknown_case_answers_404_and_swallows_the_ack() {
    let mut h = harness();
    h.recv("alice", peer(Method::Invite, "uk", 1));
    let inv = h.dmsg("INVITE");
    h.answer(&inv, 404);
    h.end(End::Finished);
    h.recv("alice", peer_ack("uk", 2, Some(1)));
    assert_eq!(h.take(), lines(&["deliver INVITE", "tx alice INVITE_404"]));
    assert!(h.stack.is_idle());
}

// ============================================================ outbound cases

#[test]
fn send_error_msg_bye_ack_cancel_resp_no_session() {
    let mut h = harness();
    let m0 = case_start(&mut h, "Send_Error_Msg");
    let e = h.send_err(build::request(Method::Invite, "", "SendErrorMsg", "", "D"));
    assert_eq!(e.code(), "invalid-message");
    for (m, from) in [
        (Method::Bye, "SendBYE481"),
        (Method::Ack, "SendACKNoSession"),
        (Method::Cancel, "SendCANCELNoSession"),
    ] {
        let e = h.send_err(build::request(m, "alice", from, "alice", "D"));
        assert_eq!(e.code(), "no-dialogue");
    }
    let mut r = resp(&m0, 200);
    r.dialogue_id = "D".into();
    assert_eq!(h.send_err(r).code(), "no-transaction");
    assert_eq!(h.take(), Vec::<String>::new());
}

#[test]
fn send_update_no_session() {
    let mut h = harness();
    case_start(&mut h, "Send_UPDATE_No_Session");
    h.send_ok(build::request(Method::Update, "alice", "SendUPDATENoSession", "alice", "D"));
    assert_eq!(h.take(), lines(&["deliver UPDATE_481 (stack)", "term D transactions"]));
}

#[test]
fn send_message_and_send_message_timeout() {
    let mut h = harness();
    case_start(&mut h, "Send_MESSAGE");
    h.send_ok(build::request(Method::Message, "alice", "SendMessage", "alice", "D"));
    let m = h.tx("MESSAGE");
    assert_eq!(
        (m.request_uri.as_deref(), m.from.as_str(), m.to.as_str()),
        (Some("alice"), "SendMessage", "alice")
    );
    h.recv_json(
        "alice",
        &format!(
            r#"{{"Type":"RESPONSE","Code":200,"From":"alice","To":"alice","DialogueID":"D","CSeq":{}}}"#,
            m.cseq
        ),
    );
    h.end(End::Finished);
    assert_eq!(h.take(), lines(&["tx alice MESSAGE", "deliver MESSAGE_200", "term D transactions"]));

    let mut h = harness();
    case_start(&mut h, "Send_MESSAGE_Timeout");
    h.send_ok(build::request(Method::Message, "alice", "SendMESSAGETimeout", "alice", "D"));
    h.advance(10_000);
    assert_eq!(
        h.take_timed(),
        lines(&["@0 tx alice MESSAGE", "@5000 deliver MESSAGE_408 (stack)", "@5000 term D transactions"])
    );
}

#[test]
fn send_invite_full_uac_flow() {
    let mut h = harness();
    case_start(&mut h, "Send_INVITE");
    let mut inv = build::request(Method::Invite, "alice", "SendINVITE", "alice", "D");
    inv.expire = Some(60);
    h.send_ok(inv);
    let inv = h.tx("INVITE");
    assert_eq!(
        (inv.request_uri.as_deref(), inv.from.as_str(), inv.to.as_str(), inv.expire),
        (Some("alice"), "SendINVITE", "alice", Some(60))
    );
    h.advance(1_000);
    h.recv("alice", resp(&inv, 180)); // #1
    h.send_ok(build::request(Method::Prack, "PRACK", "SendINVITE", "PRACK", "D"));
    let prack = h.tx("PRACK");
    assert_eq!(prack.request_uri.as_deref(), Some("PRACK"));
    h.recv("alice", resp(&prack, 200)); // #2
    h.advance(1_000);
    h.recv("alice", request(Method::Update, "SendINVITE", "alice", "SendINVITE", "D", 11)); // #3
    let upd = h.dmsg("UPDATE");
    h.answer(&upd, 200);
    h.advance(1_000);
    h.recv("alice", resp(&inv, 200)); // #4: deliberately no ACK
    h.advance(1_000);
    h.recv("alice", request(Method::Invite, "SendINVITE", "alice", "SendINVITE", "D", 12)); // #5
    let reinv = h.dmsg("INVITE");
    h.answer(&reinv, 200);
    h.advance(1_000);
    let mut ack = request(Method::Ack, "SendINVITE", "alice", "SendINVITE", "D", 13);
    ack.related_id = Some(12);
    h.recv("alice", ack); // #6: the SLP starts a 30 s timer
    h.advance(20_000 - 2_000); // 20 s after the INVITE's 200 (at 3 s)
    let refresh = h.tx("UPDATE");
    assert_eq!(
        (refresh.request_uri.as_deref(), refresh.from.as_str(), refresh.to.as_str(), refresh.expire),
        (Some("alice"), "SendINVITE", "alice", Some(60))
    );
    h.recv("alice", resp(&refresh, 200));
    h.advance_to(35_000); // the SLP's timer: 30 s after the ACK at 5 s
    h.send_ok(build::request(Method::Bye, "BYE", "SendINVITE", "BYE", "D"));
    h.end(End::Finished);
    let bye = h.tx("BYE");
    h.recv("alice", resp(&bye, 200));
    h.advance(200_000);
    assert_eq!(
        h.take_timed(),
        lines(&[
            "@0 tx alice INVITE",
            "@1000 deliver INVITE_180",
            "@1000 tx alice PRACK",
            "@1000 deliver PRACK_200",
            "@2000 deliver UPDATE",
            "@2000 tx alice UPDATE_200",
            "@3000 deliver INVITE_200",
            "@4000 deliver INVITE",
            "@4000 tx alice INVITE_200",
            "@5000 deliver ACK",
            "@23000 tx alice UPDATE",
            "@35000 tx alice BYE",
            "@35000 term D dialogue",
        ])
    );
    assert_eq!(bye.request_uri.as_deref(), Some("BYE"));
    assert!(h.stack.is_idle());
}

#[test]
fn send_invite_timeout() {
    let mut h = harness();
    case_start(&mut h, "Send_INVITE_Timeout");
    h.send_ok(build::request(Method::Invite, "alice", "SendINVITETimeout", "alice", "D"));
    let inv = h.tx("INVITE");
    assert_eq!(inv.expire, Some(600), "the stack adds Expire: 600");
    h.advance(2_000);
    h.recv("alice", resp(&inv, 180)); // #1
    h.advance(100_000);
    assert_eq!(
        h.take_timed(),
        lines(&[
            "@0 tx alice INVITE",
            "@2000 deliver INVITE_180",
            "@60000 tx alice CANCEL",
            "@60000 deliver INVITE_408 (stack)",
            "@65000 term D dialogue",
        ])
    );
    let cancel = h.tx("CANCEL");
    assert_eq!(
        (
            cancel.request_uri.as_deref(),
            cancel.from.as_str(),
            cancel.to.as_str(),
            cancel.dialogue_id.as_str(),
            cancel.related_id
        ),
        (Some("alice"), "SendINVITETimeout", "alice", "D", Some(inv.cseq))
    );
    // As the case is written, the SLP finishes on #2: the dialogue still ends 5 s later, without TERM.
    let mut h = harness();
    case_start(&mut h, "Send_INVITE_Timeout");
    h.send_ok(build::request(Method::Invite, "alice", "SendINVITETimeout", "alice", "D"));
    let inv = h.tx("INVITE");
    h.recv("alice", resp(&inv, 180));
    h.advance(60_000);
    h.end(End::Finished);
    let cancel = h.tx("CANCEL");
    h.advance(1_000);
    h.recv("alice", resp(&cancel, 200));
    h.recv("alice", resp(&inv, 487));
    h.advance(100_000);
    assert_eq!(
        h.take_timed(),
        lines(&[
            "@0 tx alice INVITE",
            "@0 deliver INVITE_180",
            "@60000 tx alice CANCEL",
            "@60000 deliver INVITE_408 (stack)",
            "@61000 tx alice ACK"
        ])
    );
    assert!(h.stack.is_idle());
}

#[test]
fn send_invite_session_timeout() {
    let mut h = harness();
    case_start(&mut h, "Send_INVITE_Session_Timeout");
    let mut inv = build::request(Method::Invite, "alice", "SendINVITESessionTimeout", "alice", "D");
    inv.expire = Some(60);
    h.send_ok(inv);
    let inv = h.tx("INVITE");
    h.recv("alice", resp(&inv, 180));
    h.advance(1_000);
    h.recv("alice", resp(&inv, 200));
    let ok = h.dmsg("INVITE_200");
    h.send_ok(build::ack(&ok, Method::Invite).unwrap());
    let ack = h.tx("ACK");
    assert_eq!(
        (ack.request_uri.as_deref(), ack.from.as_str(), ack.to.as_str(), ack.related_id),
        (Some("alice"), "SendINVITESessionTimeout", "alice", Some(inv.cseq))
    );
    h.advance(200_000);
    let bye = h.dmsg("BYE"); // #3
    h.end(End::Finished);
    assert_eq!(
        h.take_timed(),
        lines(&[
            "@0 tx alice INVITE",
            "@0 deliver INVITE_180",
            "@1000 deliver INVITE_200",
            "@1000 tx alice ACK",
            "@21000 tx alice UPDATE",
            "@41000 tx alice UPDATE",
            "@61000 tx alice UPDATE",
            "@81000 tx alice BYE",
            "@81000 deliver BYE (stack)",
            "@81000 term D dialogue",
        ])
    );
    assert_eq!(
        (bye.request_uri.as_deref(), bye.from.as_str(), bye.to.as_str()),
        (Some("alice"), "SendINVITESessionTimeout", "alice")
    );
    assert_eq!(h.tx("UPDATE").expire, Some(60));
}

#[test]
fn send_cancel() {
    let mut h = harness();
    case_start(&mut h, "Send_CANCEL");
    let mut inv = build::request(Method::Invite, "alice", "SendCANCEL", "alice", "D");
    inv.expire = Some(60);
    let sent = h.send_ok(inv.clone());
    inv.cseq = sent.cseq;
    h.send_ok(build::cancel(&inv).unwrap());
    let (inv, cancel) = (h.tx("INVITE"), h.tx("CANCEL"));
    assert_eq!(cancel.related_id, Some(inv.cseq));
    h.recv("alice", resp(&cancel, 200));
    h.recv("alice", resp(&inv, 487));
    h.end(End::Finished); // on #1
    assert_eq!(
        h.take(),
        lines(&[
            "tx alice INVITE",
            "tx alice CANCEL",
            "tx alice ACK",
            "deliver INVITE_487",
            "term D dialogue"
        ])
    );
}

#[test]
fn send_cancel_answered_200_anyway() {
    let mut h = harness();
    case_start(&mut h, "Send_CANCEL");
    let mut inv = build::request(Method::Invite, "alice", "SendCANCEL", "alice", "D");
    inv.expire = Some(60);
    inv.cseq = h.send_ok(inv.clone()).cseq;
    h.send_ok(build::cancel(&inv).unwrap());
    let (inv, cancel) = (h.tx("INVITE"), h.tx("CANCEL"));
    h.recv("alice", resp(&cancel, 200));
    h.recv("alice", resp(&inv, 200));
    h.end(End::Finished);
    assert_eq!(
        h.take(),
        lines(&[
            "tx alice INVITE",
            "tx alice CANCEL",
            "tx alice ACK",
            "tx alice BYE",
            "deliver INVITE_487 (stack)",
            "term D dialogue"
        ])
    );
    let bye = h.tx("BYE");
    assert_eq!(
        (bye.request_uri.as_deref(), bye.from.as_str(), bye.to.as_str()),
        (Some("alice"), "SendCANCEL", "alice")
    );
    h.recv("alice", resp(&bye, 200));
    assert_eq!(h.take(), Vec::<String>::new());
}

// ============================================================ §16.4

#[test]
fn related_stack_behaviours() {
    let mut h = harness();
    // BYE and ACK on an unknown DialogueID.
    h.recv_json("alice", r#"{"Type":"BYE","Request-URI":"svc","From":"alice","To":"svc","DialogueID":"zz","CSeq":1,"Router":"x;type=y"}"#);
    h.recv_json(
        "alice",
        r#"{"Type":"ACK","Request-URI":"svc","From":"alice","To":"svc","DialogueID":"zz","CSeq":2}"#,
    );
    assert_eq!(h.take(), lines(&["tx alice BYE_481", "drop ack_no_dialogue"]));
    // A response carrying a Request-URI, with From/To different from the request's.
    h.send_ok(slp(Method::Options, "alice", "o1", 0));
    let o = h.tx("OPTIONS");
    h.recv_json(
        "alice",
        &format!(r#"{{"Type":"RESPONSE","Code":200,"Request-URI":"whatever","From":"x","To":"y","DialogueID":"o1","CSeq":{}}}"#, o.cseq),
    );
    assert_eq!(h.take(), lines(&["tx alice OPTIONS", "deliver OPTIONS_200", "term o1 transactions"]));
}
