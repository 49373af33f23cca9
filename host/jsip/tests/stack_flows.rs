//! Stack flows: the transaction layer (§18.6), the 481 rules (§7.3), send
//! errors (§13.4) and queued requests (§10.3, §10.4), with the §18 scaled
//! timers (trans 1 s, pr 3 s, session 9 s).

mod common;

use common::*;
use jsip::Method;
use jsip::transaction::Role;

// ============================================================ §18.6 transactions

#[test]
fn client_and_server_transaction_with_the_same_key_coexist() {
    let mut h = Harness::scaled();
    h.recv("alice", peer(Method::Message, "m1", 7));
    let msg = h.dmsg("MESSAGE");
    assert!(h.delivered("MESSAGE").first);
    // The SLP's own request with the same (DialogueID, CSeq): a client transaction.
    h.send_ok(slp(Method::Message, "alice", "m1", 7));
    assert_eq!(h.take(), lines(&["deliver MESSAGE", "tx alice MESSAGE"]));
    assert_eq!(h.stack.transaction_count(Role::Server), 1);
    assert_eq!(h.stack.transaction_count(Role::Client), 1);
    // The peer answers the SLP's request; the SLP answers the peer's.
    let sent = h.tx("MESSAGE");
    h.recv("alice", resp(&sent, 200));
    assert_eq!(h.take(), lines(&["deliver MESSAGE_200"]));
    h.answer(&msg, 200);
    assert_eq!(h.take(), lines(&["tx alice MESSAGE_200", "term m1 transactions"]));
    assert!(h.stack.is_idle());
}

#[test]
fn retransmission_is_dropped_while_live_and_new_after_completion() {
    let mut h = Harness::scaled();
    h.recv("alice", peer(Method::Message, "m1", 1));
    h.recv("alice", peer(Method::Message, "m1", 1));
    assert_eq!(h.take(), lines(&["deliver MESSAGE", "drop duplicate"]));
    let msg = h.dmsg("MESSAGE");
    h.answer(&msg, 200);
    assert_eq!(h.take(), lines(&["tx alice MESSAGE_200", "term m1 transactions"]));
    // Completed and forgotten: the same request is new, in a new period.
    h.recv("alice", peer(Method::Message, "m1", 1));
    assert_eq!(h.take(), lines(&["deliver MESSAGE"]));
    assert!(h.delivered("MESSAGE").first);
}

#[test]
fn slp_duplicate_cseq_fails_while_live_and_is_new_after_completion() {
    let mut h = Harness::scaled();
    h.send_ok(slp(Method::Message, "bob", "m2", 5));
    let e = h.send_err(slp(Method::Message, "bob", "m2", 5));
    assert_eq!(e.code(), "duplicate-cseq");
    let sent = h.tx("MESSAGE");
    h.recv("bob", resp(&sent, 200));
    assert_eq!(h.take(), lines(&["tx bob MESSAGE", "deliver MESSAGE_200", "term m2 transactions"]));
    h.send_ok(slp(Method::Message, "bob", "m2", 5));
    assert_eq!(h.take(), lines(&["tx bob MESSAGE"]));
}

#[test]
fn ack_creates_no_transaction_in_either_direction() {
    let mut h = Harness::scaled();
    // UAS: the peer's ACK.
    h.uas_confirmed("d1", 1, true);
    assert_eq!(h.stack.transaction_count(Role::Server), 0);
    assert_eq!(h.stack.transaction_count(Role::Client), 0);
    // UAC: the SLP's ACK.
    h.uac_confirmed("d2", true);
    assert_eq!(h.stack.transaction_count(Role::Client), 0);
    assert_eq!(h.stack.transaction_count(Role::Server), 0);
}

