//! The dialogue layer (spec §6): the INVITE dialogue state machine.
//!
//! [`Machine`] is the whole state of one dialogue's machine, small and `Copy`.
//! The transition functions [`on_request`], [`on_response`] and [`on_timer`]
//! are pure: they return the next machine and the [`Action`]s the stack must
//! carry out, or a [`Refusal`]. The stack applies a step only when the whole
//! message is accepted, so a refused SLP send changes nothing (spec §13.4).
//!
//! Every match arm names the row of the spec's tables A–H it implements.

use std::fmt;

use crate::message::Method;

/// Dialogue states (spec §6.3); the names are gortc's and show in the runtime state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// INVITE sent or received; no provisional answer yet.
    Init,
    /// At least one provisional (≠100) answer.
    Ringing,
    /// A PRACK is pending.
    Prack,
    /// An early UPDATE is pending.
    Update,
    /// A 2xx answered the INVITE; not yet ACKed.
    Answered,
    /// ACKed.
    Acked,
    /// A re-INVITE is pending.
    Reinvite,
    /// The re-INVITE got a 2xx or a sent error; not yet ACKed.
    Reanswered,
    /// The UAS sent an error final; waiting for the ACK.
    Error,
    /// Terminated; the dialogue is removed.
    End,
}

impl State {
    /// Every state, for reports.
    pub const ALL: [State; 10] = [
        State::Init,
        State::Ringing,
        State::Prack,
        State::Update,
        State::Answered,
        State::Acked,
        State::Reinvite,
        State::Reanswered,
        State::Error,
        State::End,
    ];

    /// The gortc name of the state: `INIT`, `18X`, `PRACK`, …
    pub const fn name(self) -> &'static str {
        match self {
            State::Init => "INIT",
            State::Ringing => "18X",
            State::Prack => "PRACK",
            State::Update => "UPDATE",
            State::Answered => "200",
            State::Acked => "ACK",
            State::Reinvite => "REINV",
            State::Reanswered => "RE200",
            State::Error => "ERR",
            State::End => "END",
        }
    }

    /// `INIT`, `18X`, `PRACK`, `UPDATE`.
    pub const fn is_early(self) -> bool {
        matches!(self, State::Init | State::Ringing | State::Prack | State::Update)
    }

    /// `200`, `ACK`, `REINV`, `RE200`.
    pub const fn is_confirmed(self) -> bool {
        matches!(self, State::Answered | State::Acked | State::Reinvite | State::Reanswered)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which side of the dialogue the service is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The initial INVITE was received from a peer.
    Uas,
    /// The initial INVITE was sent by the SLP.
    Uac,
}

/// Direction of a message: received from the peer, or sent toward it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    /// Received from the peer.
    In,
    /// Sent by the SLP (or by the stack on its behalf).
    Out,
}

/// The timers of a dialogue (spec §6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Establishment: the INVITE must get a final answer (`pr_timer`).
    Establish,
    /// Wait for the ACK after an error final, or after a UAC timeout (`trans_timer`).
    Ack,
    /// Session refresh: UAS `interval`, UAC `interval / 3`.
    Refresh,
}

/// Something the stack must do as part of a step, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Deliver (in) or transmit (out) the message being processed.
    Forward,
    /// Answer the received request being processed, with an optional `Reason`.
    Answer(u16, Option<&'static str>),
    /// Answer the pending initial INVITE server transaction.
    AnswerInvite(u16, &'static str),
    /// Transmit an ACK built from the response being processed.
    SendAck,
    /// Transmit a CANCEL built from the initial INVITE.
    SendCancel,
    /// Transmit a refresh UPDATE built from the initial INVITE.
    SendRefresh,
    /// Transmit a BYE built from the initial INVITE, with this `Reason`.
    SendBye(&'static str),
    /// Deliver a copy of that BYE to the SLP (origin `stack`); with `SendBye` this is "quit".
    DeliverBye(&'static str),
    /// Deliver a CANCEL built from the initial INVITE (origin `stack`).
    DeliverCancel,
    /// Deliver a synthetic response to the INVITE (origin `stack`).
    DeliverInviteAnswer(u16, &'static str),
    /// End the initial INVITE client transaction silently.
    EndInviteTransaction,
    /// Arm (or re-arm) a timer.
    Arm(Timer),
    /// Stop a timer.
    Stop(Timer),
}

/// The actions of one step: at most six, kept inline.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Actions {
    items: [Action; 6],
    len: u8,
}

impl Actions {
    fn of(list: &[Action]) -> Actions {
        let mut items = [Action::Forward; 6];
        items[..list.len()].copy_from_slice(list);
        Actions { items, len: list.len() as u8 }
    }

    /// No action.
    pub fn none() -> Actions {
        Actions::of(&[])
    }

    /// The actions, in order.
    pub fn as_slice(&self) -> &[Action] {
        &self.items[..usize::from(self.len)]
    }

    /// True when the message itself is delivered or transmitted.
    pub fn forwards(&self) -> bool {
        self.as_slice().contains(&Action::Forward)
    }
}

impl fmt::Debug for Actions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// An accepted message or expired timer: the next machine and what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The machine after the step.
    pub next: Machine,
    /// The actions, in order.
    pub actions: Actions,
}

/// Why the machine refuses a message (spec §6.5 "reject").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not allowed in this state. A received request is answered with this
    /// code (481 or 491, Reason `not allowed in state <STATE>`); a received
    /// response or ACK is dropped; an SLP send fails with `invalid-state`.
    Reject(u16),
    /// `RelatedID` does not match the INVITE (SLP sends only; `bad-related-id`).
    BadRelatedId,
}

/// The complete state of one dialogue's machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machine {
    /// Current state.
    pub state: State,
    /// UAS or UAC.
    pub side: Side,
    /// `R`: direction of the latest INVITE (initial or re-INVITE).
    pub latest_dir: Dir,
    /// CSeq of the initial INVITE.
    pub invite_cseq: u64,
    /// CSeq of the latest INVITE (ACKs must match it).
    pub latest_cseq: u64,
    /// UAC only: a CANCEL has been sent.
    pub cancelled: bool,
    /// UAC only: the SLP has been given a final outcome for the INVITE.
    pub reported: bool,
    /// UAC only: consecutive refresh periods without a 2xx.
    pub failures: u8,
}

