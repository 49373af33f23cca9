//! The session actor: one tokio task per SLP instance (spec §8). It owns the
//! instance's wasm `Store`, whose data holds the jsip stack of every
//! DialogueID bound to the instance, and the instance's timers. Everything
//! about one session happens here, in order, without locks.
//!
//! Loop: take an event (a received message, a write report, a timer), run it
//! through the stack, carry out the stack's outputs (frames to endpoint
//! queues, deliveries into the instance's mailbox), then make the guest calls
//! the mailbox holds, one at a time, each under a CPU deadline.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use jsip::stack::{Counts, Delivery, InstanceEnd, Output, TermKind, Track, Undeliverable};
use jsip::stats::Stats;
use jsip::{DialogueId, Endpoint, Message, Time};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tracing::Instrument;
use wasmtime::Store;

use crate::dispatch;
use crate::metrics::{Direction, Dropped, Entry, VersionMetrics};
use crate::runtime::bindings::{Slp, types as wit};
use crate::runtime::convert::{delivery_to_wit, term_to_wit};
use crate::runtime::deadline;
use crate::runtime::engine::deadline_ticks;
use crate::runtime::modules::Version;
use crate::runtime::traps::{self, TrapKind};
use crate::session::{InstanceInfo, Session};
use crate::shared::Shared;
use crate::transport::registry::{Outbound, QueueError};

/// A message received from an endpoint, with the relid that routed it.
struct Received {
    msg: Message,
    source: Endpoint,
    relid: Option<String>,
}

/// What an actor is told. Kept small (the message is boxed): every actor's
/// inbox allocates a block of 32 events up front, which was ~8 KiB per live
/// session with the message inline.
enum Event {
    /// A message received from an endpoint.
    Received(Box<Received>),
    /// A tracked request was written to its socket.
    Written(Track),
    /// A tracked request could not be written.
    Undeliverable(Track, Undeliverable),
    /// The dispatcher bound a DialogueID to this actor.
    Bound(DialogueId),
    /// The actor was created but lost the race for its DialogueID.
    Abandon,
    /// The on-load instance of a version that is no longer current.
    Supersede,
}

/// A handle to an actor: cheap to clone, never blocks.
#[derive(Clone)]
pub struct ActorRef {
    id: u64,
    tx: mpsc::UnboundedSender<Event>,
    /// Requests queued for delivery: the mailbox limit (spec §8.3).
    pending: Arc<AtomicUsize>,
}

impl ActorRef {
    /// The actor's id, unique per process.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// A handle to no actor (for trial instantiations); every send fails.
    pub fn detached() -> ActorRef {
        let (tx, _) = mpsc::unbounded_channel();
        ActorRef { id: 0, tx, pending: Arc::new(AtomicUsize::new(0)) }
    }

    /// Hands a received message to the actor; gives it back if the actor has ended.
    #[allow(clippy::result_large_err)] // The error hands the message back, moved, not copied.
    pub fn received(&self, msg: Message, source: Endpoint, relid: Option<String>) -> Result<(), Message> {
        if msg.is_request() {
            self.pending.fetch_add(1, Ordering::Relaxed);
        }
        self.tx.send(Event::Received(Box::new(Received { msg, source, relid }))).map_err(|e| match e.0 {
            Event::Received(r) => r.msg,
            _ => unreachable!("sent a Received event"),
        })
    }

    /// Reports a written request.
    pub fn written(&self, track: Track) {
        let _ = self.tx.send(Event::Written(track));
    }

    /// Reports a request that could not be written.
    pub fn undeliverable(&self, track: Track, why: Undeliverable) {
        let _ = self.tx.send(Event::Undeliverable(track, why));
    }

    /// Tells the actor that the dispatcher bound `d` to it.
    pub fn track_binding(&self, d: DialogueId) {
        let _ = self.tx.send(Event::Bound(d));
    }

    /// The actor is not needed.
    pub fn abandon(&self) {
        let _ = self.tx.send(Event::Abandon);
    }