#[test]
fn state_matrix_client_side() {
    let mut h = Harness::scaled();
    h.send_ok(slp(Method::Message, "bob", "m1", 3));
    let sent = h.tx("MESSAGE");
    h.take();
    h.recv("bob", resp(&sent, 180)); // TRYING → PROCEEDING
    h.recv("bob", resp(&sent, 183)); // PROCEEDING → PROCEEDING
    h.recv("bob", resp(&sent, 486)); // final → completed
    h.recv("bob", resp(&sent, 200)); // after completion
    assert_eq!(
        h.take(),
        lines(&[
            "deliver MESSAGE_180",
            "deliver MESSAGE_183",
            "deliver MESSAGE_486",
            "term m1 transactions",
            "drop no_transaction",
        ])
    );
}

#[test]
fn state_matrix_server_side() {
    let mut h = Harness::scaled();
    h.recv("alice", peer(Method::Options, "o1", 3));
    let req = h.dmsg("OPTIONS");
    h.answer(&req, 100);
    h.answer(&req, 180);
    h.answer(&req, 200);
    assert_eq!(h.send_err(resp(&req, 200)).code(), "no-transaction");
    assert_eq!(
        h.take(),
        lines(&[
            "deliver OPTIONS",
            "tx alice OPTIONS_100",
            "tx alice OPTIONS_180",
            "tx alice OPTIONS_200",
            "term o1 transactions"
        ])
    );
}

#[test]
fn non_invite_server_timer_is_1s_then_3s_after_a_1xx() {
    let mut h = Harness::scaled();
    h.recv("alice", peer(Method::Message, "m1", 1));
    h.advance(5_000);
    assert_eq!(
        h.take_timed(),
        lines(&["@0 deliver MESSAGE", "@1000 tx alice MESSAGE_408", "@1000 term m1 transactions"])
    );
    assert_eq!(h.tx("MESSAGE_408").reason().as_deref(), Some("timeout"));

    h.recv("alice", peer(Method::Message, "m2", 1));
    h.advance(500);
    let req = h.dmsg("MESSAGE");
    h.answer(&req, 180);
    h.advance(10_000);
    assert_eq!(
        h.take_timed(),
        lines(&[
            "@5000 deliver MESSAGE",
            "@5500 tx alice MESSAGE_180",
            "@8500 tx alice MESSAGE_408",
            "@8500 term m2 transactions"
        ])
    );
}

#[test]
fn non_invite_client_timer_is_1s_then_3s_and_a_100_counts() {
    let mut h = Harness::scaled();
    h.send_ok(slp(Method::Message, "bob", "m1", 1));
    h.advance(5_000);
    assert_eq!(
        h.take_timed(),
        lines(&["@0 tx bob MESSAGE", "@1000 deliver MESSAGE_408 (stack)", "@1000 term m1 transactions"])
    );
    assert_eq!(h.dmsg("MESSAGE_408").reason().as_deref(), Some("timeout"));

    // MESSAGE_100 is delivered for a session-less client transaction and restarts its timer.
    h.send_ok(slp(Method::Message, "bob", "m2", 1));
    let sent = h.tx("MESSAGE");
    h.advance(900);
    h.recv("bob", resp(&sent, 100));
    h.advance(10_000);
    assert_eq!(
        h.take_timed(),
        lines(&[
            "@5000 tx bob MESSAGE",
            "@5900 deliver MESSAGE_100",
            "@8900 deliver MESSAGE_408 (stack)",
            "@8900 term m2 transactions",
        ])
    );
}

#[test]
fn invite_transaction_timer_is_6s_server_side() {
    // The initial INVITE's timer is pre-empted by T-est; a re-INVITE shows it.
    let mut h = Harness::scaled();
    h.uas_confirmed("d1", 1, true);
    h.recv("alice", peer(Method::Invite, "d1", 2));
    h.advance(8_000);
    assert_eq!(h.take_timed(), lines(&["@0 deliver INVITE", "@6000 tx alice INVITE_408"]));
    assert_eq!(h.state("d1"), "RE200", "A14: a sent error final → RE200");
}

