//! Process-wide state that every connection and session actor reaches. It is
//! small and read-mostly: the endpoint registry, the dispatch index, the
//! module table and the counters. None of it is behind a global lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use dashmap::DashMap;
use jsip::DialogueId;

use crate::actor::ActorRef;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::runtime::kv::KvStores;
use crate::runtime::modules::Modules;
use crate::transport::registry::Registry;

/// Which actor owns which DialogueID and relid (spec §7.2, §9).
#[derive(Default)]
pub struct DispatchIndex {
    dialogues: DashMap<DialogueId, ActorRef>,
    relids: DashMap<String, ActorRef>,
    /// Where responses on an unbound DialogueID go while the actor that
    /// sent a BYE or CANCEL on it waits for the answer: those transactions
    /// hold no binding (spec §5.7), but their response still belongs to them
    /// (§9.5).
    answers: DashMap<DialogueId, ActorRef>,
}

impl DispatchIndex {
    /// The actor bound to `d`.
    pub fn get(&self, d: &str) -> Option<ActorRef> {
        self.dialogues.get(d).map(|a| a.clone())
    }

    /// The id of the actor bound to `d`.
    pub fn owner(&self, d: &str) -> Option<u64> {
        self.dialogues.get(d).map(|a| a.id())
    }

    /// Binds `d` to `actor` unless it is bound already; true if bound now.
    pub fn bind(&self, d: &DialogueId, actor: &ActorRef) -> bool {
        match self.dialogues.entry(d.clone()) {
            dashmap::Entry::Occupied(_) => false,
            dashmap::Entry::Vacant(v) => {
                v.insert(actor.clone());
                true
            }
        }
    }

    /// Binds `d` to `actor`, or returns the actor that got there first.
    pub fn bind_or_get(&self, d: &DialogueId, actor: &ActorRef) -> Result<(), ActorRef> {
        match self.dialogues.entry(d.clone()) {
            dashmap::Entry::Occupied(o) => Err(o.get().clone()),
            dashmap::Entry::Vacant(v) => {
                v.insert(actor.clone());
                Ok(())
            }
        }
    }

    /// Unbinds `d` if it is bound to the actor `id`.
    pub fn unbind(&self, d: &str, id: u64) {
        self.dialogues.remove_if(d, |_, a| a.id() == id);
    }

    /// Binds a relid.
    pub fn bind_relid(&self, relid: &str, actor: &ActorRef) {
        self.relids.insert(relid.to_owned(), actor.clone());
    }

    /// The actor a relid is bound to.
    pub fn relid(&self, relid: &str) -> Option<ActorRef> {
        self.relids.get(relid).map(|a| a.clone())
    }

    /// Unbinds a relid if it belongs to the actor `id`.
    pub fn unbind_relid(&self, relid: &str, id: u64) {
        self.relids.remove_if(relid, |_, a| a.id() == id);
    }

    /// Sends responses on `d` to `actor` while it has client transactions
    /// there that hold no binding.
    pub fn route_answers(&self, d: &DialogueId, actor: &ActorRef) {
        self.answers.insert(d.clone(), actor.clone());
    }

    /// The actor waiting for a response on the unbound `d`.
    pub fn answers(&self, d: &str) -> Option<ActorRef> {
        self.answers.get(d).map(|a| a.clone())
    }

    /// Ends the response route of `d` if it belongs to the actor `id`.
    pub fn unroute_answers(&self, d: &str, id: u64) {
        self.answers.remove_if(d, |_, a| a.id() == id);
    }

    /// Bound DialogueIDs and relids now.
    pub fn sizes(&self) -> (usize, usize) {
        (self.dialogues.len(), self.relids.len())
    }
}

/// Everything shared.
pub struct Shared {
    /// Configuration in force.
    pub config: Arc<Config>,
    /// Endpoints and their queues.
    pub registry: Arc<Registry>,
    /// DialogueID and relid bindings.
    pub dispatch: DispatchIndex,
    /// Loaded SLPs.
    pub modules: Modules,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Key-value stores.
    pub kv: KvStores,
    /// Instance ids.
    next_instance: AtomicU64,
    /// Actor ids.
    next_actor: AtomicU64,
    /// Live actors (sessions with or without an instance).
    pub actors: AtomicU64,
    /// The on-load instance of each SLP name.
    pub on_load: DashMap<String, ActorRef>,
    /// Set during a graceful stop: no new instances.
    pub draining: AtomicBool,
    /// Process start.
    pub started: Instant,
}

impl Shared {
    /// Assembles the shared state.
    pub fn new(
        config: Arc<Config>,
        registry: Arc<Registry>,
        modules: Modules,
        metrics: Arc<Metrics>,
        kv: KvStores,
    ) -> Shared {
        Shared {
            config,
            registry,
            dispatch: DispatchIndex::default(),
            modules,
            metrics,
            kv,
            next_instance: AtomicU64::new(1),
            next_actor: AtomicU64::new(1),
            actors: AtomicU64::new(0),
            on_load: DashMap::new(),
            draining: AtomicBool::new(false),
            started: Instant::now(),
        }
    }

    /// The stack settings from the configuration.
    pub fn stack_config(&self) -> jsip::Config {
        jsip::Config {
            timers: jsip::transaction::Timers {
                trans: self.config.jsip.trans_timer,
                pr: self.config.jsip.pr_timer,
                session: self.config.jsip.session_timer,
            },
            max_frame: self.config.rtc.max_frame,
        }
    }

    /// A new instance id.
    pub fn instance_id(&self) -> u64 {
        self.next_instance.fetch_add(1, Ordering::Relaxed)
    }

    /// A new actor id.
    pub fn actor_id(&self) -> u64 {
        self.next_actor.fetch_add(1, Ordering::Relaxed)
    }
}
