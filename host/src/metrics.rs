//! Counters, gauges and histograms the host keeps (spec §14.7).
//!
//! What the hot path touches (frames, messages, drops, live dialogues and
//! transactions, guest calls) is a plain atomic found without a lookup: a
//! fixed array indexed by a bounded label (method, response class, drop
//! reason, dialogue state), or a field of the [`VersionMetrics`] that each SLP
//! version holds. Nothing there formats or allocates a label. Rare events
//! (handshakes, closes, invalid frames, API requests) go to a sharded map
//! keyed by rendered labels. Gauges that the state already knows (sockets,
//! endpoints, queues, live instances, store sizes) are read at scrape time;
//! `render` in `api::state` assembles everything in Prometheus text format.

use std::borrow::Cow;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use jsip::session::{Side, State, Timer};
use jsip::stack::{Counts, DropReason};
use jsip::stats::{self, GENERATED_CODES, GENERATED_SLOTS, Stats, Toward};
use jsip::transaction::Role;
use jsip::{Kind, Method};

use crate::runtime::traps::{TrapKind, TrapWindow};

/// A monotonic counter.
#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n`.
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The value now.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A gauge moved by deltas.
#[derive(Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    /// Adds `d` (may be negative).
    #[inline]
    pub fn add(&self, d: i64) {
        if d != 0 {
            self.0.fetch_add(d, Ordering::Relaxed);
        }
    }

    /// The value now.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Upper bounds of the guest call duration buckets, in nanoseconds: 10 µs to 1 s.
pub const CALL_BUCKETS_NS: [u64; 16] = [
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
];

/// A lock-free histogram over [`CALL_BUCKETS_NS`]: one atomic per bucket
/// (not cumulative; rendering sums them), plus the sum and the count.
#[derive(Default)]
pub struct Histogram {
    /// The last slot counts observations above the largest bound.
    buckets: [AtomicU64; CALL_BUCKETS_NS.len() + 1],
    sum_ns: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    #[inline]
    pub fn observe(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let slot = CALL_BUCKETS_NS.partition_point(|&le| le < ns);
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds this histogram's counts into `acc` (buckets, sum in ns, count).
    fn add_into(&self, acc: &mut HistogramSnapshot) {
        for (a, b) in acc.buckets.iter_mut().zip(&self.buckets) {
            *a += b.load(Ordering::Relaxed);
        }
        acc.sum_ns += self.sum_ns.load(Ordering::Relaxed);
        acc.count += self.count.load(Ordering::Relaxed);
    }
}

#[derive(Default, Clone)]
struct HistogramSnapshot {
    buckets: [u64; CALL_BUCKETS_NS.len() + 1],
    sum_ns: u64,
    count: u64,
}

/// Guest entry points (`slp_calls_total{entry}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    Init,
    Message,
    Term,
    Timer,
}

impl Entry {
    const ALL: [Entry; 4] = [Entry::Init, Entry::Message, Entry::Term, Entry::Timer];

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Entry::Init => "init",
            Entry::Message => "message",
            Entry::Term => "term",
            Entry::Timer => "timer",
        }
    }
}

const TRAP_KINDS: [TrapKind; 5] =
    [TrapKind::Panic, TrapKind::Deadline, TrapKind::Memory, TrapKind::Host, TrapKind::Other];

/// Everything counted for one (SLP name, version hash). Every `Version` object
/// of that pair shares it (a rollback to an old hash continues its series),
/// and it lives as long as the process, so counters never go backwards.
pub struct VersionMetrics {
    /// SLP name.
    pub name: Arc<str>,
    /// Version hash.
    pub hash: String,
    /// Per-session instances created (`instances_created_total`).
    pub created: Counter,
    calls: [Counter; 4],
    /// Guest call durations (`slp_call_seconds`, aggregated per name).
    pub call_seconds: Histogram,
    traps: [Counter; 5],
    /// Live INVITE dialogues of this version's instances, orphaned ones included.
    pub dialogues: Gauge,
    /// Traps in the last minute and the unhealthy flag (spec §12.6).
    pub window: TrapWindow,
}

