//! SLP versions (spec §12.1, §14.2, §14.6): validation of uploaded components,
//! the content-addressed store on disk, and the name → current version table.
//!
//! The table is an immutable map behind an `ArcSwap`: dispatch reads it with
//! no lock, and an upload swaps in a new map. A running instance holds the
//! `Arc` of its own version, so replacing a name never touches it; the
//! compiled code is freed when its last instance ends.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};

use super::bindings::SlpPre;
use crate::metrics::VersionMetrics;
use crate::session::Session;

/// The SLP interface version this host supports (`jsip:slp@0.1.x`).
pub const SLP_INTERFACE: &str = "jsip:slp/";
const SUPPORTED_VERSION_PREFIX: &str = "0.1.";

/// Why an upload was refused (spec §14.2 `invalid_component`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A compiled component, shared by every name that loads the same bytes.
pub struct Compiled {
    /// Lowercase hex SHA-256 of the bytes.
    pub hash: String,
    /// Size in bytes.
    pub size: usize,
    /// Pre-linked: instantiation does no import resolution.
    pub pre: SlpPre<Session>,
}

/// One version of one SLP name, with its counters.
pub struct Version {
    /// The SLP name.
    pub name: Arc<str>,
    /// The code.
    pub compiled: Arc<Compiled>,
    /// When it became current.
    pub loaded_at: jiff::Timestamp,
    /// Per-session instances alive now.
    pub live: AtomicU64,
    /// Per-session instances created since start.
    pub created: AtomicU64,
    /// Traps since start.
    pub traps: AtomicU64,
    /// Whether its on-load instance is alive.
    pub on_load_alive: AtomicBool,
    /// Counters, gauges, the call histogram and the trap window of this
    /// (name, hash), resolved once so the hot path never looks them up.
    pub metrics: Arc<VersionMetrics>,
}

impl Version {
    /// A version of `name` that becomes current now.
    fn new(metrics: Arc<VersionMetrics>, compiled: Arc<Compiled>) -> Arc<Version> {
        Arc::new(Version {
            name: Arc::clone(&metrics.name),
            compiled,
            loaded_at: jiff::Timestamp::now(),
            live: AtomicU64::new(0),
            created: AtomicU64::new(0),
            traps: AtomicU64::new(0),
            on_load_alive: AtomicBool::new(false),
            metrics,
        })
    }

    /// The version hash.
    pub fn hash(&self) -> &str {
        &self.compiled.hash
    }

    /// Traps of this (name, hash) in the last 60 s.
    pub fn traps_last_minute(&self) -> usize {
        self.metrics.window.count(tokio::time::Instant::now())
    }

    /// Whether this (name, hash) is flagged unhealthy now (spec §12.6).
    pub fn is_unhealthy(&self) -> bool {
        self.metrics.window.is_unhealthy(tokio::time::Instant::now())
    }
}

/// The outcome of making a version current.
pub struct Switch {
    /// The new current version.
    pub version: Arc<Version>,
    /// The hash it replaced, if any.
    pub previous: Option<String>,
    /// False when the version was already current.
    pub changed: bool,
}

/// An entry of the state file that could not be loaded at startup.
#[derive(Debug, Clone)]
pub struct SkippedEntry {
    /// SLP name.
    pub name: String,
    /// Hash in the state file.
    pub hash: String,
    /// Why.
    pub error: String,
}

/// (SLP name, version hash).
type VersionKey = (Arc<str>, String);

/// All loaded SLPs.
pub struct Modules {
    engine: Engine,
    linker: Linker<Session>,
    current: ArcSwap<HashMap<Arc<str>, Arc<Version>>>,
    /// Every version ever made current, weakly: for listing versions that still run.
    history: Mutex<Vec<Weak<Version>>>,
    compiled: Mutex<HashMap<String, Weak<Compiled>>>,
    /// Metrics of every (name, hash) ever made current; kept for the
    /// process's life so their counters never go backwards.
    metrics: Mutex<HashMap<VersionKey, Arc<VersionMetrics>>>,
    store_dir: PathBuf,
    state_file: PathBuf,
    /// Serialises changes: one upload or delete at a time (spec §14.1).
    pub change: tokio::sync::Mutex<()>,
    /// State entries skipped at startup.
    pub skipped: Mutex<Vec<SkippedEntry>>,
}

