//! Bindings and TERM (§7.2, §7.4, §18.8) and the end of an instance
//! (§7.3 orphaned dialogues, §12.3, §12.5, §18.9), with the §18 scaled timers.

mod common;

use common::*;
use jsip::Method;

/// After the instance ended nothing is delivered and no TERM is produced.
#[track_caller]
fn assert_nothing_for_the_slp(h: &Harness, since: usize) {
    for e in &h.log[since..] {
        assert!(
            !e.text.starts_with("deliver") && !e.text.starts_with("term"),
            "after the instance ended: {} at {}",
            e.text,
            e.at
        );
    }
}

// ============================================================ §18.8 bindings and TERM

#[test]
fn a_session_less_binding_ends_with_its_transaction() {
    let mut h = Harness::scaled();
    h.recv("alice", peer(Method::Subscribe, "s1", 1));
    assert!(h.stack.is_bound("s1"));
    let sub = h.dmsg("SUBSCRIBE");
    h.answer(&sub, 200);
    assert_eq!(h.take(), lines(&["deliver SUBSCRIBE", "tx alice SUBSCRIBE_200", "term s1 transactions"]));
    assert!(!h.stack.is_bound("s1"));
    // A request on the same DialogueID after TERM opens a new period.
    h.recv("alice", peer(Method::Message, "s1", 2));
    assert!(h.delivered("MESSAGE").first);
    assert_eq!(h.take(), lines(&["deliver MESSAGE"]));
}

#[test]
fn a_session_less_server_timeout_ends_the_binding() {
    let mut h = Harness::scaled();
    h.recv("alice", peer(Method::Register, "r1", 1));
    h.advance(2_000);
    assert_eq!(
        h.take_timed(),
        lines(&["@0 deliver REGISTER", "@1000 tx alice REGISTER_408", "@1000 term r1 transactions"])
    );
}

#[test]
fn two_concurrent_transactions_are_both_answerable_with_one_term_after_the_last() {
    let mut h = Harness::scaled();
    h.recv("alice", peer(Method::Subscribe, "s1", 1));
    h.recv("carol", request(Method::Message, "svc", "carol", "svc", "s1", 2));
    let sub = h.dmsg("SUBSCRIBE");
    let msg = h.dmsg("MESSAGE");
    assert!(h.delivered("SUBSCRIBE").first);
    assert!(!h.delivered("MESSAGE").first);
    h.answer(&sub, 200);
    assert_eq!(h.take(), lines(&["deliver SUBSCRIBE", "deliver MESSAGE", "tx alice SUBSCRIBE_200"]));
    // The second one is still answerable, on its own endpoint.
    h.answer(&msg, 200);
    assert_eq!(h.take(), lines(&["tx carol MESSAGE_200", "term s1 transactions"]));
    assert_eq!(h.terms(), 1);
}

#[test]
fn a_client_and_a_server_transaction_keep_one_period() {
    let mut h = Harness::scaled();
    h.recv("alice", peer(Method::Subscribe, "s1", 1));
    let sub = h.dmsg("SUBSCRIBE");
    h.answer(&sub, 200);
    h.take();
    // A new period opened by the SLP's NOTIFY: the first delivery is not `first`.
    h.send_ok(slp(Method::Notify, "alice", "s1", 0));
    let notify = h.tx("NOTIFY");
    h.recv("alice", peer(Method::Subscribe, "s1", 2));
    assert!(!h.delivered("SUBSCRIBE").first, "the period was opened by the SLP's send");
    h.recv("alice", resp(&notify, 200));
    let sub2 = h.dmsg("SUBSCRIBE");
    h.answer(&sub2, 200);
    assert_eq!(
        h.take(),
        lines(&[
            "tx alice NOTIFY",
            "deliver SUBSCRIBE",
            "deliver NOTIFY_200",
            "tx alice SUBSCRIBE_200",
            "term s1 transactions"
        ])
    );
    assert_eq!(h.terms(), 2);
}

#[test]
fn session_less_requests_follow_the_most_recent_live_transaction() {
    let mut h = Harness::scaled();
    h.recv("carol", request(Method::Subscribe, "svc", "carol", "svc", "s1", 1));
    // Bound to carol's transaction, whatever the Request-URI says.
    h.send_ok(slp(Method::Notify, "bob", "s1", 0));
    let n = h.tx("NOTIFY");
    h.recv("carol", resp(&n, 200));
    let sub = h.dmsg("SUBSCRIBE");
    h.answer(&sub, 200);
    // Not live any more: routed again.
    h.send_ok(slp(Method::Notify, "bob", "s1", 0));
    assert_eq!(
        h.take(),
        lines(&[
            "deliver SUBSCRIBE",
            "tx carol NOTIFY",
            "deliver NOTIFY_200",
            "tx carol SUBSCRIBE_200",
            "term s1 transactions",
            "tx bob NOTIFY",
        ])
    );
}

