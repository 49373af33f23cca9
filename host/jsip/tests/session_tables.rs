//! The dialogue state machine against the spec's transition tables (§6.5,
//! tables A–H; §18.7 checklist), one test per row, on both sides where the
//! row applies, plus sweeps that pin the "any combination not listed is
//! rejected" rule to an explicit acceptance table.
//!
//! Conventions used below:
//! * `I` is the direction of the initial INVITE (UAS: in, UAC: out); `R` is
//!   the direction of the latest INVITE (`Machine::latest_dir`).
//! * The initial INVITE has CSeq [`INV`]; a re-INVITE has CSeq [`RE`].
//! * A refused received response or ACK is dropped whatever the refusal
//!   code, and an SLP send refused with `Reject(_)` fails `invalid-state`
//!   whatever the code; the code only matters for received requests (481/491).

use jsip::Method;
use jsip::session::{
    Action, Dir, Machine, Refusal, Side, State, Step, Timer, on_orphaned, on_request, on_response, on_timer,
};

use Action::*;
use Dir::{In, Out};
use Side::{Uac, Uas};

/// CSeq of the initial INVITE.
const INV: u64 = 10;
/// CSeq of a re-INVITE.
const RE: u64 = 20;
/// CSeq of any other request (irrelevant to the machine except for INVITE).
const OTHER: u64 = 30;

const EARLY: [State; 4] = [State::Init, State::Ringing, State::Prack, State::Update];
const CONFIRMED: [State; 4] = [State::Answered, State::Acked, State::Reinvite, State::Reanswered];
const SIDES: [Side; 2] = [Uas, Uac];
const DIRS: [Dir; 2] = [In, Out];

// ------------------------------------------------------------------ helpers

/// `I`: the direction of the initial INVITE.
fn i_dir(side: Side) -> Dir {
    match side {
        Uas => In,
        Uac => Out,
    }
}

fn opp(dir: Dir) -> Dir {
    match dir {
        In => Out,
        Out => In,
    }
}

/// A dialogue created by an initial INVITE with CSeq [`INV`], put in `state`.
fn dialogue(side: Side, state: State) -> Machine {
    let m = Machine::new(side, INV);
    assert_eq!(
        (m.latest_dir, m.latest_cseq, m.cancelled, m.reported, m.failures),
        (i_dir(side), INV, false, false, 0)
    );
    Machine { state, ..m }
}

/// A dialogue after a re-INVITE with CSeq [`RE`] in direction `r`, put in `state`.
fn after_reinvite(side: Side, state: State, r: Dir) -> Machine {
    Machine { latest_dir: r, latest_cseq: RE, ..dialogue(side, state) }
}

/// A UAC dialogue with the given flags.
fn uac(state: State, cancelled: bool, reported: bool) -> Machine {
    Machine { cancelled, reported, ..dialogue(Uac, state) }
}

/// The UAC flag combinations that can exist in an early state: nothing, an SLP
/// CANCEL (B5), and an establishment timeout (H2 sets both).
const UAC_FLAGS: [(bool, bool); 3] = [(false, false), (true, false), (true, true)];

/// Both sides; on the UAC side every reachable flag combination.
fn every_flavour(state: State) -> Vec<Machine> {
    let mut all = vec![dialogue(Uas, state)];
    all.extend(UAC_FLAGS.iter().map(|&(c, r)| uac(state, c, r)));
    all
}

#[track_caller]
fn expect(result: Result<Step, Refusal>, next: Machine, actions: &[Action], ctx: impl std::fmt::Debug) {
    match result {
        Ok(step) => {
            assert_eq!(step.next, next, "next machine, {ctx:?}");
            assert_eq!(step.actions.as_slice(), actions, "actions, {ctx:?}");
        }
        Err(refusal) => panic!("{ctx:?}: refused with {refusal:?}, expected a step"),
    }
}

#[track_caller]
fn refused(result: Result<Step, Refusal>, refusal: Refusal, ctx: impl std::fmt::Debug) {
    match result {
        Ok(step) => panic!("{ctx:?}: accepted ({step:?}), expected {refusal:?}"),
        Err(r) => assert_eq!(r, refusal, "{ctx:?}"),
    }
}

/// A received response or ACK: any refusal means "dropped"; an SLP-sent
/// response: any `Reject` means `invalid-state`.
#[track_caller]
fn dropped(result: Result<Step, Refusal>, ctx: impl std::fmt::Debug) {
    if let Ok(step) = result {
        panic!("{ctx:?}: accepted ({step:?}), expected a refusal");
    }
}

#[track_caller]
fn expect_timer(step: Step, next: Machine, actions: &[Action], ctx: impl std::fmt::Debug) {
    assert_eq!(step.next, next, "next machine, {ctx:?}");
    assert_eq!(step.actions.as_slice(), actions, "actions, {ctx:?}");
}

const REJECT_481: Refusal = Refusal::Reject(481);
const REJECT_491: Refusal = Refusal::Reject(491);

const PROVISIONAL: [u16; 4] = [101, 180, 183, 199];
const SUCCESS: [u16; 3] = [200, 202, 299];
const ERRORS: [u16; 8] = [300, 404, 408, 486, 487, 500, 603, 699];
const FINALS: [u16; 7] = [200, 202, 300, 408, 486, 500, 603];

// ------------------------------------------------------------------ table A

#[test]
fn a1_uac_100_in_early_not_delivered_same_state() {
    for s in EARLY {
        for (c, r) in UAC_FLAGS {
            let m = uac(s, c, r);
            expect(on_response(m, In, Method::Invite, 100, false), m, &[], (s, c, r));
        }
    }
}

#[test]
fn a2_uas_100_out_early_accepted_not_transmitted() {
    for s in EARLY {
        let m = dialogue(Uas, s);
        expect(on_response(m, Out, Method::Invite, 100, false), m, &[], s);
    }
}

#[test]
fn a3_uac_1xx_in_not_cancelled_delivered_init_to_18x() {
    for s in EARLY {
        for code in PROVISIONAL {
            let m = dialogue(Uac, s);
            let next = if s == State::Init { State::Ringing } else { s };
            expect(
                on_response(m, In, Method::Invite, code, false),
                Machine { state: next, ..m },
                &[Forward],
                (s, code),
            );
        }
    }
}

#[test]
fn a4_uac_1xx_in_cancelled_not_delivered_same_state() {
    for s in EARLY {
        for code in PROVISIONAL {
            for reported in [false, true] {
                let m = uac(s, true, reported);
                expect(on_response(m, In, Method::Invite, code, false), m, &[], (s, code, reported));
            }
        }
    }
}

#[test]
fn a5_uas_1xx_out_transmitted_init_to_18x() {
    for s in EARLY {
        for code in PROVISIONAL {
            let m = dialogue(Uas, s);
            let next = if s == State::Init { State::Ringing } else { s };
            expect(
                on_response(m, Out, Method::Invite, code, false),
                Machine { state: next, ..m },
                &[Forward],
                (s, code),
            );
        }
    }
}

