//! Dialogue-layer flows (§18.7, tables A–H of §6.5, §6.6, §6.7, §6.8) with the
//! §18 scaled timers: trans 1 s, pr 3 s (T-est 3 s, INVITE tx 6 s), session 9 s.

mod common;

use common::*;
use jsip::Method;
use jsip::build;
use jsip::transaction::Role;

// ============================================================ error finals

#[test]
fn uas_error_final() {
    let mut h = Harness::scaled();
    let inv = h.uas_invite("d1", 1);
    assert_eq!(inv.expire, Some(9), "§4.4: the effective Expire is delivered");
    h.answer(&inv, 100); // A2: accepted, not transmitted
    assert_eq!(h.take(), Vec::<String>::new());
    h.answer(&inv, 180); // A5
    h.answer(&inv, 408); // A10
    assert_eq!(h.take(), lines(&["tx alice INVITE_180", "tx alice INVITE_408"]));
    assert_eq!(h.state("d1"), "ERR");
    h.recv("alice", peer_ack("d1", 2, Some(1))); // C2: swallowed
    assert_eq!(h.take(), lines(&["term d1 dialogue"]));
    assert!(h.stack.is_idle());
}

#[test]
fn uac_error_final() {
    let mut h = Harness::scaled();
    let inv = h.uac_invite("d1");
    assert_eq!(inv.expire, Some(9), "§6.2: the effective Expire is written on the wire");
    h.recv("bob", resp(&inv, 100)); // A1: not delivered
    h.recv("bob", resp(&inv, 180)); // A3
    let mut busy = resp(&inv, 486);
    busy.to = "bob-contact".into();
    h.recv("bob", busy); // A9: ACK, then the 486
    assert_eq!(
        h.take(),
        lines(&["deliver INVITE_180", "tx bob ACK", "deliver INVITE_486", "term d1 dialogue"])
    );
    let ack = h.tx("ACK");
    assert_eq!(ack.request_uri.as_deref(), Some("bob-contact"), "§6.7: Request-URI = the response's To");
    assert_eq!((ack.from.as_str(), ack.to.as_str()), ("svc", "bob-contact"));
    assert_eq!(ack.related_id, Some(inv.cseq));
    assert_ne!(ack.cseq, inv.cseq);
    assert!(h.stack.is_idle());
}

#[test]
fn error_final_after_a_1xx_in_every_early_state() {
    // INVITE finals are accepted in PRACK and UPDATE states as well (table A notes).
    for early in ["PRACK", "UPDATE"] {
        let mut h = Harness::scaled();
        let inv = h.uas_ringing("d1", 1);
        let m = if early == "PRACK" { Method::Prack } else { Method::Update };
        h.recv("alice", peer(m, "d1", 2));
        assert_eq!(h.state("d1"), early);
        h.answer(&inv, 200);
        assert_eq!(h.state("d1"), "200");
        // The pending PRACK/UPDATE is still answerable (E8).
        let req = h.dmsg(m.as_str());
        h.answer(&req, 200);
        assert_eq!(
            h.take(),
            vec![format!("deliver {m}"), "tx alice INVITE_200".into(), format!("tx alice {m}_200")]
        );
        assert_eq!(h.state("d1"), "200");
    }
    for early in ["PRACK", "UPDATE"] {
        let mut h = Harness::scaled();
        let inv = h.uac_ringing("d1");
        let m = if early == "PRACK" { Method::Prack } else { Method::Update };
        h.send_ok(slp(m, "bob", "d1", 0));
        assert_eq!(h.state("d1"), early);
        h.recv("bob", resp(&inv, 200));
        assert_eq!(h.state("d1"), "200");
        let req = h.tx(m.as_str());
        h.recv("bob", resp(&req, 200));
        assert_eq!(
            h.take(),
            vec![format!("tx bob {m}"), "deliver INVITE_200".into(), format!("deliver {m}_200")]
        );
    }
}

// ============================================================ timeouts

#[test]
fn uas_timeout_with_an_immediate_ack() {
    let mut h = Harness::scaled();
    let inv = h.uas_ringing("d1", 1);
    h.advance(3_000);
    assert_eq!(h.take_timed(), lines(&["@3000 deliver CANCEL (stack)", "@3000 tx alice INVITE_408"]));
    let cancel = h.dmsg("CANCEL");
    assert_eq!(cancel.related_id, Some(1));
    assert_ne!(cancel.cseq, 0, "§6.7: a new CSeq");
    assert_eq!(
        (cancel.request_uri.as_deref(), cancel.from.as_str(), cancel.to.as_str()),
        (Some("svc"), "alice", "svc")
    );
    assert_eq!(h.tx("INVITE_408").reason().as_deref(), Some("timeout"));
    assert_eq!(h.state("d1"), "ERR");
    assert_eq!(h.send_err(resp(&inv, 200)).code(), "no-transaction");
    h.recv("alice", peer_ack("d1", 2, Some(1)));
    assert_eq!(h.take_timed(), lines(&["@3000 term d1 dialogue"]));
}

#[test]
fn uas_timeout_without_an_ack() {
    let mut h = Harness::scaled();
    h.uas_ringing("d1", 1);
    h.advance(10_000);
    assert_eq!(
        h.take_timed(),
        lines(&["@3000 deliver CANCEL (stack)", "@3000 tx alice INVITE_408", "@4000 term d1 dialogue"])
    );
    assert!(h.stack.is_idle());
}

#[test]
fn uas_timeout_in_prack_and_update_states() {
    for m in [Method::Prack, Method::Update] {
        let mut h = Harness::scaled();
        h.uas_ringing("d1", 1);
        h.advance(500);
        h.recv("alice", peer(m, "d1", 2));
        let req = h.dmsg(m.as_str());
        h.advance(10_000);
        // The PRACK's own timer would fire at 1.5 s: let the SLP hold it with a 1xx? No: a
        // 1xx to PRACK/UPDATE is refused (E7). So the request times out first.
        let got = h.take_timed();
        assert_eq!(
            got,
            vec![
                format!("@500 deliver {m}"),
                format!("@1500 tx alice {m}_408"),
                "@3000 deliver CANCEL (stack)".into(),
                "@3000 tx alice INVITE_408".into(),
                "@4000 term d1 dialogue".into(),
            ]
        );
        let _ = req;
    }
    // Still pending at T-est: the request gets 487 `dialogue ended` when ERR is entered.
    for m in [Method::Prack, Method::Update] {
        let mut h = Harness::scaled();
        h.uas_ringing("d1", 1);
        h.advance(2_500);
        h.recv("alice", peer(m, "d1", 2));
        assert_eq!(h.state("d1"), m.as_str());
        h.advance(10_000);
        assert_eq!(
            h.take_timed(),
            vec![
                format!("@2500 deliver {m}"),
                "@3000 deliver CANCEL (stack)".into(),
                "@3000 tx alice INVITE_408".into(),
                format!("@3000 tx alice {m}_487"),
                "@4000 term d1 dialogue".into(),
            ]
        );
        assert_eq!(h.tx(&format!("{m}_487")).reason().as_deref(), Some("dialogue ended"));
    }
}

