//! What the stack did on its own, counted for the metrics of spec §14.7:
//! transaction timer expiries, dialogue timer expiries, and the responses it
//! generated. Plain integers in fixed arrays indexed by enums: counting is an
//! add, with no allocation and no label. A driver reads them with
//! [`crate::Stack::stats`] and reports the difference since its last read.
//!
//! The counters are `u32` (they live in every instance's stack) and wrap:
//! take differences with `wrapping_sub`, which stays right as long as a
//! driver reads more often than every 2^32 events.

use crate::message::Method;
use crate::session::{Side, Timer};
use crate::transaction::Role;

/// Where a stack-generated response went (`to` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Toward {
    /// Transmitted to the endpoint the request came from.
    Peer,
    /// Delivered to the SLP as a synthetic outcome (origin `stack`).
    Slp,
}

impl Toward {
    /// Both, in index order.
    pub const ALL: [Toward; 2] = [Toward::Peer, Toward::Slp];

    /// The label value.
    pub const fn label(self) -> &'static str {
        match self {
            Toward::Peer => "peer",
            Toward::Slp => "slp",
        }
    }
}

/// Transaction roles in index order (`Role as usize`).
pub const ROLES: [Role; 2] = [Role::Server, Role::Client];

/// The `role` label.
pub const fn role_label(role: Role) -> &'static str {
    match role {
        Role::Server => "server",
        Role::Client => "client",
    }
}

/// Dialogue timers in index order (`Timer as usize`).
pub const TIMERS: [Timer; 3] = [Timer::Establish, Timer::Ack, Timer::Refresh];

/// The `timer` label of spec §14.7.
pub const fn timer_label(timer: Timer) -> &'static str {
    match timer {
        Timer::Establish => "est",
        Timer::Ack => "ack",
        Timer::Refresh => "refresh",
    }
}

/// Dialogue sides in index order (`Side as usize`).
pub const SIDES: [Side; 2] = [Side::Uas, Side::Uac];

/// The `side` label: `uas` when the INVITE came from a peer, `uac` when the SLP sent it.
pub const fn side_label(side: Side) -> &'static str {
    match side {
        Side::Uas => "uas",
        Side::Uac => "uac",
    }
}

/// The codes the stack generates (spec §2.4.3 and the automatic 200s of
/// §6.5). A driver may pass any code to [`crate::Stack::answer`]; codes not
/// listed share the last slot, labelled [`OTHER_CODE`], so the set stays bounded.
pub const GENERATED_CODES: [u16; 10] = [200, 400, 404, 408, 480, 481, 487, 491, 500, 503];

/// Slots per direction: the listed codes, then "other".
pub const GENERATED_SLOTS: usize = GENERATED_CODES.len() + 1;

/// The `code` label of the last slot.
pub const OTHER_CODE: &str = "other";

/// The slot of `code` in [`Stats::generated`].
pub fn generated_slot(code: u16) -> usize {
    GENERATED_CODES.iter().position(|c| *c == code).unwrap_or(GENERATED_CODES.len())
}

/// The counters of one stack. See the module documentation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Transaction timer expiries, `[Role as usize][Method as usize]`.
    pub transaction_timeouts: [[u32; Method::ALL.len()]; ROLES.len()],
    /// Dialogue timer expiries, `[Timer as usize][Side as usize]`.
    pub dialogue_timeouts: [[u32; SIDES.len()]; TIMERS.len()],
    /// Generated responses, `[Toward as usize][generated_slot(code)]`.
    pub generated: [[u32; GENERATED_SLOTS]; Toward::ALL.len()],
    /// Every count above, summed: equal between two reads means nothing changed.
    pub events: u32,
}

impl Stats {
    /// Transaction timer expiries of one role and method.
    pub fn transaction_timeouts(&self, role: Role, method: Method) -> u32 {
        self.transaction_timeouts[role as usize][method as usize]
    }

    /// Dialogue timer expiries of one timer and side.
    pub fn dialogue_timeouts(&self, timer: Timer, side: Side) -> u32 {
        self.dialogue_timeouts[timer as usize][side as usize]
    }

    /// Generated responses with `code` (or in the "other" slot) toward one side.
    pub fn generated(&self, toward: Toward, code: u16) -> u32 {
        self.generated[toward as usize][generated_slot(code)]
    }

    /// Generated responses of every code toward one side.
    pub fn generated_total(&self, toward: Toward) -> u32 {
        self.generated[toward as usize].iter().fold(0, |a, n| a.wrapping_add(*n))
    }

    pub(crate) fn transaction_timeout(&mut self, role: Role, method: Method) {
        bump(&mut self.transaction_timeouts[role as usize][method as usize], &mut self.events);
    }

    pub(crate) fn dialogue_timeout(&mut self, timer: Timer, side: Side) {
        bump(&mut self.dialogue_timeouts[timer as usize][side as usize], &mut self.events);
    }

    pub(crate) fn generated_response(&mut self, toward: Toward, code: u16) {
        bump(&mut self.generated[toward as usize][generated_slot(code)], &mut self.events);
    }
}

fn bump(cell: &mut u32, events: &mut u32) {
    *cell = cell.wrapping_add(1);
    *events = events.wrapping_add(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_orders_match_the_enums() {
        assert!(ROLES.iter().enumerate().all(|(i, r)| *r as usize == i));
        assert!(TIMERS.iter().enumerate().all(|(i, t)| *t as usize == i));
        assert!(SIDES.iter().enumerate().all(|(i, s)| *s as usize == i));
        assert!(Toward::ALL.iter().enumerate().all(|(i, t)| *t as usize == i));
    }

    #[test]
    fn unlisted_codes_share_the_other_slot() {
        let mut s = Stats::default();
        s.generated_response(Toward::Peer, 408);
        s.generated_response(Toward::Peer, 486);
        s.generated_response(Toward::Peer, 599);
        assert_eq!(s.generated(Toward::Peer, 408), 1);
        assert_eq!(s.generated(Toward::Peer, 486), 2, "486 and 599 are both 'other'");
        assert_eq!(s.generated[0][GENERATED_CODES.len()], 2);
        assert_eq!(s.generated_total(Toward::Slp), 0);
        assert_eq!(s.events, 3);
    }

    #[test]
    fn counters_wrap_and_differences_survive_the_wrap() {
        let mut s = Stats::default();
        s.transaction_timeouts[0][0] = u32::MAX;
        let before = s;
        s.transaction_timeout(Role::Server, Method::Invite);
        s.transaction_timeout(Role::Server, Method::Invite);
        assert_eq!(s.transaction_timeouts(Role::Server, Method::Invite), 1);
        assert_eq!(s.transaction_timeouts[0][0].wrapping_sub(before.transaction_timeouts[0][0]), 2);
    }
}
