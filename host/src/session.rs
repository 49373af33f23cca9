//! The state of one session actor, which is also the data of its wasm
//! `Store`: the jsip stack of the instance's DialogueIDs and everything the
//! instance holds (timers, relids, reserved DialogueIDs). Host calls made by
//! the guest (spec §13.3) land here and run synchronously.

use std::sync::Arc;
use std::time::Duration;

use jsip::stack::{SendError, Sent, Stack};
use jsip::{DialogueId, Time};
use wasmtime::ResourceLimiter;

use crate::actor::ActorRef;
use crate::runtime::bindings::{host, kv, types as wit};
use crate::runtime::convert::{message_from_wit, send_error_to_wit};
use crate::runtime::deadline::Budget;
use crate::runtime::kv::{Expect, KvError};
use crate::runtime::modules::Version;
use crate::runtime::wasi::{WasiState, WasiView};
use crate::shared::Shared;

/// Sends allowed in one call (spec §12.4).
pub const MAX_SENDS_PER_CALL: u32 = 1024;
/// Log lines allowed in one call.
pub const MAX_LOGS_PER_CALL: u32 = 100;
/// Reserved DialogueIDs per instance.
pub const MAX_RESERVED: usize = 1024;
/// Longest log line.
pub const MAX_LOG_LINE: usize = 4096;
/// DialogueIDs one instance may have bound at once (its dialogues and live
/// client transactions): without it a guest on a fast timer could bind
/// hundreds of thousands of unanswered requests.
pub const MAX_BOUND: usize = 4096;
/// Longest timer delay: one day.
pub const MAX_TIMER_MS: u32 = 86_400_000;

/// Caps an instance's memories and tables (spec §12.4), and remembers a
/// refusal so a trap that follows can be reported as `memory`.
pub struct Limiter {
    /// Largest total linear memory.
    pub max_memory: usize,
    /// Set when a growth was refused.
    pub denied: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            self.denied = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 20_000)
    }
}

/// Which instance runs in the session.
pub struct InstanceInfo {
    /// Its version (kept alive while the instance lives).
    pub version: Arc<Version>,
    /// Unique per process.
    pub id: u64,
    /// True for the on-load instance.
    pub on_load: bool,
}

/// A pending SLP timer. A fired one stays here until its firing is delivered,
/// so that cancelling it still suppresses a firing already queued (spec §13.3).
struct SlpTimer {
    id: u64,
    at: Time,
    tag: u64,
    fired: bool,
}

/// The session: stack plus instance bookkeeping.
pub struct Session {
    /// Process-wide state.
    pub shared: Arc<Shared>,
    /// This session's actor.
    pub me: ActorRef,
    /// The protocol stack of every DialogueID bound to the instance.
    pub stack: Stack,
    /// The guest's WASI world.
    pub wasi: WasiState,
    /// Memory cap.
    pub limiter: Limiter,
    /// CPU budget of the call in progress.
    pub budget: Budget,
    /// The instance, if one was created.
    pub instance: Option<InstanceInfo>,
    /// DialogueIDs this session put into the dispatch index.
    pub bound: Vec<DialogueId>,
    /// Reserved DialogueIDs not used yet.
    pub reserved: Vec<DialogueId>,
    /// Bound relids.
    pub relids: Vec<String>,
    timers: Vec<SlpTimer>,
    next_timer: u64,
    /// `finish` was called.
    pub finished: bool,
    sends_in_call: u32,
    logs_in_call: u32,
}

impl Session {
    /// A fresh session for an actor.
    pub fn new(shared: Arc<Shared>, me: ActorRef) -> Session {
        let stack = Stack::new(shared.stack_config());
        let max_memory = shared.config.slp.memory_limit;
        Session {
            shared,
            me,
            stack,
            wasi: WasiState::new(),
            limiter: Limiter { max_memory, denied: false },
            budget: Budget::default(),
            instance: None,
            bound: Vec::new(),
            reserved: Vec::new(),
            relids: Vec::new(),
            timers: Vec::new(),
            next_timer: 0,
            finished: false,
            sends_in_call: 0,
            logs_in_call: 0,
        }
    }

    /// A session for trial instantiations at upload: no actor behind it, and
    /// no entry point is ever called on it.
    pub fn probe(shared: Arc<Shared>) -> Session {
        Session::new(shared, ActorRef::detached())
    }

    /// Resets the per-call budgets before a call into the guest that may run
    /// for `ticks` epoch ticks.
    pub fn begin_call(&mut self, ticks: u64) {
        self.budget.start(ticks);
        self.limiter.denied = false;
        self.sends_in_call = 0;
        self.logs_in_call = 0;
    }

