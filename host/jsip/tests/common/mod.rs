//! A test driver for [`jsip::Stack`]: one stack, a virtual clock, peers that
//! are just endpoint names, and a readable event log.
//!
//! * Inputs: [`Harness::recv`] / [`Harness::recv_json`] (a peer's frame),
//!   [`Harness::send`] (the SLP), [`Harness::advance`] (time passes: every
//!   `next_timeout()` deadline up to the target is handled at its exact time),
//!   [`Harness::end`] (the instance ends).
//! * Outputs are logged as `tx alice INVITE_180`, `deliver PRACK`,
//!   `deliver INVITE_408 (stack)`, `term d1 dialogue`, `drop no_transaction`,
//!   `redispatch MESSAGE`, each with the virtual time in milliseconds.
//! * Every tracked Transmit is reported `written` at once ([`Writes::Auto`]),
//!   so client timers start; [`Writes::Hold`] leaves requests QUEUED and
//!   [`Writes::Fail`] reports them undeliverable.
#![allow(dead_code)]

use std::collections::HashMap;
use std::time::Duration;

use jsip::build;
use jsip::stack::{Config, DropReason, InstanceEnd, Undeliverable};
use jsip::stats::Toward;
use jsip::transaction::Timers;
use jsip::{
    Delivery, DialogueId, Endpoint, Message, Method, Origin, Output, SendError, Sent, Stack, TermKind, Time,
    Track,
};

/// The §18 scaled timers: trans 1 s, pr 3 s (INVITE tx 6 s, T-est 3 s), session 9 s.
pub fn scaled() -> Config {
    Config {
        timers: Timers {
            trans: Duration::from_secs(1),
            pr: Duration::from_secs(3),
            session: Duration::from_secs(9),
        },
        ..Config::default()
    }
}

/// The real default timers: trans 5 s, pr 60 s, session 600 s.
pub fn real() -> Config {
    Config::default()
}

/// What the driver does with a tracked (client) request the stack transmits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Writes {
    /// Report it written at once: its timers start.
    Auto,
    /// Leave it QUEUED; see [`Harness::write_queued`] / [`Harness::fail_queued`].
    Hold,
    /// Report it undeliverable at once.
    Fail(Undeliverable),
}

/// What one output was, with the parsed message where there is one.
#[derive(Debug, Clone)]
pub enum What {
    Tx { endpoint: String, message: Message, track: Option<Track> },
    Deliver(Delivery),
    Term { dialogue_id: DialogueId, kind: TermKind },
    Redispatch { message: Message, source: Endpoint },
    Dropped(DropReason),
}

/// One logged output.
#[derive(Debug, Clone)]
pub struct Event {
    /// Virtual time in ms.
    pub at: u64,
    /// The readable line.
    pub text: String,
    pub what: What,
}

pub struct Harness {
    pub stack: Stack,
    now: Time,
    pub log: Vec<Event>,
    cursor: usize,
    /// Route table for first requests: user-host key → endpoint.
    pub users: HashMap<String, Endpoint>,
    pub writes: Writes,
    /// Tracks held by [`Writes::Hold`], in order.
    pub queued: Vec<Track>,
    /// Method of each request received or transmitted, by (DialogueID, CSeq),
    /// to name responses on the wire.
    received: HashMap<(String, u64), Method>,
    sent: HashMap<(String, u64), Method>,
    /// Invariants (§5.3, O5): received requests already given a final answer on
    /// the wire, and SLP requests already given a final outcome.
    answered: std::collections::HashSet<(String, u64)>,
    outcome: std::collections::HashSet<(String, u64)>,
    /// DialogueIDs in an open binding period, as the outputs tell (§7.2, §7.4).
    open: std::collections::HashSet<String>,
    ended: bool,
    max_frame: usize,
    /// Responses the SLP sent successfully and not yet seen on the wire
    /// (DialogueID, CSeq, code); any other response on the wire is the
    /// stack's own, counted in `generated_on_wire` ([`Stack::stats`]).
    slp_responses: Vec<(String, u64, u16)>,
    generated_on_wire: u32,
    /// Responses delivered with origin `stack`.
    stack_deliveries: u32,
}