#[test]
fn a6_uac_2xx_in_not_cancelled_delivered_arms_refresh() {
    // Every early state, PRACK and UPDATE included (§18.7 "PRACK state accepts
    // an INVITE 200"), and any 2xx (202 behaves like 200).
    for s in EARLY {
        for code in SUCCESS {
            let m = Machine { failures: 2, ..dialogue(Uac, s) };
            expect(
                on_response(m, In, Method::Invite, code, false),
                Machine { state: State::Answered, failures: 0, ..m },
                &[Forward, Stop(Timer::Establish), Arm(Timer::Refresh)],
                (s, code),
            );
        }
    }
}

#[test]
fn a7_uac_2xx_after_cancel_acks_byes_and_reports_487() {
    for s in EARLY {
        for code in SUCCESS {
            // Cancelled by the SLP: not reported yet → synthetic INVITE_487.
            let m = uac(s, true, false);
            expect(
                on_response(m, In, Method::Invite, code, false),
                Machine { state: State::End, reported: true, ..m },
                &[SendAck, SendBye("cancelled"), DeliverInviteAnswer(487, "cancelled")],
                (s, code, "not reported"),
            );
            // After an establishment timeout (H2): already reported → nothing delivered.
            let m = uac(s, true, true);
            expect(
                on_response(m, In, Method::Invite, code, false),
                Machine { state: State::End, ..m },
                &[SendAck, SendBye("cancelled")],
                (s, code, "reported"),
            );
        }
    }
}

#[test]
fn a8_uas_2xx_out_transmitted_arms_refresh() {
    for s in EARLY {
        for code in SUCCESS {
            let m = dialogue(Uas, s);
            expect(
                on_response(m, Out, Method::Invite, code, false),
                Machine { state: State::Answered, ..m },
                &[Forward, Stop(Timer::Establish), Arm(Timer::Refresh)],
                (s, code),
            );
        }
    }
}

#[test]
fn a9_uac_error_in_acked_and_delivered_unless_reported() {
    for s in EARLY {
        for code in ERRORS {
            for (c, r) in UAC_FLAGS {
                let m = uac(s, c, r);
                let actions: &[Action] = if r { &[SendAck] } else { &[SendAck, Forward] };
                expect(
                    on_response(m, In, Method::Invite, code, false),
                    Machine { state: State::End, reported: true, ..m },
                    actions,
                    (s, code, c, r),
                );
            }
        }
    }
}

#[test]
fn a10_uas_error_out_transmitted_arms_ack_wait() {
    for s in EARLY {
        for code in ERRORS {
            let m = dialogue(Uas, s);
            expect(
                on_response(m, Out, Method::Invite, code, false),
                Machine { state: State::Error, ..m },
                &[Forward, Stop(Timer::Establish), Arm(Timer::Ack)],
                (s, code),
            );
        }
    }
}

#[test]
fn a11_reinv_1xx_rejected_both_directions() {
    for side in SIDES {
        for r in DIRS {
            let m = after_reinvite(side, State::Reinvite, r);
            for code in [100, 180, 199] {
                // The answer goes the other way from the re-INVITE.
                dropped(on_response(m, opp(r), Method::Invite, code, false), (side, r, code));
            }
        }
    }
}

#[test]
fn a12_reinv_2xx_forwarded_to_re200() {
    for side in SIDES {
        for r in DIRS {
            let m = after_reinvite(side, State::Reinvite, r);
            for code in SUCCESS {
                expect(
                    on_response(m, opp(r), Method::Invite, code, false),
                    Machine { state: State::Reanswered, ..m },
                    &[Forward],
                    (side, r, code),
                );
            }
        }
    }
}

#[test]
fn a13_reinv_error_in_acked_delivered_back_to_ack() {
    for side in SIDES {
        // The SLP sent the re-INVITE; the peer answers with an error.
        let m = after_reinvite(side, State::Reinvite, Out);
        for code in ERRORS {
            expect(
                on_response(m, In, Method::Invite, code, false),
                Machine { state: State::Acked, ..m },
                &[SendAck, Forward],
                (side, code),
            );
        }
    }
}

#[test]
fn a14_reinv_error_out_transmitted_to_re200() {
    for side in SIDES {
        // The peer sent the re-INVITE; the SLP answers with an error.
        let m = after_reinvite(side, State::Reinvite, In);
        for code in ERRORS {
            expect(
                on_response(m, Out, Method::Invite, code, false),
                Machine { state: State::Reanswered, ..m },
                &[Forward],
                (side, code),
            );
        }
    }
}

// ------------------------------------------------------------------ table B

const WRONG_RELATED: [u64; 2] = [INV + 1, INV - 1];

#[test]
fn b1_uas_cancel_in_early_answers_200_then_487_and_delivers() {
    for s in EARLY {
        for related in [None, Some(INV)] {
            let m = dialogue(Uas, s);
            expect(
                on_request(m, In, Method::Cancel, related, OTHER),
                Machine { state: State::Error, ..m },
                &[
                    Answer(200, None),
                    AnswerInvite(487, "cancelled"),
                    Forward,
                    Stop(Timer::Establish),
                    Arm(Timer::Ack),
                ],
                (s, related),
            );
        }
    }
}

#[test]
fn b2_uas_cancel_in_wrong_related_id_answers_481_only() {
    for s in State::ALL {
        for related in WRONG_RELATED {
            let m = dialogue(Uas, s);
            expect(
                on_request(m, In, Method::Cancel, Some(related), OTHER),
                m,
                &[Answer(481, Some("no matching INVITE"))],
                (s, related),
            );
        }
    }
}

#[test]
fn b3_uas_cancel_in_after_final_answers_200_only() {
    for s in CONFIRMED.into_iter().chain([State::Error]) {
        for related in [None, Some(INV)] {
            let m = dialogue(Uas, s);
            expect(on_request(m, In, Method::Cancel, related, OTHER), m, &[Answer(200, None)], (s, related));
        }
    }
}

#[test]
fn b4_uac_cancel_in_from_callee_answers_481() {
    // B2 is UAS-only, so a UAC gets B4's plain 481 whatever the RelatedID.
    for s in State::ALL {
        for (c, r) in UAC_FLAGS {
            for related in [None, Some(INV), Some(INV + 1)] {
                refused(
                    on_request(uac(s, c, r), In, Method::Cancel, related, OTHER),
                    REJECT_481,
                    (s, c, r, related),
                );
            }
        }
    }
}

#[test]
fn b5_uac_cancel_out_early_transmitted_sets_cancelled() {
    for s in EARLY {
        for related in [None, Some(INV)] {
            let m = dialogue(Uac, s);
            expect(
                on_request(m, Out, Method::Cancel, related, OTHER),
                Machine { cancelled: true, ..m },
                &[Forward],
                (s, related),
            );
        }
    }
}

#[test]
fn b6_uac_cancel_out_already_cancelled_invalid_state() {
    // B6 precedes B9: a wrong RelatedID on a second CANCEL is still invalid-state.
    for s in EARLY {
        for reported in [false, true] {
            for related in [None, Some(INV), Some(INV + 1)] {
                refused(
                    on_request(uac(s, true, reported), Out, Method::Cancel, related, OTHER),
                    REJECT_481,
                    (s, reported, related),
                );
            }
        }
    }
}

