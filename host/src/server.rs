//! Starting and stopping the server (spec §15.4): state restored, on-load
//! instances created, then the API listener, then the RTC listener.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api;
use crate::config::Config;
use crate::limits;
use crate::metrics::Metrics;
use crate::runtime::engine::{self, EngineLimits};
use crate::runtime::kv::{KvLimits, KvStores};
use crate::runtime::modules::Modules;
use crate::runtime::{self};
use crate::shared::Shared;
use crate::transport::handshake;
use crate::transport::registry::{CloseRequest, Registry};

/// The example SLPs built into the binary: loaded on the very first start
/// (no state file yet), `echo` as `default` and `conformance` under its name.
pub const BUNDLED: [(&str, &[u8]); 2] = [
    ("default", include_bytes!(concat!(env!("SLP_GUEST_DIR"), "/echo.wasm"))),
    ("conformance", include_bytes!(concat!(env!("SLP_GUEST_DIR"), "/conformance.wasm"))),
];

/// A running server.
pub struct Server {
    /// Shared state, for tests and the API.
    pub shared: Arc<Shared>,
    /// Where the RTC listener listens.
    pub rtc_addr: SocketAddr,
    /// Where the API listener listens.
    pub api_addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// Starts everything; returns once both listeners accept connections.
    pub async fn start(config: Config) -> anyhow::Result<Server> {
        let first_start = !config.slp.state_dir.join("slps.json").exists();
        let needs = limits::Needs {
            instances: config.slp.max_live_instances as u64,
            connections: config.rtc.max_connections as u64,
        };
        for warning in limits::shortfalls(needs, limits::Allowed::read()) {
            tracing::warn!(target: "main", "{warning}");
        }
        let shared = build_shared(config, needs.instances as u32)?;
        let config = Arc::clone(&shared.config);

        // State: restore, or on the very first start load the bundled SLPs.
        let restored = {
            let s = Arc::clone(&shared);
            tokio::task::spawn_blocking(move || {
                let probe = || crate::session::Session::probe(Arc::clone(&s));
                s.modules.restore(&probe)
            })
            .await?
        };
        for version in &restored {
            api::slpm::start_on_load(&shared, version).await;
            tracing::info!(target: "main", slp = %version.name, hash = %version.hash(), "SLP restored");
        }
        if first_start {
            for (name, bytes) in BUNDLED {
                match api::slpm::install(&shared, name, bytes.to_vec()).await {
                    Ok(_) => tracing::info!(target: "main", slp = name, "bundled SLP loaded"),
                    Err(_) => tracing::error!(target: "main", slp = name, "bundled SLP failed to load"),
                }
            }
        }

        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let api_listener = bind(config.api.listen, "api.listen").await?;
        let api_addr = api_listener.local_addr()?;
        tasks.push(serve(api_listener, api::router(Arc::clone(&shared)), stop_rx.clone()));
        let rtc_listener = bind(config.rtc.listen, "rtc.listen").await?;
        let rtc_addr = rtc_listener.local_addr()?;
        tasks.push(serve(rtc_listener, handshake::router(Arc::clone(&shared)), stop_rx));
        tracing::info!(target: "main", rtc = %rtc_addr, api = %api_addr, "ready");
        Ok(Server { shared, rtc_addr, api_addr, stop, tasks })
    }

    /// Stops listening and closes every socket with 1001 `server shutdown`.
    pub async fn stop(self) {
        self.shared.draining.store(true, Ordering::Relaxed);
        let _ = self.stop.send(true);
        self.shared.registry.close_all(CloseRequest::Shutdown);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
        }
    }
}

/// The host without its listeners: engine, modules, key-value stores,
/// endpoint registry and counters, for a pool of `instances` live instances.
/// Nothing is loaded yet. [`Server::start`] adds state and listeners;
/// `slp-host test` connects in-memory peers to it instead.
pub fn build_shared(config: Config, instances: u32) -> anyhow::Result<Arc<Shared>> {
    let max_memory =
        config.slps.values().filter_map(|o| o.memory_limit).fold(config.slp.memory_limit, usize::max);
    let engine = engine::build(EngineLimits { instances, max_memory }).map_err(runtime::error)?;
    build_shared_on(config, engine)
}

/// [`build_shared`] on an existing engine, so that several hosts (one per
/// `slp-host test` script) share compiled code.
pub fn build_shared_on(config: Config, engine: wasmtime::Engine) -> anyhow::Result<Arc<Shared>> {
    let config = Arc::new(config);
    let metrics = Arc::new(Metrics::default());
    let registry = Arc::new(Registry::new(config.rtc.queue_limit, config.rtc.linger, Arc::clone(&metrics)));
    let linker = runtime::linker(&engine).map_err(runtime::error)?;
    let modules = Modules::new(engine, linker, config.slp.store_dir.clone(), config.slp.state_dir.clone())?;
    let kv = KvStores::new(KvLimits {
        max_keys: config.slp.kv_max_keys,
        max_bytes: config.slp.kv_max_bytes,
        max_value: config.slp.kv_max_value,
    });
    Ok(Arc::new(Shared::new(config, registry, modules, metrics, kv)))
}

/// Binds a listener, retrying 10 times 500 ms apart (spec §10.1).
async fn bind(addr: Option<SocketAddr>, key: &str) -> anyhow::Result<TcpListener> {
    let addr = addr.ok_or_else(|| anyhow::anyhow!("{key} is not set: nothing to listen on"))?;
    let mut last = None;
    for attempt in 0..10 {
        match TcpListener::bind(addr).await {
            Ok(l) => return Ok(l),
            Err(e) => {
                if attempt < 9 {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                last = Some(e);
            }
        }
    }
    Err(anyhow::anyhow!(
        "{key}: cannot listen on {addr}: {}",
        last.map(|e| e.to_string()).unwrap_or_default()
    ))
}

fn serve(
    listener: TcpListener,
    router: axum::Router,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        use axum::serve::ListenerExt;
        let app = router.into_make_service_with_connect_info::<SocketAddr>();
        // Small frames both ways: Nagle's algorithm would hold answers back.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            tracing::error!(target: "main", "listener failed: {e}");
        }
    })
}