    /// The SLP name, or "" without an instance.
    pub fn slp_name(&self) -> &str {
        self.instance.as_ref().map_or("", |i| &i.version.name)
    }

    /// Earliest SLP timer not fired yet.
    pub fn next_timer(&self) -> Option<Time> {
        self.timers.iter().filter(|t| !t.fired).map(|t| t.at).min()
    }

    /// Marks the timers due at `now` as fired and returns their ids in deadline order.
    pub fn due_timers(&mut self, now: Time) -> Vec<u64> {
        let mut due: Vec<(Time, u64)> =
            self.timers.iter().filter(|t| !t.fired && t.at <= now).map(|t| (t.at, t.id)).collect();
        due.sort();
        for t in self.timers.iter_mut().filter(|t| !t.fired && t.at <= now) {
            t.fired = true;
        }
        due.into_iter().map(|(_, id)| id).collect()
    }

    /// Removes a fired timer as its firing is delivered: its tag, or `None`
    /// when it was cancelled meanwhile.
    pub fn take_fired(&mut self, id: u64) -> Option<u64> {
        let i = self.timers.iter().position(|t| t.id == id && t.fired)?;
        Some(self.timers.swap_remove(i).tag)
    }

    /// True while the instance holds a pending timer.
    pub fn has_timers(&self) -> bool {
        !self.timers.is_empty()
    }

    /// Cancels every timer (instance end, on-load superseded).
    pub fn clear_timers(&mut self) {
        self.timers.clear();
    }

    fn send_message(&mut self, msg: wit::Message) -> Result<Sent, SendError> {
        self.sends_in_call += 1;
        if self.sends_in_call > MAX_SENDS_PER_CALL {
            return Err(SendError::Quota(format!("more than {MAX_SENDS_PER_CALL} sends in one call")));
        }
        let msg = message_from_wit(msg)?;
        let d = msg.dialogue_id.clone();
        let dispatch = &self.shared.dispatch;
        let owned = match dispatch.owner(&d) {
            Some(owner) if owner != self.me.id() => return Err(SendError::NotOwner),
            Some(_) => true,
            None => false,
        };
        if !owned && self.bound.len() >= MAX_BOUND {
            return Err(SendError::Quota(format!("{MAX_BOUND} DialogueIDs bound to this instance")));
        }
        let registry = Arc::clone(&self.shared.registry);
        let routes = move |key: &str| registry.resolve(key);
        let now = self.shared.registry.now();
        let sent = self.stack.send(msg, now, &routes)?;
        // An unbound DialogueID becomes bound to the sender (spec §7.2).
        if !owned && self.stack.is_bound(&d) && dispatch.bind(&d, &self.me) {
            self.bound.push(d.clone());
        }
        self.reserved.retain(|r| *r != d);
        Ok(sent)
    }
}

impl WasiView for Session {
    fn wasi(&mut self) -> &mut WasiState {
        &mut self.wasi
    }
}

impl wit::Host for Session {}

impl host::Host for Session {
    fn send(&mut self, msg: wit::Message) -> Result<wit::Sent, wit::SendError> {
        self.send_message(msg)
            .map(|s| wit::Sent { dialogue_id: s.dialogue_id.to_string(), cseq: s.cseq })
            .map_err(|e| send_error_to_wit(&e))
    }

    fn new_dialogue_id(&mut self) -> Result<String, String> {
        if self.reserved.len() >= MAX_RESERVED {
            return Err(format!("quota: {MAX_RESERVED} reserved DialogueIDs"));
        }
        let id = DialogueId::from(format!("dlg_{}_{}", self.shared.config.jsip.realm, uuid::Uuid::new_v4()));
        if self.shared.dispatch.bind(&id, &self.me) {
            self.bound.push(id.clone());
        }
        self.reserved.push(id.clone());
        Ok(id.to_string())
    }

    fn bind_relid(&mut self) -> Result<String, String> {
        let max = self.shared.config.slp.max_relids;
        if self.relids.len() >= max {
            return Err(format!("quota: {max} relids"));
        }
        let relid = format!("rel{}+{}", self.shared.config.jsip.realm, uuid::Uuid::new_v4());
        self.shared.dispatch.bind_relid(&relid, &self.me);
        self.relids.push(relid.clone());
        Ok(relid)
    }

    fn unbind_relid(&mut self, relid: String) -> bool {
        let Some(i) = self.relids.iter().position(|r| *r == relid) else { return false };
        self.relids.swap_remove(i);
        self.shared.dispatch.unbind_relid(&relid, self.me.id());
        true
    }