impl Machine {
    /// A new dialogue in `INIT`, created by an initial INVITE with this CSeq.
    pub fn new(side: Side, invite_cseq: u64) -> Machine {
        Machine {
            state: State::Init,
            side,
            latest_dir: Machine::initial_dir(side),
            invite_cseq,
            latest_cseq: invite_cseq,
            cancelled: false,
            reported: false,
            failures: 0,
        }
    }

    /// `I`: the direction of the initial INVITE.
    const fn initial_dir(side: Side) -> Dir {
        match side {
            Side::Uas => Dir::In,
            Side::Uac => Dir::Out,
        }
    }

    fn to(self, state: State) -> Machine {
        Machine { state, ..self }
    }

    fn step(self, actions: &[Action]) -> Result<Step, Refusal> {
        Ok(Step { next: self, actions: Actions::of(actions) })
    }

    /// True when a `RelatedID` (absent counts as matching) refers to `cseq`.
    fn relates(related: Option<u64>, cseq: u64) -> bool {
        related.is_none_or(|r| r == cseq)
    }
}

use Action::*;
use Refusal::Reject;

/// A request of this dialogue, received (`In`) or sent (`Out`), with its `RelatedID`
/// and `CSeq`. The method is one of INVITE (a re-INVITE: the dialogue exists),
/// ACK, BYE, CANCEL, PRACK, UPDATE or INFO.
pub fn on_request(
    m: Machine,
    dir: Dir,
    method: Method,
    related: Option<u64>,
    cseq: u64,
) -> Result<Step, Refusal> {
    let s = m.state;
    let i_dir = Machine::initial_dir(m.side);
    match method {
        // Table G: re-INVITE.
        Method::Invite => match s {
            // G1
            State::Answered | State::Acked => {
                Machine { latest_dir: dir, latest_cseq: cseq, ..m.to(State::Reinvite) }.step(&[Forward])
            }
            // G2
            _ if s.is_early() || matches!(s, State::Reinvite | State::Reanswered) => Err(Reject(491)),
            // G3 (ERR) and anything else
            _ => Err(Reject(481)),
        },
        // Table C: ACK.
        Method::Ack => match s {
            // C1
            State::Answered | State::Reanswered
                if dir == m.latest_dir && Machine::relates(related, m.latest_cseq) =>
            {
                m.to(State::Acked).step(&[Forward])
            }
            // C2
            State::Error
                if m.side == Side::Uas && dir == Dir::In && Machine::relates(related, m.invite_cseq) =>
            {
                m.to(State::End).step(&[Stop(Timer::Ack)])
            }
            // C3: only the RelatedID is wrong → bad-related-id; otherwise invalid-state.
            State::Answered | State::Reanswered if dir == m.latest_dir => Err(Refusal::BadRelatedId),
            State::Error if m.side == Side::Uas && dir == Dir::In => Err(Refusal::BadRelatedId),
            _ => Err(Reject(481)),
        },
        // Table D: BYE.
        Method::Bye => match (dir, m.side) {
            // D1
            (Dir::In, _) if s.is_confirmed() => m.to(State::End).step(&[Answer(200, None), Forward]),
            // D2
            (Dir::Out, _) if s.is_confirmed() => m.to(State::End).step(&[Forward]),
            // D3
            (Dir::In, Side::Uas) if s.is_early() => m.to(State::Error).step(&[
                Answer(200, None),
                AnswerInvite(487, "cancelled"),
                Forward,
                Stop(Timer::Establish),
                Arm(Timer::Ack),
            ]),
            // D4, D5, D6
            _ => Err(Reject(481)),
        },
        // Table B: CANCEL.
        Method::Cancel => match dir {
            // B4
            Dir::In if m.side == Side::Uac => Err(Reject(481)),
            // B2
            Dir::In if !Machine::relates(related, m.invite_cseq) => {
                m.step(&[Answer(481, Some("no matching INVITE"))])
            }
            // B1
            Dir::In if s.is_early() => m.to(State::Error).step(&[
                Answer(200, None),
                AnswerInvite(487, "cancelled"),
                Forward,
                Stop(Timer::Establish),
                Arm(Timer::Ack),
            ]),
            // B3
            Dir::In if s.is_confirmed() || s == State::Error => m.step(&[Answer(200, None)]),
            Dir::In => Err(Reject(481)),
            // B5; B9 only where B5 would otherwise apply (B6–B8 come first).
            Dir::Out if m.side == Side::Uac && s.is_early() && !m.cancelled => {
                if !Machine::relates(related, m.invite_cseq) {
                    return Err(Refusal::BadRelatedId);
                }
                Machine { cancelled: true, ..m }.step(&[Forward])
            }
            // B6, B7, B8
            Dir::Out => Err(Reject(481)),
        },
        // Table E: PRACK and early UPDATE; table F: confirmed UPDATE.
        Method::Prack | Method::Update => {
            if s.is_confirmed() {
                return match (method, dir, m.side) {
                    // F1
                    (Method::Update, Dir::In, Side::Uas) => m.step(&[Answer(200, None), Arm(Timer::Refresh)]),
                    // F2
                    (Method::Update, Dir::In, Side::Uac) => m.step(&[Answer(200, None)]),
                    // F3, and PRACK in a confirmed state
                    _ => Err(Reject(481)),
                };
            }
            match s {
                // E1
                State::Ringing if method == Method::Prack && dir == i_dir && !m.cancelled => {
                    m.to(State::Prack).step(&[Forward])
                }
                // E2
                State::Ringing if method == Method::Prack && dir != i_dir => Err(Reject(481)),
                // E3
                State::Init => Err(Reject(481)),
                // E4
                State::Prack | State::Update => Err(Reject(491)),
                // E5 (U, the UPDATE's direction, needs no storage: the transaction knows it)
                State::Ringing if method == Method::Update && !m.cancelled => {
                    m.to(State::Update).step(&[Forward])
                }
                // E6
                _ if s.is_early() && dir == Dir::In && m.side == Side::Uac && m.cancelled => {
                    m.step(&[Answer(487, Some("cancelled"))])
                }
                _ => Err(Reject(481)),
            }
        }
        // F6: INFO in any state but END.
        Method::Info if s != State::End => m.step(&[Forward]),
        _ => Err(Reject(481)),
    }
}