#[test]
fn uac_timeout_then_487() {
    let mut h = Harness::scaled();
    let inv = h.uac_ringing("d1");
    h.advance(3_000);
    assert_eq!(h.take_timed(), lines(&["@3000 tx bob CANCEL", "@3000 deliver INVITE_408 (stack)"]));
    let cancel = h.tx("CANCEL");
    assert_eq!(cancel.related_id, Some(inv.cseq));
    assert_eq!(
        (cancel.request_uri.as_deref(), cancel.from.as_str(), cancel.to.as_str()),
        (Some("bob"), "svc", "bob")
    );
    assert_eq!(cancel.router, None);
    assert_eq!(h.dmsg("INVITE_408").reason().as_deref(), Some("timeout"));
    h.advance(500);
    h.recv("bob", resp(&cancel, 200));
    h.recv("bob", resp(&inv, 487));
    assert_eq!(h.take_timed(), lines(&["@3500 tx bob ACK", "@3500 term d1 dialogue"]));
    assert!(h.stack.is_idle());
}

#[test]
fn uac_timeout_without_an_answer() {
    let mut h = Harness::scaled();
    h.uac_ringing("d1");
    h.advance(20_000);
    assert_eq!(
        h.take_timed(),
        lines(&["@3000 tx bob CANCEL", "@3000 deliver INVITE_408 (stack)", "@4000 term d1 dialogue"])
    );
    assert!(h.stack.is_idle());
}

#[test]
fn uac_timeout_then_200() {
    let mut h = Harness::scaled();
    let inv = h.uac_ringing("d1");
    h.advance(3_200);
    h.recv("bob", resp(&inv, 200)); // A7, already reported
    assert_eq!(
        h.take_timed(),
        lines(&[
            "@3000 tx bob CANCEL",
            "@3000 deliver INVITE_408 (stack)",
            "@3200 tx bob ACK",
            "@3200 tx bob BYE",
            "@3200 term d1 dialogue"
        ])
    );
    let bye = h.tx("BYE");
    assert_eq!((bye.request_uri.as_deref(), bye.from.as_str(), bye.to.as_str()), (Some("bob"), "svc", "bob"));
    h.advance(10_000);
    assert_eq!(h.take(), Vec::<String>::new());
}

#[test]
fn uac_timeout_1xx_after_cancel_is_not_delivered() {
    let mut h = Harness::scaled();
    let inv = h.uac_ringing("d1");
    h.advance(3_000);
    h.take();
    h.recv("bob", resp(&inv, 183)); // A4
    assert_eq!(h.take(), Vec::<String>::new());
}

// ============================================================ cancel

#[test]
fn uas_cancel() {
    let mut h = Harness::scaled();
    let inv = h.uas_ringing("d1", 1);
    h.recv("alice", peer_cancel("d1", 2, Some(1)));
    assert_eq!(h.take(), lines(&["tx alice CANCEL_200", "tx alice INVITE_487", "deliver CANCEL"]));
    assert_eq!(h.tx("INVITE_487").reason().as_deref(), Some("cancelled"));
    assert_eq!(h.delivered("CANCEL").origin, jsip::Origin::Peer("alice".into()));
    assert_eq!(h.state("d1"), "ERR");
    assert_eq!(h.send_err(resp(&inv, 200)).code(), "no-transaction");
    h.recv("alice", peer_ack("d1", 3, Some(1)));
    assert_eq!(h.take(), lines(&["term d1 dialogue"]));
}

#[test]
fn uas_cancel_without_related_id_and_before_any_1xx() {
    let mut h = Harness::scaled();
    h.uas_invite("d1", 1);
    h.recv("alice", peer_cancel("d1", 2, None));
    assert_eq!(h.take(), lines(&["tx alice CANCEL_200", "tx alice INVITE_487", "deliver CANCEL"]));
    h.advance(5_000);
    assert_eq!(h.take_timed(), lines(&["@1000 term d1 dialogue"]), "T-ack");
}

#[test]
fn uas_cancel_with_a_wrong_related_id_gets_only_481() {
    let mut h = Harness::scaled();
    h.uas_ringing("d1", 1);
    h.recv("alice", peer_cancel("d1", 2, Some(99)));
    assert_eq!(h.take(), lines(&["tx alice CANCEL_481"]));
    assert_eq!(h.tx("CANCEL_481").reason().as_deref(), Some("no matching INVITE"));
    assert_eq!(h.state("d1"), "18X");
    // B2 in any state: confirmed too.
    h.uas_confirmed("d2", 1, true);
    h.recv("alice", peer_cancel("d2", 2, Some(99)));
    assert_eq!(h.take(), lines(&["tx alice CANCEL_481"]));
}

#[test]
fn uas_cancel_after_the_final_answer_gets_only_200() {
    let mut h = Harness::scaled();
    h.uas_confirmed("d1", 1, false);
    h.recv("alice", peer_cancel("d1", 2, Some(1)));
    assert_eq!(h.take(), lines(&["tx alice CANCEL_200"]));
    assert_eq!(h.state("d1"), "200");
    // B3 in ERR as well.
    let inv = h.uas_invite("d2", 1);
    h.answer(&inv, 486);
    h.recv("alice", peer_cancel("d2", 2, None));
    assert_eq!(h.take(), lines(&["tx alice INVITE_486", "tx alice CANCEL_200"]));
    assert_eq!(h.state("d2"), "ERR");
}

#[test]
fn uac_side_rejects_a_cancel_from_the_callee() {
    let mut h = Harness::scaled();
    h.uac_ringing("d1");
    let mut c = request(Method::Cancel, "svc", "bob", "svc", "d1", 5);
    c.related_id = None;
    h.recv("bob", c);
    assert_eq!(h.take(), lines(&["tx bob CANCEL_481"]));
    assert_eq!(h.tx("CANCEL_481").reason().as_deref(), Some("not allowed in state 18X"));
}

#[test]
fn uac_cancel_then_487() {
    let mut h = Harness::scaled();
    let inv = h.uac_ringing("d1");
    let mut cancel = build::cancel(&inv).unwrap();
    cancel.related_id = None; // added by the stack
    h.send_ok(cancel);
    let cancel = h.tx("CANCEL");
    assert_eq!(cancel.related_id, Some(inv.cseq));
    assert_eq!(h.send_err(build::cancel(&inv).unwrap()).code(), "invalid-state", "B6: already cancelled");
    h.recv("bob", resp(&cancel, 200));
    h.recv("bob", resp(&inv, 487));
    assert_eq!(h.take(), lines(&["tx bob CANCEL", "tx bob ACK", "deliver INVITE_487", "term d1 dialogue"]));
}