#[test]
fn invite_transaction_timer_is_6s_client_side() {
    let mut h = Harness::scaled();
    h.uac_confirmed("d1", true);
    h.send_ok(slp(Method::Invite, "bob", "d1", 0));
    h.advance(8_000);
    assert_eq!(
        h.take_timed(),
        lines(&[
            "@0 tx bob INVITE",
            "@3000 tx bob UPDATE",
            "@6000 deliver INVITE_408 (stack)",
            "@6000 tx bob UPDATE"
        ])
    );
    // The two UPDATEs are the UAC refresh (interval 9 s / 3); the re-INVITE
    // timed out at 6 s, and the dialogue is back in ACK.
    assert_eq!(h.state("d1"), "ACK");
}

#[test]
fn client_timer_does_not_run_while_queued() {
    let mut h = Harness::scaled();
    h.writes = Writes::Hold;
    h.send_ok(slp(Method::Message, "bob", "m1", 1));
    h.advance(30_000);
    assert_eq!(h.take_timed(), lines(&["@0 tx bob MESSAGE"]), "no 408 while QUEUED");
    h.writes = Writes::Auto;
    h.write_queued();
    h.advance(5_000);
    assert_eq!(h.take_timed(), lines(&["@31000 deliver MESSAGE_408 (stack)", "@31000 term m1 transactions"]));
}

#[test]
fn client_bye_and_cancel_time_out_silently() {
    // SLP BYE, no answer.
    let mut h = Harness::scaled();
    h.uac_confirmed("d1", true);
    h.send_ok(slp(Method::Bye, "bob", "d1", 0));
    h.advance(10_000);
    assert_eq!(h.take_timed(), lines(&["@0 tx bob BYE", "@0 term d1 dialogue"]));
    assert!(h.stack.is_idle());

    // SLP CANCEL, no answer to anything: the dialogue's own timers end it.
    let mut h = Harness::scaled();
    let inv = h.uac_ringing("d2");
    h.send_ok(jsip::build::cancel(&inv).unwrap());
    h.advance(20_000);
    assert_eq!(
        h.take_timed(),
        lines(&["@0 tx bob CANCEL", "@3000 deliver INVITE_408 (stack)", "@4000 term d2 dialogue"])
    );
    assert!(h.stack.is_idle());
}

#[test]
fn client_prack_update_info_time_out_through_the_dialogue() {
    let mut h = Harness::scaled();
    h.uac_ringing("d1");
    h.send_ok(slp(Method::Prack, "bob", "d1", 0));
    assert_eq!(h.state("d1"), "PRACK");
    h.advance(1_000);
    assert_eq!(h.take_timed(), lines(&["@0 tx bob PRACK", "@1000 deliver PRACK_408 (stack)"]));
    assert_eq!(h.state("d1"), "18X", "E8: the PRACK's final answer returns to 18X");
    h.send_ok(slp(Method::Update, "bob", "d1", 0));
    assert_eq!(h.state("d1"), "UPDATE");
    h.send_ok(slp(Method::Info, "bob", "d1", 0));
    h.advance(1_000);
    assert_eq!(
        h.take_timed(),
        lines(&[
            "@1000 tx bob UPDATE",
            "@1000 tx bob INFO",
            "@2000 deliver UPDATE_408 (stack)",
            "@2000 deliver INFO_408 (stack)"
        ])
    );
    assert_eq!(h.state("d1"), "18X");
}

#[test]
fn server_timeout_of_in_dialogue_requests_answers_408_to_the_peer() {
    let mut h = Harness::scaled();
    h.uas_ringing("d1", 1);
    h.recv("alice", peer(Method::Prack, "d1", 2));
    assert_eq!(h.state("d1"), "PRACK");
    h.advance(1_000);
    assert_eq!(h.take_timed(), lines(&["@0 deliver PRACK", "@1000 tx alice PRACK_408"]));
    assert_eq!(h.state("d1"), "18X");
    h.recv("alice", peer(Method::Info, "d1", 3));
    h.advance(1_000);
    assert_eq!(h.take_timed(), lines(&["@1000 deliver INFO", "@2000 tx alice INFO_408"]));
}