impl Modules {
    /// An empty set over these directories (created if missing).
    pub fn new(
        engine: Engine,
        linker: Linker<Session>,
        store_dir: PathBuf,
        state_dir: PathBuf,
    ) -> anyhow::Result<Modules> {
        std::fs::create_dir_all(&store_dir)?;
        std::fs::create_dir_all(&state_dir)?;
        Ok(Modules {
            engine,
            linker,
            current: ArcSwap::from_pointee(HashMap::new()),
            history: Mutex::new(Vec::new()),
            compiled: Mutex::new(HashMap::new()),
            metrics: Mutex::new(HashMap::new()),
            store_dir,
            state_file: state_dir.join("slps.json"),
            change: tokio::sync::Mutex::new(()),
            skipped: Mutex::new(Vec::new()),
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The current version of `name` (lock-free).
    pub fn current(&self, name: &str) -> Option<Arc<Version>> {
        self.current.load().get(name).cloned()
    }

    /// True when `name` is loaded.
    pub fn is_loaded(&self, name: &str) -> bool {
        self.current.load().contains_key(name)
    }

    /// Current versions by name.
    pub fn all_current(&self) -> Vec<Arc<Version>> {
        let mut v: Vec<_> = self.current.load().values().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Every version still alive (current, or running instances).
    pub fn all_versions(&self) -> Vec<Arc<Version>> {
        let mut history = self.history.lock();
        history.retain(|w| w.strong_count() > 0);
        history.iter().filter_map(Weak::upgrade).collect()
    }

    /// Components whose compiled code is in memory now, as (hash, size),
    /// sorted by hash. Code is freed when no version or instance uses it any
    /// more; its file stays in the store for rollback by hash.
    pub fn compiled_in_memory(&self) -> Vec<(String, usize)> {
        let mut compiled = self.compiled.lock();
        compiled.retain(|_, w| w.strong_count() > 0);
        let mut list: Vec<(String, usize)> =
            compiled.values().filter_map(Weak::upgrade).map(|c| (c.hash.clone(), c.size)).collect();
        list.sort();
        list
    }

    /// The metrics of `name` at `hash`, created on first use.
    fn metrics_for(&self, name: &str, hash: &str) -> Arc<VersionMetrics> {
        let mut all = self.metrics.lock();
        let key = (Arc::from(name), hash.to_owned());
        let entry = all
            .entry(key)
            .or_insert_with_key(|(n, h)| Arc::new(VersionMetrics::new(Arc::clone(n), h.clone())));
        Arc::clone(entry)
    }

    /// The metrics of every (name, hash) ever made current, sorted.
    pub fn version_metrics(&self) -> Vec<Arc<VersionMetrics>> {
        let mut list: Vec<_> = self.metrics.lock().values().cloned().collect();
        list.sort_by(|a, b| (&a.name, &a.hash).cmp(&(&b.name, &b.hash)));
        list
    }

    /// Hash of bytes.
    pub fn hash_of(bytes: &[u8]) -> String {
        let digest = Sha256::digest(bytes);
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Path of a stored component.
    pub fn store_path(&self, hash: &str) -> PathBuf {
        self.store_dir.join(format!("{hash}.wasm"))
    }

    /// Validates and compiles bytes (spec §14.2 steps 1–4), reusing the compiled
    /// code when the same bytes are already loaded. CPU-heavy: call off the async runtime.
    pub fn compile(&self, bytes: &[u8], probe: &dyn Fn() -> Session) -> Result<Arc<Compiled>, Invalid> {
        let hash = Self::hash_of(bytes);
        if let Some(c) = self.compiled.lock().get(&hash).and_then(Weak::upgrade) {
            return Ok(c);
        }
        check_header(bytes)?;
        let component = Component::from_binary(&self.engine, bytes).map_err(|e| Invalid(format!("{e:#}")))?;
        check_imports(&self.engine, &component)?;
        let instance_pre = self.linker.instantiate_pre(&component).map_err(|e| Invalid(format!("{e:#}")))?;
        let pre = SlpPre::new(instance_pre).map_err(|e| Invalid(format!("{e:#}")))?;
        // Trial instantiation: imports link, the memory cap holds, no start-up trap.
        let mut store = Store::new(&self.engine, probe());
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(super::engine::deadline_ticks(Duration::from_secs(1)));
        pre.instantiate(&mut store).map_err(|e| Invalid(format!("trial instantiation failed: {e:#}")))?;
        let compiled = Arc::new(Compiled { hash: hash.clone(), size: bytes.len(), pre });
        self.compiled.lock().insert(hash, Arc::downgrade(&compiled));
        Ok(compiled)
    }

    /// Writes the bytes to the store if they are not there yet (atomically).
    pub fn persist_component(&self, compiled: &Compiled, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.store_path(&compiled.hash);
        if path.exists() {
            return Ok(());
        }
        write_atomic(&path, bytes)
    }

    /// Makes `compiled` the current version of `name` and records it in the state file.
    pub fn switch(&self, name: &str, compiled: Arc<Compiled>) -> std::io::Result<Switch> {
        let map = self.current.load();
        let previous = map.get(name).map(|v| v.hash().to_owned());
        if previous.as_deref() == Some(&compiled.hash) {
            let version = map.get(name).cloned().expect("present");
            return Ok(Switch { version, previous, changed: false });
        }
        let version = Version::new(self.metrics_for(name, &compiled.hash), compiled);
        let mut next: HashMap<Arc<str>, Arc<Version>> = (**map).clone();
        next.insert(version.name.clone(), version.clone());
        self.write_state(&next)?;
        self.current.store(Arc::new(next));
        self.history.lock().push(Arc::downgrade(&version));
        Ok(Switch { version, previous, changed: true })
    }

    /// Removes `name`; its running instances finish on their version.
    pub fn delete(&self, name: &str) -> std::io::Result<Option<Arc<Version>>> {
        let map = self.current.load();
        let Some(old) = map.get(name).cloned() else { return Ok(None) };
        let mut next: HashMap<Arc<str>, Arc<Version>> = (**map).clone();
        next.remove(name);
        self.write_state(&next)?;
        self.current.store(Arc::new(next));
        Ok(Some(old))
    }

    /// Loads the state file at startup (spec §14.6): a missing file is empty,
    /// a corrupt one is renamed aside, and each bad entry is skipped and kept.
    pub fn restore(&self, probe: &dyn Fn() -> Session) -> Vec<Arc<Version>> {
        let entries = match std::fs::read(&self.state_file) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
            Err(e) => {
                tracing::error!(target: "main", file = %self.state_file.display(), "cannot read the state file: {e}");
                return Vec::new();
            }
            Ok(bytes) => match parse_state(&bytes) {
                Ok(entries) => entries,
                Err(e) => {
                    let aside = self.state_file.with_extension(format!(
                        "json.corrupt-{}",
                        jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ")
                    ));
                    tracing::error!(target: "main", file = %self.state_file.display(), aside = %aside.display(), "corrupt state file renamed: {e}");
                    let _ = std::fs::rename(&self.state_file, &aside);
                    return Vec::new();
                }
            },
        };
        let mut loaded = Vec::new();
        let mut map = HashMap::new();
        for (name, hash) in entries {
            let result = std::fs::read(self.store_path(&hash))
                .map_err(|e| format!("module file missing: {e}"))
                .and_then(|bytes| {
                    if Self::hash_of(&bytes) != hash {
                        return Err("module file content does not match its hash".to_owned());
                    }
                    self.compile(&bytes, probe).map_err(|e| e.0)
                });
            match result {
                Ok(compiled) => {
                    let version = Version::new(self.metrics_for(&name, &compiled.hash), compiled);
                    self.history.lock().push(Arc::downgrade(&version));
                    map.insert(version.name.clone(), version.clone());
                    loaded.push(version);
                }
                Err(error) => {
                    tracing::error!(target: "main", slp = %name, %hash, "state entry skipped: {error}");
                    self.skipped.lock().push(SkippedEntry { name, hash, error });
                }
            }
        }
        self.current.store(Arc::new(map));
        loaded
    }

    fn write_state(&self, map: &HashMap<Arc<str>, Arc<Version>>) -> std::io::Result<()> {
        let mut slps = serde_json::Map::new();
        // Skipped entries stay in the file so that fixing the cause recovers them.
        for s in self.skipped.lock().iter() {
            if !map.contains_key(s.name.as_str()) {
                slps.insert(s.name.clone(), serde_json::json!({"hash": s.hash, "since": null}));
            }
        }
        let mut names: Vec<_> = map.values().collect();
        names.sort_by(|a, b| a.name.cmp(&b.name));
        for v in names {
            slps.insert(
                v.name.to_string(),
                serde_json::json!({"hash": v.hash(), "since": v.loaded_at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()}),
            );
        }
        let doc = serde_json::json!({"format": 1, "slps": slps});
        write_atomic(&self.state_file, serde_json::to_string_pretty(&doc).unwrap_or_default().as_bytes())
    }
}

fn parse_state(bytes: &[u8]) -> Result<Vec<(String, String)>, String> {
    let doc: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if doc.get("format").and_then(|f| f.as_u64()) != Some(1) {
        return Err("unsupported or missing format".into());
    }
    let slps = doc.get("slps").and_then(|s| s.as_object()).ok_or("missing slps")?;
    let mut out = Vec::new();
    for (name, entry) in slps {
        let hash = entry.get("hash").and_then(|h| h.as_str()).ok_or(format!("entry {name}: missing hash"))?;
        out.push((name.clone(), hash.to_owned()));
    }
    Ok(out)
}

/// Step 1: the bytes are a WebAssembly component.
fn check_header(bytes: &[u8]) -> Result<(), Invalid> {
    if bytes.len() < 8 || &bytes[0..4] != b"\0asm" {
        return Err(Invalid("not WebAssembly".into()));
    }
    // Bytes 4..8: version (u16) and layer (u16); layer 1 is a component.
    if bytes[6..8] != [1, 0] {
        return Err(Invalid("not a component (core module)".into()));
    }
    Ok(())
}

/// Step 2: only the SLP interface (a supported version) and the standard
/// interfaces the host provides.
fn check_imports(engine: &Engine, component: &Component) -> Result<(), Invalid> {
    for (name, item) in component.component_type().imports(engine) {
        if !matches!(item.ty, ComponentItem::ComponentInstance(_)) {
            return Err(Invalid(format!("unsupported import: {name}")));
        }
        if let Some(rest) = name.strip_prefix(SLP_INTERFACE) {
            let version = rest.split_once('@').map(|(_, v)| v).unwrap_or("");
            if !version.starts_with(SUPPORTED_VERSION_PREFIX) {
                return Err(Invalid(format!(
                    "unsupported SLP interface version {version:?} in {name} (this host supports jsip:slp@0.1)"
                )));
            }
            continue;
        }
        if !super::wasi::PROVIDED_IMPORTS.iter().any(|p| name.starts_with(p)) {
            return Err(Invalid(format!("unsupported import: {name}")));
        }
    }
    Ok(())
}

/// Writes a file atomically: temp file in the same directory, fsync, rename, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_tells_components_from_core_modules_and_garbage() {
        assert_eq!(check_header(b"hello world"), Err(Invalid("not WebAssembly".into())));
        assert_eq!(check_header(b"\0asm\x01\0\0\0"), Err(Invalid("not a component (core module)".into())));
        assert_eq!(check_header(b"\0asm\x0d\0\x01\0"), Ok(()));
    }

    #[test]
    fn state_file_parsing() {
        let ok = br#"{"format":1,"slps":{"default":{"hash":"ab","since":"2025-06-01T09:30:12.481Z"}}}"#;
        assert_eq!(parse_state(ok).unwrap(), vec![("default".to_owned(), "ab".to_owned())]);
        assert!(parse_state(b"{").is_err());
        assert!(parse_state(br#"{"format":2,"slps":{}}"#).is_err());
    }

    #[test]
    fn atomic_write_replaces_the_file() {
        let dir = std::env::temp_dir().join(format!("slp-host-aw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("state.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temp file left behind");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
