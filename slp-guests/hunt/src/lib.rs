//! The `hunt` SLP: a hunt group, the example of `docs/writing-an-slp.md`.
//!
//! An INVITE to the service rings the configured agents one after another,
//! each for `ring_seconds`, and bridges the caller to the first agent that
//! answers. The instance is a back-to-back user agent with two legs:
//!
//! * the **caller leg**: the caller's DialogueID, on which we are the callee;
//! * the **agent leg**: a DialogueID from `new_dialogue_id`, on which we call
//!   the agent.
//!
//! Provisional answers and the answer's body (the SDP) go to the caller;
//! once bridged, ACK, BYE, re-INVITE and INFO and their answers are relayed
//! between the legs. When nobody answers, the caller gets 480.
//!
//! Configuration (`[slps.hunt.config]`):
//!
//! ```toml
//! agents = ["agent1@example.com", "agent2@example.com"]   # rung in this order
//! ring_seconds = 15                                       # per agent, default 15
//! ```

use std::collections::HashMap;

use serde::Deserialize;
use slp_sdk::build::{ack, bye, cancel, request, response};
use slp_sdk::{Context, Delivery, InitKind, Kind, Message, Method, Slp};

/// `[slps.<name>.config]`. Unknown keys are errors, so a typo is reported
/// instead of silently ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Settings {
    /// Request-URIs of the agents, in ringing order.
    agents: Vec<String>,
    /// How long each agent rings before the next one is tried.
    ring_seconds: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { agents: Vec::new(), ring_seconds: 15 }
    }
}

impl Settings {
    /// Reads the configuration; on a bad one, logs why and uses the defaults
    /// (no agents: every call is answered 480).
    fn load() -> Settings {
        match slp_sdk::config_json::<Settings>() {
            Ok(s) if (1..=86_400).contains(&s.ring_seconds) => s,
            Ok(s) => {
                slp_sdk::error!("hunt: ring_seconds must be 1..86400, got {}; using 15", s.ring_seconds);
                Settings { ring_seconds: 15, ..s }
            }
            Err(e) => {
                slp_sdk::error!("hunt: bad configuration ({e}); using no agents, so every call gets 480");
                Settings::default()
            }
        }
    }
}

/// One call: the caller leg, the agent leg, and what is in flight between them.
struct Call {
    /// The caller's INVITE, as received.
    caller: Message,
    /// Our INVITE to the agent ringing now, or to the agent that answered.
    agent: Option<Message>,
    /// Index of the next agent to ring.
    next: usize,
    /// The ring timer of the agent ringing now.
    ring_timer: Option<u64>,
    /// An agent answered: the legs are bridged.
    bridged: bool,
    /// Requests we relayed, by (DialogueID, CSeq) of our copy: the original
    /// request, which the answer to our copy answers.
    relayed: HashMap<(String, u64), Message>,
    /// 2xx answers to our INVITEs not yet ACKed, by DialogueID: we ACK them
    /// when the other side ACKs its 2xx.
    unacked: HashMap<String, (Message, Method)>,
}

/// The instance's state. The on-load instance only checks the configuration
/// and ends; a per-session instance handles one call.
struct Hunt {
    settings: Settings,
    call: Option<Call>,
}

impl Slp for Hunt {
    fn init(kind: InitKind, ctx: &Context) -> Self {
        let settings = Settings::load();
        if kind == InitKind::OnLoad {
            let (n, secs) = (settings.agents.len(), settings.ring_seconds);
            slp_sdk::info!("hunt: {} loaded with {n} agent(s), {secs} s each", ctx.slp);
        }
        Hunt { settings, call: None }
    }