#[test]
fn term_comes_after_the_bye_delivery_and_says_dialogue() {
    let mut h = Harness::scaled();
    // A session-less transaction on the same DialogueID outlives the dialogue.
    h.recv("alice", peer(Method::Message, "d1", 1));
    let msg = h.dmsg("MESSAGE");
    let inv = uas_invite_on_bound(&mut h, "d1", 2);
    h.answer(&inv, 200);
    h.recv("alice", peer(Method::Bye, "d1", 3));
    assert_eq!(
        h.take(),
        lines(&["tx alice INVITE_200", "tx alice BYE_200", "deliver BYE"]),
        "the MESSAGE keeps d1 live"
    );
    h.answer(&msg, 200);
    assert_eq!(h.take(), lines(&["tx alice MESSAGE_200", "term d1 dialogue"]));
    assert_eq!(h.terms(), 1);
}

#[test]
fn exactly_one_term_per_period_over_a_long_flow() {
    let mut h = Harness::scaled();
    let inv = h.uas_ringing("d1", 1);
    for cseq in 2..6 {
        h.recv("alice", peer(Method::Message, "d1", cseq));
        let m = h.dmsg("MESSAGE");
        h.answer(&m, 200);
        h.send_ok(slp(Method::Notify, "alice", "d1", 0));
        let n = h.tx("NOTIFY");
        h.recv("alice", resp(&n, 200));
    }
    h.answer(&inv, 200);
    h.recv("alice", peer_ack("d1", 9, Some(1)));
    h.advance(30_000);
    assert_eq!(h.terms(), 1);
    assert_eq!(h.take_timed().last().map(String::as_str), Some("@9000 term d1 dialogue"));
    assert!(h.stack.is_idle());
}

#[test]
fn no_term_for_an_slp_send_that_failed() {
    let mut h = Harness::scaled();
    h.send_err(slp(Method::Bye, "bob", "x1", 0));
    let mut m = slp(Method::Message, "bob", "x2", 0);
    m.router = Some("".into());
    h.send_err(m);
    let mut m = slp(Method::Message, "bob", "x3", 0);
    m.to.clear();
    h.send_err(m);
    h.send_err(resp(&peer(Method::Message, "x4", 1), 200));
    assert_eq!(h.terms(), 0);
    assert!(h.stack.is_idle());
    assert!(!h.stack.is_bound("x1"));
    // A failed send on a live DialogueID changes nothing either.
    h.uac_ringing("d1");
    h.send_err(slp(Method::Bye, "bob", "d1", 0));
    h.advance(100);
    assert_eq!(h.take(), Vec::<String>::new());
}

#[test]
fn the_first_flag_marks_the_message_that_opened_the_period() {
    let mut h = Harness::scaled();
    h.uas_invite("d1", 1);
    assert!(h.delivered("INVITE").first);
    h.recv("alice", peer(Method::Info, "d1", 2));
    assert!(!h.delivered("INFO").first);
    h.take();
    // UAC: the period is opened by the send; responses are not `first`.
    h.uac_ringing("d2");
    assert!(!h.delivered("INVITE_180").first);
}

#[test]
fn a_cancel_right_after_the_invite_is_delivered_in_the_same_period() {
    let mut h = Harness::scaled();
    h.recv("alice", peer(Method::Invite, "d1", 1));
    h.recv("alice", peer_cancel("d1", 2, Some(1)));
    assert_eq!(
        h.take(),
        lines(&["deliver INVITE", "tx alice CANCEL_200", "tx alice INVITE_487", "deliver CANCEL"])
    );
    assert!(h.delivered("INVITE").first);
    assert!(!h.delivered("CANCEL").first);
}

#[test]
fn host_dispatch_answer_to_an_invite_goes_through_the_dialogue() {
    // §9.2: a 404 (SLP not loaded) to an INVITE moves the dialogue to ERR; the ACK is swallowed.
    let mut h = Harness::scaled();
    h.recv("alice", peer(Method::Invite, "d1", 1));
    h.take();
    h.host_answer("d1", 1, 404, "SLP conf not loaded");
    assert_eq!(h.state("d1"), "ERR");
    h.recv("alice", peer_ack("d1", 2, Some(1)));
    assert_eq!(h.take(), lines(&["tx alice INVITE_404", "term d1 dialogue"]));
    assert_eq!(h.tx("INVITE_404").reason().as_deref(), Some("SLP conf not loaded"));
    // Session-less: 503.
    h.recv("alice", peer(Method::Options, "o1", 1));
    h.host_answer("o1", 1, 503, "SLP overloaded");
    assert_eq!(h.take(), lines(&["deliver OPTIONS", "tx alice OPTIONS_503", "term o1 transactions"]));
}