impl Harness {
    /// A stack with these settings; users `alice`, `bob` and `carol` are
    /// connected (their user-host keys route to endpoints of the same name).
    pub fn new(config: Config) -> Harness {
        let users = ["alice", "bob", "carol"].iter().map(|u| (u.to_string(), Endpoint::from(*u))).collect();
        Harness {
            stack: Stack::new(config),
            now: Time::ZERO,
            log: Vec::new(),
            cursor: 0,
            users,
            writes: Writes::Auto,
            queued: Vec::new(),
            received: HashMap::new(),
            sent: HashMap::new(),
            answered: Default::default(),
            outcome: Default::default(),
            open: Default::default(),
            ended: false,
            max_frame: config.max_frame,
            slp_responses: Vec::new(),
            generated_on_wire: 0,
            stack_deliveries: 0,
        }
    }

    /// The §18 scaled timers.
    pub fn scaled() -> Harness {
        Harness::new(scaled())
    }

    /// Virtual time in ms.
    pub fn now(&self) -> u64 {
        self.now.as_millis()
    }

    // ------------------------------------------------------------ inputs

    /// A peer's message arrives on endpoint `from`.
    pub fn recv(&mut self, from: &str, message: Message) {
        if let Some(m) = message.method() {
            let key = (message.dialogue_id.to_string(), message.cseq);
            if m != Method::Ack {
                self.answered.remove(&key);
                self.received.insert(key, m);
            }
        }
        self.stack.receive(message, &Endpoint::from(from), self.now);
        self.pump();
    }

    /// A peer's frame arrives: parsed by the syntax layer first (it must pass).
    pub fn recv_json(&mut self, from: &str, frame: &str) {
        let message = jsip::syntax::parse(frame.as_bytes(), self.max_frame)
            .unwrap_or_else(|e| panic!("frame rejected by the syntax layer: {e}: {frame}"));
        self.recv(from, message);
    }

    /// The SLP sends a message.
    pub fn send(&mut self, message: Message) -> Result<Sent, SendError> {
        let users = self.users.clone();
        let routes = move |key: &str| users.get(key).cloned();
        let method = message.method();
        let response = message.code().map(|c| (message.dialogue_id.to_string(), message.cseq, c));
        let result = self.stack.send(message, self.now, &routes);
        if let (Some(r), Ok(_)) = (response, &result) {
            self.slp_responses.push(r);
        }
        if let (Some(m), Ok(sent)) = (method, &result) {
            let key = (sent.dialogue_id.to_string(), sent.cseq);
            self.outcome.remove(&key);
            self.sent.insert(key, m);
        }
        // A successful send opens the period (unbound DialogueIDs become bound
        // to the sender); its outputs may close it again at once.
        if let Ok(sent) = &result
            && !self.ended
        {
            self.open.insert(sent.dialogue_id.to_string());
        }
        self.pump();
        result
    }

    /// The SLP sends a message that must be accepted.
    #[track_caller]
    pub fn send_ok(&mut self, message: Message) -> Sent {
        match self.send(message) {
            Ok(sent) => sent,
            Err(e) => panic!("send failed: {e}"),
        }
    }

    /// The SLP sends a message that must fail; returns the error.
    #[track_caller]
    pub fn send_err(&mut self, message: Message) -> SendError {
        let before = self.log.len();
        match self.send(message) {
            Ok(sent) => panic!("send succeeded: {sent:?}"),
            Err(e) => {
                assert_eq!(
                    self.log.len(),
                    before,
                    "a failed send must change nothing: {:?}",
                    &self.log[before..]
                );
                e
            }
        }
    }

    /// The SLP answers a delivered request.
    #[track_caller]
    pub fn answer(&mut self, request: &Message, code: u16) -> Sent {
        self.send_ok(build::response(request, code).expect("response helper"))
    }

    /// The host answers a pending server transaction (dispatch 404, 503…).
    pub fn host_answer(&mut self, d: &str, cseq: u64, code: u16, reason: &str) {
        self.stack.answer(&DialogueId::from(d), cseq, code, reason, self.now);
        self.pump();
    }

    /// Time passes by `ms`: every deadline on the way is handled at its exact time.
    pub fn advance(&mut self, ms: u64) {
        let target = Time::from_millis(self.now.as_millis() + ms);
        while let Some(at) = self.stack.next_timeout() {
            if at > target {
                break;
            }
            assert!(at >= self.now, "a deadline in the past: {at:?} < {:?}", self.now);
            self.now = at;
            self.stack.handle_timeout(at);
            self.pump();
        }
        self.now = target;
    }

    /// Moves the clock to `ms`, handling the deadlines strictly before it and
    /// leaving those due exactly at `ms` pending: the next input is processed
    /// before them (a race decided by the event stream, §5.3, §8.1).
    pub fn jump_to(&mut self, ms: u64) {
        if ms > self.now() {
            self.advance(ms - self.now() - 1);
        }
        self.now = Time::from_millis(ms);
    }