#[test]
fn b7_cancel_out_confirmed_or_err_invalid_state() {
    // B7 precedes B9.
    for side in SIDES {
        for s in CONFIRMED.into_iter().chain([State::Error]) {
            for related in [None, Some(INV), Some(INV + 1)] {
                refused(
                    on_request(dialogue(side, s), Out, Method::Cancel, related, OTHER),
                    REJECT_481,
                    (side, s, related),
                );
            }
        }
    }
}

#[test]
fn b8_uas_cancel_out_invalid_state() {
    // B8 precedes B9.
    for s in State::ALL {
        for related in [None, Some(INV), Some(INV + 1)] {
            refused(
                on_request(dialogue(Uas, s), Out, Method::Cancel, related, OTHER),
                REJECT_481,
                (s, related),
            );
        }
    }
}

#[test]
fn b9_uac_cancel_out_wrong_related_id_bad_related_id() {
    for s in EARLY {
        for related in WRONG_RELATED {
            refused(
                on_request(dialogue(Uac, s), Out, Method::Cancel, Some(related), OTHER),
                Refusal::BadRelatedId,
                (s, related),
            );
        }
    }
}

// ------------------------------------------------------------------ table C

#[test]
fn c1_ack_in_direction_r_confirms_200_and_re200() {
    for side in SIDES {
        // 200: R is the initial INVITE's direction and its CSeq.
        for related in [None, Some(INV)] {
            let m = dialogue(side, State::Answered);
            expect(
                on_request(m, i_dir(side), Method::Ack, related, OTHER),
                Machine { state: State::Acked, ..m },
                &[Forward],
                (side, "200", related),
            );
        }
        // RE200: R and the CSeq are the re-INVITE's, whichever way it went.
        for r in DIRS {
            for related in [None, Some(RE)] {
                let m = after_reinvite(side, State::Reanswered, r);
                expect(
                    on_request(m, r, Method::Ack, related, OTHER),
                    Machine { state: State::Acked, ..m },
                    &[Forward],
                    (side, "RE200", r, related),
                );
            }
        }
    }
}

#[test]
fn c2_uas_ack_in_err_swallowed_ends() {
    for related in [None, Some(INV)] {
        let m = dialogue(Uas, State::Error);
        expect(
            on_request(m, In, Method::Ack, related, OTHER),
            Machine { state: State::End, ..m },
            &[Stop(Timer::Ack)],
            related,
        );
    }
}

#[test]
fn c3_ack_other_state_wrong_direction_or_related_id_rejected() {
    for side in SIDES {
        // Any other state.
        for s in [
            State::Init,
            State::Ringing,
            State::Prack,
            State::Update,
            State::Acked,
            State::Reinvite,
            State::End,
        ] {
            for dir in DIRS {
                for related in [None, Some(INV)] {
                    refused(
                        on_request(dialogue(side, s), dir, Method::Ack, related, OTHER),
                        REJECT_481,
                        (side, s, dir, related),
                    );
                }
            }
        }
        // Wrong direction.
        refused(
            on_request(dialogue(side, State::Answered), opp(i_dir(side)), Method::Ack, None, OTHER),
            REJECT_481,
            (side, "200"),
        );
        for r in DIRS {
            refused(
                on_request(after_reinvite(side, State::Reanswered, r), opp(r), Method::Ack, None, OTHER),
                REJECT_481,
                (side, "RE200", r),
            );
        }
        // Wrong RelatedID: out → bad-related-id; in → dropped.
        let wrong = |m: Machine, dir: Dir, related: u64| {
            let result = on_request(m, dir, Method::Ack, Some(related), OTHER);
            match dir {
                Out => refused(result, Refusal::BadRelatedId, (side, m.state, related)),
                In => dropped(result, (side, m.state, related)),
            }
        };
        wrong(dialogue(side, State::Answered), i_dir(side), INV + 1);
        for r in DIRS {
            // The initial INVITE's CSeq is not the latest INVITE's.
            wrong(after_reinvite(side, State::Reanswered, r), r, INV);
            wrong(after_reinvite(side, State::Reanswered, r), r, RE + 1);
        }
    }
    // ERR: only a UAS ACK in, with the INVITE's CSeq.
    dropped(
        on_request(dialogue(Uas, State::Error), In, Method::Ack, Some(INV + 1), OTHER),
        "ERR wrong related",
    );
    refused(on_request(dialogue(Uas, State::Error), Out, Method::Ack, None, OTHER), REJECT_481, "ERR out");
    for dir in DIRS {
        refused(
            on_request(dialogue(Uac, State::Error), dir, Method::Ack, None, OTHER),
            REJECT_481,
            ("UAC ERR", dir),
        );
    }
}

// ------------------------------------------------------------------ table D

#[test]
fn d1_bye_in_confirmed_answers_200_delivers_ends() {
    for side in SIDES {
        for s in CONFIRMED {
            let m = dialogue(side, s);
            expect(
                on_request(m, In, Method::Bye, None, OTHER),
                Machine { state: State::End, ..m },
                &[Answer(200, None), Forward],
                (side, s),
            );
        }
    }
}

#[test]
fn d2_bye_out_confirmed_transmitted_ends() {
    for side in SIDES {
        for s in CONFIRMED {
            let m = dialogue(side, s);
            expect(
                on_request(m, Out, Method::Bye, None, OTHER),
                Machine { state: State::End, ..m },
                &[Forward],
                (side, s),
            );
        }
    }
}

#[test]
fn d3_uas_bye_in_early_answers_200_then_487_delivers_err() {
    for s in EARLY {
        let m = dialogue(Uas, s);
        expect(
            on_request(m, In, Method::Bye, None, OTHER),
            Machine { state: State::Error, ..m },
            &[
                Answer(200, None),
                AnswerInvite(487, "cancelled"),
                Forward,
                Stop(Timer::Establish),
                Arm(Timer::Ack),
            ],
            s,
        );
    }
}

#[test]
fn d4_uac_bye_in_early_answers_481() {
    for s in EARLY {
        for (c, r) in UAC_FLAGS {
            refused(on_request(uac(s, c, r), In, Method::Bye, None, OTHER), REJECT_481, (s, c, r));
        }
    }
}

#[test]
fn d5_bye_out_early_or_err_invalid_state() {
    for s in EARLY.into_iter().chain([State::Error]) {
        for m in every_flavour(s) {
            refused(on_request(m, Out, Method::Bye, None, OTHER), REJECT_481, m);
        }
    }
}

#[test]
fn d6_bye_in_err_answers_481() {
    for side in SIDES {
        refused(on_request(dialogue(side, State::Error), In, Method::Bye, None, OTHER), REJECT_481, side);
    }
}

// ------------------------------------------------------------------ table E

const EARLY_REQUESTS: [Method; 2] = [Method::Prack, Method::Update];

#[test]
fn e1_prack_in_direction_i_in_18x_to_prack() {
    for side in SIDES {
        let m = dialogue(side, State::Ringing);
        expect(
            on_request(m, i_dir(side), Method::Prack, None, OTHER),
            Machine { state: State::Prack, ..m },
            &[Forward],
            side,
        );
    }
}

#[test]
fn e2_prack_against_direction_i_in_18x_answers_481() {
    for m in every_flavour(State::Ringing) {
        refused(on_request(m, opp(i_dir(m.side)), Method::Prack, None, OTHER), REJECT_481, m);
    }
}