#[test]
fn uac_cancel_then_200_anyway() {
    let mut h = Harness::scaled();
    let inv = h.uac_ringing("d1");
    h.send_ok(build::cancel(&inv).unwrap());
    h.recv("bob", resp(&inv, 200));
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
    assert_eq!(h.dmsg("INVITE_487").reason().as_deref(), Some("cancelled"));
    let ack = h.tx("ACK");
    assert_eq!(ack.related_id, Some(inv.cseq));
}

#[test]
fn slp_cancel_refusals() {
    // B7: after the final answer.
    let mut h = Harness::scaled();
    let inv = h.uac_confirmed("d1", false);
    assert_eq!(h.send_err(build::cancel(&inv).unwrap()).code(), "invalid-state");
    // B8: on the UAS side.
    let inv = h.uas_ringing("d2", 1);
    let mut c = build::cancel(&inv).unwrap();
    c.related_id = None;
    assert_eq!(h.send_err(c).code(), "invalid-state");
}

// ============================================================ early BYE

#[test]
fn early_bye_received_on_the_uas_side() {
    let mut h = Harness::scaled();
    h.uas_ringing("d1", 1);
    h.recv("alice", peer(Method::Bye, "d1", 2));
    assert_eq!(h.take(), lines(&["tx alice BYE_200", "tx alice INVITE_487", "deliver BYE"]));
    assert_eq!(h.tx("INVITE_487").reason().as_deref(), Some("cancelled"));
    assert_eq!(h.state("d1"), "ERR");
    h.recv("alice", peer(Method::Bye, "d1", 3)); // D6
    assert_eq!(h.take(), lines(&["tx alice BYE_481"]));
    h.advance(5_000);
    assert_eq!(h.take_timed(), lines(&["@1000 term d1 dialogue"]));
}

#[test]
fn early_bye_received_on_the_uac_side_gets_481() {
    let mut h = Harness::scaled();
    h.uac_ringing("d1");
    h.recv("bob", request(Method::Bye, "svc", "bob", "svc", "d1", 9));
    assert_eq!(h.take(), lines(&["tx bob BYE_481"]));
    assert_eq!(h.tx("BYE_481").reason().as_deref(), Some("not allowed in state 18X"));
    assert_eq!(h.state("d1"), "18X");
}

#[test]
fn slp_bye_in_an_early_state_is_invalid() {
    let mut h = Harness::scaled();
    h.uac_invite("d1");
    assert_eq!(h.send_err(slp(Method::Bye, "bob", "d1", 0)).detail(), "BYE not allowed in INIT");
    h.uas_ringing("d2", 1);
    assert_eq!(h.send_err(slp(Method::Bye, "alice", "d2", 0)).detail(), "BYE not allowed in 18X");
}

// ============================================================ 202

#[test]
fn a_202_behaves_like_a_200_on_both_sides() {
    let mut h = Harness::scaled();
    let inv = h.uas_invite("d1", 1);
    h.answer(&inv, 202);
    assert_eq!(h.take(), lines(&["tx alice INVITE_202"]));
    assert_eq!(h.state("d1"), "200");
    h.recv("alice", peer_ack("d1", 2, Some(1)));
    assert_eq!(h.take(), lines(&["deliver ACK"]));

    let inv = h.uac_invite("d2");
    h.recv("bob", resp(&inv, 202));
    assert_eq!(h.take(), lines(&["deliver INVITE_202"]));
    assert_eq!(h.state("d2"), "200");
    let ok = h.dmsg("INVITE_202");
    h.send_ok(ack_for(&ok));
    h.advance(3_000);
    // d1 (UAS) expects a refresh by 9 s; d2 (UAC) refreshes at 3 s.
    assert_eq!(h.take_timed(), lines(&["@0 tx bob ACK", "@3000 tx bob UPDATE"]));
}

// ============================================================ full flows

#[test]
fn full_uas_flow_with_prack_updates_reinvites_and_peer_bye() {
    let mut h = Harness::scaled();
    let inv = h.uas_ringing("d1", 1);
    // PRACK in (E1), answered.
    h.recv("alice", peer(Method::Prack, "d1", 2));
    let prack = h.dmsg("PRACK");
    h.answer(&prack, 200);
    // Early UPDATE in (E5), answered.
    h.recv("alice", peer(Method::Update, "d1", 3));
    assert_eq!(h.state("d1"), "UPDATE");
    let upd = h.dmsg("UPDATE");
    h.answer(&upd, 200);
    // Early UPDATE out (E5), answered by the peer (E8).
    h.send_ok(build::update(&inv).unwrap());
    let out = h.tx("UPDATE");
    h.recv("alice", resp(&out, 200));
    assert_eq!(h.state("d1"), "18X");
    // 200, ACK.
    h.answer(&inv, 200);
    h.recv("alice", peer_ack("d1", 4, Some(1)));
    assert_eq!(h.state("d1"), "ACK");
    // re-INVITE in (G1), 200 (A12), re-ACK (C1).
    h.recv("alice", peer(Method::Invite, "d1", 5));
    let reinv = h.dmsg("INVITE");
    assert!(!h.delivered("INVITE").first);
    h.answer(&reinv, 200);
    h.recv("alice", peer_ack("d1", 6, Some(5)));
    // re-INVITE out, 200 in, ACK out.
    h.send_ok(slp(Method::Invite, "alice", "d1", 0));
    let reinv_out = h.tx("INVITE");
    h.recv("alice", resp(&reinv_out, 200));
    let ok = h.dmsg("INVITE_200");
    h.send_ok(ack_for(&ok));
    assert_eq!(h.tx("ACK").related_id, Some(reinv_out.cseq));
    // BYE in (D1).
    h.recv("alice", peer(Method::Bye, "d1", 7));
    assert_eq!(
        h.take(),
        lines(&[
            "deliver PRACK",
            "tx alice PRACK_200",
            "deliver UPDATE",
            "tx alice UPDATE_200",
            "tx alice UPDATE",
            "deliver UPDATE_200",
            "tx alice INVITE_200",
            "deliver ACK",
            "deliver INVITE",
            "tx alice INVITE_200",
            "deliver ACK",
            "tx alice INVITE",
            "deliver INVITE_200",
            "tx alice ACK",
            "tx alice BYE_200",
            "deliver BYE",
            "term d1 dialogue",
        ])
    );
    assert_eq!(h.terms(), 1);
    assert!(h.stack.is_idle());
}

