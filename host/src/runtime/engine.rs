//! The wasmtime engine: component model, pooling allocator, epoch ticks.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the engine's epoch advances: the granularity of CPU deadlines
/// (spec §12.4: a tick of at most 10 ms).
pub const TICK: Duration = Duration::from_millis(10);

/// Bytes of each linear memory zeroed with memset, not madvise, when an
/// instance ends: covers the whole memory of an SLP built with a 128 KiB stack.
const KEEP_RESIDENT: usize = 256 << 10;

/// Sizing of the engine.
#[derive(Debug, Clone, Copy)]
pub struct EngineLimits {
    /// Live component instances the pool holds at once.
    pub instances: u32,
    /// Largest linear memory of any instance (the largest `memory_limit`).
    pub max_memory: usize,
}

/// Builds the engine and starts the epoch ticker thread, which stops when
/// the engine is dropped.
pub fn build(limits: EngineLimits) -> wasmtime::Result<Engine> {
    let mut cfg = Config::new();
    cfg.wasm_component_model(true);
    cfg.epoch_interruption(true);
    cfg.parallel_compilation(true);
    // Memories are small and bounded: reserve only what the cap allows, with
    // explicit bounds checks, instead of 4 GiB of address space per instance.
    cfg.memory_reservation(limits.max_memory as u64);
    cfg.memory_reservation_for_growth(0);
    cfg.memory_guard_size(64 << 10);
    cfg.memory_may_move(false);
    cfg.memory_init_cow(true);
    cfg.max_wasm_stack(512 << 10);
    // For profiling guests: perf then names their functions (/tmp/perf-<pid>.map).
    if std::env::var_os("SLP_HOST_PERFMAP").is_some() {
        cfg.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    let n = limits.instances;
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(n);
    pool.total_core_instances(n.saturating_mul(4));
    pool.total_memories(n);
    pool.total_tables(n.saturating_mul(3));
    pool.max_core_instances_per_component(8);
    pool.max_memories_per_component(1);
    pool.max_tables_per_component(4);
    pool.max_tables_per_module(2);
    pool.table_elements(20_000);
    pool.max_memory_size(limits.max_memory);
    pool.max_component_instance_size(64 << 10);
    pool.max_core_instance_size(64 << 10);
    // Freed slots that keep their module's image mapped, so the next instance
    // of the same version skips the remap: with 800 sessions in flight, 100
    // was too few (MESSAGE at pipeline 8: 48.6k/s -> 54.8k/s, mean of four
    // noisy runs each). Costs at most their touched pages while idle.
    pool.max_unused_warm_slots(1000);
    // Reset a finished instance's memory and tables with memset while they are
    // small: madvise would flush the TLB of every core running the process.
    pool.linear_memory_keep_resident(KEEP_RESIDENT);
    // Reset only the pages an instance dirtied (Linux 6.7+ PAGEMAP_SCAN;
    // elsewhere the first KEEP_RESIDENT bytes). Without it, the memset faults
    // in every page of the window: a slot used once by a long call then kept
    // ~180 KiB resident for good (18 GiB after 100,000 calls ended).
    pool.pagemap_scan(wasmtime::Enabled::Auto);
    pool.table_keep_resident(64 << 10);
    cfg.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = Engine::new(&cfg)?;
    start_ticker(&engine);
    Ok(engine)
}

fn start_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new().name("slp-epoch".into()).spawn(move || {
        while let Some(engine) = weak.upgrade() {
            engine.increment_epoch();
            drop(engine);
            std::thread::sleep(TICK);
        }
    });
    if let Err(e) = spawned {
        tracing::error!(target: "slp", "cannot start the epoch ticker: {e}; CPU deadlines will not be enforced");
    }
}

/// Epoch ticks for a CPU deadline, rounded up (at least one).
pub fn deadline_ticks(deadline: Duration) -> u64 {
    (deadline.as_nanos().div_ceil(TICK.as_nanos()) as u64).max(1)
}

/// A shared engine handle.
pub type SharedEngine = Arc<Engine>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_ticks_round_up() {
        assert_eq!(deadline_ticks(Duration::from_millis(50)), 5);
        assert_eq!(deadline_ticks(Duration::from_millis(51)), 6);
        assert_eq!(deadline_ticks(Duration::from_millis(1)), 1);
        assert_eq!(deadline_ticks(Duration::ZERO), 1);
    }
}