#[test]
fn every_response_to_bye_or_cancel_is_swallowed() {
    let mut h = Harness::scaled();
    let inv = h.uac_ringing("d1");
    h.send_ok(jsip::build::cancel(&inv).unwrap());
    let cancel = h.tx("CANCEL");
    for code in [100, 180, 200] {
        h.recv("bob", resp(&cancel, code));
    }
    h.recv("bob", resp(&inv, 200)); // A7: ACK, BYE, synthetic 487
    let bye = h.tx("BYE");
    for code in [100, 180, 486] {
        h.recv("bob", resp(&bye, code));
    }
    assert_eq!(
        h.take(),
        lines(&[
            "tx bob CANCEL",
            "tx bob ACK",
            "tx bob BYE",
            "deliver INVITE_487 (stack)",
            "term d1 dialogue"
        ])
    );
    // The SLP's own BYE: its answers are swallowed as well.
    h.uas_confirmed("d2", 1, true);
    h.send_ok(slp(Method::Bye, "alice", "d2", 0));
    let bye = h.tx("BYE");
    for code in [100, 180, 200] {
        h.recv("alice", resp(&bye, code));
    }
    h.recv("alice", resp(&bye, 200));
    assert_eq!(h.take(), lines(&["tx alice BYE", "term d2 dialogue", "drop no_transaction"]));
}

#[test]
fn the_slp_cannot_answer_a_bye_the_stack_answered() {
    let mut h = Harness::scaled();
    h.uas_confirmed("d1", 1, true);
    h.recv("alice", peer(Method::Bye, "d1", 5));
    assert_eq!(h.take(), lines(&["tx alice BYE_200", "deliver BYE", "term d1 dialogue"]));
    let bye = h.dmsg("BYE");
    assert_eq!(h.send_err(resp(&bye, 200)).code(), "no-transaction");
}

#[test]
fn race_final_response_then_timer_expiry() {
    let mut h = Harness::scaled();
    h.send_ok(slp(Method::Message, "bob", "m1", 1));
    let sent = h.tx("MESSAGE");
    h.jump_to(1_000); // the expiry is due, not yet processed
    h.recv("bob", resp(&sent, 200));
    h.advance(5_000);
    assert_eq!(
        h.take_timed(),
        lines(&["@0 tx bob MESSAGE", "@1000 deliver MESSAGE_200", "@1000 term m1 transactions"])
    );
    assert_eq!(h.terms(), 1);
}

#[test]
fn race_timer_expiry_then_final_response() {
    let mut h = Harness::scaled();
    h.send_ok(slp(Method::Message, "bob", "m1", 1));
    let sent = h.tx("MESSAGE");
    h.take();
    h.advance(1_000);
    h.recv("bob", resp(&sent, 200));
    assert_eq!(
        h.take_timed(),
        lines(&[
            "@1000 deliver MESSAGE_408 (stack)",
            "@1000 term m1 transactions",
            "@1000 drop no_transaction"
        ])
    );
    assert_eq!(h.terms(), 1);
}

#[test]
fn race_server_side_slp_answer_at_the_deadline() {
    // Answer first, then the expiry: one final answer on the wire.
    let mut h = Harness::scaled();
    h.recv("alice", peer(Method::Message, "m1", 1));
    let req = h.dmsg("MESSAGE");
    h.jump_to(1_000);
    h.answer(&req, 200);
    h.advance(5_000);
    assert_eq!(
        h.take_timed(),
        lines(&["@0 deliver MESSAGE", "@1000 tx alice MESSAGE_200", "@1000 term m1 transactions"])
    );
    // Expiry first, then the answer: the send fails with no-transaction.
    let mut h = Harness::scaled();
    h.recv("alice", peer(Method::Message, "m1", 1));
    let req = h.dmsg("MESSAGE");
    h.advance(1_000);
    assert_eq!(h.send_err(resp(&req, 200)).code(), "no-transaction");
    assert_eq!(
        h.take_timed(),
        lines(&["@0 deliver MESSAGE", "@1000 tx alice MESSAGE_408", "@1000 term m1 transactions"])
    );
}

// ============================================================ §7.3 the 481 rules