    /// Advances to the absolute virtual time `ms`.
    pub fn advance_to(&mut self, ms: u64) {
        assert!(ms >= self.now(), "time runs forward");
        self.advance(ms - self.now());
    }

    /// Runs every timer there is (bounded by `limit_ms` from now).
    pub fn run_out(&mut self, limit_ms: u64) {
        self.advance(limit_ms);
    }

    /// The instance ends.
    pub fn end(&mut self, how: InstanceEnd) {
        self.stack.end_instance(how, self.now);
        self.ended = true;
        self.open.clear();
        self.pump();
    }

    /// Reports every held request written now.
    pub fn write_queued(&mut self) {
        for track in std::mem::take(&mut self.queued) {
            self.stack.written(&track, self.now);
            self.pump();
        }
    }

    /// Reports every held request undeliverable now.
    pub fn fail_queued(&mut self, why: Undeliverable) {
        for track in std::mem::take(&mut self.queued) {
            self.stack.undeliverable(&track, &why, self.now);
            self.pump();
        }
    }

    fn pump(&mut self) {
        self.drain();
        let stats = self.stack.stats();
        assert_eq!(
            stats.generated_total(Toward::Slp),
            self.stack_deliveries,
            "stats count every response delivered with origin stack"
        );
        assert_eq!(
            stats.generated_total(Toward::Peer),
            self.generated_on_wire,
            "stats count every response on the wire that the SLP did not send"
        );
        for d in self.stack.dialogue_ids().map(|d| d.to_string()).collect::<Vec<_>>() {
            assert_eq!(
                self.stack.is_bound(&d),
                self.open.contains(&d),
                "is_bound({d}) disagrees with the outputs"
            );
        }
        for d in &self.open {
            assert!(self.stack.is_bound(d), "{d} has an open period but the stack holds no binding");
        }
    }

    fn drain(&mut self) {
        loop {
            let mut tracks = Vec::new();
            while let Some(output) = self.stack.poll_output() {
                if let Output::Transmit(t) = &output
                    && let Some(track) = &t.track
                {
                    tracks.push(track.clone());
                }
                self.record(output);
            }
            if tracks.is_empty() {
                return;
            }
            for track in tracks {
                match self.writes.clone() {
                    Writes::Auto => self.stack.written(&track, self.now),
                    Writes::Hold => self.queued.push(track),
                    Writes::Fail(why) => self.stack.undeliverable(&track, &why, self.now),
                }
            }
        }
    }

    fn record(&mut self, output: Output) {
        let (text, what) = match output {
            Output::Transmit(t) => {
                let message = jsip::syntax::parse(t.frame.as_bytes(), usize::MAX).unwrap_or_else(|e| {
                    panic!("the stack wrote a frame that does not parse: {e}: {}", t.frame)
                });
                assert!(t.frame.len() <= self.max_frame, "frame over the limit");
                assert_eq!(t.kind, message.kind, "Transmit.kind says what the frame holds: {}", t.frame);
                let key = (message.dialogue_id.to_string(), message.cseq);
                let tracked = message.is_request() && message.method() != Some(Method::Ack);
                assert_eq!(
                    t.track.is_some(),
                    tracked,
                    "a track on exactly the requests with a transaction: {}",
                    t.frame
                );
                if let Some(track) = &t.track {
                    assert_eq!((track.dialogue_id.to_string(), track.cseq), key.clone());
                }
                if let Some(code) = message.code() {
                    let sent = (key.0.clone(), key.1, code);
                    match self.slp_responses.iter().position(|r| *r == sent) {
                        Some(i) => drop(self.slp_responses.swap_remove(i)),
                        None => self.generated_on_wire += 1,
                    }
                }
                if message.code().is_some_and(|c| c >= 200) {
                    assert!(
                        self.answered.insert(key.clone()),
                        "two final answers on the wire for {key:?}: {}",
                        t.frame
                    );
                }
                let name = match message.method() {
                    Some(m) => {
                        self.sent.insert(key, m);
                        m.to_string()
                    }
                    None => {
                        let m = self.received.get(&key).map_or("?".to_string(), |m| m.to_string());
                        format!("{m}_{}", message.code().unwrap_or(0))
                    }
                };
                (
                    format!("tx {} {name}", t.endpoint),
                    What::Tx { endpoint: t.endpoint.to_string(), message, track: t.track },
                )
            }
            Output::Deliver(d) => {
                assert!(!self.ended, "a delivery after the instance ended: {:?}", d.message);
                let id = d.message.dialogue_id.to_string();
                match d.first {
                    true => {
                        assert!(self.open.insert(id), "first=true inside an open period: {:?}", d.message)
                    }
                    false => assert!(self.open.contains(&id), "a delivery outside a period: {:?}", d.message),
                }
                if d.message.code().is_some_and(|c| c >= 200) {
                    let key = (d.message.dialogue_id.to_string(), d.message.cseq);
                    assert!(
                        self.outcome.insert(key.clone()),
                        "two final outcomes delivered for {key:?}: {:?}",
                        d.message
                    );
                }
                if d.origin == Origin::Stack && !d.message.is_request() {
                    self.stack_deliveries += 1;
                }
                let name = build::name(&d.message, d.method);
                let origin = if d.origin == Origin::Stack { " (stack)" } else { "" };
                (format!("deliver {name}{origin}"), What::Deliver(d))
            }
            Output::Term { dialogue_id, kind } => {
                assert!(!self.ended, "a TERM after the instance ended");
                assert!(
                    self.open.remove(dialogue_id.as_str()),
                    "a TERM without an open period for {dialogue_id}"
                );
                let k = match kind {
                    TermKind::Dialogue => "dialogue",
                    TermKind::Transactions => "transactions",
                };
                (format!("term {dialogue_id} {k}"), What::Term { dialogue_id, kind })
            }
            Output::Redispatch { message, source } => {
                let name = message.method().map_or("?".into(), |m| m.to_string());
                (format!("redispatch {name}"), What::Redispatch { message, source })
            }
            Output::Dropped { reason, .. } => (format!("drop {}", reason.label()), What::Dropped(reason)),
        };
        self.log.push(Event { at: self.now.as_millis(), text, what });
    }

