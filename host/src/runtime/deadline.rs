//! CPU deadlines of guest calls (spec §12.4), counted in epoch ticks.
//!
//! Guest calls run in place on the tokio worker that polls the session
//! actor: a normal call takes tens of microseconds, and handing every call to
//! another thread cost more than the call itself. A call that is still
//! running after a whole tick is not normal: from then on it must delay only
//! its own session, so its worker's other tasks are handed to a new thread
//! (`block_in_place`) and the call goes on here until it returns or its
//! deadline traps it.
//!
//! Why not async calls that yield at each tick: with the pooling allocator a
//! store keeps its fiber stack between calls, so every live session would pin
//! a stack (two kernel mappings and its touched pages), which the density
//! goals cannot afford.

use std::time::Duration;

use tokio::runtime::{Handle, RuntimeFlavor};
use wasmtime::{StoreContextMut, UpdateDeadline};

use crate::session::Session;

/// The epoch budget of the call in progress.
#[derive(Debug, Default)]
pub struct Budget {
    /// Ticks left before the call traps.
    ticks_left: u64,
    /// Ticks seen during this call.
    ticks_seen: u64,
}

impl Budget {
    /// Starts a call allowed `ticks` epoch ticks.
    pub fn start(&mut self, ticks: u64) {
        self.ticks_left = ticks.max(1);
        self.ticks_seen = 0;
    }
}

/// The store's epoch callback: called each time the epoch passes while the
/// guest runs (the store's deadline is always one tick ahead).
pub fn on_tick(mut cx: StoreContextMut<'_, Session>) -> wasmtime::Result<UpdateDeadline> {
    let budget = &mut cx.data_mut().budget;
    budget.ticks_left = budget.ticks_left.saturating_sub(1);
    budget.ticks_seen += 1;
    if budget.ticks_left == 0 {
        return Ok(UpdateDeadline::Interrupt);
    }
    // The first tick may come a moment after the call began; the second
    // proves the call has run for at least a whole tick.
    if budget.ticks_seen == 2 {
        release_worker();
    }
    Ok(UpdateDeadline::Continue(1))
}

/// Hands the current worker's other tasks to a new thread, so that this
/// long call holds up nobody else. The short wait lets the new thread take
/// them before this one carries on (otherwise tokio gives them straight back).
fn release_worker() {
    let multi_thread = Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread);
    if multi_thread {
        tokio::task::block_in_place(|| std::thread::sleep(Duration::from_millis(1)));
    }
}