#[test]
fn e3_prack_or_update_in_init_answers_481() {
    for m in every_flavour(State::Init) {
        for method in EARLY_REQUESTS {
            for dir in DIRS {
                refused(on_request(m, dir, method, None, OTHER), REJECT_481, (m, method, dir));
            }
        }
    }
}

#[test]
fn e4_prack_or_update_while_one_pending_answers_491() {
    for s in [State::Prack, State::Update] {
        for m in every_flavour(s) {
            for method in EARLY_REQUESTS {
                for dir in DIRS {
                    refused(on_request(m, dir, method, None, OTHER), REJECT_491, (m, method, dir));
                }
            }
        }
    }
}

#[test]
fn e5_update_either_direction_in_18x_to_update() {
    for side in SIDES {
        for dir in DIRS {
            let m = dialogue(side, State::Ringing);
            expect(
                on_request(m, dir, Method::Update, None, OTHER),
                Machine { state: State::Update, ..m },
                &[Forward],
                (side, dir),
            );
        }
    }
}

#[test]
fn e6_uac_cancelled_early_request_in_answers_487() {
    // First matching row wins: E2 (PRACK against I in 18X), E3 (INIT) and E4
    // (PRACK/UPDATE pending) come before E6, so E6 is left with an UPDATE
    // received in 18X after the UAC cancelled.
    for reported in [false, true] {
        let m = uac(State::Ringing, true, reported);
        expect(
            on_request(m, In, Method::Update, None, OTHER),
            m,
            &[Answer(487, Some("cancelled"))],
            reported,
        );
        // Shadowed by earlier rows.
        refused(on_request(m, In, Method::Prack, None, OTHER), REJECT_481, ("E2", reported));
        for method in EARLY_REQUESTS {
            refused(
                on_request(uac(State::Init, true, reported), In, method, None, OTHER),
                REJECT_481,
                ("E3", method),
            );
            for s in [State::Prack, State::Update] {
                refused(
                    on_request(uac(s, true, reported), In, method, None, OTHER),
                    REJECT_491,
                    ("E4", s, method),
                );
            }
            // Outgoing after the CANCEL: E1/E5 need "not cancelled", E6 is "in" only → not listed.
            refused(on_request(m, Out, method, None, OTHER), REJECT_481, ("unlisted out", method));
        }
    }
}

#[test]
fn e7_1xx_to_prack_or_update_rejected() {
    for s in State::ALL {
        for m in every_flavour(s) {
            for method in EARLY_REQUESTS {
                for dir in DIRS {
                    for code in [100, 180, 199] {
                        dropped(on_response(m, dir, method, code, false), (m, method, dir, code));
                    }
                }
            }
        }
    }
}

/// The state after a final answer to `method`: E8's PRACK→18X / UPDATE→18X.
fn after_early_final(method: Method, s: State) -> State {
    match (method, s) {
        (Method::Prack, State::Prack) | (Method::Update, State::Update) => State::Ringing,
        _ => s,
    }
}