impl VersionMetrics {
    /// Empty metrics for `name` at `hash`.
    pub fn new(name: Arc<str>, hash: String) -> VersionMetrics {
        VersionMetrics {
            name,
            hash,
            created: Counter::default(),
            calls: Default::default(),
            call_seconds: Histogram::default(),
            traps: Default::default(),
            dialogues: Gauge::default(),
            window: TrapWindow::default(),
        }
    }

    /// Records a guest call and its duration.
    #[inline]
    pub fn call(&self, entry: Entry, took: Duration) {
        self.calls[entry as usize].inc();
        self.call_seconds.observe(took);
    }

    /// Counts a trap (`traps_total{kind}`).
    pub fn trap(&self, kind: TrapKind) {
        self.traps[kind as usize].inc();
    }

    /// Traps of one kind.
    pub fn traps(&self, kind: TrapKind) -> u64 {
        self.traps[kind as usize].get()
    }

    /// Calls of one entry point.
    pub fn calls(&self, entry: Entry) -> u64 {
        self.calls[entry as usize].get()
    }
}

/// Why a message was discarded (`dropped_messages_total{reason}`, spec §14.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    NoTransaction,
    Duplicate,
    AckNoDialogue,
    StateRejected,
    InstanceGone,
    QueueFull,
    LingerExpired,
    NodeUnreachable,
    MailboxOverflow,
}

impl Dropped {
    const ALL: [Dropped; 9] = [
        Dropped::NoTransaction,
        Dropped::Duplicate,
        Dropped::AckNoDialogue,
        Dropped::StateRejected,
        Dropped::InstanceGone,
        Dropped::QueueFull,
        Dropped::LingerExpired,
        Dropped::NodeUnreachable,
        Dropped::MailboxOverflow,
    ];

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Dropped::NoTransaction => "no_transaction",
            Dropped::Duplicate => "duplicate",
            Dropped::AckNoDialogue => "ack_no_dialogue",
            Dropped::StateRejected => "state_rejected",
            Dropped::InstanceGone => "instance_gone",
            Dropped::QueueFull => "queue_full",
            Dropped::LingerExpired => "linger_expired",
            Dropped::NodeUnreachable => "node_unreachable",
            Dropped::MailboxOverflow => "mailbox_overflow",
        }
    }
}

impl From<DropReason> for Dropped {
    fn from(r: DropReason) -> Dropped {
        match r {
            DropReason::NoTransaction => Dropped::NoTransaction,
            DropReason::Duplicate => Dropped::Duplicate,
            DropReason::AckNoDialogue => Dropped::AckNoDialogue,
            DropReason::StateRejected => Dropped::StateRejected,
            DropReason::InstanceGone => Dropped::InstanceGone,
        }
    }
}