#[test]
fn received_in_dialogue_requests_without_a_dialogue_get_481_no_dialogue() {
    let mut h = Harness::scaled();
    for (i, m) in [Method::Bye, Method::Cancel, Method::Prack, Method::Update].into_iter().enumerate() {
        h.recv("alice", peer(m, "zz", i as u64 + 1));
        let name = format!("{m}_481");
        assert_eq!(h.take(), vec![format!("tx alice {name}")]);
        let answer = h.tx(&name);
        assert_eq!(answer.reason().as_deref(), Some("no dialogue"));
        assert_eq!((answer.from.as_str(), answer.to.as_str()), ("alice", "svc"));
    }
    h.recv("alice", peer_ack("zz", 9, None));
    assert_eq!(h.take(), lines(&["drop ack_no_dialogue"]));
    assert!(h.stack.is_idle());
    assert_eq!(h.terms(), 0);
}

#[test]
fn received_info_and_notify_without_a_dialogue_are_session_less() {
    let mut h = Harness::scaled();
    h.recv("alice", peer(Method::Info, "i1", 1));
    h.recv("alice", peer(Method::Notify, "n1", 1));
    assert_eq!(h.take(), lines(&["deliver INFO", "deliver NOTIFY"]));
    let info = h.dmsg("INFO");
    h.answer(&info, 200);
    assert_eq!(h.take(), lines(&["tx alice INFO_200", "term i1 transactions"]));
}

#[test]
fn slp_ack_bye_cancel_without_a_dialogue_fail_with_no_dialogue() {
    let mut h = Harness::scaled();
    for m in [Method::Ack, Method::Bye, Method::Cancel] {
        let e = h.send_err(slp(m, "bob", "zz", 0));
        assert_eq!(e.code(), "no-dialogue", "{m}");
    }
    assert!(h.stack.is_idle());
}

#[test]
fn slp_prack_update_without_a_dialogue_succeed_with_a_synthetic_481() {
    let mut h = Harness::scaled();
    for m in [Method::Prack, Method::Update] {
        let sent = h.send_ok(slp(m, "bob", "zz", 0));
        let name = format!("{m}_481");
        assert_eq!(h.take(), vec![format!("deliver {name} (stack)"), "term zz transactions".to_string()]);
        let got = h.dmsg(&name);
        assert_eq!(got.reason().as_deref(), Some("no dialogue"));
        assert_eq!(got.cseq, sent.cseq);
    }
}

#[test]
fn slp_info_without_a_dialogue_is_session_less() {
    let mut h = Harness::scaled();
    h.send_ok(slp(Method::Info, "bob", "i1", 0));
    let info = h.tx("INFO");
    h.recv("bob", resp(&info, 200));
    assert_eq!(h.take(), lines(&["tx bob INFO", "deliver INFO_200", "term i1 transactions"]));
}

// ============================================================ §13.4 send errors

#[test]
fn send_error_invalid_message() {
    let mut h = Harness::scaled();
    let mut m = slp(Method::Message, "bob", "m1", 0);
    m.from.clear();
    assert_eq!(h.send_err(m).code(), "invalid-message");
    let m = slp(Method::Invite, "", "m1", 0);
    assert_eq!(h.send_err(m).code(), "invalid-message");
}

#[test]
fn send_error_no_transaction_unknown_and_after_the_stack_answered() {
    let mut h = Harness::scaled();
    // Unknown.
    assert_eq!(h.send_err(resp(&peer(Method::Message, "m1", 1), 200)).code(), "no-transaction");
    // Answered by the stack: the 487 after a CANCEL.
    let inv = h.uas_ringing("d1", 1);
    h.recv("alice", peer_cancel("d1", 2, Some(1)));
    assert_eq!(h.take(), lines(&["tx alice CANCEL_200", "tx alice INVITE_487", "deliver CANCEL"]));
    assert_eq!(h.send_err(resp(&inv, 200)).code(), "no-transaction");
    let cancel = h.dmsg("CANCEL");
    assert_eq!(h.send_err(resp(&cancel, 200)).code(), "no-transaction");
    // Answered by the stack: a server timeout.
    h.recv("alice", peer(Method::Message, "m2", 1));
    h.advance(1_000);
    let msg = h.dmsg("MESSAGE");
    assert_eq!(h.send_err(resp(&msg, 200)).code(), "no-transaction");
}