    /// The actor's version is no longer current (on-load instances end their timers).
    pub fn supersede(&self) {
        let _ = self.tx.send(Event::Supersede);
    }
}

/// What an actor is created for.
pub enum Plan {
    /// A per-session instance of this version, for the request that follows.
    Session(Arc<Version>),
    /// The on-load instance of a version that just became current; the
    /// outcome of its `init` is reported.
    OnLoad(Arc<Version>, oneshot::Sender<OnLoadOutcome>),
    /// No instance: the stack answers the request with this code (dispatch
    /// rejections of INVITEs, which need a dialogue waiting for the ACK).
    Reject { code: u16, reason: String },
}

/// What became of an on-load instance's `init` (spec §14.3 `on_load`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnLoadOutcome {
    /// Still alive after `init`.
    Running,
    /// Ended right after `init`.
    Ended,
    /// Trapped, with the message.
    Trapped(String),
}

/// Why an instance could not be created.
enum Failure {
    /// The instance pool is full.
    Capacity,
    /// Instantiation trapped (counted as a trap of the version).
    Trap(String),
}

/// A call into the guest, waiting in the instance's mailbox.
enum Call {
    Init(wit::InitKind),
    Message(Box<Delivery>, Option<String>),
    Term(DialogueId, TermKind),
    Timer(u64),
}

/// A live instance.
struct Live {
    store: Store<Session>,
    slp: Slp,
}

/// The actor's session, with or without a live instance.
enum Body {
    Live(Box<Live>),
    Gone(Box<Session>),
    /// Only while a method moves the session between the other two.
    Empty,
}

struct Actor {
    shared: Arc<Shared>,
    me: ActorRef,
    inbox: mpsc::UnboundedReceiver<Event>,
    body: Body,
    mailbox: VecDeque<Call>,
    /// Answer every delivered request with this instead of delivering it.
    reject: Option<(u16, String)>,
    /// The relid that routed the message being received.
    relid: Option<String>,
    on_load: Option<oneshot::Sender<OnLoadOutcome>>,
    /// The version this actor's instance counts toward.
    counted: Option<Arc<Version>>,
    /// The metrics of the instance's version, for the actor's whole life:
    /// its dialogues stay counted there after the instance ends (orphaned).
    metrics: Option<Arc<VersionMetrics>>,
    /// The stack's counts as last added to the gauges, and whether they
    /// were counted as orphaned.
    reported: Counts,
    reported_orphaned: bool,
    /// The stack's stats as last added to the counters.
    reported_stats: Stats,
    abandoned: bool,
    /// DialogueIDs whose binding ended while a BYE or CANCEL this actor's
    /// stack sent on them still waits for its response (routed here by
    /// `DispatchIndex::answers`).
    answer_routes: Vec<DialogueId>,
}

/// Arms the store for a guest call (or an instantiation): its CPU deadline,
/// counted in epoch ticks by `deadline::on_tick`, and fresh per-call budgets.
fn begin_call(store: &mut Store<Session>, cpu_deadline: std::time::Duration) {
    store.set_epoch_deadline(1);
    store.data_mut().begin_call(deadline_ticks(cpu_deadline));
}

/// Starts an actor.
pub fn spawn(shared: &Arc<Shared>, plan: Plan) -> ActorRef {
    spawn_for(shared, plan, None)
}