/// Frame and message direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    const ALL: [Direction; 2] = [Direction::In, Direction::Out];

    fn label(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

/// Message slots: the 12 methods, then the response classes 1xx to 6xx.
const MESSAGE_SLOTS: usize = Method::ALL.len() + 6;

fn message_slot(kind: Kind) -> usize {
    match kind {
        Kind::Request(m) => m as usize,
        Kind::Response(code) => Method::ALL.len() + (usize::from(code / 100).clamp(1, 6) - 1),
    }
}

/// Process-wide counters.
#[derive(Default)]
pub struct Metrics {
    frames: [Counter; 2],
    messages: [[Counter; MESSAGE_SLOTS]; 2],
    dropped: [Counter; Dropped::ALL.len()],
    /// Sockets accepted since start.
    pub connections_opened: Counter,
    dialogues: [Gauge; State::ALL.len()],
    /// Live dialogues whose instance has ended (spec §7.3).
    pub orphaned: Gauge,
    transactions: [Gauge; 2],
    /// What the stacks did on their own (jsip [`Stats`]), same indexing.
    transaction_timeouts: [[Counter; Method::ALL.len()]; stats::ROLES.len()],
    dialogue_timeouts: [[Counter; stats::SIDES.len()]; stats::TIMERS.len()],
    /// Stack-generated responses, plus the dispatcher's stateless answers.
    generated: [[Counter; GENERATED_SLOTS]; Toward::ALL.len()],
    /// Rare events, by metric name and rendered label set.
    counters: DashMap<(&'static str, Cow<'static, str>), AtomicU64>,
}

impl Metrics {
    /// Adds one to `name{labels}` (rare events only: renders a key);
    /// `labels` is the rendered label set, e.g. `reason="duplicate"`.
    pub fn inc(&self, name: &'static str, labels: impl Into<Cow<'static, str>>) {
        self.add(name, labels, 1);
    }

    /// Adds `n` to `name{labels}` (rare events only).
    pub fn add(&self, name: &'static str, labels: impl Into<Cow<'static, str>>, n: u64) {
        let key = (name, labels.into());
        if let Some(c) = self.counters.get(&key) {
            c.fetch_add(n, Ordering::Relaxed);
            return;
        }
        self.counters.entry(key).or_default().fetch_add(n, Ordering::Relaxed);
    }

    /// The value of a rare-event counter `name{labels}` (0 if never counted).
    pub fn get(&self, name: &'static str, labels: &str) -> u64 {
        self.counters.get(&(name, Cow::Owned(labels.to_owned()))).map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Counts a discarded message.
    #[inline]
    pub fn dropped(&self, reason: Dropped) {
        self.dropped[reason as usize].inc();
    }

    /// Discarded messages of one reason.
    pub fn dropped_count(&self, reason: Dropped) -> u64 {
        self.dropped[reason as usize].get()
    }

    /// Counts data frames.
    #[inline]
    pub fn frames(&self, dir: Direction, n: u64) {
        self.frames[dir as usize].add(n);
    }

    /// Counts a valid JSIP message.
    #[inline]
    pub fn message(&self, dir: Direction, kind: Kind) {
        self.messages[dir as usize][message_slot(kind)].inc();
    }

    /// Messages of one direction and kind (responses by class).
    pub fn messages(&self, dir: Direction, kind: Kind) -> u64 {
        self.messages[dir as usize][message_slot(kind)].get()
    }

    /// Applies the change between two stack snapshots to the live
    /// dialogue and transaction gauges.
    pub fn stack_delta(&self, before: &Counts, after: &Counts) {
        for (g, (a, b)) in self.dialogues.iter().zip(before.dialogues.iter().zip(&after.dialogues)) {
            g.add(i64::from(*b) - i64::from(*a));
        }
        self.transactions[0].add(i64::from(after.server) - i64::from(before.server));
        self.transactions[1].add(i64::from(after.client) - i64::from(before.client));
    }

    /// Adds what a stack counted between two reads of its [`Stats`] (the
    /// counters wrap, so differences are taken with `wrapping_sub`).
    pub fn stack_stats_delta(&self, before: &Stats, after: &Stats) {
        if before.events == after.events {
            return;
        }
        fn add<const N: usize>(into: &[Counter; N], before: &[u32; N], after: &[u32; N]) {
            for (c, (a, b)) in into.iter().zip(before.iter().zip(after)) {
                c.add(u64::from(b.wrapping_sub(*a)));
            }
        }
        for (i, row) in self.transaction_timeouts.iter().enumerate() {
            add(row, &before.transaction_timeouts[i], &after.transaction_timeouts[i]);
        }
        for (i, row) in self.dialogue_timeouts.iter().enumerate() {
            add(row, &before.dialogue_timeouts[i], &after.dialogue_timeouts[i]);
        }
        for (i, row) in self.generated.iter().enumerate() {
            add(row, &before.generated[i], &after.generated[i]);
        }
    }

    /// Counts a response the host generated outside any stack (dispatch's
    /// stateless answers, validation 400s).
    pub fn generated(&self, code: u16, to: Toward) {
        self.generated[to as usize][stats::generated_slot(code)].inc();
    }

    /// Generated responses with `code` (or its "other" slot) toward one side.
    pub fn generated_count(&self, code: u16, to: Toward) -> u64 {
        self.generated[to as usize][stats::generated_slot(code)].get()
    }

    /// Transaction timer expiries of one role and method.
    pub fn transaction_timeouts(&self, role: Role, method: Method) -> u64 {
        self.transaction_timeouts[role as usize][method as usize].get()
    }

    /// Dialogue timer expiries of one timer and side.
    pub fn dialogue_timeouts(&self, timer: Timer, side: Side) -> u64 {
        self.dialogue_timeouts[timer as usize][side as usize].get()
    }

    /// Live dialogues by state, in the order of [`State::ALL`].
    pub fn dialogues_by_state(&self) -> [i64; State::ALL.len()] {
        std::array::from_fn(|i| self.dialogues[i].get())
    }

    /// Live (server, client) transactions.
    pub fn transactions(&self) -> (i64, i64) {
        (self.transactions[0].get(), self.transactions[1].get())
    }
}

/// Renders one label: `name="value"`, escaping the value.
pub fn label(name: &str, value: &str) -> Cow<'static, str> {
    Cow::Owned(format!("{name}=\"{}\"", escape(value)))
}

fn escape(value: &str) -> Cow<'_, str> {
    if !value.contains(['\\', '"', '\n']) {
        return Cow::Borrowed(value);
    }
    Cow::Owned(value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"))
}

/// A Prometheus text document being written: one family at a time, each
/// with its `# HELP` and `# TYPE` lines.
pub struct Exposition {
    out: String,
}

impl Default for Exposition {
    fn default() -> Self {
        Self::new()
    }
}

impl Exposition {
    /// An empty document.
    pub fn new() -> Exposition {
        Exposition { out: String::with_capacity(8192) }
    }

    /// Starts a family (`name` without the `slp_host_` prefix).
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP slp_host_{name} {help}\n# TYPE slp_host_{name} {kind}");
    }

    /// One sample; `labels` is a rendered label set or empty.
    pub fn sample(&mut self, name: &str, labels: &str, value: impl std::fmt::Display) {
        if labels.is_empty() {
            let _ = writeln!(self.out, "slp_host_{name} {value}");
        } else {
            let _ = writeln!(self.out, "slp_host_{name}{{{labels}}} {value}");
        }
    }

    /// The text.
    pub fn finish(self) -> String {
        self.out
    }
}