    // ------------------------------------------------------------ reading the log

    /// The lines logged since the last `take`/`take_timed`.
    pub fn take(&mut self) -> Vec<String> {
        let out = self.log[self.cursor..].iter().map(|e| e.text.clone()).collect();
        self.cursor = self.log.len();
        out
    }

    /// Like [`Harness::take`], each line prefixed with `@<ms> `.
    pub fn take_timed(&mut self) -> Vec<String> {
        let out = self.log[self.cursor..].iter().map(|e| format!("@{} {}", e.at, e.text)).collect();
        self.cursor = self.log.len();
        out
    }

    /// Every line ever logged, timed.
    pub fn all_timed(&self) -> Vec<String> {
        self.log.iter().map(|e| format!("@{} {}", e.at, e.text)).collect()
    }

    /// The last transmitted message whose log name is `name` (e.g. `INVITE`, `BYE_200`).
    #[track_caller]
    pub fn tx(&self, name: &str) -> Message {
        self.log
            .iter()
            .rev()
            .find_map(|e| match &e.what {
                What::Tx { message, .. } if e.text.ends_with(&format!(" {name}")) => Some(message.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("nothing transmitted as {name}; log: {:#?}", self.all_timed()))
    }

    /// The endpoint the last `name` was transmitted to.
    #[track_caller]
    pub fn tx_endpoint(&self, name: &str) -> String {
        self.log
            .iter()
            .rev()
            .find_map(|e| match &e.what {
                What::Tx { endpoint, .. } if e.text.ends_with(&format!(" {name}")) => Some(endpoint.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("nothing transmitted as {name}"))
    }

    /// The last delivery whose log name is `name` (e.g. `INVITE`, `PRACK_200`).
    #[track_caller]
    pub fn delivered(&self, name: &str) -> Delivery {
        self.log
            .iter()
            .rev()
            .find_map(|e| match &e.what {
                What::Deliver(d) if build::name(&d.message, d.method) == name => Some(d.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("nothing delivered as {name}; log: {:#?}", self.all_timed()))
    }

    /// The message of [`Harness::delivered`].
    #[track_caller]
    pub fn dmsg(&self, name: &str) -> Message {
        self.delivered(name).message
    }

    /// Number of TERM outputs so far.
    pub fn terms(&self) -> usize {
        self.log.iter().filter(|e| matches!(e.what, What::Term { .. })).count()
    }
}

// ------------------------------------------------------------ dialogue set-ups

impl Harness {
    /// UAS: `alice` sends an INVITE on `d` with CSeq `cseq`; returns the
    /// delivered INVITE (with its effective Expire). The log is taken.
    #[track_caller]
    pub fn uas_invite(&mut self, d: &str, cseq: u64) -> Message {
        self.recv("alice", peer(Method::Invite, d, cseq));
        let got = self.take();
        assert_eq!(got, lines(&["deliver INVITE"]));
        self.dmsg("INVITE")
    }

    /// UAS: INVITE, SLP 180 (→ 18X). Returns the INVITE. The log is taken.
    #[track_caller]
    pub fn uas_ringing(&mut self, d: &str, cseq: u64) -> Message {
        let inv = self.uas_invite(d, cseq);
        self.answer(&inv, 180);
        assert_eq!(self.take(), lines(&["tx alice INVITE_180"]));
        inv
    }

    /// UAS: INVITE, SLP 200 (→ 200 state), optionally the peer's ACK (→ ACK).
    #[track_caller]
    pub fn uas_confirmed(&mut self, d: &str, cseq: u64, acked: bool) -> Message {
        let inv = self.uas_invite(d, cseq);
        self.answer(&inv, 200);
        assert_eq!(self.take(), lines(&["tx alice INVITE_200"]));
        if acked {
            self.recv("alice", peer_ack(d, cseq + 1000, Some(cseq)));
            assert_eq!(self.take(), lines(&["deliver ACK"]));
        }
        inv
    }

    /// UAC: the SLP sends an INVITE to `bob` on `d`; returns the INVITE as
    /// transmitted (with its CSeq and effective Expire). The log is taken.
    #[track_caller]
    pub fn uac_invite(&mut self, d: &str) -> Message {
        self.send_ok(slp(Method::Invite, "bob", d, 0));
        assert_eq!(self.take(), lines(&["tx bob INVITE"]));
        self.tx("INVITE")
    }

    /// UAC: INVITE, bob's 180 delivered (→ 18X). Returns the INVITE.
    #[track_caller]
    pub fn uac_ringing(&mut self, d: &str) -> Message {
        let inv = self.uac_invite(d);
        self.recv("bob", resp(&inv, 180));
        assert_eq!(self.take(), lines(&["deliver INVITE_180"]));
        inv
    }

    /// UAC: INVITE, bob's 200 delivered (→ 200), optionally the SLP's ACK (→ ACK).
    #[track_caller]
    pub fn uac_confirmed(&mut self, d: &str, acked: bool) -> Message {
        let inv = self.uac_invite(d);
        self.recv("bob", resp(&inv, 200));
        assert_eq!(self.take(), lines(&["deliver INVITE_200"]));
        if acked {
            let ok = self.dmsg("INVITE_200");
            self.send_ok(ack_for(&ok));
            assert_eq!(self.take(), lines(&["tx bob ACK"]));
        }
        inv
    }

    /// The state of the dialogue on `d`, by its gortc name, or `-` without one.
    pub fn state(&self, d: &str) -> &'static str {
        self.stack.dialogue_state(d).map_or("-", |s| s.name())
    }
}

// ------------------------------------------------------------ message builders

/// A request with explicit fields.
pub fn request(method: Method, ruri: &str, from: &str, to: &str, d: &str, cseq: u64) -> Message {
    Message::request(method, ruri, from, to, d, cseq)
}

/// A peer's request toward the service: Request-URI and To `svc`, From `alice`.
pub fn peer(method: Method, d: &str, cseq: u64) -> Message {
    Message::request(method, "svc", "alice", "svc", d, cseq)
}

/// The SLP's request toward `to` (also its Request-URI), From `svc`; CSeq
/// 0 lets the stack choose.
pub fn slp(method: Method, to: &str, d: &str, cseq: u64) -> Message {
    Message::request(method, to, "svc", to, d, cseq)
}

/// A response to `request`.
pub fn resp(request: &Message, code: u16) -> Message {
    build::response(request, code).expect("response helper")
}

/// An ACK for an INVITE final response (the SDK helper).
pub fn ack_for(response: &Message) -> Message {
    build::ack(response, Method::Invite).expect("ack helper")
}

/// A peer's ACK on `d` with this CSeq and optional RelatedID.
pub fn peer_ack(d: &str, cseq: u64, related: Option<u64>) -> Message {
    let mut m = peer(Method::Ack, d, cseq);
    m.related_id = related;
    m
}

/// A peer's CANCEL on `d` with this CSeq and optional RelatedID.
pub fn peer_cancel(d: &str, cseq: u64, related: Option<u64>) -> Message {
    let mut m = peer(Method::Cancel, d, cseq);
    m.related_id = related;
    m
}

/// Convenience: `vec!["a", "b"]` as owned strings.
pub fn lines(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[allow(unused_imports)]
pub use jsip::stack::{InstanceEnd as End, Undeliverable as Undeliv};