/// A final or provisional answer to a request of this dialogue, received
/// (`In`) or sent (`Out`), already matched to a live transaction of `method`
/// (INVITE, PRACK, UPDATE or INFO; BYE and CANCEL answers never get here).
/// `refresh` marks the answer to a stack refresh UPDATE.
pub fn on_response(m: Machine, dir: Dir, method: Method, code: u16, refresh: bool) -> Result<Step, Refusal> {
    let s = m.state;
    let provisional = code < 200;
    let success = (200..300).contains(&code);
    let uac_cancelled = m.side == Side::Uac && m.cancelled;
    match method {
        // Table A: answers to INVITE.
        Method::Invite if s.is_early() => match (dir, code) {
            // A1
            (Dir::In, 100) => m.step(&[]),
            // A2: accepted, not transmitted.
            (Dir::Out, 100) => m.step(&[]),
            // A3, A4
            (Dir::In, _) if provisional => {
                let next = if s == State::Init { m.to(State::Ringing) } else { m };
                if m.cancelled { m.step(&[]) } else { next.step(&[Forward]) }
            }
            // A5
            (Dir::Out, _) if provisional => {
                let next = if s == State::Init { m.to(State::Ringing) } else { m };
                next.step(&[Forward])
            }
            // A6
            (Dir::In, _) if success && !m.cancelled => Machine { failures: 0, ..m.to(State::Answered) }
                .step(&[Forward, Stop(Timer::Establish), Arm(Timer::Refresh)]),
            // A7
            (Dir::In, _) if success => {
                let done = Machine { reported: true, ..m.to(State::End) };
                if m.reported {
                    done.step(&[SendAck, SendBye("cancelled")])
                } else {
                    done.step(&[SendAck, SendBye("cancelled"), DeliverInviteAnswer(487, "cancelled")])
                }
            }
            // A8
            (Dir::Out, _) if success => {
                m.to(State::Answered).step(&[Forward, Stop(Timer::Establish), Arm(Timer::Refresh)])
            }
            // A9
            (Dir::In, _) => {
                let done = Machine { reported: true, ..m.to(State::End) };
                if m.reported { done.step(&[SendAck]) } else { done.step(&[SendAck, Forward]) }
            }
            // A10
            (Dir::Out, _) => m.to(State::Error).step(&[Forward, Stop(Timer::Establish), Arm(Timer::Ack)]),
        },
        Method::Invite if s == State::Reinvite => match dir {
            // A11
            _ if provisional => Err(Reject(481)),
            // A12
            _ if success => m.to(State::Reanswered).step(&[Forward]),
            // A13
            Dir::In => m.to(State::Acked).step(&[SendAck, Forward]),
            // A14
            Dir::Out => m.to(State::Reanswered).step(&[Forward]),
        },
        Method::Invite => Err(Reject(481)),
        // F4, F5: answers to the stack's refresh UPDATE are never delivered.
        Method::Update if refresh => {
            if success {
                Machine { failures: 0, ..m }.step(&[])
            } else {
                m.step(&[])
            }
        }
        // E7
        Method::Prack | Method::Update if provisional => Err(Reject(481)),
        // E8, E9
        Method::Prack | Method::Update => {
            let next = match (method, s) {
                (Method::Prack, State::Prack) | (Method::Update, State::Update) => m.to(State::Ringing),
                _ => m,
            };
            match (dir, uac_cancelled) {
                (_, false) => next.step(&[Forward]),
                (Dir::In, true) => next.step(&[]),
                // Not listed: E8 excludes a cancelled UAC, E9 covers only "in".
                (Dir::Out, true) => Err(Reject(481)),
            }
        }
        // F6
        Method::Info if s != State::End => m.step(&[Forward]),
        _ => Err(Reject(481)),
    }
}