    fn start_timer(&mut self, delay_ms: u32, tag: u64) -> Result<u64, String> {
        if !(1..=MAX_TIMER_MS).contains(&delay_ms) {
            return Err(format!("delay must be 1 … {MAX_TIMER_MS} ms"));
        }
        let max = self.shared.config.slp.max_timers;
        if self.timers.len() >= max {
            return Err(format!("quota: {max} pending timers"));
        }
        self.next_timer += 1;
        let at = self.shared.registry.now() + Duration::from_millis(u64::from(delay_ms));
        self.timers.push(SlpTimer { id: self.next_timer, at, tag, fired: false });
        Ok(self.next_timer)
    }

    fn cancel_timer(&mut self, id: u64) -> bool {
        // Pending, or fired but not delivered yet: either way it never arrives.
        match self.timers.iter().position(|t| t.id == id) {
            Some(i) => {
                self.timers.swap_remove(i);
                true
            }
            None => false,
        }
    }

    fn finish(&mut self) {
        self.finished = true;
    }

    fn log(&mut self, level: wit::LogLevel, text: String) {
        self.logs_in_call += 1;
        if self.logs_in_call > MAX_LOGS_PER_CALL {
            self.shared.metrics.inc("slp_log_lines_dropped_total", "");
            return;
        }
        let mut text = text;
        if text.len() > MAX_LOG_LINE {
            let mut cut = MAX_LOG_LINE;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        let (slp, hash, instance) = match &self.instance {
            Some(i) => (i.version.name.to_string(), i.version.hash()[..8].to_owned(), i.id),
            None => (String::new(), String::new(), 0),
        };
        match level {
            wit::LogLevel::Debug => tracing::debug!(target: "slp", %slp, %hash, instance, "{text}"),
            wit::LogLevel::Info => tracing::info!(target: "slp", %slp, %hash, instance, "{text}"),
            wit::LogLevel::Warn => tracing::warn!(target: "slp", %slp, %hash, instance, "{text}"),
            wit::LogLevel::Error => tracing::error!(target: "slp", %slp, %hash, instance, "{text}"),
        }
    }

    fn config(&mut self) -> String {
        self.shared.config.slp_config_json(self.slp_name())
    }

    fn realm(&mut self) -> String {
        self.shared.config.jsip.realm.clone()
    }
}

fn kv_error(e: KvError) -> kv::KvError {
    match e {
        KvError::Quota => kv::KvError::Quota,
        KvError::Invalid => kv::KvError::Invalid,
        KvError::Conflict => kv::KvError::Conflict,
    }
}

fn ttl(ms: Option<u64>) -> Option<Duration> {
    ms.map(Duration::from_millis)
}

impl Session {
    fn kv_store(&self) -> crate::runtime::kv::Store {
        self.shared.kv.namespace(&self.shared.config.store_namespace(self.slp_name()))
    }
}

impl kv::Host for Session {
    fn get(&mut self, key: String) -> Option<kv::Entry> {
        self.kv_store().get(&key).map(|e| kv::Entry {
            value: e.value,
            revision: e.revision,
            ttl_ms: e.ttl.map(|t| t.as_millis() as u64),
        })
    }

    fn put(&mut self, key: String, value: Vec<u8>, ttl_ms: Option<u64>) -> Result<u64, kv::KvError> {
        self.kv_store().put(&key, value, ttl(ttl_ms)).map_err(kv_error)
    }

    fn put_if(
        &mut self,
        key: String,
        value: Vec<u8>,
        expect: kv::Expectation,
        ttl_ms: Option<u64>,
    ) -> Result<u64, kv::KvError> {
        let expect = match expect {
            kv::Expectation::Absent => Expect::Absent,
            kv::Expectation::Revision(r) => Expect::Revision(r),
        };
        self.kv_store().put_if(&key, value, expect, ttl(ttl_ms)).map_err(kv_error)
    }

    fn delete(&mut self, key: String) -> bool {
        self.kv_store().delete(&key)
    }

    fn delete_if(&mut self, key: String, revision: u64) -> Result<(), kv::KvError> {
        self.kv_store().delete_if(&key, revision).map_err(kv_error)
    }

    fn set_ttl(&mut self, key: String, ttl_ms: Option<u64>) -> Result<bool, kv::KvError> {
        self.kv_store().set_ttl(&key, ttl(ttl_ms)).map_err(kv_error)
    }

    fn list(&mut self, prefix: String, start_after: Option<String>, limit: u32) -> kv::Page {
        let (keys, more) = self.kv_store().list(&prefix, start_after.as_deref(), limit as usize);
        kv::Page { keys, more }
    }
}
