//! Traps (spec §12.5, §12.6): what kind a guest failure is, and what is
//! recorded when one happens. The instance that trapped is the only one affected.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use crate::metrics::VersionMetrics;
use crate::runtime::wasi::GuestExit;
use crate::session::Session;
use crate::shared::Shared;

/// The sliding window of spec §12.6, and how long a version must stay quiet
/// for its unhealthy flag to clear.
pub const WINDOW: Duration = Duration::from_secs(60);

/// Trap kinds of spec §12.5 (the order indexes the per-version counters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapKind {
    /// An explicit abort or unreachable code (a Rust panic).
    Panic,
    /// The CPU deadline passed.
    Deadline,
    /// The memory cap was reached.
    Memory,
    /// A misuse the runtime treats as fatal (including `exit`).
    Host,
    /// Anything else.
    Other,
}

impl TrapKind {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            TrapKind::Panic => "panic",
            TrapKind::Deadline => "deadline",
            TrapKind::Memory => "memory",
            TrapKind::Host => "host",
            TrapKind::Other => "other",
        }
    }
}

/// Classifies an error from a guest call. `memory_denied` is whether the
/// limiter refused a growth during the call: the guest's allocator then
/// aborts, which would otherwise look like a panic.
pub fn classify(err: &wasmtime::Error, memory_denied: bool) -> TrapKind {
    if let Some(trap) = err.downcast_ref::<wasmtime::Trap>() {
        return match trap {
            wasmtime::Trap::Interrupt => TrapKind::Deadline,
            _ if memory_denied => TrapKind::Memory,
            wasmtime::Trap::UnreachableCodeReached => TrapKind::Panic,
            wasmtime::Trap::StackOverflow => TrapKind::Other,
            _ => TrapKind::Other,
        };
    }
    if memory_denied {
        return TrapKind::Memory;
    }
    if err.downcast_ref::<GuestExit>().is_some() {
        return TrapKind::Host;
    }
    TrapKind::Host
}

/// The message of a guest failure with its cause first (the full error
/// starts with the wasm backtrace, which a length cut would keep instead).
pub fn describe(err: &wasmtime::Error) -> String {
    match err.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => format!("{trap}; {err:#}"),
        None => format!("{err:#}"),
    }
}

/// Cuts a message to `max` bytes at a character boundary.
pub fn truncate(s: &str, max: usize) -> String {
    let mut cut = s.len().min(max);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s[..cut].to_owned()
}

/// Logs the trap (one error line, spec §12.5 step 5), counts it, and raises
/// the version's unhealthy flag past the threshold (§12.6).
pub fn record(
    shared: &Shared,
    session: &mut Session,
    kind: TrapKind,
    entry: &str,
    dialogue: Option<&str>,
    message: &str,
) {
    let Some(info) = &session.instance else { return };
    let version = &info.version;
    version.traps.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    version.metrics.trap(kind);
    tracing::error!(
        target: "slp",
        slp = %version.name,
        hash = %version.hash(),
        instance = info.id,
        kind = kind.label(),
        entry,
        dialogue = dialogue.unwrap_or(""),
        "SLP trapped: {}",
        truncate(message, 1024)
    );
    let threshold = shared.config.slp.trap_threshold as usize;
    if version.metrics.window.record(Instant::now(), threshold) {
        tracing::error!(target: "slp", slp = %version.name, hash = %version.hash(), "version unhealthy: more than {threshold} traps within 60 s");
        watch_until_quiet(Arc::clone(&version.metrics));
    }
}

/// Clears the unhealthy flag once the version has been quiet for
/// [`WINDOW`], with one info line (spec §12.6). One task per raised flag.
pub fn watch_until_quiet(metrics: Arc<VersionMetrics>) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else { return };
    handle.spawn(async move {
        loop {
            match metrics.window.clear_if_quiet(Instant::now()) {
                Quiet::NotYet(at) => tokio::time::sleep_until(at).await,
                Quiet::Cleared => {
                    tracing::info!(target: "slp", slp = %metrics.name, hash = %metrics.hash, "version healthy again: no trap for 60 s");
                    return;
                }
                Quiet::NotFlagged => return,
            }
        }
    });
}

/// Trap times of one (name, hash) in the last [`WINDOW`], and the
/// unhealthy flag. Times come from the caller, so tests can use a paused clock.
#[derive(Default)]
pub struct TrapWindow {
    state: Mutex<WindowState>,
}

#[derive(Default)]
struct WindowState {
    times: VecDeque<Instant>,
    unhealthy: bool,
}

/// What [`TrapWindow::clear_if_quiet`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Quiet {
    /// The flag was set and is cleared now.
    Cleared,
    /// Still flagged: look again at this instant.
    NotYet(Instant),
    /// The flag is not set.
    NotFlagged,
}

