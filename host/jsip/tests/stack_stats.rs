//! `Stack::stats` (spec §14.7): transaction and dialogue timer expiries and the
//! responses the stack generated, each in the right cell, with the §18 scaled
//! timers (trans 1 s, pr 3 s, session 9 s). The harness also checks, after
//! every input of every stack test, that the generated counts equal the
//! stack-origin responses delivered and the non-SLP responses on the wire.

mod common;

use common::*;
use jsip::Method;
use jsip::session::{Side, Timer};
use jsip::stack::InstanceEnd;
use jsip::stats::{Stats, Toward};
use jsip::transaction::Role;

/// Every transaction timeout cell, summed.
fn all_tx_timeouts(s: &Stats) -> u32 {
    s.transaction_timeouts.iter().flatten().sum()
}

/// Every dialogue timeout cell, summed.
fn all_dialogue_timeouts(s: &Stats) -> u32 {
    s.dialogue_timeouts.iter().flatten().sum()
}

#[test]
fn server_transaction_timeout_counts_its_method_and_a_408_to_the_peer() {
    let mut h = Harness::scaled();
    h.recv("alice", peer(Method::Message, "m1", 1));
    h.advance(1000);
    assert_eq!(h.take(), lines(&["deliver MESSAGE", "tx alice MESSAGE_408", "term m1 transactions"]));
    let s = h.stack.stats();
    assert_eq!(s.transaction_timeouts(Role::Server, Method::Message), 1);
    assert_eq!(all_tx_timeouts(s), 1, "only that cell");
    assert_eq!(s.generated(Toward::Peer, 408), 1);
    assert_eq!(s.generated_total(Toward::Peer), 1);
    assert_eq!(s.generated_total(Toward::Slp), 0);
    assert_eq!(all_dialogue_timeouts(s), 0);
}

#[test]
fn client_transaction_timeout_counts_its_method_and_a_408_to_the_slp() {
    let mut h = Harness::scaled();
    h.send_ok(slp(Method::Message, "bob", "m2", 0));
    h.advance(1000);
    assert_eq!(h.take(), lines(&["tx bob MESSAGE", "deliver MESSAGE_408 (stack)", "term m2 transactions"]));
    let s = h.stack.stats();
    assert_eq!(s.transaction_timeouts(Role::Client, Method::Message), 1);
    assert_eq!(s.transaction_timeouts(Role::Server, Method::Message), 0);
    assert_eq!(s.generated(Toward::Slp, 408), 1);
    assert_eq!(s.generated_total(Toward::Peer), 0);
}

#[test]
fn answered_transactions_and_slp_responses_count_nothing() {
    let mut h = Harness::scaled();
    h.recv("alice", peer(Method::Message, "m3", 1));
    let msg = h.dmsg("MESSAGE");
    h.answer(&msg, 200);
    h.send_ok(slp(Method::Options, "bob", "m4", 0));
    let sent = h.tx("OPTIONS");
    h.recv("bob", resp(&sent, 200));
    h.advance(20_000);
    assert_eq!(*h.stack.stats(), Stats::default(), "stopped timers do not count");
}

#[test]
fn a_481_toward_a_peer_counts_as_peer_and_one_toward_the_slp_as_slp() {
    let mut h = Harness::scaled();
    // §7.3: a BYE without a dialogue is answered statelessly.
    h.recv("alice", peer(Method::Bye, "x1", 4));
    assert_eq!(h.take(), lines(&["tx alice BYE_481"]));
    let s = *h.stack.stats();
    assert_eq!((s.generated(Toward::Peer, 481), s.generated_total(Toward::Slp)), (1, 0));
    // §7.3: an SLP UPDATE without a dialogue gets a 481 delivered, nothing transmitted.
    h.send_ok(slp(Method::Update, "bob", "x2", 0));
    assert_eq!(h.take(), lines(&["deliver UPDATE_481 (stack)", "term x2 transactions"]));
    let s = h.stack.stats();
    assert_eq!((s.generated(Toward::Peer, 481), s.generated(Toward::Slp, 481)), (1, 1));
    assert_eq!(s.events, 2);
}