/// Help text and type of the rare-event families; anything else renders as an
/// undocumented counter.
const RARE: [(&str, &str); 7] = [
    ("ws_handshakes_total", "WebSocket handshake outcomes"),
    ("ws_closed_total", "socket closures by close code"),
    ("invalid_messages_total", "frames refused by the syntax layer (spec §4), by action and reason"),
    ("api_requests_total", "management API requests by route and status"),
    ("instance_pool_exhausted_total", "instantiations refused for want of a free slot"),
    ("slp_log_lines_dropped_total", "SLP log lines over the per-call limit"),
    ("slp_output_lines_dropped_total", "SLP stdout/stderr lines over the limit"),
];

impl Metrics {
    /// Writes the process-wide families (not the per-version or derived ones).
    pub fn render(&self, e: &mut Exposition) {
        e.family("frames_total", "counter", "data frames");
        for d in Direction::ALL {
            e.sample("frames_total", &format!("direction=\"{}\"", d.label()), self.frames[d as usize].get());
        }
        e.family(
            "messages_total",
            "counter",
            "valid JSIP messages by direction and Type; responses by class",
        );
        for d in Direction::ALL {
            for m in Method::ALL {
                let n = self.messages[d as usize][m as usize].get();
                let l = format!("direction=\"{}\",kind=\"request\",method=\"{}\"", d.label(), m.as_str());
                e.sample("messages_total", &l, n);
            }
            for class in 1..=6u16 {
                let n = self.messages[d as usize][message_slot(Kind::Response(class * 100))].get();
                let l = format!("direction=\"{}\",kind=\"response\",class=\"{class}xx\"", d.label());
                e.sample("messages_total", &l, n);
            }
        }
        e.family("dropped_messages_total", "counter", "messages discarded, by reason");
        for r in Dropped::ALL {
            e.sample("dropped_messages_total", &format!("reason=\"{}\"", r.label()), self.dropped_count(r));
        }
        e.family("connections_opened_total", "counter", "WebSocket connections accepted");
        e.sample("connections_opened_total", "", self.connections_opened.get());
        e.family("dialogues", "gauge", "live INVITE dialogues by state");
        let by_state = self.dialogues_by_state();
        for s in State::ALL {
            if s != State::End {
                e.sample("dialogues", &format!("state=\"{}\"", s.name()), by_state[s as usize]);
            }
        }
        e.family("orphaned_dialogues", "gauge", "live INVITE dialogues whose instance has ended");
        e.sample("orphaned_dialogues", "", self.orphaned.get());
        e.family("transactions", "gauge", "live transactions by role");
        let (server, client) = self.transactions();
        e.sample("transactions", "role=\"server\"", server);
        e.sample("transactions", "role=\"client\"", client);
        self.render_stack_stats(e);
        self.render_rare(e);
    }