#[test]
fn full_uas_flow_without_a_final_ack_and_slp_bye() {
    let mut h = Harness::scaled();
    h.uas_confirmed("d1", 1, false);
    // No ACK for the 200: a re-INVITE is still accepted in state 200 (G1).
    h.recv("alice", peer(Method::Invite, "d1", 2));
    let reinv = h.dmsg("INVITE");
    h.answer(&reinv, 200);
    assert_eq!(h.state("d1"), "RE200");
    h.send_ok(slp(Method::Bye, "alice", "d1", 0));
    assert_eq!(
        h.take(),
        lines(&["deliver INVITE", "tx alice INVITE_200", "tx alice BYE", "term d1 dialogue"])
    );
    let bye = h.tx("BYE");
    h.recv("alice", resp(&bye, 200));
    assert_eq!(h.take(), Vec::<String>::new(), "the BYE answer is swallowed");
    assert!(h.stack.is_idle());
}

#[test]
fn full_uac_flow_with_prack_updates_reinvites_and_slp_bye() {
    let mut h = Harness::scaled();
    let inv = h.uac_ringing("d1");
    h.send_ok(slp(Method::Prack, "bob", "d1", 0)); // E1 out
    let prack = h.tx("PRACK");
    h.recv("bob", resp(&prack, 180)); // E7: dropped
    h.recv("bob", resp(&prack, 200)); // E8
    // Early UPDATE in, answered by the SLP.
    h.recv("bob", request(Method::Update, "svc", "bob", "svc", "d1", 40));
    let upd = h.dmsg("UPDATE");
    h.answer(&upd, 200);
    // Early UPDATE out, answered by the peer.
    h.send_ok(slp(Method::Update, "bob", "d1", 0));
    let out = h.tx("UPDATE");
    h.recv("bob", resp(&out, 200));
    // 200, ACK.
    h.recv("bob", resp(&inv, 200));
    let ok = h.dmsg("INVITE_200");
    h.send_ok(ack_for(&ok));
    // re-INVITE out.
    h.send_ok(slp(Method::Invite, "bob", "d1", 0));
    let reinv = h.tx("INVITE");
    h.recv("bob", resp(&reinv, 200));
    let ok2 = h.dmsg("INVITE_200");
    h.send_ok(ack_for(&ok2));
    // re-INVITE in.
    h.recv("bob", request(Method::Invite, "svc", "bob", "svc", "d1", 41));
    let reinv_in = h.dmsg("INVITE");
    h.answer(&reinv_in, 200);
    let mut ack = request(Method::Ack, "svc", "bob", "svc", "d1", 42);
    ack.related_id = Some(41);
    h.recv("bob", ack);
    // BYE out (D2).
    h.send_ok(slp(Method::Bye, "bob", "d1", 0));
    assert_eq!(
        h.take(),
        lines(&[
            "tx bob PRACK",
            "drop state_rejected",
            "deliver PRACK_200",
            "deliver UPDATE",
            "tx bob UPDATE_200",
            "tx bob UPDATE",
            "deliver UPDATE_200",
            "deliver INVITE_200",
            "tx bob ACK",
            "tx bob INVITE",
            "deliver INVITE_200",
            "tx bob ACK",
            "deliver INVITE",
            "tx bob INVITE_200",
            "deliver ACK",
            "tx bob BYE",
            "term d1 dialogue",
        ])
    );
}

#[test]
fn full_uac_flow_without_a_final_ack_and_peer_bye() {
    let mut h = Harness::scaled();
    h.uac_confirmed("d1", false);
    h.recv("bob", request(Method::Invite, "svc", "bob", "svc", "d1", 41));
    let reinv = h.dmsg("INVITE");
    h.answer(&reinv, 200);
    h.recv("bob", request(Method::Bye, "svc", "bob", "svc", "d1", 42));
    assert_eq!(
        h.take(),
        lines(&["deliver INVITE", "tx bob INVITE_200", "tx bob BYE_200", "deliver BYE", "term d1 dialogue"])
    );
}

// ============================================================ PRACK / early UPDATE

#[test]
fn prack_and_early_update_error_answers_are_transmitted_and_delivered() {
    for m in [Method::Prack, Method::Update] {
        let mut h = Harness::scaled();
        h.uas_ringing("d1", 1);
        h.recv("alice", peer(m, "d1", 2));
        let req = h.dmsg(m.as_str());
        h.answer(&req, 488);
        assert_eq!(h.take(), vec![format!("deliver {m}"), format!("tx alice {m}_488")]);
        assert_eq!(h.state("d1"), "18X");

        let mut h = Harness::scaled();
        h.uac_ringing("d1");
        h.send_ok(slp(m, "bob", "d1", 0));
        let req = h.tx(m.as_str());
        h.recv("bob", resp(&req, 500));
        assert_eq!(h.take(), vec![format!("tx bob {m}"), format!("deliver {m}_500")]);
        assert_eq!(h.state("d1"), "18X");
    }
}

#[test]
fn prack_and_update_refusals() {
    let mut h = Harness::scaled();
    // E3: INIT.
    h.uas_invite("d1", 1);
    h.recv("alice", peer(Method::Prack, "d1", 2));
    h.recv("alice", peer(Method::Update, "d1", 3));
    assert_eq!(h.take(), lines(&["tx alice PRACK_481", "tx alice UPDATE_481"]));
    assert_eq!(h.tx("PRACK_481").reason().as_deref(), Some("not allowed in state INIT"));
    // E2: PRACK opposite to I (the UAS SLP sends one).
    let inv = h.dmsg("INVITE");
    h.answer(&inv, 180);
    assert_eq!(h.send_err(slp(Method::Prack, "alice", "d1", 0)).detail(), "PRACK not allowed in 18X");
    // E4: a second PRACK/UPDATE while one is pending → 491.
    h.recv("alice", peer(Method::Prack, "d1", 4));
    h.recv("alice", peer(Method::Prack, "d1", 5));
    h.recv("alice", peer(Method::Update, "d1", 6));
    assert_eq!(
        h.take(),
        lines(&["tx alice INVITE_180", "deliver PRACK", "tx alice PRACK_491", "tx alice UPDATE_491"])
    );
    assert_eq!(h.tx("UPDATE_491").reason().as_deref(), Some("not allowed in state PRACK"));
    assert_eq!(h.send_err(build::update(&inv).unwrap()).code(), "invalid-state");
    // E7: a 1xx to a PRACK is refused.
    let prack = h.dmsg("PRACK");
    assert_eq!(h.send_err(resp(&prack, 180)).code(), "invalid-state");
    // A PRACK in a confirmed state → 481.
    h.answer(&prack, 200);
    h.answer(&inv, 200);
    h.recv("alice", peer(Method::Prack, "d1", 7));
    assert_eq!(h.take(), lines(&["tx alice PRACK_200", "tx alice INVITE_200", "tx alice PRACK_481"]));
}