impl WindowState {
    fn expire(&mut self, now: Instant) {
        while self.times.front().is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW) {
            self.times.pop_front();
        }
    }
}

impl TrapWindow {
    /// Records a trap at `now`; true when this trap raised the flag (the
    /// count in the window went past `threshold` and the flag was not set).
    pub fn record(&self, now: Instant, threshold: usize) -> bool {
        let mut st = self.state.lock();
        st.expire(now);
        st.times.push_back(now);
        if st.times.len() > threshold && !st.unhealthy {
            st.unhealthy = true;
            return true;
        }
        false
    }

    /// Traps in the window ending at `now`.
    pub fn count(&self, now: Instant) -> usize {
        let st = self.state.lock();
        st.times.iter().filter(|t| now.saturating_duration_since(**t) < WINDOW).count()
    }

    /// Flagged, and a trap happened less than [`WINDOW`] before `now`. Exact
    /// even before the watcher has cleared the flag.
    pub fn is_unhealthy(&self, now: Instant) -> bool {
        let st = self.state.lock();
        st.unhealthy && st.times.back().is_some_and(|t| now.saturating_duration_since(*t) < WINDOW)
    }

    /// Clears the flag if the last trap is [`WINDOW`] old at `now`.
    pub fn clear_if_quiet(&self, now: Instant) -> Quiet {
        let mut st = self.state.lock();
        if !st.unhealthy {
            return Quiet::NotFlagged;
        }
        match st.times.back().copied() {
            Some(last) if now.saturating_duration_since(last) < WINDOW => Quiet::NotYet(last + WINDOW),
            _ => {
                st.unhealthy = false;
                st.expire(now);
                Quiet::Cleared
            }
        }
    }
}

/// Copies what the guest wrote to stdout/stderr into the server log at debug level.
pub fn flush_output(session: &mut Session) {
    let (lines, dropped) = session.wasi.take_output();
    if lines.is_empty() && dropped == 0 {
        return;
    }
    let (slp, instance) = match &session.instance {
        Some(i) => (i.version.name.to_string(), i.id),
        None => (String::new(), 0),
    };
    for line in lines {
        tracing::debug!(target: "slp", %slp, instance, stream = ?line.stream, "{}", line.text);
    }
    if dropped > 0 {
        session.shared.metrics.add("slp_output_lines_dropped_total", "", dropped as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_flag_rises_past_the_threshold_and_clears_after_a_quiet_minute() {
        let w = TrapWindow::default();
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(!w.record(t0 + Duration::from_secs(i), 3), "at most the threshold: healthy");
        }
        assert!(!w.is_unhealthy(t0 + Duration::from_secs(3)));
        assert!(w.record(t0 + Duration::from_secs(10), 3), "the fourth trap within 60 s raises it");
        assert!(!w.record(t0 + Duration::from_secs(11), 3), "raised once, not on every trap");
        assert!(w.is_unhealthy(t0 + Duration::from_secs(12)));
        assert_eq!(w.count(t0 + Duration::from_secs(12)), 5);
        // The window slides: the first three are out, but the flag stays until 60 s of quiet.
        let t = t0 + Duration::from_secs(65);
        assert_eq!(w.count(t), 2);
        assert!(w.is_unhealthy(t));
        assert_eq!(w.clear_if_quiet(t), Quiet::NotYet(t0 + Duration::from_secs(71)));
        let t = t0 + Duration::from_secs(71);
        assert!(!w.is_unhealthy(t));
        assert_eq!(w.clear_if_quiet(t), Quiet::Cleared);
        assert_eq!(w.clear_if_quiet(t), Quiet::NotFlagged);
        assert_eq!(w.count(t), 0);
        // It can rise again.
        for i in 0..3 {
            assert!(!w.record(t + Duration::from_secs(i), 3));
        }
        assert!(w.record(t + Duration::from_secs(4), 3));
    }

    #[tokio::test(start_paused = true)]
    async fn the_watcher_clears_the_flag_on_the_virtual_clock() {
        let m = Arc::new(VersionMetrics::new(Arc::from("x"), "ab".into()));
        assert!(m.window.record(Instant::now(), 0));
        watch_until_quiet(Arc::clone(&m));
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(m.window.is_unhealthy(Instant::now()));
        assert!(!m.window.record(Instant::now(), 0), "a trap while flagged keeps the flag, no new raise");
        tokio::time::sleep(Duration::from_secs(59)).await;
        assert!(m.window.is_unhealthy(Instant::now()), "60 s from the last trap, not the first");
        tokio::time::sleep(Duration::from_secs(2)).await;
        tokio::task::yield_now().await;
        assert!(!m.window.is_unhealthy(Instant::now()));
        assert_eq!(m.window.clear_if_quiet(Instant::now()), Quiet::NotFlagged, "the watcher cleared it");
    }
}