    fn on_message(&mut self, d: Delivery) {
        match &mut self.call {
            Some(call) => call.on_message(&self.settings, &d),
            None if d.is_request_of(Method::Invite) => {
                let mut call = Call {
                    caller: d.message.clone(),
                    agent: None,
                    next: 0,
                    ring_timer: None,
                    bridged: false,
                    relayed: HashMap::new(),
                    unacked: HashMap::new(),
                };
                call.ring_next(&self.settings);
                self.call = Some(call);
            }
            None => {
                // Only calls are handled; answer anything else so it does not time out.
                if d.is_request() && !d.is_request_of(Method::Ack) {
                    send(response(&d.message, 405).map(|mut r| {
                        r.set_reason("hunt group: INVITE only");
                        r
                    }));
                }
                slp_sdk::finish();
            }
        }
    }

    fn on_timer(&mut self, id: u64, _tag: u64) {
        if let Some(call) = &mut self.call
            && call.ring_timer == Some(id)
        {
            call.ring_timeout();
        }
    }
}

impl Call {
    /// Rings the next agent, or answers 480 when none is left.
    fn ring_next(&mut self, settings: &Settings) {
        while let Some(agent) = settings.agents.get(self.next) {
            self.next += 1;
            let dialogue_id = match slp_sdk::new_dialogue_id() {
                Ok(id) => id,
                Err(e) => {
                    slp_sdk::error!("hunt: no DialogueID for {agent}: {e}");
                    break;
                }
            };
            // The agent sees the caller's identity and offer (SDP).
            let mut invite = request(Method::Invite, agent, &self.caller.from, agent, &dialogue_id);
            invite.body = self.caller.body.clone();
            match slp_sdk::send(&invite) {
                Ok(_) => {
                    slp_sdk::info!("hunt: ringing {agent}");
                    self.agent = Some(invite);
                    self.ring_timer = slp_sdk::start_timer(settings.ring_seconds * 1000, 0).ok();
                    return;
                }
                Err(e) => slp_sdk::warn!("hunt: cannot call {agent}: {} {}", e.code, e.detail),
            }
        }
        slp_sdk::info!("hunt: nobody answered {}", self.caller.from);
        send(response(&self.caller, 480).map(|mut r| {
            r.set_reason("no agent answered");
            r
        }));
        slp_sdk::finish();
    }

    /// The agent did not answer in time: cancel it; its final answer (487)
    /// moves on to the next agent.
    fn ring_timeout(&mut self) {
        self.ring_timer = None;
        if let Some(invite) = &self.agent {
            slp_sdk::info!("hunt: {} did not answer in time", invite.to);
            send(cancel(invite));
        }
    }

    fn on_message(&mut self, settings: &Settings, d: &Delivery) {
        let from_caller = d.message.dialogue_id == self.caller.dialogue_id;
        match d.message.kind {
            Kind::Request(method) => self.on_request(method, from_caller, d),
            Kind::Response(code) => self.on_response(settings, code, d),
        }
    }

    fn on_request(&mut self, method: Method, from_caller: bool, d: &Delivery) {
        match method {
            // The caller gave up (or the stack did for it, origin `stack`):
            // the stack already answered it; stop ringing and end.
            Method::Cancel => self.hang_up_agent(),
            // BYE is answered by the stack; pass it on and end.
            Method::Bye if from_caller => self.hang_up_agent(),
            Method::Bye => {
                send(bye(&self.caller));
                slp_sdk::finish();
            }
            // An ACK for a 2xx we relayed: ACK the 2xx we received on the other leg.
            Method::Ack => {
                if let Some(other) = self.other_leg(from_caller).map(|m| m.dialogue_id.to_string())
                    && let Some((ok, method)) = self.unacked.remove(&other)
                {
                    send(ack(&ok, method).map(|mut a| {
                        a.body = d.message.body.clone();
                        a
                    }));
                }
            }
            // re-INVITE, INFO, UPDATE, PRACK: relay once bridged; before
            // that only the caller can send them (PRACK, early UPDATE): accept.
            _ if self.bridged => self.relay(method, from_caller, d),
            _ => send(response(&d.message, 200)),
        }
    }