#[test]
fn cancelled_uac_answers_peer_prack_and_update_with_487_and_hides_answers() {
    let mut h = Harness::scaled();
    let inv = h.uac_ringing("d1");
    h.send_ok(slp(Method::Prack, "bob", "d1", 0));
    let prack = h.tx("PRACK");
    h.recv("bob", resp(&prack, 200));
    h.send_ok(build::cancel(&inv).unwrap());
    // E6.
    h.recv("bob", request(Method::Update, "svc", "bob", "svc", "d1", 50));
    assert_eq!(h.take(), lines(&["tx bob PRACK", "deliver PRACK_200", "tx bob CANCEL", "tx bob UPDATE_487"]));
    assert_eq!(h.tx("UPDATE_487").reason().as_deref(), Some("cancelled"));
    // E9: a pending PRACK's answer after the cancel is not delivered.
    let mut h = Harness::scaled();
    let inv = h.uac_ringing("d1");
    h.send_ok(slp(Method::Prack, "bob", "d1", 0));
    let prack = h.tx("PRACK");
    h.send_err(slp(Method::Update, "bob", "d1", 0));
    h.send_ok(build::cancel(&inv).unwrap());
    h.recv("bob", resp(&prack, 200));
    assert_eq!(h.take(), lines(&["tx bob PRACK", "tx bob CANCEL"]));
    assert_eq!(h.state("d1"), "18X");
}

// ============================================================ re-INVITE, ACK, INFO

#[test]
fn reinvite_refusals() {
    let mut h = Harness::scaled();
    // G2: early.
    h.uas_ringing("d1", 1);
    h.recv("alice", peer(Method::Invite, "d1", 2));
    assert_eq!(h.take(), lines(&["tx alice INVITE_491"]));
    assert_eq!(h.tx("INVITE_491").reason().as_deref(), Some("not allowed in state 18X"));
    h.uac_ringing("d2");
    assert_eq!(h.send_err(slp(Method::Invite, "bob", "d2", 0)).detail(), "INVITE not allowed in 18X");
    // G2: REINV and RE200.
    h.uas_confirmed("d3", 1, true);
    h.recv("alice", peer(Method::Invite, "d3", 2));
    h.recv("alice", peer(Method::Invite, "d3", 3));
    let reinv = h.dmsg("INVITE");
    h.answer(&reinv, 200);
    h.recv("alice", peer(Method::Invite, "d3", 4));
    assert_eq!(
        h.take(),
        lines(&["deliver INVITE", "tx alice INVITE_491", "tx alice INVITE_200", "tx alice INVITE_491"])
    );
    assert_eq!(h.send_err(slp(Method::Invite, "alice", "d3", 0)).detail(), "INVITE not allowed in RE200");
    // G3: ERR.
    let inv = h.uas_invite("d4", 1);
    h.answer(&inv, 486);
    h.recv("alice", peer(Method::Invite, "d4", 2));
    assert_eq!(h.take(), lines(&["tx alice INVITE_486", "tx alice INVITE_481"]));
    assert_eq!(h.tx("INVITE_481").reason().as_deref(), Some("not allowed in state ERR"));
}

#[test]
fn reinvite_answers_a11_a13_a14() {
    let mut h = Harness::scaled();
    // A13: an error in to the SLP's re-INVITE → ACK, delivered, back to ACK.
    h.uac_confirmed("d1", true);
    h.send_ok(slp(Method::Invite, "bob", "d1", 0));
    let reinv = h.tx("INVITE");
    h.recv("bob", resp(&reinv, 180)); // A11: dropped
    h.recv("bob", resp(&reinv, 488));
    assert_eq!(
        h.take(),
        lines(&["tx bob INVITE", "drop state_rejected", "tx bob ACK", "deliver INVITE_488"])
    );
    assert_eq!(h.state("d1"), "ACK");
    assert_eq!(h.tx("ACK").related_id, Some(reinv.cseq));
    // A14: an error out to the peer's re-INVITE → RE200; the peer's ACK → ACK.
    h.uas_confirmed("d2", 1, true);
    h.recv("alice", peer(Method::Invite, "d2", 2));
    let r = h.dmsg("INVITE");
    h.answer(&r, 488);
    assert_eq!(h.state("d2"), "RE200");
    h.recv("alice", peer_ack("d2", 3, Some(2)));
    assert_eq!(h.take(), lines(&["deliver INVITE", "tx alice INVITE_488", "deliver ACK"]));
    assert_eq!(h.state("d2"), "ACK");
}

#[test]
fn ack_refusals() {
    let mut h = Harness::scaled();
    // 18X rejects ACK.
    h.uas_ringing("d1", 1);
    h.recv("alice", peer_ack("d1", 2, None));
    assert_eq!(h.take(), lines(&["drop state_rejected"]));
    // Wrong RelatedID, wrong direction.
    h.uas_confirmed("d2", 1, false);
    h.recv("alice", peer_ack("d2", 2, Some(9)));
    assert_eq!(h.take(), lines(&["drop state_rejected"]));
    let ok = resp(&peer(Method::Invite, "d2", 1), 200);
    let e = h.send_err(build::ack(&ok, Method::Invite).unwrap());
    assert_eq!(e.code(), "invalid-state", "the SLP cannot ACK the peer's INVITE");
    h.recv("alice", peer_ack("d2", 3, Some(1)));
    assert_eq!(h.take(), lines(&["deliver ACK"]));
    // ACK on ACK → dropped.
    h.recv("alice", peer_ack("d2", 4, Some(1)));
    assert_eq!(h.take(), lines(&["drop state_rejected"]));
    // ERR: an ACK with a wrong RelatedID is dropped; T-ack ends the dialogue.
    let inv = h.uas_invite("d3", 1);
    h.answer(&inv, 486);
    h.recv("alice", peer_ack("d3", 2, Some(5)));
    assert_eq!(h.take(), lines(&["tx alice INVITE_486", "drop state_rejected"]));
    assert_eq!(h.state("d3"), "ERR");
}

#[test]
fn info_in_a_dialogue_is_delivered_and_answered_without_state_change() {
    let mut h = Harness::scaled();
    h.uas_ringing("d1", 1);
    h.recv("alice", peer(Method::Info, "d1", 2));
    let info = h.dmsg("INFO");
    assert!(!h.delivered("INFO").first);
    h.answer(&info, 200);
    h.send_ok(slp(Method::Info, "alice", "d1", 0));
    let out = h.tx("INFO");
    h.recv("alice", resp(&out, 100));
    h.recv("alice", resp(&out, 603));
    assert_eq!(
        h.take(),
        lines(&[
            "deliver INFO",
            "tx alice INFO_200",
            "tx alice INFO",
            "deliver INFO_100",
            "deliver INFO_603"
        ])
    );
    assert_eq!(h.state("d1"), "18X");
}