#[test]
fn send_error_invalid_state_names_the_state_and_the_rule() {
    let mut h = Harness::scaled();
    h.uac_ringing("d1");
    let e = h.send_err(slp(Method::Bye, "bob", "d1", 0));
    assert_eq!(e.code(), "invalid-state");
    assert_eq!(e.detail(), "BYE not allowed in 18X");
    let inv = h.uas_invite("d2", 1);
    h.answer(&inv, 200);
    h.take();
    let e = h.send_err(slp(Method::Update, "alice", "d2", 0));
    assert_eq!((e.code(), e.detail().as_str()), ("invalid-state", "UPDATE not allowed in 200"));
    h.recv("alice", peer(Method::Invite, "d2", 2));
    let reinv = h.dmsg("INVITE");
    let e = h.send_err(resp(&reinv, 180));
    assert_eq!((e.code(), e.detail().as_str()), ("invalid-state", "INVITE_180 not allowed in REINV"));
}

#[test]
fn send_error_bad_related_id() {
    let mut h = Harness::scaled();
    let inv = h.uac_ringing("d1");
    let mut cancel = jsip::build::cancel(&inv).unwrap();
    cancel.related_id = Some(inv.cseq + 1);
    assert_eq!(h.send_err(cancel).code(), "bad-related-id");
    h.recv("bob", resp(&inv, 200));
    let ok = h.dmsg("INVITE_200");
    let mut ack = ack_for(&ok);
    ack.related_id = Some(inv.cseq + 1);
    assert_eq!(h.send_err(ack).code(), "bad-related-id");
    h.send_ok(ack_for(&ok));
}

#[test]
fn send_error_bad_route() {
    let mut h = Harness::scaled();
    let mut m = slp(Method::Message, "bob", "m1", 0);
    m.router = Some("bob@;x".into());
    let e = h.send_err(m);
    assert_eq!((e.code(), e.detail().as_str()), ("bad-route", "empty-host-port"));
    let mut inv = slp(Method::Invite, "bob", "d1", 0);
    inv.router = Some("node:abc".into());
    assert_eq!(h.send_err(inv).code(), "bad-route");
    assert!(h.stack.is_idle());
}

#[test]
fn send_error_too_large() {
    let mut config = scaled();
    config.max_frame = 300;
    let mut h = Harness::new(config);
    let mut m = slp(Method::Message, "bob", "m1", 0);
    m.body = Some(jsip::Json::string(&"x".repeat(400)));
    assert_eq!(h.send_err(m).code(), "too-large");
    let mut inv = slp(Method::Invite, "bob", "d1", 0);
    inv.body = Some(jsip::Json::string(&"x".repeat(400)));
    assert_eq!(h.send_err(inv).code(), "too-large");
    h.recv("alice", peer(Method::Message, "m2", 1));
    let req = h.dmsg("MESSAGE");
    let mut r = resp(&req, 200);
    r.body = Some(jsip::Json::string(&"x".repeat(400)));
    assert_eq!(h.send_err(r).code(), "too-large");
    assert!(h.stack.is_idle() || h.stack.transaction_count(Role::Server) == 1);
}

#[test]
fn no_route_is_ok_with_a_synthetic_404() {
    let mut h = Harness::scaled();
    let sent = h.send_ok(slp(Method::Message, "dave@example.org:7000;x=1", "m1", 0));
    assert_eq!(h.take(), lines(&["deliver MESSAGE_404 (stack)", "term m1 transactions"]));
    let r = h.dmsg("MESSAGE_404");
    assert_eq!(r.reason().as_deref(), Some("no route to dave@example.org"));
    assert_eq!(r.cseq, sent.cseq);
}