    fn on_response(&mut self, settings: &Settings, code: u16, d: &Delivery) {
        let key = (d.message.dialogue_id.to_string(), d.message.cseq);
        // The answer to a request we relayed goes back to its sender.
        if let Some(original) = self.relayed.get(&key) {
            send(with_body(response(original, code), &d.message));
            if code >= 200 {
                self.relayed.remove(&key);
                if d.method == Method::Invite && code < 300 {
                    self.unacked.insert(key.0, (d.message.clone(), d.method));
                }
            }
            return;
        }
        // Otherwise only the answer to our INVITE to the ringing agent matters.
        let ringing = self.agent.as_ref().is_some_and(|a| a.dialogue_id == d.message.dialogue_id);
        if self.bridged || !ringing || d.method != Method::Invite {
            return;
        }
        match code {
            100 => {}
            101..=199 => send(with_body(response(&self.caller, code), &d.message)),
            200..=299 => {
                self.stop_ring_timer();
                self.bridged = true;
                slp_sdk::info!("hunt: {} answered", d.message.to);
                self.unacked.insert(key.0, (d.message.clone(), d.method));
                send(with_body(response(&self.caller, code), &d.message));
            }
            _ => {
                // Busy, declined, cancelled after the ring time, offline, timed out: next.
                self.stop_ring_timer();
                slp_sdk::info!("hunt: {} answered {code}", d.message.to);
                self.agent = None;
                self.ring_next(settings);
            }
        }
    }

    /// Copies a request to the other leg and remembers it to relay the answer.
    fn relay(&mut self, method: Method, from_caller: bool, d: &Delivery) {
        let Some(other) = self.other_leg(from_caller) else { return };
        let uri = other.request_uri.as_deref().unwrap_or_default();
        let mut copy = request(method, uri, &other.from, &other.to, &other.dialogue_id);
        copy.body = d.message.body.clone();
        match slp_sdk::send(&copy) {
            Ok(sent) => {
                self.relayed.insert((sent.dialogue_id, sent.cseq), d.message.clone());
            }
            Err(e) => {
                slp_sdk::warn!("hunt: cannot relay {}: {} {}", d.name(), e.code, e.detail);
                send(response(&d.message, 500));
            }
        }
    }

    /// The caller left: cancel a ringing agent or hang up the bridged one.
    fn hang_up_agent(&mut self) {
        self.stop_ring_timer();
        if let Some(invite) = &self.agent {
            send(if self.bridged { bye(invite) } else { cancel(invite) });
        }
        slp_sdk::finish();
    }

    /// The INVITE of the leg the message did not come from.
    fn other_leg(&self, from_caller: bool) -> Option<&Message> {
        if from_caller { self.agent.as_ref() } else { Some(&self.caller) }
    }

    fn stop_ring_timer(&mut self) {
        if let Some(id) = self.ring_timer.take() {
            slp_sdk::cancel_timer(id);
        }
    }
}

/// A relayed response carries the body (SDP) of the one it relays.
fn with_body(
    answer: Result<Message, slp_sdk::HelperError>,
    from: &Message,
) -> Result<Message, slp_sdk::HelperError> {
    answer.map(|mut a| {
        a.body = from.body.clone();
        a
    })
}

/// Sends a message, logging (not trapping) when that fails: a call that went
/// away in the meantime is normal in a B2BUA.
fn send(msg: Result<Message, slp_sdk::HelperError>) {
    match msg {
        Ok(m) => {
            if let Err(e) = slp_sdk::send(&m) {
                let what = match m.kind {
                    Kind::Request(method) => method.to_string(),
                    Kind::Response(code) => format!("response {code}"),
                };
                slp_sdk::warn!("hunt: {what} not sent: {} {}", e.code, e.detail);
            }
        }
        Err(e) => slp_sdk::warn!("hunt: cannot build a message: {e}"),
    }
}

slp_sdk::export_slp!(Hunt);