// ============================================================ refresh

#[test]
fn uas_receiving_an_update_at_3s_is_not_torn_down_at_9s() {
    let mut h = Harness::scaled();
    h.uas_confirmed("d1", 1, true);
    h.advance(3_000);
    h.recv("alice", peer(Method::Update, "d1", 10));
    h.advance_to(11_999);
    assert_eq!(
        h.take_timed(),
        lines(&["@3000 tx alice UPDATE_200"]),
        "F1: answered, not delivered; no BYE at 9 s"
    );
    h.advance(10_000);
    let got = h.take_timed();
    assert_eq!(got, lines(&["@12000 tx alice BYE", "@12000 deliver BYE (stack)", "@12000 term d1 dialogue"]));
}

#[test]
fn uas_without_an_update_quits_at_9s() {
    let mut h = Harness::scaled();
    let inv = h.uas_confirmed("d1", 1, true);
    h.advance(9_500);
    assert_eq!(
        h.take_timed(),
        lines(&["@9000 tx alice BYE", "@9000 deliver BYE (stack)", "@9000 term d1 dialogue"])
    );
    let sent = h.tx("BYE");
    let got = h.dmsg("BYE");
    assert_eq!(sent, got, "§6.7: the SLP gets an identical copy of the quit BYE");
    assert_eq!(sent.reason().as_deref(), Some("session timer expired"));
    assert_eq!(
        (sent.request_uri.as_deref(), sent.from.as_str(), sent.to.as_str()),
        (inv.request_uri.as_deref(), "alice", "svc")
    );
    assert_ne!(sent.cseq, 0);
    // The peer's answer to the BYE is swallowed.
    h.recv("alice", resp(&sent, 200));
    assert_eq!(h.take(), Vec::<String>::new());
}

#[test]
fn uac_refreshes_at_3_and_6s_and_slp_bye_at_6s() {
    let mut h = Harness::scaled();
    let inv = h.uac_confirmed("d1", true);
    h.advance(3_000);
    let u1 = h.tx("UPDATE");
    assert_eq!(u1.expire, Some(9));
    assert_eq!((u1.request_uri.as_deref(), u1.from.as_str(), u1.to.as_str()), (Some("bob"), "svc", "bob"));
    assert_ne!(u1.cseq, inv.cseq);
    h.recv("bob", resp(&u1, 200));
    h.advance(3_000);
    let u2 = h.tx("UPDATE");
    assert_ne!(u1.cseq, u2.cseq);
    h.recv("bob", resp(&u2, 200));
    h.send_ok(slp(Method::Bye, "bob", "d1", 0));
    assert_eq!(
        h.take_timed(),
        lines(&["@3000 tx bob UPDATE", "@6000 tx bob UPDATE", "@6000 tx bob BYE", "@6000 term d1 dialogue"])
    );
}

#[test]
fn uac_unanswered_refreshes_at_3_6_9_then_bye_at_12() {
    let mut h = Harness::scaled();
    h.uac_confirmed("d1", true);
    h.advance(30_000);
    assert_eq!(
        h.take_timed(),
        lines(&[
            "@3000 tx bob UPDATE",
            "@6000 tx bob UPDATE",
            "@9000 tx bob UPDATE",
            "@12000 tx bob BYE",
            "@12000 deliver BYE (stack)",
            "@12000 term d1 dialogue",
        ])
    );
    assert_eq!(h.tx("BYE"), h.dmsg("BYE"));
}

#[test]
fn uac_refreshes_answered_with_errors_count_as_failed() {
    let mut h = Harness::scaled();
    h.uac_confirmed("d1", true);
    for _ in 0..3 {
        h.advance(3_000);
        let u = h.tx("UPDATE");
        h.recv("bob", resp(&u, 100));
        h.recv("bob", resp(&u, 500)); // F5
    }
    h.advance(3_000);
    assert_eq!(
        h.take_timed(),
        lines(&[
            "@3000 tx bob UPDATE",
            "@6000 tx bob UPDATE",
            "@9000 tx bob UPDATE",
            "@12000 tx bob BYE",
            "@12000 deliver BYE (stack)",
            "@12000 term d1 dialogue"
        ])
    );
}

#[test]
fn uac_one_answered_refresh_resets_the_failure_count() {
    let mut h = Harness::scaled();
    h.uac_confirmed("d1", true);
    h.advance(9_000); // UPDATEs at 3, 6, 9, none answered
    let u = h.tx("UPDATE");
    h.recv("bob", resp(&u, 200)); // F4
    h.advance(12_000);
    assert_eq!(
        h.take_timed(),
        lines(&[
            "@3000 tx bob UPDATE",
            "@6000 tx bob UPDATE",
            "@9000 tx bob UPDATE",
            "@12000 tx bob UPDATE",
            "@15000 tx bob UPDATE",
            "@18000 tx bob UPDATE",
            "@21000 tx bob BYE",
            "@21000 deliver BYE (stack)",
            "@21000 term d1 dialogue",
        ])
    );
}

#[test]
fn uac_receiving_a_peer_update_answers_200_without_delivery() {
    let mut h = Harness::scaled();
    h.uac_confirmed("d1", true);
    h.advance(1_000);
    h.recv("bob", request(Method::Update, "svc", "bob", "svc", "d1", 70));
    h.advance(2_000);
    assert_eq!(
        h.take_timed(),
        lines(&["@1000 tx bob UPDATE_200", "@3000 tx bob UPDATE"]),
        "F2: timers unchanged"
    );
    assert_eq!(h.send_err(slp(Method::Update, "bob", "d1", 0)).code(), "invalid-state", "F3");
}

#[test]
fn rearming_t_refresh_while_an_old_expiry_is_due_has_no_effect() {
    let mut h = Harness::scaled();
    h.uas_confirmed("d1", 1, true);
    // The UPDATE is processed at exactly 9 s, before the expiry due then.
    h.jump_to(9_000);
    h.recv("alice", peer(Method::Update, "d1", 10));
    h.advance(17_999 - 9_000);
    assert_eq!(h.take_timed(), lines(&["@9000 tx alice UPDATE_200"]));
    h.advance(1);
    assert_eq!(
        h.take_timed(),
        lines(&["@18000 tx alice BYE", "@18000 deliver BYE (stack)", "@18000 term d1 dialogue"])
    );
    // Several re-arms in a row: only the last one counts.
    let mut h = Harness::scaled();
    h.uas_confirmed("d1", 1, true);
    for (i, t) in [1_000u64, 2_000, 3_000].into_iter().enumerate() {
        h.advance_to(t);
        h.recv("alice", peer(Method::Update, "d1", 10 + i as u64));
    }
    h.advance_to(30_000);
    assert_eq!(
        h.take_timed(),
        lines(&[
            "@1000 tx alice UPDATE_200",
            "@2000 tx alice UPDATE_200",
            "@3000 tx alice UPDATE_200",
            "@12000 tx alice BYE",
            "@12000 deliver BYE (stack)",
            "@12000 term d1 dialogue",
        ])
    );
}