#[test]
fn uas_establishment_then_ack_timeouts_count_on_the_uas_side() {
    let mut h = Harness::scaled();
    h.uas_invite("d1", 1);
    h.advance(3000); // H1: T-est
    assert_eq!(h.take(), lines(&["deliver CANCEL (stack)", "tx alice INVITE_408"]));
    let s = *h.stack.stats();
    assert_eq!(s.dialogue_timeouts(Timer::Establish, Side::Uas), 1);
    assert_eq!(s.dialogue_timeouts(Timer::Ack, Side::Uas), 0);
    assert_eq!(s.generated(Toward::Peer, 408), 1, "the automatic INVITE_408");
    h.advance(1000); // H4: no ACK came
    assert_eq!(h.take(), lines(&["term d1 dialogue"]));
    let s = h.stack.stats();
    assert_eq!(s.dialogue_timeouts(Timer::Ack, Side::Uas), 1);
    assert_eq!(all_dialogue_timeouts(s), 2);
    assert_eq!(all_tx_timeouts(s), 0, "the stack's answer ended the INVITE transaction");
}

#[test]
fn uac_establishment_timeout_counts_on_the_uac_side_with_its_408_to_the_slp() {
    let mut h = Harness::scaled();
    h.uac_ringing("d2");
    h.advance(3000); // H2
    assert_eq!(h.take(), lines(&["tx bob CANCEL", "deliver INVITE_408 (stack)"]));
    let s = *h.stack.stats();
    assert_eq!(s.dialogue_timeouts(Timer::Establish, Side::Uac), 1);
    assert_eq!(s.dialogue_timeouts(Timer::Establish, Side::Uas), 0);
    assert_eq!((s.generated(Toward::Slp, 408), s.generated_total(Toward::Peer)), (1, 0));
    // Nobody answers: the stack's CANCEL times out, then T-ack ends the dialogue (H3).
    h.advance(1000);
    let s = h.stack.stats();
    assert_eq!(s.transaction_timeouts(Role::Client, Method::Cancel), 1);
    assert_eq!(s.dialogue_timeouts(Timer::Ack, Side::Uac), 1);
    assert_eq!(s.transaction_timeouts(Role::Client, Method::Invite), 0);
}

#[test]
fn refresh_timeouts_count_by_side() {
    let mut h = Harness::scaled();
    h.uas_confirmed("d3", 1, true);
    h.uac_confirmed("d4", true);
    h.advance(3000); // H6: the UAC refreshes at interval / 3
    let s = *h.stack.stats();
    assert_eq!(s.dialogue_timeouts(Timer::Refresh, Side::Uac), 1);
    assert_eq!(s.dialogue_timeouts(Timer::Refresh, Side::Uas), 0);
    let update = h.tx("UPDATE");
    h.recv("bob", resp(&update, 200));
    h.advance(6000); // H5 at 9 s on the UAS side; the UAC refreshed twice more
    let s = h.stack.stats();
    assert_eq!(s.dialogue_timeouts(Timer::Refresh, Side::Uas), 1);
    assert_eq!(s.dialogue_timeouts(Timer::Refresh, Side::Uac), 3);
}

#[test]
fn trap_wind_down_and_host_answers_count_their_codes() {
    let mut h = Harness::scaled();
    h.recv("alice", peer(Method::Message, "t1", 1));
    h.recv("alice", peer(Method::Options, "t2", 1));
    h.recv("alice", peer(Method::Info, "t3", 1));
    // The host answers on the SLP's behalf: a listed code, and one outside the set.
    h.host_answer("t2", 1, 503, "SLP overloaded");
    h.host_answer("t3", 1, 486, "busy");
    h.end(InstanceEnd::Trapped); // §12.5: 500 to what the SLP owed
    let s = h.stack.stats();
    assert_eq!(s.generated(Toward::Peer, 500), 1);
    assert_eq!(s.generated(Toward::Peer, 503), 1);
    assert_eq!(s.generated(Toward::Peer, 486), 1, "counted in the 'other' slot");
    assert_eq!(s.generated(Toward::Peer, 599), 1, "the same 'other' slot");
    assert_eq!(s.generated_total(Toward::Peer), 3);
}

#[test]
fn a_synthetic_response_an_ended_instance_cannot_get_is_not_counted() {
    let mut h = Harness::scaled();
    h.send_ok(slp(Method::Message, "bob", "o1", 0));
    h.end(InstanceEnd::Finished);
    h.advance(1000);
    assert_eq!(h.take(), lines(&["tx bob MESSAGE", "drop instance_gone"]));
    let s = h.stack.stats();
    assert_eq!(s.transaction_timeouts(Role::Client, Method::Message), 1, "the timer still expired");
    assert_eq!(s.generated_total(Toward::Slp), 0, "counted as dropped (instance_gone) instead");
}