/// Starts an actor for a conversation that opens with `first`. Everything it
/// logs carries the DialogueID, SLP name, version hash and instance id (spec
/// §15.5) through its span, which costs nothing when `info` is filtered out.
pub fn spawn_for(shared: &Arc<Shared>, plan: Plan, first: Option<&DialogueId>) -> ActorRef {
    let version = match &plan {
        Plan::Session(v) | Plan::OnLoad(v, _) => Some(v),
        Plan::Reject { .. } => None,
    };
    let span = tracing::info_span!(
        target: "slp",
        "session",
        dialogue = first.map(|d| d.as_str()),
        slp = version.map(|v| &*v.name),
        hash = version.map(|v| &v.hash()[..8.min(v.hash().len())]),
        instance = tracing::field::Empty,
    );
    let (tx, inbox) = mpsc::unbounded_channel();
    let me = ActorRef { id: shared.actor_id(), tx, pending: Arc::new(AtomicUsize::new(0)) };
    let session = Session::new(Arc::clone(shared), me.clone());
    let mut actor = Actor {
        shared: Arc::clone(shared),
        me: me.clone(),
        inbox,
        body: Body::Gone(Box::new(session)),
        mailbox: VecDeque::new(),
        reject: None,
        relid: None,
        on_load: None,
        counted: None,
        metrics: None,
        reported: Counts::default(),
        reported_orphaned: false,
        reported_stats: Stats::default(),
        abandoned: false,
        answer_routes: Vec::new(),
    };
    shared.actors.fetch_add(1, Ordering::Relaxed);
    tokio::spawn(
        async move {
            actor.start(plan);
            actor.run().await;
        }
        .instrument(span),
    );
    me
}

impl Actor {
    fn session(&mut self) -> &mut Session {
        match &mut self.body {
            Body::Live(live) => live.store.data_mut(),
            Body::Gone(s) => s,
            Body::Empty => unreachable!("the session is always put back"),
        }
    }

    fn session_ref(&self) -> &Session {
        match &self.body {
            Body::Live(live) => live.store.data(),
            Body::Gone(s) => s,
            Body::Empty => unreachable!("the session is always put back"),
        }
    }

    fn now(&self) -> Time {
        self.shared.registry.now()
    }

    /// Creates the instance the plan asks for.
    fn start(&mut self, plan: Plan) {
        match plan {
            Plan::Reject { code, reason } => self.reject = Some((code, reason)),
            Plan::Session(version) => {
                version.created.fetch_add(1, Ordering::Relaxed);
                version.live.fetch_add(1, Ordering::Relaxed);
                version.metrics.created.inc();
                self.counted = Some(Arc::clone(&version));
                match self.instantiate(version, false) {
                    Ok(()) => {}
                    // Capacity, not a fault of the SLP: overload (spec §8.3).
                    Err(Failure::Capacity) => self.reject = Some((503, "SLP overloaded".into())),
                    // §9.4: the request is answered 500 and the failure counts as a trap.
                    Err(Failure::Trap(e)) => {
                        self.reject = Some((500, "SLP failure".into()));
                        tracing::error!(target: "slp", "instantiation failed: {e}");
                    }
                }
            }
            Plan::OnLoad(version, done) => {
                version.on_load_alive.store(true, Ordering::Relaxed);
                self.on_load = Some(done);
                match self.instantiate(version, true) {
                    Ok(()) => {}
                    Err(Failure::Capacity) => {
                        self.report_on_load(OnLoadOutcome::Trapped("no free instance slot".into()))
                    }
                    Err(Failure::Trap(e)) => self.report_on_load(OnLoadOutcome::Trapped(e)),
                }
            }
        }
    }

    fn instantiate(&mut self, version: Arc<Version>, on_load: bool) -> Result<(), Failure> {
        let Body::Gone(session) = std::mem::replace(&mut self.body, Body::Empty) else {
            unreachable!("instantiated twice");
        };
        let mut session = *session;
        let limits = self.shared.config.slp_limits(&version.name);
        session.limiter.max_memory = limits.memory_limit;
        let id = self.shared.instance_id();
        tracing::Span::current().record("instance", id);
        self.metrics = Some(Arc::clone(&version.metrics));
        session.instance = Some(InstanceInfo { version: Arc::clone(&version), id, on_load });
        let mut store = Store::new(self.shared.modules.engine(), session);
        store.limiter(|s| &mut s.limiter);
        store.epoch_deadline_callback(deadline::on_tick);
        begin_call(&mut store, limits.cpu_deadline);
        match version.compiled.pre.instantiate_prechecked(&mut store) {
            Ok(slp) => {
                self.body = Body::Live(Box::new(Live { store, slp }));
                let kind = if on_load { wit::InitKind::OnLoad } else { wit::InitKind::Session };
                self.mailbox.push_back(Call::Init(kind));
                Ok(())
            }
            Err(e) if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>().is_some() => {
                self.shared.metrics.inc("instance_pool_exhausted_total", "");
                tracing::warn!(target: "slp", slp = %version.name, "no free instance slot: {e}");
                let mut session = store.into_data();
                session.instance = None;
                self.body = Body::Gone(Box::new(session));
                Err(Failure::Capacity)
            }
            Err(e) => {
                let kind = traps::classify(&e, store.data().limiter.denied);
                let message = traps::describe(&e);
                let mut session = store.into_data();
                traps::record(&self.shared, &mut session, kind, "instantiate", None, &message);
                session.instance = None;
                self.body = Body::Gone(Box::new(session));
                Err(Failure::Trap(message))
            }
        }
    }