// ============================================================ §6.6 entering ERR or END

#[test]
fn entering_err_answers_pending_server_requests_with_487() {
    let mut h = Harness::scaled();
    let inv = h.uas_ringing("d1", 1);
    h.recv("alice", peer(Method::Prack, "d1", 2));
    h.recv("alice", peer(Method::Info, "d1", 3));
    h.recv("alice", peer_cancel("d1", 4, Some(1)));
    assert_eq!(
        h.take(),
        lines(&[
            "deliver PRACK",
            "deliver INFO",
            "tx alice CANCEL_200",
            "tx alice INVITE_487",
            "deliver CANCEL",
            "tx alice PRACK_487",
            "tx alice INFO_487",
        ])
    );
    for name in ["PRACK_487", "INFO_487"] {
        assert_eq!(h.tx(name).reason().as_deref(), Some("dialogue ended"));
    }
    let prack = h.dmsg("PRACK");
    assert_eq!(h.send_err(resp(&prack, 200)).code(), "no-transaction");
    let _ = inv;
    // Error final sent by the SLP while an UPDATE is pending.
    let mut h = Harness::scaled();
    let inv = h.uas_ringing("d1", 1);
    h.recv("alice", peer(Method::Update, "d1", 2));
    h.answer(&inv, 603);
    assert_eq!(h.take(), lines(&["deliver UPDATE", "tx alice INVITE_603", "tx alice UPDATE_487"]));
}

#[test]
fn entering_end_answers_pending_reinvite_and_info_with_487() {
    let mut h = Harness::scaled();
    h.uas_confirmed("d1", 1, true);
    h.recv("alice", peer(Method::Invite, "d1", 2));
    h.recv("alice", peer(Method::Info, "d1", 3));
    h.recv("alice", peer(Method::Bye, "d1", 4));
    assert_eq!(
        h.take(),
        lines(&[
            "deliver INVITE",
            "deliver INFO",
            "tx alice BYE_200",
            "deliver BYE",
            "tx alice INVITE_487",
            "tx alice INFO_487",
            "term d1 dialogue",
        ])
    );
    assert!(h.stack.is_idle());
}

#[test]
fn entering_end_completes_pending_client_requests_silently() {
    // UAC early: PRACK and INFO pending when a 486 arrives.
    let mut h = Harness::scaled();
    let inv = h.uac_ringing("d1");
    h.send_ok(slp(Method::Prack, "bob", "d1", 0));
    h.send_ok(slp(Method::Info, "bob", "d1", 0));
    let (prack, info) = (h.tx("PRACK"), h.tx("INFO"));
    h.recv("bob", resp(&inv, 486));
    assert_eq!(h.stack.transaction_count(Role::Client), 0);
    h.recv("bob", resp(&prack, 200));
    h.recv("bob", resp(&info, 200));
    h.advance(10_000);
    assert_eq!(
        h.take(),
        lines(&[
            "tx bob PRACK",
            "tx bob INFO",
            "tx bob ACK",
            "deliver INVITE_486",
            "term d1 dialogue",
            "drop no_transaction",
            "drop no_transaction",
        ])
    );
    // UAC confirmed: re-INVITE and INFO pending when the SLP sends BYE.
    let mut h = Harness::scaled();
    h.uac_confirmed("d1", true);
    h.send_ok(slp(Method::Invite, "bob", "d1", 0));
    h.send_ok(slp(Method::Info, "bob", "d1", 0));
    h.send_ok(slp(Method::Bye, "bob", "d1", 0));
    h.advance(10_000);
    assert_eq!(h.take(), lines(&["tx bob INVITE", "tx bob INFO", "tx bob BYE", "term d1 dialogue"]));
    assert!(h.stack.is_idle());
}

// ============================================================ endpoints of stack-generated requests

#[test]
fn uas_quit_bye_uses_the_dialogue_endpoint() {
    let mut h = Harness::scaled();
    // A session-less period on d1 from carol ends first.
    h.recv("carol", request(Method::Message, "svc", "carol", "svc", "d1", 1));
    let m = h.dmsg("MESSAGE");
    h.answer(&m, 200);
    assert_eq!(h.take(), lines(&["deliver MESSAGE", "tx carol MESSAGE_200", "term d1 transactions"]));
    // alice's INVITE names bob (connected) everywhere.
    h.recv("alice", request(Method::Invite, "bob", "bob", "bob", "d1", 2));
    let inv = h.dmsg("INVITE");
    h.answer(&inv, 200);
    // A session-less transaction from carol on the same DialogueID comes and goes.
    h.recv("carol", request(Method::Message, "svc", "carol", "svc", "d1", 3));
    let m = h.dmsg("MESSAGE");
    h.answer(&m, 200);
    // The SLP's own session-less request follows the dialogue's endpoint too.
    h.send_ok(slp(Method::Message, "carol", "d1", 0));
    let out = h.tx("MESSAGE");
    h.recv("alice", resp(&out, 200));
    h.advance(20_000);
    assert_eq!(
        h.take_timed(),
        lines(&[
            "@0 deliver INVITE",
            "@0 tx alice INVITE_200",
            "@0 deliver MESSAGE",
            "@0 tx carol MESSAGE_200",
            "@0 tx alice MESSAGE",
            "@0 deliver MESSAGE_200",
            "@9000 tx alice BYE",
            "@9000 deliver BYE (stack)",
            "@9000 term d1 dialogue",
        ])
    );
    assert_eq!(h.tx("BYE").request_uri.as_deref(), Some("bob"));
}

#[test]
fn uac_refresh_and_quit_use_the_dialogue_endpoint() {
    let mut h = Harness::scaled();
    // The INVITE is routed by its Router to bob; its Request-URI names carol.
    let mut inv = request(Method::Invite, "carol", "svc", "carol", "d1", 0);
    inv.router = Some("bob".into());
    h.send_ok(inv);
    let inv = h.tx("INVITE");
    h.recv("bob", resp(&inv, 200));
    let ok = h.dmsg("INVITE_200");
    h.send_ok(ack_for(&ok));
    // A session-less transaction on d1 to and from carol.
    h.recv("carol", request(Method::Message, "svc", "carol", "svc", "d1", 3));
    let m = h.dmsg("MESSAGE");
    h.answer(&m, 200);
    h.advance(20_000);
    assert_eq!(
        h.take_timed(),
        lines(&[
            "@0 tx bob INVITE",
            "@0 deliver INVITE_200",
            "@0 tx bob ACK",
            "@0 deliver MESSAGE",
            "@0 tx carol MESSAGE_200",
            "@3000 tx bob UPDATE",
            "@6000 tx bob UPDATE",
            "@9000 tx bob UPDATE",
            "@12000 tx bob BYE",
            "@12000 deliver BYE (stack)",
            "@12000 term d1 dialogue",
        ])
    );
    assert_eq!(h.tx("UPDATE").request_uri.as_deref(), Some("carol"));
}