#[test]
fn invite_with_no_route_gets_invite_404_then_term() {
    let mut h = Harness::scaled();
    h.send_ok(slp(Method::Invite, "dave", "d1", 0));
    assert_eq!(h.take(), lines(&["deliver INVITE_404 (stack)", "term d1 dialogue"]));
    assert_eq!(h.dmsg("INVITE_404").reason().as_deref(), Some("no route to dave"));
    h.advance(100_000);
    assert_eq!(h.take(), Vec::<String>::new(), "nothing was transmitted, so no ACK or CANCEL");
    assert!(h.stack.is_idle());
}

#[test]
fn the_route_prefers_the_first_router_element() {
    let mut h = Harness::scaled();
    let mut m = slp(Method::Message, "bob", "m1", 0);
    m.router = Some("carol;type=x, bob".into());
    h.send_ok(m);
    assert_eq!(h.take(), lines(&["tx carol MESSAGE"]));
}

// ============================================================ §10 queued requests

#[test]
fn undeliverable_session_less_request_gets_480_delivered() {
    for (why, reason) in [
        (Undeliv::Offline, "user offline"),
        (Undeliv::QueueFull, "queue full"),
        (Undeliv::NodeUnreachable, "node unreachable"),
    ] {
        let mut h = Harness::scaled();
        h.writes = Writes::Hold;
        h.send_ok(slp(Method::Message, "bob", "m1", 0));
        h.advance(60_000);
        h.fail_queued(why);
        assert_eq!(
            h.take_timed(),
            lines(&[
                "@0 tx bob MESSAGE",
                "@60000 deliver MESSAGE_480 (stack)",
                "@60000 term m1 transactions"
            ])
        );
        assert_eq!(h.dmsg("MESSAGE_480").reason().as_deref(), Some(reason));
    }
}

#[test]
fn queue_full_at_once() {
    let mut h = Harness::scaled();
    h.writes = Writes::Fail(Undeliv::QueueFull);
    h.send_ok(slp(Method::Options, "bob", "o1", 0));
    assert_eq!(h.take(), lines(&["tx bob OPTIONS", "deliver OPTIONS_480 (stack)", "term o1 transactions"]));
}

#[test]
fn queued_invite_failing_gets_invite_480_and_the_dialogue_ends() {
    let mut h = Harness::scaled();
    h.writes = Writes::Hold;
    h.send_ok(slp(Method::Invite, "bob", "d1", 0));
    h.advance(10_000);
    assert_eq!(h.take_timed(), lines(&["@0 tx bob INVITE"]), "no T-est while the INVITE is queued");
    assert_eq!(h.state("d1"), "INIT");
    h.fail_queued(Undeliv::Offline);
    assert_eq!(h.take_timed(), lines(&["@10000 deliver INVITE_480 (stack)", "@10000 term d1 dialogue"]));
    assert_eq!(h.dmsg("INVITE_480").reason().as_deref(), Some("user offline"));
    assert_eq!(h.state("d1"), "-");
    h.advance(100_000);
    assert_eq!(h.take(), Vec::<String>::new(), "no ACK, no CANCEL");
    assert!(h.stack.is_idle());
}

#[test]
fn queued_invite_starts_t_est_when_written() {
    let mut h = Harness::scaled();
    h.writes = Writes::Hold;
    h.send_ok(slp(Method::Invite, "bob", "d1", 0));
    h.advance(10_000);
    h.writes = Writes::Auto;
    h.write_queued();
    h.advance(10_000);
    assert_eq!(
        h.take_timed(),
        lines(&[
            "@0 tx bob INVITE",
            "@13000 tx bob CANCEL",
            "@13000 deliver INVITE_408 (stack)",
            "@14000 term d1 dialogue"
        ])
    );
}

#[test]
fn undeliverable_prack_in_a_dialogue_is_delivered_through_it() {
    let mut h = Harness::scaled();
    h.uac_ringing("d1");
    h.writes = Writes::Fail(Undeliv::Offline);
    h.send_ok(slp(Method::Prack, "bob", "d1", 0));
    assert_eq!(h.take(), lines(&["tx bob PRACK", "deliver PRACK_480 (stack)"]));
    assert_eq!(h.state("d1"), "18X");
}