#[test]
fn e8_final_to_prack_or_update_forwarded_back_to_18x() {
    // "any" state: a PRACK/UPDATE pending when the INVITE got its final answer
    // is still answered through E8 (notes on table A). END is excluded: the
    // dialogue is gone and §6.6 completed every pending transaction.
    for s in State::ALL.into_iter().filter(|&s| s != State::End) {
        for side in SIDES {
            let m = dialogue(side, s);
            for method in EARLY_REQUESTS {
                for dir in DIRS {
                    for code in FINALS {
                        expect(
                            on_response(m, dir, method, code, false),
                            Machine { state: after_early_final(method, s), ..m },
                            &[Forward],
                            (side, s, method, dir, code),
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn e9_uac_cancelled_final_in_not_delivered_back_to_18x() {
    for s in EARLY {
        for reported in [false, true] {
            let m = uac(s, true, reported);
            for method in EARLY_REQUESTS {
                for code in FINALS {
                    expect(
                        on_response(m, In, method, code, false),
                        Machine { state: after_early_final(method, s), ..m },
                        &[],
                        (s, reported, method, code),
                    );
                    // Out: E8 needs "not (UAC and cancelled)" and E9 is "in" only → not listed.
                    dropped(on_response(m, Out, method, code, false), (s, reported, method, code, "out"));
                }
            }
        }
    }
}

// ------------------------------------------------------------------ table F

#[test]
fn f1_uas_update_in_confirmed_answers_200_rearms_refresh() {
    for s in CONFIRMED {
        let m = dialogue(Uas, s);
        expect(
            on_request(m, In, Method::Update, None, OTHER),
            m,
            &[Answer(200, None), Arm(Timer::Refresh)],
            s,
        );
    }
}

#[test]
fn f2_uac_update_in_confirmed_answers_200_timers_unchanged() {
    for s in CONFIRMED {
        let m = Machine { failures: 2, ..dialogue(Uac, s) };
        expect(on_request(m, In, Method::Update, None, OTHER), m, &[Answer(200, None)], s);
    }
}

#[test]
fn f3_update_out_confirmed_invalid_state() {
    for side in SIDES {
        for s in CONFIRMED {
            refused(on_request(dialogue(side, s), Out, Method::Update, None, OTHER), REJECT_481, (side, s));
        }
    }
}

#[test]
fn f4_uac_2xx_to_refresh_resets_failures_not_delivered() {
    for s in CONFIRMED {
        for failures in 0..=3 {
            for code in SUCCESS {
                let m = Machine { failures, ..dialogue(Uac, s) };
                expect(
                    on_response(m, In, Method::Update, code, true),
                    Machine { failures: 0, ..m },
                    &[],
                    (s, failures, code),
                );
            }
        }
    }
}

#[test]
fn f5_uac_non_2xx_to_refresh_ignored_not_delivered() {
    for s in CONFIRMED {
        for code in [100, 180, 408, 481, 486, 500, 603] {
            let m = Machine { failures: 2, ..dialogue(Uac, s) };
            expect(on_response(m, In, Method::Update, code, true), m, &[], (s, code));
        }
    }
}

#[test]
fn f6_info_forwarded_in_every_state_but_end() {
    for s in State::ALL {
        for m in every_flavour(s) {
            for dir in DIRS {
                if s == State::End {
                    refused(on_request(m, dir, Method::Info, None, OTHER), REJECT_481, (m, dir));
                    for code in [100, 200, 486] {
                        dropped(on_response(m, dir, Method::Info, code, false), (m, dir, code));
                    }
                    continue;
                }
                expect(on_request(m, dir, Method::Info, None, OTHER), m, &[Forward], (m, dir));
                // Every INFO answer is forwarded, 1xx included.
                for code in [100, 180, 200, 202, 408, 486, 603] {
                    expect(on_response(m, dir, Method::Info, code, false), m, &[Forward], (m, dir, code));
                }
            }
        }
    }
}

// ------------------------------------------------------------------ table G

#[test]
fn g1_reinvite_in_200_or_ack_forwarded_records_r() {
    for side in SIDES {
        for s in [State::Answered, State::Acked] {
            for dir in DIRS {
                let m = dialogue(side, s);
                expect(
                    on_request(m, dir, Method::Invite, None, RE),
                    Machine { state: State::Reinvite, latest_dir: dir, latest_cseq: RE, ..m },
                    &[Forward],
                    (side, s, dir),
                );
            }
        }
    }
}

#[test]
fn g2_reinvite_early_reinv_re200_answers_491() {
    for s in EARLY.into_iter().chain([State::Reinvite, State::Reanswered]) {
        for m in every_flavour(s) {
            for dir in DIRS {
                refused(on_request(m, dir, Method::Invite, None, RE + 1), REJECT_491, (m, dir));
            }
        }
    }
}

#[test]
fn g3_reinvite_err_answers_481() {
    for side in SIDES {
        for dir in DIRS {
            refused(
                on_request(dialogue(side, State::Error), dir, Method::Invite, None, RE),
                REJECT_481,
                (side, dir),
            );
        }
    }
}

// ------------------------------------------------------------------ table H

#[test]
fn h1_uas_establishment_timeout_delivers_cancel_answers_408() {
    // Every early state, PRACK and UPDATE included.
    for s in EARLY {
        let m = dialogue(Uas, s);
        expect_timer(
            on_timer(m, Timer::Establish),
            Machine { state: State::Error, ..m },
            &[DeliverCancel, AnswerInvite(408, "timeout"), Arm(Timer::Ack)],
            s,
        );
    }
}

#[test]
fn h2_uac_establishment_timeout_cancels_and_reports_408() {
    for s in EARLY {
        let done = |m: Machine| Machine { cancelled: true, reported: true, ..m };
        let m = uac(s, false, false);
        expect_timer(
            on_timer(m, Timer::Establish),
            done(m),
            &[SendCancel, DeliverInviteAnswer(408, "timeout"), Arm(Timer::Ack)],
            (s, "fresh"),
        );
        // The SLP already cancelled: no second CANCEL.
        let m = uac(s, true, false);
        expect_timer(
            on_timer(m, Timer::Establish),
            done(m),
            &[DeliverInviteAnswer(408, "timeout"), Arm(Timer::Ack)],
            (s, "cancelled"),
        );
        // Reachable only through the pure function; each flag is checked on its own.
        let m = uac(s, false, true);
        expect_timer(on_timer(m, Timer::Establish), done(m), &[SendCancel, Arm(Timer::Ack)], (s, "reported"));
        let m = uac(s, true, true);
        expect_timer(on_timer(m, Timer::Establish), m, &[Arm(Timer::Ack)], (s, "both"));
    }
}

#[test]
fn h3_uac_ack_wait_after_timeout_ends_invite_transaction() {
    for s in EARLY {
        let m = uac(s, true, true);
        expect_timer(on_timer(m, Timer::Ack), Machine { state: State::End, ..m }, &[EndInviteTransaction], s);
    }
}

#[test]
fn h4_err_ack_wait_expiry_ends() {
    let m = dialogue(Uas, State::Error);
    expect_timer(on_timer(m, Timer::Ack), Machine { state: State::End, ..m }, &[], "UAS");
    // UAC never enters ERR, but H4 carries no side condition.
    let m = dialogue(Uac, State::Error);
    expect_timer(on_timer(m, Timer::Ack), Machine { state: State::End, ..m }, &[], "UAC");
}

#[test]
fn h5_uas_refresh_expiry_quits() {
    for s in CONFIRMED {
        let m = dialogue(Uas, s);
        expect_timer(
            on_timer(m, Timer::Refresh),
            Machine { state: State::End, ..m },
            &[SendBye("session timer expired"), DeliverBye("session timer expired")],
            s,
        );
    }
}

#[test]
fn h6_uac_refresh_expiry_sends_update_or_quits_after_three_failures() {
    for s in CONFIRMED {
        for failures in 0..=2 {
            let m = Machine { failures, ..dialogue(Uac, s) };
            expect_timer(
                on_timer(m, Timer::Refresh),
                Machine { failures: failures + 1, ..m },
                &[SendRefresh, Arm(Timer::Refresh)],
                (s, failures),
            );
        }
        let m = Machine { failures: 3, ..dialogue(Uac, s) };
        expect_timer(
            on_timer(m, Timer::Refresh),
            Machine { state: State::End, failures: 4, ..m },
            &[SendBye("session refresh failed"), DeliverBye("session refresh failed")],
            s,
        );
    }
}

#[test]
fn h6_count_three_refreshes_then_quit_and_2xx_resets() {
    // The spec's example: interval 60 s → UPDATEs at 20, 40, 60 s; BYE at 80 s.
    let start = Machine { state: State::Answered, ..dialogue(Uac, State::Init) };
    let mut m = start;
    for expiry in 1..=3 {
        let step = on_timer(m, Timer::Refresh);
        assert_eq!(step.actions.as_slice(), &[SendRefresh, Arm(Timer::Refresh)], "expiry {expiry}");
        assert_eq!((step.next.state, step.next.failures), (State::Answered, expiry), "expiry {expiry}");
        m = step.next;
        // A non-2xx (for example the refresh's own 408) does not help.
        m = on_response(m, In, Method::Update, 408, true).expect("F5").next;
        assert_eq!(m.failures, expiry);
    }
    let step = on_timer(m, Timer::Refresh);
    assert_eq!(
        step.actions.as_slice(),
        &[SendBye("session refresh failed"), DeliverBye("session refresh failed")]
    );
    assert_eq!((step.next.state, step.next.failures), (State::End, 4));

    // A 2xx to a refresh resets the count without forwarding anything.
    let mut m = start;
    for _ in 0..3 {
        m = on_timer(m, Timer::Refresh).next;
    }
    assert_eq!(m.failures, 3);
    let step = on_response(m, In, Method::Update, 200, true).expect("F4");
    assert_eq!((step.next, step.actions.as_slice()), (Machine { failures: 0, ..m }, &[][..]));
    assert!(!step.actions.forwards());
    m = step.next;
    for expiry in 1..=3 {
        let step = on_timer(m, Timer::Refresh);
        assert_eq!(
            step.actions.as_slice(),
            &[SendRefresh, Arm(Timer::Refresh)],
            "after reset, expiry {expiry}"
        );
        m = step.next;
    }
    assert_eq!(on_timer(m, Timer::Refresh).next.state, State::End);
}

// ------------------------------------------------------------------ sweeps: "not listed → rejected"

/// Every request in every state, with an absent RelatedID (or one that
/// matches: the INVITE's CSeq for CANCEL, the latest INVITE's for ACK).
///
/// Tokens: `fwd` accepted, and the request itself is delivered/transmitted;
/// `acc` accepted without forwarding it (the stack answers or swallows it:
/// B3, C2, E6, F1, F2); `481`/`491` refused with that code (received:
/// answered; sent: `invalid-state`; ACK in: dropped).
///
/// The UAC `cancelled` rows exist only in early states (the flag is only set
/// there, and every way out of early with it set ends the dialogue).
#[rustfmt::skip]
const REQUESTS: &[(Side, State, bool, Dir, &str)] = &[
    // side state               cancelled  R      INVITE   ACK      BYE      CANCEL   PRACK    UPDATE   INFO
    //                                            in  out  in  out  in  out  in  out  in  out  in  out  in  out
    (Uas, State::Init,          false,     In,  "491 491  481 481  fwd 481  fwd 481  481 481  481 481  fwd fwd"),
    (Uas, State::Ringing,       false,     In,  "491 491  481 481  fwd 481  fwd 481  fwd 481  fwd fwd  fwd fwd"),
    (Uas, State::Prack,         false,     In,  "491 491  481 481  fwd 481  fwd 481  491 491  491 491  fwd fwd"),
    (Uas, State::Update,        false,     In,  "491 491  481 481  fwd 481  fwd 481  491 491  491 491  fwd fwd"),
    (Uas, State::Answered,      false,     In,  "fwd fwd  fwd 481  fwd fwd  acc 481  481 481  acc 481  fwd fwd"),
    (Uas, State::Acked,         false,     In,  "fwd fwd  481 481  fwd fwd  acc 481  481 481  acc 481  fwd fwd"),
    (Uas, State::Acked,         false,     Out, "fwd fwd  481 481  fwd fwd  acc 481  481 481  acc 481  fwd fwd"),
    (Uas, State::Reinvite,      false,     In,  "491 491  481 481  fwd fwd  acc 481  481 481  acc 481  fwd fwd"),
    (Uas, State::Reinvite,      false,     Out, "491 491  481 481  fwd fwd  acc 481  481 481  acc 481  fwd fwd"),
    (Uas, State::Reanswered,    false,     In,  "491 491  fwd 481  fwd fwd  acc 481  481 481  acc 481  fwd fwd"),
    (Uas, State::Reanswered,    false,     Out, "491 491  481 fwd  fwd fwd  acc 481  481 481  acc 481  fwd fwd"),
    (Uas, State::Error,         false,     In,  "481 481  acc 481  481 481  acc 481  481 481  481 481  fwd fwd"),
    (Uas, State::End,           false,     In,  "481 481  481 481  481 481  481 481  481 481  481 481  481 481"),
    (Uac, State::Init,          false,     Out, "491 491  481 481  481 481  481 fwd  481 481  481 481  fwd fwd"),
    (Uac, State::Init,          true,      Out, "491 491  481 481  481 481  481 481  481 481  481 481  fwd fwd"),
    (Uac, State::Ringing,       false,     Out, "491 491  481 481  481 481  481 fwd  481 fwd  fwd fwd  fwd fwd"),
    (Uac, State::Ringing,       true,      Out, "491 491  481 481  481 481  481 481  481 481  acc 481  fwd fwd"),
    (Uac, State::Prack,         false,     Out, "491 491  481 481  481 481  481 fwd  491 491  491 491  fwd fwd"),
    (Uac, State::Prack,         true,      Out, "491 491  481 481  481 481  481 481  491 491  491 491  fwd fwd"),
    (Uac, State::Update,        false,     Out, "491 491  481 481  481 481  481 fwd  491 491  491 491  fwd fwd"),
    (Uac, State::Update,        true,      Out, "491 491  481 481  481 481  481 481  491 491  491 491  fwd fwd"),
    (Uac, State::Answered,      false,     Out, "fwd fwd  481 fwd  fwd fwd  481 481  481 481  acc 481  fwd fwd"),
    (Uac, State::Acked,         false,     Out, "fwd fwd  481 481  fwd fwd  481 481  481 481  acc 481  fwd fwd"),
    (Uac, State::Acked,         false,     In,  "fwd fwd  481 481  fwd fwd  481 481  481 481  acc 481  fwd fwd"),
    (Uac, State::Reinvite,      false,     Out, "491 491  481 481  fwd fwd  481 481  481 481  acc 481  fwd fwd"),
    (Uac, State::Reinvite,      false,     In,  "491 491  481 481  fwd fwd  481 481  481 481  acc 481  fwd fwd"),
    (Uac, State::Reanswered,    false,     Out, "491 491  481 fwd  fwd fwd  481 481  481 481  acc 481  fwd fwd"),
    (Uac, State::Reanswered,    false,     In,  "491 491  fwd 481  fwd fwd  481 481  481 481  acc 481  fwd fwd"),
    // UAC never enters ERR; the tables still decide: only INFO (F6) is listed.
    (Uac, State::Error,         false,     Out, "481 481  481 481  481 481  481 481  481 481  481 481  fwd fwd"),
    (Uac, State::End,           false,     Out, "481 481  481 481  481 481  481 481  481 481  481 481  481 481"),
];

const REQUEST_COLUMNS: [Method; 7] =
    [Method::Invite, Method::Ack, Method::Bye, Method::Cancel, Method::Prack, Method::Update, Method::Info];

/// A machine for a sweep row. After a re-INVITE (R ≠ I, or REINV/RE200) the
/// latest CSeq is [`RE`].
fn sweep_machine(side: Side, state: State, cancelled: bool, r: Dir) -> Machine {
    let m = Machine { cancelled, ..dialogue(side, state) };
    if r != i_dir(side) || matches!(state, State::Reinvite | State::Reanswered) {
        Machine { latest_dir: r, latest_cseq: RE, ..m }
    } else {
        m
    }
}

#[test]
fn sweep_request_table_covers_every_side_and_state() {
    for side in SIDES {
        for s in State::ALL {
            assert!(
                REQUESTS.iter().any(|&(sd, st, c, r, _)| sd == side
                    && st == s
                    && !c
                    && (r == i_dir(side) || st == State::Reanswered || st == State::Reinvite)),
                "{side:?} {s:?} missing"
            );
        }
    }
    for s in EARLY {
        assert!(
            REQUESTS.iter().any(|&(sd, st, c, _, _)| sd == Uac && st == s && c),
            "UAC cancelled {s:?} missing"
        );
    }
}

#[test]
fn sweep_unlisted_requests_are_rejected() {
    let mut checked = 0;
    for &(side, state, cancelled, r, row) in REQUESTS {
        let m = sweep_machine(side, state, cancelled, r);
        let tokens: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(tokens.len(), 14, "{row}");
        for (i, method) in REQUEST_COLUMNS.into_iter().enumerate() {
            for (j, dir) in DIRS.into_iter().enumerate() {
                let want = tokens[2 * i + j];
                let matching = match method {
                    Method::Cancel => Some(m.invite_cseq),
                    Method::Ack => Some(m.latest_cseq),
                    _ => None,
                };
                for related in [None, matching] {
                    let ctx = (side, state, cancelled, r, method, dir, related);
                    let got = on_request(m, dir, method, related, RE + 1);
                    let token = match got {
                        Ok(step) if step.actions.forwards() => "fwd",
                        Ok(_) => "acc",
                        Err(Refusal::Reject(481)) => "481",
                        Err(Refusal::Reject(491)) => "491",
                        Err(other) => panic!("{ctx:?}: unexpected {other:?}"),
                    };
                    assert_eq!(token, want, "{ctx:?}: {got:?}");
                    checked += 1;
                }
            }
        }
        // Session-less methods never belong to the machine (§6.1); nothing lists them.
        for method in [Method::Register, Method::Options, Method::Subscribe, Method::Message, Method::Notify]
        {
            for dir in DIRS {
                refused(on_request(m, dir, method, None, OTHER), REJECT_481, (side, state, method, dir));
            }
        }
    }
    assert_eq!(checked, REQUESTS.len() * 7 * 2 * 2);
}

/// Every response through the machine, per state. Tokens: `fwd` accepted and
/// delivered/transmitted, `acc` accepted without forwarding (A1, A2, A4, A7,
/// E9, or A9 once reported), `rej` refused (dropped / `invalid-state`), `---`
/// not asserted.
///
/// INVITE columns (100, 180, 200, 486): in an early state only the callee's
/// direction (UAC: in; UAS: out) and in REINV only the direction opposite to
/// R, because the transaction layer matches INVITE answers to the INVITE that
/// went the other way (notes on table A); every other state: both directions.
/// PRACK and UPDATE columns: 1xx in, final in, 1xx out, final out
/// (refresh = false). INFO: in, out. END: PRACK/UPDATE answers cannot arise
/// (the dialogue is removed, §6.6).
#[rustfmt::skip]
const RESPONSES: &[(Side, State, bool, Dir, &str)] = &[
    // side state               cancelled  R      INVITE           PRACK            UPDATE           INFO
    //                                            100 180 2xx err  1i  Fi  1o  Fo   1i  Fi  1o  Fo   in  out
    (Uas, State::Init,          false,     In,  "acc fwd fwd fwd  rej fwd rej fwd  rej fwd rej fwd  fwd fwd"),
    (Uas, State::Ringing,       false,     In,  "acc fwd fwd fwd  rej fwd rej fwd  rej fwd rej fwd  fwd fwd"),
    (Uas, State::Prack,         false,     In,  "acc fwd fwd fwd  rej fwd rej fwd  rej fwd rej fwd  fwd fwd"),
    (Uas, State::Update,        false,     In,  "acc fwd fwd fwd  rej fwd rej fwd  rej fwd rej fwd  fwd fwd"),
    (Uas, State::Answered,      false,     In,  "rej rej rej rej  rej fwd rej fwd  rej fwd rej fwd  fwd fwd"),
    (Uas, State::Acked,         false,     In,  "rej rej rej rej  rej fwd rej fwd  rej fwd rej fwd  fwd fwd"),
    (Uas, State::Reinvite,      false,     In,  "rej rej fwd fwd  rej fwd rej fwd  rej fwd rej fwd  fwd fwd"),
    (Uas, State::Reinvite,      false,     Out, "rej rej fwd fwd  rej fwd rej fwd  rej fwd rej fwd  fwd fwd"),
    (Uas, State::Reanswered,    false,     In,  "rej rej rej rej  rej fwd rej fwd  rej fwd rej fwd  fwd fwd"),
    (Uas, State::Error,         false,     In,  "rej rej rej rej  rej fwd rej fwd  rej fwd rej fwd  fwd fwd"),
    (Uas, State::End,           false,     In,  "rej rej rej rej  --- --- --- ---  --- --- --- ---  rej rej"),
    (Uac, State::Init,          false,     Out, "acc fwd fwd fwd  rej fwd rej fwd  rej fwd rej fwd  fwd fwd"),
    (Uac, State::Init,          true,      Out, "acc acc acc fwd  rej acc rej rej  rej acc rej rej  fwd fwd"),
    (Uac, State::Ringing,       false,     Out, "acc fwd fwd fwd  rej fwd rej fwd  rej fwd rej fwd  fwd fwd"),
    (Uac, State::Ringing,       true,      Out, "acc acc acc fwd  rej acc rej rej  rej acc rej rej  fwd fwd"),
    (Uac, State::Prack,         false,     Out, "acc fwd fwd fwd  rej fwd rej fwd  rej fwd rej fwd  fwd fwd"),
    (Uac, State::Prack,         true,      Out, "acc acc acc fwd  rej acc rej rej  rej acc rej rej  fwd fwd"),
    (Uac, State::Update,        false,     Out, "acc fwd fwd fwd  rej fwd rej fwd  rej fwd rej fwd  fwd fwd"),
    (Uac, State::Update,        true,      Out, "acc acc acc fwd  rej acc rej rej  rej acc rej rej  fwd fwd"),
    (Uac, State::Answered,      false,     Out, "rej rej rej rej  rej fwd rej fwd  rej fwd rej fwd  fwd fwd"),
    (Uac, State::Acked,         false,     Out, "rej rej rej rej  rej fwd rej fwd  rej fwd rej fwd  fwd fwd"),
    (Uac, State::Reinvite,      false,     Out, "rej rej fwd fwd  rej fwd rej fwd  rej fwd rej fwd  fwd fwd"),
    (Uac, State::Reinvite,      false,     In,  "rej rej fwd fwd  rej fwd rej fwd  rej fwd rej fwd  fwd fwd"),
    (Uac, State::Reanswered,    false,     Out, "rej rej rej rej  rej fwd rej fwd  rej fwd rej fwd  fwd fwd"),
    (Uac, State::Error,         false,     Out, "rej rej rej rej  rej fwd rej fwd  rej fwd rej fwd  fwd fwd"),
    (Uac, State::End,           false,     Out, "rej rej rej rej  --- --- --- ---  --- --- --- ---  rej rej"),
];

fn response_token(result: Result<Step, Refusal>) -> &'static str {
    match result {
        Ok(step) if step.actions.forwards() => "fwd",
        Ok(_) => "acc",
        Err(_) => "rej",
    }
}

#[test]
fn sweep_response_table_covers_every_side_and_state() {
    for side in SIDES {
        for s in State::ALL {
            assert!(
                RESPONSES.iter().any(|&(sd, st, c, _, _)| sd == side && st == s && !c),
                "{side:?} {s:?} missing"
            );
        }
    }
    for s in EARLY {
        assert!(
            RESPONSES.iter().any(|&(sd, st, c, _, _)| sd == Uac && st == s && c),
            "UAC cancelled {s:?} missing"
        );
    }
}

#[test]
fn sweep_unlisted_responses_are_dropped() {
    for &(side, state, cancelled, r, row) in RESPONSES {
        let m = sweep_machine(side, state, cancelled, r);
        let tokens: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(tokens.len(), 14, "{row}");
        // INVITE.
        let invite_dirs: Vec<Dir> = if state.is_early() {
            vec![opp(i_dir(side))]
        } else if state == State::Reinvite {
            vec![opp(r)]
        } else {
            DIRS.to_vec()
        };
        for (k, code) in [100, 180, 200, 486].into_iter().enumerate() {
            for &dir in &invite_dirs {
                let got = on_response(m, dir, Method::Invite, code, false);
                assert_eq!(
                    response_token(got),
                    tokens[k],
                    "{:?}: {got:?}",
                    (side, state, cancelled, r, "INVITE", dir, code)
                );
            }
        }
        // PRACK, UPDATE (not a refresh).
        for (n, method) in [Method::Prack, Method::Update].into_iter().enumerate() {
            for (k, (dir, code)) in [(In, 180), (In, 0), (Out, 180), (Out, 0)].into_iter().enumerate() {
                let want = tokens[4 + 4 * n + k];
                if want == "---" {
                    continue;
                }
                let codes: &[u16] = if code == 0 { &FINALS } else { &[100, 180] };
                for &code in codes {
                    let got = on_response(m, dir, method, code, false);
                    assert_eq!(
                        response_token(got),
                        want,
                        "{:?}: {got:?}",
                        (side, state, cancelled, r, method, dir, code)
                    );
                }
            }
        }
        // INFO.
        for (k, dir) in DIRS.into_iter().enumerate() {
            for code in [100, 180, 200, 486] {
                let got = on_response(m, dir, Method::Info, code, false);
                assert_eq!(
                    response_token(got),
                    tokens[12 + k],
                    "{:?}: {got:?}",
                    (side, state, cancelled, r, "INFO", dir, code)
                );
            }
        }
        // BYE and CANCEL answers are swallowed before the machine (§5.5); nothing lists them.
        for method in [Method::Bye, Method::Cancel] {
            for dir in DIRS {
                dropped(on_response(m, dir, method, 200, false), (side, state, method, dir));
            }
        }
    }
}

/// Which row of table H each (side, state, timer) expiry hits; `--`: none,
/// and the expiry does nothing (a stale or unarmed timer).
#[rustfmt::skip]
const TIMERS: &[(Side, State, &str)] = &[
    // side state                 T-est T-ack T-refresh
    (Uas, State::Init,          "H1 -- --"),
    (Uas, State::Ringing,       "H1 -- --"),
    (Uas, State::Prack,         "H1 -- --"),
    (Uas, State::Update,        "H1 -- --"),
    (Uas, State::Answered,      "-- -- H5"),
    (Uas, State::Acked,         "-- -- H5"),
    (Uas, State::Reinvite,      "-- -- H5"),
    (Uas, State::Reanswered,    "-- -- H5"),
    (Uas, State::Error,         "-- H4 --"),
    (Uas, State::End,           "-- -- --"),
    (Uac, State::Init,          "H2 H3 --"),
    (Uac, State::Ringing,       "H2 H3 --"),
    (Uac, State::Prack,         "H2 H3 --"),
    (Uac, State::Update,        "H2 H3 --"),
    (Uac, State::Answered,      "-- -- H6"),
    (Uac, State::Acked,         "-- -- H6"),
    (Uac, State::Reinvite,      "-- -- H6"),
    (Uac, State::Reanswered,    "-- -- H6"),
    (Uac, State::Error,         "-- H4 --"),
    (Uac, State::End,           "-- -- --"),
];

#[test]
fn sweep_timer_expiries_hit_only_table_h_rows() {
    assert_eq!(TIMERS.len(), 2 * State::ALL.len());
    for &(side, state, row) in TIMERS {
        let m = dialogue(side, state);
        let tokens: Vec<&str> = row.split_whitespace().collect();
        for (timer, want) in [Timer::Establish, Timer::Ack, Timer::Refresh].into_iter().zip(tokens) {
            let step = on_timer(m, timer);
            let ctx = (side, state, timer, want);
            let next_state = match want {
                "--" => {
                    assert_eq!((step.next, step.actions.as_slice()), (m, &[][..]), "{ctx:?}");
                    continue;
                }
                "H1" => State::Error,
                "H3" | "H4" | "H5" => State::End,
                "H2" | "H6" => state,
                other => panic!("bad token {other}"),
            };
            assert_eq!(step.next.state, next_state, "{ctx:?}");
            assert!(step.next != m || !step.actions.as_slice().is_empty(), "{ctx:?}: no effect");
        }
    }
}

// ------------------------------------------------------------------ §18.7 accepted sets

#[test]
fn accepted_sets_per_state_18_7() {
    // INIT rejects BYE from the callee, and PRACK.
    for (c, r) in UAC_FLAGS {
        refused(
            on_request(uac(State::Init, c, r), In, Method::Bye, None, OTHER),
            REJECT_481,
            "INIT callee BYE",
        );
    }
    for m in every_flavour(State::Init) {
        for dir in DIRS {
            refused(on_request(m, dir, Method::Prack, None, OTHER), REJECT_481, ("INIT PRACK", m, dir));
        }
    }
    // 18X rejects ACK.
    for m in every_flavour(State::Ringing) {
        for dir in DIRS {
            for related in [None, Some(INV)] {
                dropped(on_request(m, dir, Method::Ack, related, OTHER), ("18X ACK", m, dir, related));
            }
        }
    }
    // PRACK state accepts an INVITE 200.
    let m = dialogue(Uas, State::Prack);
    assert_eq!(
        on_response(m, Out, Method::Invite, 200, false).expect("UAS PRACK 200").next.state,
        State::Answered
    );
    let m = dialogue(Uac, State::Prack);
    assert_eq!(
        on_response(m, In, Method::Invite, 200, false).expect("UAC PRACK 200").next.state,
        State::Answered
    );
    // REINV and RE200 answer a new INVITE with 491.
    for side in SIDES {
        for s in [State::Reinvite, State::Reanswered] {
            for r in DIRS {
                refused(
                    on_request(after_reinvite(side, s, r), In, Method::Invite, None, RE + 1),
                    REJECT_491,
                    (side, s, r),
                );
            }
        }
    }
    // ERR (UAS) accepts only ACK (and INFO, F6), and answers CANCEL with 200.
    let m = dialogue(Uas, State::Error);
    let mut accepted = Vec::new();
    for method in Method::ALL {
        for dir in DIRS {
            let related = matches!(method, Method::Ack | Method::Cancel).then_some(INV);
            if let Ok(step) = on_request(m, dir, method, related, OTHER) {
                accepted.push((method, dir, step.actions.forwards()));
            }
        }
    }
    assert_eq!(
        accepted,
        [
            (Method::Ack, In, false),
            (Method::Cancel, In, false),
            (Method::Info, In, true),
            (Method::Info, Out, true)
        ]
    );
    expect(on_request(m, In, Method::Cancel, Some(INV), OTHER), m, &[Answer(200, None)], "ERR CANCEL");
    expect(
        on_request(m, In, Method::Ack, Some(INV), OTHER),
        Machine { state: State::End, ..m },
        &[Stop(Timer::Ack)],
        "ERR ACK",
    );
}

// ------------------------------------------------------------------ §12.3 orphaned dialogues

#[test]
fn orphaned_dialogues_wind_down_per_12_3() {
    const WHY: &str = "service ended";
    for side in SIDES {
        for s in CONFIRMED {
            let m = dialogue(side, s);
            expect_timer(on_orphaned(m, WHY), Machine { state: State::End, ..m }, &[SendBye(WHY)], (side, s));
        }
        let m = dialogue(side, State::Error);
        expect_timer(on_orphaned(m, WHY), m, &[], (side, "ERR"));
    }
    for s in EARLY {
        let m = dialogue(Uac, s);
        expect_timer(on_orphaned(m, WHY), Machine { cancelled: true, ..m }, &[SendCancel], ("UAC", s));
        for reported in [false, true] {
            let m = uac(s, true, reported);
            expect_timer(on_orphaned(m, WHY), m, &[], ("UAC cancelled", s, reported));
        }
        let m = dialogue(Uas, s);
        expect_timer(on_orphaned(m, WHY), m, &[], ("UAS", s));
    }
}