/// The expiry of one of the dialogue's timers (table H). An expiry that no
/// row covers (for example a stale one) does nothing.
pub fn on_timer(m: Machine, timer: Timer) -> Step {
    let s = m.state;
    let step = |next: Machine, actions: &[Action]| Step { next, actions: Actions::of(actions) };
    match (timer, m.side) {
        // H1
        (Timer::Establish, Side::Uas) if s.is_early() => {
            step(m.to(State::Error), &[DeliverCancel, AnswerInvite(408, "timeout"), Arm(Timer::Ack)])
        }
        // H2
        (Timer::Establish, Side::Uac) if s.is_early() => {
            let next = Machine { cancelled: true, reported: true, ..m };
            match (m.cancelled, m.reported) {
                (false, false) => {
                    step(next, &[SendCancel, DeliverInviteAnswer(408, "timeout"), Arm(Timer::Ack)])
                }
                (false, true) => step(next, &[SendCancel, Arm(Timer::Ack)]),
                (true, false) => step(next, &[DeliverInviteAnswer(408, "timeout"), Arm(Timer::Ack)]),
                (true, true) => step(next, &[Arm(Timer::Ack)]),
            }
        }
        // H3
        (Timer::Ack, Side::Uac) if s.is_early() => step(m.to(State::End), &[EndInviteTransaction]),
        // H4
        (Timer::Ack, _) if s == State::Error => step(m.to(State::End), &[]),
        // H5
        (Timer::Refresh, Side::Uas) if s.is_confirmed() => {
            step(m.to(State::End), &[SendBye("session timer expired"), DeliverBye("session timer expired")])
        }
        // H6
        (Timer::Refresh, Side::Uac) if s.is_confirmed() => {
            let failures = m.failures.saturating_add(1);
            if failures > 3 {
                step(
                    Machine { failures, ..m.to(State::End) },
                    &[SendBye("session refresh failed"), DeliverBye("session refresh failed")],
                )
            } else {
                step(Machine { failures, ..m }, &[SendRefresh, Arm(Timer::Refresh)])
            }
        }
        _ => step(m, &[]),
    }
}

/// What an instance's end does to a dialogue it leaves behind (spec §12.3, §12.5):
/// confirmed → quit BYE without delivery; early UAC not cancelled → CANCEL;
/// everything else carries on by itself.
pub fn on_orphaned(m: Machine, reason: &'static str) -> Step {
    let step = |next: Machine, actions: &[Action]| Step { next, actions: Actions::of(actions) };
    match m.side {
        _ if m.state.is_confirmed() => step(m.to(State::End), &[SendBye(reason)]),
        Side::Uac if m.state.is_early() && !m.cancelled => {
            step(Machine { cancelled: true, ..m }, &[SendCancel])
        }
        _ => step(m, &[]),
    }
}