    /// The families counted by the jsip stacks (and the dispatcher's answers).
    fn render_stack_stats(&self, e: &mut Exposition) {
        e.family("transaction_timeouts_total", "counter", "transaction timer expiries by role and method");
        for role in stats::ROLES {
            for m in Method::ALL {
                let l = format!("role=\"{}\",method=\"{}\"", stats::role_label(role), m.as_str());
                e.sample("transaction_timeouts_total", &l, self.transaction_timeouts(role, m));
            }
        }
        e.family(
            "dialogue_timeouts_total",
            "counter",
            "INVITE dialogue timer expiries by timer and side (uas: the INVITE came from a peer)",
        );
        for timer in stats::TIMERS {
            for side in stats::SIDES {
                let l =
                    format!("timer=\"{}\",side=\"{}\"", stats::timer_label(timer), stats::side_label(side));
                e.sample("dialogue_timeouts_total", &l, self.dialogue_timeouts(timer, side));
            }
        }
        e.family(
            "generated_responses_total",
            "counter",
            "responses generated by the host, not by an SLP: toward the peer, or delivered to the SLP",
        );
        for to in Toward::ALL {
            for (slot, n) in self.generated[to as usize].iter().enumerate() {
                let code = GENERATED_CODES.get(slot).map_or(stats::OTHER_CODE.into(), |c| c.to_string());
                e.sample(
                    "generated_responses_total",
                    &format!("code=\"{code}\",to=\"{}\"", to.label()),
                    n.get(),
                );
            }
        }
    }