// ============================================================ §12.3 finish

#[test]
fn finish_with_a_confirmed_dialogue_sends_a_quit_bye_without_delivery() {
    for acked in [false, true] {
        let mut h = Harness::scaled();
        let inv = h.uas_confirmed("d1", 1, acked);
        let mark = h.log.len();
        h.end(End::Finished);
        assert_eq!(h.take(), lines(&["tx alice BYE"]));
        let bye = h.tx("BYE");
        assert_eq!(bye.reason().as_deref(), Some("service ended"));
        assert_eq!(
            (bye.request_uri.as_deref(), bye.from.as_str(), bye.to.as_str()),
            (inv.request_uri.as_deref(), "alice", "svc")
        );
        assert_eq!(h.state("d1"), "-");
        h.recv("alice", resp(&bye, 200));
        h.advance(30_000);
        assert_eq!(h.take(), Vec::<String>::new());
        assert_nothing_for_the_slp(&h, mark);
        assert!(h.stack.is_idle());
    }
    // UAC side too.
    let mut h = Harness::scaled();
    h.uac_confirmed("d1", true);
    h.end(End::Finished);
    assert_eq!(h.take(), lines(&["tx bob BYE"]));
    h.advance(30_000);
    assert_eq!(h.take(), Vec::<String>::new(), "no refresh after the end");
}

#[test]
fn finish_with_an_early_uac_dialogue_cancels_it() {
    // Then a 487: ACK, nothing delivered.
    let mut h = Harness::scaled();
    let inv = h.uac_ringing("d1");
    let mark = h.log.len();
    h.end(End::Finished);
    let cancel = h.tx("CANCEL");
    assert_eq!(cancel.related_id, Some(inv.cseq));
    h.recv("bob", resp(&cancel, 200));
    h.recv("bob", resp(&inv, 487));
    assert_eq!(h.take(), lines(&["tx bob CANCEL", "tx bob ACK", "drop instance_gone"]));
    assert_nothing_for_the_slp(&h, mark);
    assert!(h.stack.is_idle());

    // Then a 200: ACK + BYE, nothing delivered.
    let mut h = Harness::scaled();
    let inv = h.uac_ringing("d1");
    let mark = h.log.len();
    h.end(End::Finished);
    h.recv("bob", resp(&inv, 200));
    assert_eq!(h.take(), lines(&["tx bob CANCEL", "tx bob ACK", "tx bob BYE", "drop instance_gone"]));
    assert_nothing_for_the_slp(&h, mark);

    // No answer: T-est and T-ack still apply.
    let mut h = Harness::scaled();
    h.uac_ringing("d1");
    h.advance(500);
    let mark = h.log.len();
    h.end(End::Finished);
    h.advance(10_000);
    assert_eq!(h.take_timed(), lines(&["@500 tx bob CANCEL", "@3000 drop instance_gone"]));
    assert_nothing_for_the_slp(&h, mark);
    assert!(h.stack.is_idle(), "the dialogue ended at T-ack");
}

#[test]
fn finish_with_an_early_uas_dialogue_leaves_it_to_t_est() {
    let mut h = Harness::scaled();
    h.uas_ringing("d1", 1);
    h.advance(1_000);
    let mark = h.log.len();
    h.end(End::Finished);
    h.advance(10_000);
    assert_eq!(h.take_timed(), lines(&["@3000 drop instance_gone", "@3000 tx alice INVITE_408"]));
    assert_nothing_for_the_slp(&h, mark);
    assert!(h.stack.is_idle());
}

#[test]
fn finish_leaves_pending_server_transactions_to_their_timers() {
    let mut h = Harness::scaled();
    h.recv("alice", peer(Method::Message, "m1", 1));
    h.recv("alice", peer(Method::Subscribe, "s1", 1));
    let sub = h.dmsg("SUBSCRIBE");
    h.answer(&sub, 100);
    h.take();
    let mark = h.log.len();
    h.end(End::Finished);
    h.advance(10_000);
    assert_eq!(h.take_timed(), lines(&["@1000 tx alice MESSAGE_408", "@3000 tx alice SUBSCRIBE_408"]));
    assert_nothing_for_the_slp(&h, mark);
}

