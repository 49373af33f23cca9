//! The cost of one session's sandbox: instantiate the echo SLP from its
//! pre-linked version, `init`, one `on-message` whose `send` runs through the
//! stack, and drop, exactly as a session actor does for every new session.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use jsip::stack::Output;
use jsip::{Endpoint, syntax};
use slp_host::config::Config;
use slp_host::metrics::Metrics;
use slp_host::runtime::bindings::types as wit;
use slp_host::runtime::convert::delivery_to_wit;
use slp_host::runtime::engine::{self, EngineLimits, deadline_ticks};
use slp_host::runtime::kv::KvStores;
use slp_host::runtime::modules::Modules;
use slp_host::session::Session;
use slp_host::shared::Shared;
use slp_host::transport::registry::Registry;
use wasmtime::Store;

const MESSAGE: &[u8] = br#"{"Type":"MESSAGE","Request-URI":"svc","From":"alice","To":"svc","DialogueID":"b-1","CSeq":1,"Body":{"text":"hi"}}"#;

fn shared() -> Arc<Shared> {
    let root = std::env::temp_dir().join(format!("slp-host-bench-{}", std::process::id()));
    let mut config = Config::default_for(&root.join("conf/slp-host.toml"));
    config.slp.store_dir = root.join("store");
    config.slp.state_dir = root.join("state");
    let config = Arc::new(config);
    let metrics = Arc::new(Metrics::default());
    let registry = Arc::new(Registry::new(1024, Duration::from_secs(60), Arc::clone(&metrics)));
    let engine = engine::build(EngineLimits { instances: 1000, max_memory: 16 << 20 }).expect("engine");
    let linker = slp_host::runtime::linker(&engine).expect("linker");
    let modules = Modules::new(engine, linker, config.slp.store_dir.clone(), config.slp.state_dir.clone())
        .expect("dirs");
    Arc::new(Shared::new(config, registry, modules, metrics, KvStores::default()))
}

fn instance(c: &mut Criterion) {
    let shared = shared();
    // SLP_BENCH_GUEST=<file.wasm> measures another component that answers like echo.
    let guest =
        std::env::var("SLP_BENCH_GUEST").unwrap_or(concat!(env!("SLP_GUEST_DIR"), "/echo.wasm").into());
    let echo = std::fs::read(&guest).unwrap_or_else(|e| panic!("{guest}: {e}"));
    let probe = || Session::probe(Arc::clone(&shared));
    let compiled = shared.modules.compile(&echo, &probe).expect("echo compiles");
    let alice = Endpoint::from("alice");
    let ctx = wit::Context {
        slp: "default".into(),
        hash: compiled.hash.clone(),
        instance: 1,
        realm: "bench".into(),
    };
    let ticks = deadline_ticks(Duration::from_millis(50));
    // The runtime needs a tokio context for nothing here, but the registry clock is used.
    c.bench_function("instance/echo_instantiate_init_message_drop", |b| {
        b.iter(|| {
            let mut store = Store::new(shared.modules.engine(), Session::probe(Arc::clone(&shared)));
            store.limiter(|s| &mut s.limiter);
            store.set_epoch_deadline(ticks);
            let slp = compiled.pre.instantiate_prechecked(&mut store).expect("instantiates");
            slp.call_init(&mut store, wit::InitKind::Session, &ctx).expect("init");
            let msg = syntax::parse(MESSAGE, 65536).expect("valid");
            let now = shared.registry.now();
            store.data_mut().stack.receive(msg, &alice, now);
            let Some(Output::Deliver(d)) = store.data_mut().stack.poll_output() else { panic!("delivered") };
            store.set_epoch_deadline(ticks);
            slp.call_on_message(&mut store, &delivery_to_wit(&d, None)).expect("on-message");
            let mut frames = 0;
            while let Some(out) = store.data_mut().stack.poll_output() {
                frames += matches!(out, Output::Transmit(_)) as usize;
            }
            assert_eq!(frames, 1, "the 200 was sent through the stack");
            black_box(store);
        })
    });
}

criterion_group!(benches, instance);
criterion_main!(benches);
