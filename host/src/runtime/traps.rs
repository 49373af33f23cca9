//! Traps (spec §12.5, §12.6): what kind a guest failure is, and what is
//! recorded when one happens. The instance that trapped is the only one affected.

use crate::runtime::wasi::GuestExit;
use crate::session::Session;
use crate::shared::Shared;

/// Trap kinds of spec §12.5.
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
    let in_minute = version.record_trap();
    shared.metrics.inc(
        "traps_total",
        format!("slp=\"{}\",hash=\"{}\",kind=\"{}\"", version.name, version.hash(), kind.label()),
    );
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
    if in_minute == threshold + 1 {
        tracing::error!(target: "slp", slp = %version.name, hash = %version.hash(), "version unhealthy: more than {threshold} traps within 60 s");
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