    async fn run(mut self) {
        loop {
            self.apply_outputs();
            self.run_calls();
            self.report_counts();
            if self.should_exit() {
                break;
            }
            let deadline = self.next_deadline();
            let event = match deadline {
                Some(at) => {
                    let at = self.shared.registry.instant(at);
                    tokio::select! {
                        ev = self.inbox.recv() => ev,
                        _ = tokio::time::sleep_until(at) => { self.timeouts(); continue; }
                    }
                }
                None => self.inbox.recv().await,
            };
            match event {
                Some(ev) => self.handle(ev),
                None => break,
            }
        }
        self.exit();
    }

    fn next_deadline(&mut self) -> Option<Time> {
        let session = self.session();
        let stack = session.stack.next_timeout();
        let slp = session.next_timer();
        match (stack, slp) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn handle(&mut self, ev: Event) {
        let now = self.now();
        match ev {
            Event::Received(r) => {
                let Received { msg, source, relid } = *r;
                let is_request = msg.is_request();
                if is_request {
                    self.me.pending.fetch_sub(1, Ordering::Relaxed);
                }
                // §8.3: a full mailbox answers new requests 503 instead of delivering them.
                if is_request
                    && self.mailbox.len() >= self.shared.config.slp.mailbox_limit
                    && self.reject.is_none()
                {
                    self.shared.metrics.dropped(Dropped::MailboxOverflow);
                    let saved = self.reject.replace((503, "SLP overloaded".into()));
                    self.session().stack.receive(msg, &source, now);
                    self.apply_outputs();
                    self.reject = saved;
                    return;
                }
                self.relid = relid;
                self.session().stack.receive(msg, &source, now);
            }
            Event::Written(track) => self.session().stack.written(&track, now),
            Event::Undeliverable(track, why) => self.session().stack.undeliverable(&track, &why, now),
            Event::Bound(d) => self.session().bound.push(d),
            Event::Abandon => self.abandoned = true,
            Event::Supersede => self.session().clear_timers(),
        }
    }

    fn timeouts(&mut self) {
        let now = self.now();
        let session = self.session();
        session.stack.handle_timeout(now);
        let due = session.due_timers(now);
        for id in due {
            self.mailbox.push_back(Call::Timer(id));
        }
    }

    /// Carries out the stack's outputs in order.
    fn apply_outputs(&mut self) {
        while let Some(out) = self.session().stack.poll_output() {
            match out {
                Output::Deliver(d) => self.deliver(d),
                Output::Transmit(t) => {
                    let track = t.track.map(|track| (track, self.me.clone()));
                    let out = Outbound { frame: Utf8Bytes::from(t.frame), track };
                    match self.shared.registry.enqueue(t.endpoint.as_str(), out) {
                        Ok(()) => self.shared.metrics.message(Direction::Out, t.kind),
                        Err((why, out)) => self.not_queued(why, out),
                    }
                }
                Output::Term { dialogue_id, kind } => {
                    let id = self.me.id();
                    self.shared.dispatch.unbind(&dialogue_id, id);
                    if self.session_ref().stack.has_client_transactions(&dialogue_id) {
                        self.shared.dispatch.route_answers(&dialogue_id, &self.me);
                        self.answer_routes.push(dialogue_id.clone());
                    }
                    let session = self.session();
                    session.bound.retain(|d| *d != dialogue_id);
                    session.reserved.retain(|d| *d != dialogue_id);
                    if matches!(self.body, Body::Live(_)) {
                        self.mailbox.push_back(Call::Term(dialogue_id, kind));
                    }
                }
                Output::Redispatch { message, source } => {
                    let id = self.me.id();
                    self.shared.dispatch.unbind(&message.dialogue_id, id);
                    if let Some(method) = message.method() {
                        dispatch::new_request(&self.shared, method, message, &source);
                    }
                }
                Output::Dropped { reason, .. } => self.shared.metrics.dropped(reason.into()),
            }
        }
    }

    /// A frame that could not be queued: a request fails toward its owner, anything else is counted.
    fn not_queued(&mut self, why: QueueError, out: Outbound) {
        let now = self.now();
        match (out.track, why) {
            (Some((track, _)), QueueError::Full) => {
                self.session().stack.undeliverable(&track, &Undeliverable::QueueFull, now)
            }
            (Some((track, _)), QueueError::NoEndpoint) => {
                self.session().stack.undeliverable(&track, &Undeliverable::Offline, now)
            }
            (None, QueueError::Full) => self.shared.metrics.dropped(Dropped::QueueFull),
            (None, QueueError::NoEndpoint) => self.shared.metrics.dropped(Dropped::LingerExpired),
        }
    }

    fn deliver(&mut self, d: Delivery) {
        if let Some((code, reason)) = self.reject.clone()
            && d.message.is_request()
        {
            let now = self.now();
            let (id, cseq) = (d.message.dialogue_id.clone(), d.message.cseq);
            self.session().stack.answer(&id, cseq, code, &reason, now);
            return;
        }
        match self.body {
            Body::Live(_) => {
                let relid = if d.first || d.message.is_request() { self.relid.take() } else { None };
                self.mailbox.push_back(Call::Message(Box::new(d), relid));
            }
            Body::Gone(_) | Body::Empty => self.shared.metrics.dropped(Dropped::InstanceGone),
        }
    }

    /// Makes the calls in the mailbox, one at a time, in place: a call holds
    /// up this worker only until its first whole epoch tick (`runtime::deadline`).
    fn run_calls(&mut self) {
        while let Some(call) = self.mailbox.pop_front() {
            let Body::Live(live) = &mut self.body else {
                self.mailbox.clear();
                return;
            };
            let (entry, dialogue) = match &call {
                Call::Init(_) => (Entry::Init, None),
                Call::Message(d, _) => (Entry::Message, Some(d.message.dialogue_id.clone())),
                Call::Term(d, _) => (Entry::Term, Some(d.clone())),
                Call::Timer(_) => (Entry::Timer, None),
            };
            let limits = self.shared.config.slp_limits(live.store.data().slp_name());
            begin_call(&mut live.store, limits.cpu_deadline);
            let started = std::time::Instant::now();
            let result = match call {
                Call::Init(kind) => {
                    let info = live.store.data().instance.as_ref().map(|i| wit::Context {
                        slp: i.version.name.to_string(),
                        hash: i.version.hash().to_owned(),
                        instance: i.id,
                        realm: self.shared.config.jsip.realm.clone(),
                    });
                    match info {
                        Some(ctx) => live.slp.call_init(&mut live.store, kind, &ctx),
                        None => Ok(()),
                    }
                }
                Call::Message(d, relid) => {
                    live.slp.call_on_message(&mut live.store, &delivery_to_wit(&d, relid))
                }
                Call::Term(d, kind) => live.slp.call_on_term(&mut live.store, &d, term_to_wit(kind)),
                Call::Timer(id) => match live.store.data_mut().take_fired(id) {
                    Some(tag) => live.slp.call_on_timer(&mut live.store, id, tag),
                    None => Ok(()),
                },
            };
            if let Some(m) = &self.metrics {
                m.call(entry, started.elapsed());
            }
            traps::flush_output(live.store.data_mut());
            match result {
                Ok(()) => {
                    self.apply_outputs();
                    if self.instance_should_end() {
                        self.end_instance(InstanceEnd::Finished);
                    }
                    if entry == Entry::Init {
                        let alive = matches!(self.body, Body::Live(_));
                        self.report_on_load(if alive {
                            OnLoadOutcome::Running
                        } else {
                            OnLoadOutcome::Ended
                        });
                    }
                }
                Err(e) => {
                    let denied = match &self.body {
                        Body::Live(live) => live.store.data().limiter.denied,
                        Body::Gone(_) | Body::Empty => false,
                    };
                    let kind = traps::classify(&e, denied);
                    let message = traps::describe(&e);
                    self.trap(kind, entry.label(), dialogue, &message);
                    if entry == Entry::Init {
                        self.report_on_load(OnLoadOutcome::Trapped(traps::truncate(&message, 1024)));
                    }
                }
            }
        }
        if matches!(self.body, Body::Live(_)) && self.instance_should_end() {
            self.end_instance(InstanceEnd::Finished);
        }
    }

    /// Ends the response routes whose BYE or CANCEL has its answer.
    fn prune_answer_routes(&mut self) {
        if self.answer_routes.is_empty() {
            return;
        }
        let mut routes = std::mem::take(&mut self.answer_routes);
        let (shared, id) = (&self.shared, self.me.id());
        let stack = &self.session_ref().stack;
        routes.retain(|d| {
            let waiting = stack.has_client_transactions(d);
            if !waiting {
                shared.dispatch.unroute_answers(d, id);
            }
            waiting
        });
        self.answer_routes = routes;
    }

    /// Adds what changed in the stack since the last report to the live
    /// dialogue and transaction gauges (one pass over the session's legs).
    fn report_counts(&mut self) {
        self.prune_answer_routes();
        self.report_stats();
        let live = matches!(self.body, Body::Live(_));
        let stack = &self.session_ref().stack;
        let (now, orphaned) = (stack.counts(), !live && stack.is_orphaned());
        self.report(now, orphaned);
    }

    /// Adds the stack's timer expiries and generated responses since the
    /// last report to the counters (one comparison when nothing happened).
    fn report_stats(&mut self) {
        let stats = self.session_ref().stack.stats();
        if stats.events != self.reported_stats.events {
            self.shared.metrics.stack_stats_delta(&self.reported_stats, stats);
            self.reported_stats = *stats;
        }
    }

    fn report(&mut self, now: Counts, orphaned: bool) {
        if now == self.reported && orphaned == self.reported_orphaned {
            return;
        }
        let total = |c: &Counts| c.dialogues.iter().map(|n| i64::from(*n)).sum::<i64>();
        let (before, after) = (total(&self.reported), total(&now));
        self.shared.metrics.stack_delta(&self.reported, &now);
        if let Some(m) = &self.metrics {
            m.dialogues.add(after - before);
        }
        let counted = |o: bool, n: i64| if o { n } else { 0 };
        self.shared.metrics.orphaned.add(counted(orphaned, after) - counted(self.reported_orphaned, before));
        self.reported = now;
        self.reported_orphaned = orphaned;
    }

    fn report_on_load(&mut self, outcome: OnLoadOutcome) {
        if let Some(done) = self.on_load.take() {
            let _ = done.send(outcome);
        }
    }

    /// Spec §12.3: the instance holds a live binding, a relid or a timer.
    fn instance_holds_anything(&mut self) -> bool {
        let session = self.session();
        let bound = session.bound.iter().any(|d| session.stack.is_bound(d));
        bound || !session.relids.is_empty() || session.has_timers()
    }

    fn instance_should_end(&mut self) -> bool {
        match &self.body {
            Body::Gone(_) | Body::Empty => false,
            Body::Live(live) if live.store.data().finished => true,
            Body::Live(_) => {
                self.mailbox.is_empty() && self.inbox.is_empty() && !self.instance_holds_anything()
            }
        }
    }

    /// Ends the instance after a call returned (finish or nothing left, spec §12.3).
    fn end_instance(&mut self, how: InstanceEnd) {
        self.teardown(how, |_| {});
    }

    /// Ends the instance after a trap (spec §12.5), recording it first.
    fn trap(&mut self, kind: TrapKind, entry: &str, dialogue: Option<DialogueId>, message: &str) {
        let shared = Arc::clone(&self.shared);
        self.teardown(InstanceEnd::Trapped, |session| {
            traps::record(&shared, session, kind, entry, dialogue.as_deref(), message)
        });
    }

    /// Drops the wasm instance and keeps its session: the stack winds its
    /// dialogues down, the instance's holdings are released, and the pending
    /// calls are discarded.
    fn teardown(&mut self, how: InstanceEnd, record: impl FnOnce(&mut Session)) {
        let Some(live) = self.take_live() else { return };
        let mut session = live.store.into_data();
        record(&mut session);
        session.stack.end_instance(how, self.shared.registry.now());
        self.release(&mut session);
        self.body = Body::Gone(Box::new(session));
        self.mailbox.clear();
        self.apply_outputs();
        if let Some(v) = self.counted.take() {
            v.live.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Takes the live instance out, leaving `Body::Empty` for the caller to replace.
    fn take_live(&mut self) -> Option<Live> {
        match std::mem::replace(&mut self.body, Body::Empty) {
            Body::Live(live) => Some(*live),
            other => {
                self.body = other;
                None
            }
        }
    }

    /// Releases what the instance held; DialogueIDs of dialogues that carry on
    /// orphaned stay bound, so their ACK and BYE still find the stack.
    fn release(&self, session: &mut Session) {
        let id = self.me.id();
        for relid in session.relids.drain(..) {
            self.shared.dispatch.unbind_relid(&relid, id);
        }
        session.clear_timers();
        session.reserved.clear();
        let stack = &session.stack;
        session.bound.retain(|d| {
            let keep = stack.dialogue_state(d).is_some();
            if !keep {
                self.shared.dispatch.unbind(d, id);
            }
            keep
        });
        if let Some(info) = &session.instance
            && info.on_load
        {
            info.version.on_load_alive.store(false, Ordering::Relaxed);
        }
    }

    fn should_exit(&mut self) -> bool {
        if self.abandoned && matches!(self.body, Body::Gone(_)) {
            return true;
        }
        match &self.body {
            Body::Live(_) | Body::Empty => false,
            Body::Gone(s) => s.stack.is_idle() && self.mailbox.is_empty() && self.inbox.is_empty(),
        }
    }

    /// Leaves: unbinds what is left and hands any message that arrived in
    /// the meantime back to dispatch.
    fn exit(mut self) {
        if matches!(self.body, Body::Live(_)) {
            self.end_instance(InstanceEnd::Finished);
        }
        let id = self.me.id();
        let bound = std::mem::take(&mut self.session().bound);
        for d in bound {
            self.shared.dispatch.unbind(&d, id);
        }
        for d in std::mem::take(&mut self.answer_routes) {
            self.shared.dispatch.unroute_answers(&d, id);
        }
        self.inbox.close();
        while let Ok(ev) = self.inbox.try_recv() {
            if let Event::Received(r) = ev {
                dispatch::received(&self.shared, r.msg, &r.source);
            }
        }
        if let Some(v) = self.counted.take() {
            v.live.fetch_sub(1, Ordering::Relaxed);
        }
        self.report_on_load(OnLoadOutcome::Ended);
        // Counters keep what the stack did last; whatever it still holds is no longer live.
        self.report_stats();
        self.report(Counts::default(), false);
        self.shared.actors.fetch_sub(1, Ordering::Relaxed);
    }
}