#[test]
fn uac_cancel_on_timeout_uses_the_dialogue_endpoint() {
    let mut h = Harness::scaled();
    let mut inv = request(Method::Invite, "carol", "svc", "carol", "d1", 0);
    inv.router = Some("bob".into());
    h.send_ok(inv);
    h.advance(3_000);
    assert_eq!(
        h.take_timed(),
        lines(&["@0 tx bob INVITE", "@3000 tx bob CANCEL", "@3000 deliver INVITE_408 (stack)"])
    );
}

// ============================================================ more edges

#[test]
fn slp_bye_and_cancel_that_cannot_be_written_end_silently() {
    let mut h = Harness::scaled();
    h.uac_confirmed("d1", true);
    h.writes = Writes::Fail(Undeliv::Offline);
    h.send_ok(slp(Method::Bye, "bob", "d1", 0));
    assert_eq!(h.take(), lines(&["tx bob BYE", "term d1 dialogue"]));
    assert!(h.stack.is_idle());

    let mut h = Harness::scaled();
    let inv = h.uac_ringing("d1");
    h.writes = Writes::Fail(Undeliv::QueueFull);
    h.send_ok(build::cancel(&inv).unwrap());
    assert_eq!(h.take(), lines(&["tx bob CANCEL"]));
    assert_eq!(h.state("d1"), "18X");
}

#[test]
fn race_t_est_and_the_slp_final_answer() {
    // The SLP's 200 is processed first: T-est has no effect.
    let mut h = Harness::scaled();
    let inv = h.uas_ringing("d1", 1);
    h.jump_to(3_000);
    h.answer(&inv, 200);
    h.advance(1_000);
    assert_eq!(h.take_timed(), lines(&["@3000 tx alice INVITE_200"]));
    assert_eq!(h.state("d1"), "200");
    // T-est first: the 200 fails, the peer got exactly one final answer.
    let mut h = Harness::scaled();
    let inv = h.uas_ringing("d1", 1);
    h.advance(3_000);
    assert_eq!(h.send_err(resp(&inv, 200)).code(), "no-transaction");
    assert_eq!(h.take_timed(), lines(&["@3000 deliver CANCEL (stack)", "@3000 tx alice INVITE_408"]));
}

#[test]
fn race_t_est_and_the_peer_final_answer() {
    let mut h = Harness::scaled();
    let inv = h.uac_ringing("d1");
    h.jump_to(3_000);
    h.recv("bob", resp(&inv, 200));
    h.advance(1_000);
    assert_eq!(h.take_timed(), lines(&["@3000 deliver INVITE_200"]));
    assert_eq!(h.state("d1"), "200");
    let mut h = Harness::scaled();
    let inv = h.uac_ringing("d1");
    h.advance(3_000);
    h.recv("bob", resp(&inv, 200));
    assert_eq!(
        h.take_timed(),
        lines(&[
            "@3000 tx bob CANCEL",
            "@3000 deliver INVITE_408 (stack)",
            "@3000 tx bob ACK",
            "@3000 tx bob BYE",
            "@3000 term d1 dialogue"
        ])
    );
}

#[test]
fn slp_ack_and_cancel_get_their_related_id_and_responses_their_from_to() {
    let mut h = Harness::scaled();
    let inv = h.uac_confirmed("d1", false);
    let ok = h.dmsg("INVITE_200");
    let mut ack = ack_for(&ok);
    ack.related_id = None;
    h.send_ok(ack);
    assert_eq!(h.tx("ACK").related_id, Some(inv.cseq));
    h.take();
    let req = h.uas_invite("d2", 4);
    let mut r = resp(&req, 180);
    r.from.clear();
    r.to.clear();
    h.send_ok(r);
    let sent = h.tx("INVITE_180");
    assert_eq!((sent.from.as_str(), sent.to.as_str()), ("alice", "svc"));
}

#[test]
fn a_retransmitted_invite_is_dropped() {
    let mut h = Harness::scaled();
    h.uas_invite("d1", 1);
    h.recv("alice", peer(Method::Invite, "d1", 1));
    assert_eq!(h.take(), lines(&["drop duplicate"]));
    assert_eq!(h.state("d1"), "INIT");
}

#[test]
fn info_in_err_follows_row_f6() {
    // F6 reads "any except END", so ERR forwards INFO; §18.7's summary "ERR
    // accepts only ACK" disagrees. The table is followed (reported as ambiguous).
    let mut h = Harness::scaled();
    let inv = h.uas_invite("d1", 1);
    h.answer(&inv, 486);
    h.recv("alice", peer(Method::Info, "d1", 2));
    let info = h.dmsg("INFO");
    h.answer(&info, 200);
    assert_eq!(h.take(), lines(&["tx alice INVITE_486", "deliver INFO", "tx alice INFO_200"]));
    assert_eq!(h.state("d1"), "ERR");
}

// ============================================================ counts for the host's gauges

#[test]
fn counts_follow_dialogue_states_and_transactions() {
    use jsip::session::State;
    let mut h = Harness::scaled();
    assert_eq!(h.stack.counts(), jsip::stack::Counts::default());
    let inv = h.uas_invite("d1", 1);
    let c = h.stack.counts();
    assert_eq!(c.dialogues[State::Init as usize], 1);
    assert_eq!((c.server, c.client), (1, 0));
    assert_eq!(c.server as usize, h.stack.transaction_count(Role::Server));
    h.answer(&inv, 180);
    assert_eq!(h.stack.counts().dialogues[State::Ringing as usize], 1);
    assert_eq!(h.stack.counts().dialogues[State::Init as usize], 0);
    h.take();
    let uac = h.uac_invite("d2");
    let c = h.stack.counts();
    assert_eq!(c.dialogues.iter().sum::<u32>(), 2);
    assert_eq!((c.server, c.client), (1, 1));
    h.answer(&inv, 486);
    h.recv("bob", resp(&uac, 486));
    h.recv("alice", peer_ack("d1", 2, Some(1)));
    assert!(h.stack.is_idle());
    assert_eq!(h.stack.counts(), jsip::stack::Counts::default());
}