    /// Every documented rare family (declared even before its first
    /// event, so a scraper sees it), then any others.
    fn render_rare(&self, e: &mut Exposition) {
        let mut rows: Vec<(&'static str, String, u64)> = self
            .counters
            .iter()
            .map(|c| (c.key().0, c.key().1.to_string(), c.value().load(Ordering::Relaxed)))
            .collect();
        rows.sort();
        let mut families: Vec<(&str, &str)> = RARE.to_vec();
        for (name, ..) in &rows {
            if !families.iter().any(|(n, _)| n == name) {
                families.push((name, "host counter"));
            }
        }
        for (family, help) in families {
            e.family(family, "counter", help);
            for (_, labels, value) in rows.iter().filter(|(n, ..)| *n == family) {
                e.sample(family, labels, value);
            }
        }
    }
}

/// Writes the per-version families from `versions`; `live` gives the live
/// per-session instances, whether an on-load instance is alive, and whether
/// the version is unhealthy now.
pub fn render_versions(e: &mut Exposition, versions: &[(Arc<VersionMetrics>, u64, bool, bool)]) {
    let vl = |v: &VersionMetrics| format!("slp=\"{}\",hash=\"{}\"", escape(&v.name), v.hash);
    e.family("instances", "gauge", "live SLP instances by name, version hash and kind");
    for (v, live, on_load, _) in versions {
        e.sample("instances", &format!("{},kind=\"session\"", vl(v)), live);
        e.sample("instances", &format!("{},kind=\"on-load\"", vl(v)), u8::from(*on_load));
    }
    e.family("version_dialogues", "gauge", "live INVITE dialogues by SLP name and version hash");
    for (v, ..) in versions {
        e.sample("version_dialogues", &vl(v), v.dialogues.get());
    }
    e.family("instances_created_total", "counter", "per-session instances created");
    for (v, ..) in versions {
        e.sample("instances_created_total", &vl(v), v.created.get());
    }
    e.family("traps_total", "counter", "SLP traps by kind (spec §12.5)");
    for (v, ..) in versions {
        for k in TRAP_KINDS {
            e.sample("traps_total", &format!("{},kind=\"{}\"", vl(v), k.label()), v.traps(k));
        }
    }
    e.family("version_unhealthy", "gauge", "1 while the version trapped too often (spec §12.6)");
    for (v, _, _, unhealthy) in versions {
        e.sample("version_unhealthy", &vl(v), u8::from(*unhealthy));
    }
    // Calls and durations are per name: sum over the name's versions.
    let mut names: Vec<&Arc<str>> = versions.iter().map(|(v, ..)| &v.name).collect();
    names.sort();
    names.dedup();
    e.family("slp_calls_total", "counter", "calls into SLPs by entry point");
    for name in &names {
        for entry in Entry::ALL {
            let n: u64 =
                versions.iter().filter(|(v, ..)| &v.name == *name).map(|(v, ..)| v.calls(entry)).sum();
            e.sample("slp_calls_total", &format!("slp=\"{}\",entry=\"{}\"", escape(name), entry.label()), n);
        }
    }
    e.family("slp_call_seconds", "histogram", "guest call durations");
    for name in &names {
        let mut h = HistogramSnapshot::default();
        for (v, ..) in versions.iter().filter(|(v, ..)| &v.name == *name) {
            v.call_seconds.add_into(&mut h);
        }
        let slp = escape(name);
        let mut cumulative = 0;
        for (i, le) in CALL_BUCKETS_NS.iter().enumerate() {
            cumulative += h.buckets[i];
            let le = *le as f64 / 1e9;
            e.sample("slp_call_seconds_bucket", &format!("slp=\"{slp}\",le=\"{le}\""), cumulative);
        }
        cumulative += h.buckets[CALL_BUCKETS_NS.len()];
        e.sample("slp_call_seconds_bucket", &format!("slp=\"{slp}\",le=\"+Inf\""), cumulative);
        e.sample("slp_call_seconds_sum", &format!("slp=\"{slp}\""), h.sum_ns as f64 / 1e9);
        e.sample("slp_call_seconds_count", &format!("slp=\"{slp}\""), h.count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_counters_render_with_help_and_type() {
        let m = Metrics::default();
        m.dropped(Dropped::Duplicate);
        m.dropped(DropReason::Duplicate.into());
        m.frames(Direction::In, 3);
        m.message(Direction::In, Kind::Request(Method::Invite));
        m.message(Direction::Out, Kind::Response(486));
        let mut e = Exposition::new();
        m.render(&mut e);
        let text = e.finish();
        for line in [
            "# HELP slp_host_dropped_messages_total messages discarded, by reason",
            "# TYPE slp_host_dropped_messages_total counter",
            "slp_host_dropped_messages_total{reason=\"duplicate\"} 2",
            "slp_host_dropped_messages_total{reason=\"queue_full\"} 0",
            "slp_host_frames_total{direction=\"in\"} 3",
            "slp_host_messages_total{direction=\"in\",kind=\"request\",method=\"INVITE\"} 1",
            "slp_host_messages_total{direction=\"out\",kind=\"response\",class=\"4xx\"} 1",
            "slp_host_messages_total{direction=\"out\",kind=\"response\",class=\"2xx\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn rare_counters_are_grouped_by_family() {
        let m = Metrics::default();
        m.inc("ws_closed_total", "code=\"1000\"");
        m.inc("ws_closed_total", "code=\"1001\"");
        m.inc("ws_closed_total", "code=\"1000\"");
        assert_eq!(m.get("ws_closed_total", "code=\"1000\""), 2);
        m.inc("made_up_total", "");
        let mut e = Exposition::new();
        m.render_rare(&mut e);
        let text = e.finish();
        assert!(
            text.contains(
                "# HELP slp_host_ws_closed_total socket closures by close code\n# TYPE slp_host_ws_closed_total counter\n\
                 slp_host_ws_closed_total{code=\"1000\"} 2\nslp_host_ws_closed_total{code=\"1001\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("# TYPE slp_host_api_requests_total counter\n# HELP"),
            "declared before use: {text}"
        );
        assert!(
            text.ends_with("# TYPE slp_host_made_up_total counter\nslp_host_made_up_total 1\n"),
            "{text}"
        );
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_count_everything() {
        let v = Arc::new(VersionMetrics::new(Arc::from("echo"), "ab".into()));
        v.call(Entry::Message, Duration::from_micros(5)); // first bucket
        v.call(Entry::Message, Duration::from_micros(10)); // on the bound: still first
        v.call(Entry::Init, Duration::from_millis(3)); // 5 ms bucket
        v.call(Entry::Timer, Duration::from_secs(2)); // +Inf only
        let mut e = Exposition::new();
        render_versions(&mut e, &[(Arc::clone(&v), 0, false, false)]);
        let text = e.finish();
        for line in [
            "slp_host_slp_call_seconds_bucket{slp=\"echo\",le=\"0.00001\"} 2",
            "slp_host_slp_call_seconds_bucket{slp=\"echo\",le=\"0.0025\"} 2",
            "slp_host_slp_call_seconds_bucket{slp=\"echo\",le=\"0.005\"} 3",
            "slp_host_slp_call_seconds_bucket{slp=\"echo\",le=\"1\"} 3",
            "slp_host_slp_call_seconds_bucket{slp=\"echo\",le=\"+Inf\"} 4",
            "slp_host_slp_call_seconds_count{slp=\"echo\"} 4",
            "slp_host_slp_calls_total{slp=\"echo\",entry=\"message\"} 2",
            "# TYPE slp_host_slp_call_seconds histogram",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn stack_deltas_move_the_gauges_both_ways() {
        let m = Metrics::default();
        let zero = Counts::default();
        let mut one = Counts::default();
        one.dialogues[State::Init as usize] = 1;
        one.server = 1;
        m.stack_delta(&zero, &one);
        let mut two = Counts::default();
        two.dialogues[State::Acked as usize] = 1;
        m.stack_delta(&one, &two);
        assert_eq!(m.dialogues_by_state()[State::Init as usize], 0);
        assert_eq!(m.dialogues_by_state()[State::Acked as usize], 1);
        assert_eq!(m.transactions(), (0, 0));
        m.stack_delta(&two, &zero);
        assert!(m.dialogues_by_state().iter().all(|n| *n == 0));
    }

    #[test]
    fn stack_stats_deltas_add_up_and_render_in_bounded_families() {
        let m = Metrics::default();
        let zero = Stats::default();
        let mut one = zero;
        one.transaction_timeouts[Role::Client as usize][Method::Message as usize] = 1;
        one.dialogue_timeouts[Timer::Ack as usize][Side::Uas as usize] = 1;
        one.generated[Toward::Slp as usize][stats::generated_slot(408)] = 1;
        one.events = 3;
        m.stack_stats_delta(&zero, &one);
        // A second stack, whose counter wrapped since its last report.
        let mut before = zero;
        before.generated[Toward::Peer as usize][stats::generated_slot(486)] = u32::MAX;
        before.events = u32::MAX;
        let mut after = before;
        after.generated[Toward::Peer as usize][stats::generated_slot(486)] = 1;
        after.events = 1;
        m.stack_stats_delta(&before, &after);
        m.generated(481, Toward::Peer);
        assert_eq!(m.transaction_timeouts(Role::Client, Method::Message), 1);
        assert_eq!(m.dialogue_timeouts(Timer::Ack, Side::Uas), 1);
        assert_eq!(m.generated_count(486, Toward::Peer), 2);
        let mut e = Exposition::new();
        m.render(&mut e);
        let text = e.finish();
        for line in [
            "# TYPE slp_host_transaction_timeouts_total counter",
            "slp_host_transaction_timeouts_total{role=\"client\",method=\"MESSAGE\"} 1",
            "slp_host_transaction_timeouts_total{role=\"server\",method=\"MESSAGE\"} 0",
            "# TYPE slp_host_dialogue_timeouts_total counter",
            "slp_host_dialogue_timeouts_total{timer=\"ack\",side=\"uas\"} 1",
            "slp_host_dialogue_timeouts_total{timer=\"refresh\",side=\"uac\"} 0",
            "# TYPE slp_host_generated_responses_total counter",
            "slp_host_generated_responses_total{code=\"408\",to=\"slp\"} 1",
            "slp_host_generated_responses_total{code=\"481\",to=\"peer\"} 1",
            "slp_host_generated_responses_total{code=\"other\",to=\"peer\"} 2",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
        assert_eq!(text.matches("# TYPE slp_host_generated_responses_total").count(), 1, "one family");
        assert_eq!(text.lines().filter(|l| l.starts_with("slp_host_generated_responses_total")).count(), 22);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a", "x\"y\\z"), "a=\"x\\\"y\\\\z\"");
    }
}