#[test]
fn finish_lets_client_transactions_continue_and_drops_their_outcomes() {
    let mut h = Harness::scaled();
    h.send_ok(slp(Method::Message, "bob", "m1", 0));
    h.send_ok(slp(Method::Message, "bob", "m2", 0));
    let m1 = h.tx("MESSAGE");
    h.take();
    h.end(End::Finished);
    h.recv("bob", resp(&m1, 200));
    h.advance(5_000);
    assert_eq!(h.take_timed(), lines(&["@0 drop instance_gone", "@1000 drop instance_gone"]));
    assert!(h.stack.is_idle());
}

#[test]
fn finish_is_idempotent() {
    let mut h = Harness::scaled();
    h.uas_confirmed("d1", 1, true);
    h.end(End::Finished);
    h.end(End::Finished);
    h.end(End::Trapped);
    assert_eq!(h.take(), lines(&["tx alice BYE"]));
    assert_eq!(h.tx("BYE").reason().as_deref(), Some("service ended"));
}

// ============================================================ §12.5 traps

#[test]
fn trap_answers_500_to_delivered_requests_and_winds_down_dialogues() {
    let mut h = Harness::scaled();
    // Early UAS with a pending PRACK, a session-less MESSAGE, a confirmed UAS
    // dialogue with a pending re-INVITE and INFO, an early UAC dialogue.
    let _ = h.uas_ringing("d1", 1);
    h.recv("alice", peer(Method::Prack, "d1", 2));
    h.recv("alice", peer(Method::Message, "m1", 1));
    h.take();
    h.uas_confirmed("d2", 1, true);
    h.recv("alice", peer(Method::Invite, "d2", 2));
    h.recv("alice", peer(Method::Info, "d2", 3));
    h.take();
    h.uac_ringing("d3");
    h.take();
    let mark = h.log.len();
    h.end(End::Trapped);
    let mut got = h.take();
    got.sort();
    let mut want = lines(&[
        "tx alice PRACK_500",
        "tx alice INVITE_500",
        "tx alice MESSAGE_500",
        "tx alice INFO_500",
        "tx alice INVITE_500",
        "tx alice BYE",
        "tx bob CANCEL",
    ]);
    want.sort();
    assert_eq!(got, want);
    for e in &h.log[mark..] {
        if let What::Tx { message, .. } = &e.what
            && message.code() == Some(500)
        {
            assert_eq!(message.reason().as_deref(), Some("SLP failure"));
        }
    }
    assert_eq!(h.tx("BYE").reason().as_deref(), Some("SLP failure"));
    assert_eq!(h.state("d1"), "ERR");
    assert_eq!(h.state("d2"), "-");
    // The PRACK got its 500 before the INVITE's, so not a 487.
    let d1: Vec<String> = h.log[mark..]
        .iter()
        .filter_map(|e| match &e.what {
            What::Tx { message, .. } if message.dialogue_id.as_str() == "d1" => Some(e.text.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(d1, lines(&["tx alice PRACK_500", "tx alice INVITE_500"]));
    // The ACK for the INVITE_500 is swallowed.
    h.recv("alice", peer_ack("d1", 5, Some(1)));
    assert_eq!(h.take(), Vec::<String>::new());
    assert_eq!(h.state("d1"), "-");
    h.advance(30_000);
    assert_nothing_for_the_slp(&h, mark);
}

#[test]
fn trap_does_not_answer_requests_that_were_never_delivered() {
    // A CANCEL the stack answered is not the SLP's; only what it owed gets 500.
    let mut h = Harness::scaled();
    h.uas_ringing("d1", 1);
    h.recv("alice", peer_cancel("d1", 2, Some(1)));
    h.take();
    h.end(End::Trapped);
    assert_eq!(h.take(), Vec::<String>::new());
}

// ============================================================ orphaned dialogues

#[test]
fn an_orphaned_dialogue_answers_what_needs_the_slp_with_481_no_service() {
    let mut h = Harness::scaled();
    h.uas_ringing("d1", 1);
    let mark = h.log.len();
    h.end(End::Finished);
    h.recv("alice", peer(Method::Info, "d1", 2));
    h.recv("alice", peer(Method::Prack, "d1", 3));
    assert_eq!(h.take(), lines(&["tx alice INFO_481", "tx alice PRACK_481"]));
    assert_eq!(h.tx("INFO_481").reason().as_deref(), Some("no service"));
    assert_eq!(h.tx("PRACK_481").reason().as_deref(), Some("no service"));
    assert_eq!(h.state("d1"), "18X", "the state machine did not move");
    // A re-INVITE is refused by the machine itself (early: 491).
    h.recv("alice", peer(Method::Invite, "d1", 4));
    assert_eq!(h.take(), lines(&["tx alice INVITE_491"]));
    // BYE is still answered by the stack.
    h.recv("alice", peer(Method::Bye, "d1", 5));
    assert_eq!(h.take(), lines(&["tx alice BYE_200", "tx alice INVITE_487", "drop instance_gone"]));
    h.advance(5_000);
    assert_nothing_for_the_slp(&h, mark);
    assert!(h.stack.is_idle());
}

#[test]
fn an_orphaned_uas_dialogue_still_answers_cancel() {
    let mut h = Harness::scaled();
    h.uas_ringing("d1", 1);
    h.end(End::Finished);
    h.recv("alice", peer_cancel("d1", 2, None));
    assert_eq!(h.take(), lines(&["tx alice CANCEL_200", "tx alice INVITE_487", "drop instance_gone"]));
}

#[test]
fn session_less_requests_for_an_ended_instance_are_redispatched() {
    let mut h = Harness::scaled();
    h.uas_ringing("d1", 1);
    h.end(End::Finished);
    h.recv("alice", peer(Method::Message, "d1", 2));
    h.recv("alice", peer(Method::Message, "m9", 1));
    assert_eq!(h.take(), lines(&["redispatch MESSAGE", "redispatch MESSAGE"]));
}

#[test]
fn no_deliver_or_term_after_the_end_in_any_state() {
    // A broad sweep: every early/confirmed state on both sides, finish and trap.
    for how in [End::Finished, End::Trapped] {
        for setup in 0..6 {
            let mut h = Harness::scaled();
            match setup {
                0 => drop(h.uas_invite("d1", 1)),
                1 => drop(h.uas_ringing("d1", 1)),
                2 => drop(h.uas_confirmed("d1", 1, true)),
                3 => drop(h.uac_invite("d1")),
                4 => drop(h.uac_ringing("d1")),
                _ => drop(h.uac_confirmed("d1", false)),
            }
            let mark = h.log.len();
            h.end(how);
            // The peer keeps talking.
            h.recv("alice", peer(Method::Info, "d1", 50));
            h.recv("alice", peer(Method::Bye, "d1", 51));
            h.recv("alice", peer_ack("d1", 52, None));
            h.advance(60_000);
            assert_nothing_for_the_slp(&h, mark);
            assert!(h.stack.is_idle(), "{how:?} {setup}: {:?}", h.all_timed());
        }
    }
}

/// An INVITE on a DialogueID already bound by a session-less transaction.
fn uas_invite_on_bound(h: &mut Harness, d: &str, cseq: u64) -> jsip::Message {
    h.recv("alice", peer(Method::Invite, d, cseq));
    let got = h.take();
    assert_eq!(got.last().map(String::as_str), Some("deliver INVITE"));
    assert!(!h.delivered("INVITE").first);
    h.dmsg("INVITE")
}

#[test]
fn a_new_invite_after_the_orphaned_dialogue_ended_is_redispatched() {
    // §7.2, §9.5: once the dialogue is gone the DialogueID is not bound; a new
    // INVITE on it is new, not an orphan's (it is dispatched again).
    let mut h = Harness::scaled();
    h.uas_confirmed("d1", 1, true);
    h.end(End::Finished);
    assert_eq!(h.take(), lines(&["tx alice BYE"]));
    h.recv("alice", peer(Method::Invite, "d1", 7));
    assert_eq!(h.take(), lines(&["redispatch INVITE"]));
    assert_eq!(h.state("d1"), "-");
}

#[test]
fn finish_with_a_pending_reinvite_ends_it_with_the_dialogue() {
    // §12.3 quit BYE → END; §6.6: the pending re-INVITE gets 487 `dialogue ended`
    // at once (not a 408 from its timer), after the BYE. A session-less request on
    // the same DialogueID is left to its timer.
    let mut h = Harness::scaled();
    h.uas_confirmed("d1", 1, true);
    h.recv("alice", peer(Method::Invite, "d1", 2));
    h.recv("alice", peer(Method::Message, "d1", 3));
    h.take();
    h.end(End::Finished);
    h.advance(10_000);
    assert_eq!(
        h.take_timed(),
        lines(&["@0 tx alice BYE", "@0 tx alice INVITE_487", "@1000 tx alice MESSAGE_408"])
    );
    assert_eq!(h.tx("INVITE_487").reason().as_deref(), Some("dialogue ended"));
}
