//! `slp-host test`: a component run in-process through the real host — the
//! dispatcher, the JSIP stack, session actors and the wasm runtime — with
//! in-memory sockets and a paused clock. Each script gets a fresh host on its
//! own single-threaded runtime whose clock jumps to the next timer whenever
//! nothing else can run, so a 600 s session timer passes in milliseconds.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::report::{Failure, Report, ScriptReport};
use super::runner::{self, Peer};
use super::script::Script;
use super::{Options, userids};
use crate::api;
use crate::config::Config;
use crate::runtime::modules::Compiled;
use crate::server;
use crate::shared::Shared;
use crate::transport::{connection, handshake};

/// Live instances one isolated host may hold (the engine's pool).
const POOL_INSTANCES: u32 = 256;

/// Bytes an in-memory socket buffers in each direction.
const PIPE_BUFFER: usize = 256 << 10;

/// Runs each script against a fresh in-process host that has `component`
/// loaded as SLP `default`. Blocking: it makes its own runtime per script,
/// so call it from a plain `#[test]` or `main`, not from async code.
pub fn run_isolated(component: &[u8], scripts: &[Script], options: &Options) -> Report {
    let mut isolated = Isolated::new(component, options.clone());
    Report { scripts: scripts.iter().map(|s| isolated.run(s)).collect() }
}

/// Runs scripts one at a time, each against a fresh host. The engine and the
/// compiled component are made once and shared by those hosts: compiling is
/// by far the slowest part of a run.
pub struct Isolated {
    component: Vec<u8>,
    options: Options,
    compiled: Option<(wasmtime::Engine, Arc<Compiled>)>,
}

impl Isolated {
    /// A runner for `component`.
    pub fn new(component: &[u8], options: Options) -> Isolated {
        Isolated { component: component.to_vec(), options, compiled: None }
    }

    /// Runs one script on a fresh host.
    pub fn run(&mut self, script: &Script) -> ScriptReport {
        let failed = |why: String| ScriptReport {
            name: script.name.clone(),
            failure: Some(Failure::setup(why)),
            transcript: Vec::new(),
        };
        let root = match TempRoot::new() {
            Ok(r) => r,
            Err(e) => return failed(format!("cannot create a temporary directory: {e}")),
        };
        let config = match isolated_config(&root.0, self.options.config_toml.as_deref()) {
            Ok(c) => c,
            Err(e) => return failed(e),
        };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build();
        let runtime = match runtime {
            Ok(r) => r,
            Err(e) => return failed(format!("cannot start a runtime: {e}")),
        };
        let options = self.options.clone();
        let report = runtime.block_on(async {
            let shared = match self.start_host(config).await {
                Ok(s) => s,
                Err(e) => return failed(e),
            };
            let uniq = runner::uniq();
            let mut peers = Vec::new();
            for (name, userid) in userids(script, &options.userid, &uniq) {
                peers.push(connect(&shared, &name, &userid).await);
            }
            // Every peer's endpoint exists before stage 0, as with real sockets.
            while (shared.registry.socket_count() as usize) < peers.len() {
                tokio::task::yield_now().await;
            }
            runner::run(script, &mut peers, &uniq, options.verbose).await
        });
        // Tasks (actors, connections, timers) are dropped with the runtime.
        drop(runtime);
        report
    }

    /// A host with the component as SLP `default` (and its on-load instance run).
    async fn start_host(&mut self, config: Config) -> Result<Arc<Shared>, String> {
        let built = match &self.compiled {
            Some((engine, _)) => server::build_shared_on(config, engine.clone()),
            None => server::build_shared(config, POOL_INSTANCES),
        };
        let shared = built.map_err(|e| format!("cannot build the host: {e:#}"))?;
        let compiled = match &self.compiled {
            Some((_, c)) => Arc::clone(c),
            None => {
                let s = Arc::clone(&shared);
                let bytes = self.component.clone();
                let compiled = tokio::task::spawn_blocking(move || {
                    let probe = || crate::session::Session::probe(Arc::clone(&s));
                    s.modules.compile(&bytes, &probe)
                })
                .await
                .map_err(|e| format!("compiling the component failed: {e}"))?
                .map_err(|e| format!("invalid component: {e}"))?;
                self.compiled = Some((shared.modules.engine().clone(), Arc::clone(&compiled)));
                compiled
            }
        };
        let switch = shared
            .modules
            .switch("default", compiled)
            .map_err(|e| format!("cannot record the component: {e}"))?;
        api::slpm::start_on_load(&shared, &switch.version).await;
        Ok(shared)
    }
}

/// The configuration of an isolated host: the given TOML (or the defaults),
/// with every path inside `root`.
fn isolated_config(root: &Path, toml: Option<&str>) -> Result<Config, String> {
    let path = root.join("conf/slp-host.toml");
    let mut c = match toml {
        Some(text) => Config::from_toml_str(text, &path).map_err(|e| format!("configuration: {e}"))?,
        None => Config::default_for(&path),
    };
    c.root = root.to_path_buf();
    c.pid_file = root.join("slp-host.pid");
    c.slp.module_dir = root.join("modules");
    c.slp.store_dir = root.join("store");
    c.slp.state_dir = root.join("state");
    c.log.file = None;
    Ok(c)
}

/// A peer on an in-memory socket whose server side runs the production
/// connection code.
async fn connect(shared: &Arc<Shared>, name: &str, userid: &str) -> Peer {
    let (client_io, server_io) = tokio::io::duplex(PIPE_BUFFER);
    let ws_config = handshake::ws_config(&shared.config.rtc);
    let server_ws = WebSocketStream::from_raw_socket(server_io, Role::Server, Some(ws_config)).await;
    let remote = SocketAddr::from(([127, 0, 0, 1], 0));
    tokio::spawn(connection::run(Arc::clone(shared), server_ws, userid.to_owned(), remote));
    let client_ws = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
    Peer::spawn(name, userid, client_ws)
}

/// A temporary directory removed when dropped.
struct TempRoot(PathBuf);

impl TempRoot {
    fn new() -> std::io::Result<TempRoot> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "slp-host-scenario-{}-{n}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(dir.join("conf"))?;
        Ok(TempRoot(dir))
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
