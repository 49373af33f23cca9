//! The configuration file (spec §15.2).
//!
//! The file is a TOML document. [`Config::load`] reads and validates it;
//! [`Config::load_or_default`] does the same but treats a *missing* file as
//! "use the built-in defaults" (this is what the server does for the default
//! location `conf/slp-host.toml` when `-c` is not given; a file named with
//! `-c` must exist).
//!
//! Rules implemented here:
//!
//! * **Paths.** Relative paths are resolved against `root`. By default `root`
//!   is the parent of the directory holding the configuration file
//!   (`/opt/x/conf/slp-host.toml` → `/opt/x`). A relative `root` value is
//!   itself resolved against the directory holding the configuration file.
//!   Paths are normalised lexically (`.` and `..` components are folded; no
//!   symlink is resolved and the file system is not consulted).
//! * **Durations** are strings made of `<digits><unit>` parts with units
//!   `h`, `m`, `s`, `ms`, each at most once and in that order (`"1m30s"`,
//!   `"250ms"`, `"1h"`). Bare numbers, fractions and negative values are
//!   rejected.
//! * **Sizes** are non-negative integers (bytes) or strings: plain digits
//!   (bytes) or digits followed by `KiB`, `MiB` or `GiB` (an optional single
//!   space may separate them; the unit is case-insensitive).
//! * **Unknown keys** produce a warning (`unknown key rtc.foo`), collected in
//!   [`Config::warnings`], never an error.
//! * **Invalid values** produce a [`ConfigError`] whose message names the key.
//! * An empty string means "off" for the optional settings: the TLS
//!   listeners and files, `rtc.auth_url`, `api.token`, the node `secret` and
//!   `ca_file`, the access logs (no access log is written) and `log.file`
//!   (the server log then goes to stderr).

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde_json::Value as Json;
use toml::{Table, Value};

/// The configuration file used when `-c` is not given, relative to the
/// working directory (§15.1).
pub const DEFAULT_CONFIG_PATH: &str = "conf/slp-host.toml";

/// The realm used when `jsip.realm` is not set.
pub const DEFAULT_REALM: &str = "slp-host";

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;
const GIB: usize = 1024 * MIB;

/// The longest duration any key accepts.
const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);
const DURATION_HINT: &str = r#"(expected e.g. "60s", "1m30s", "250ms")"#;
const SIZE_HINT: &str = r#"(expected a number of bytes, or a string such as "64KiB", "16MiB", "1GiB")"#;

/// The complete, validated configuration. Paths are absolute when the
/// configuration file path could be made absolute (it always can unless the
/// working directory is gone).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The configuration file this was read from (absolute, normalised).
    pub config_path: PathBuf,
    /// `root`: the directory relative paths are resolved against.
    pub root: PathBuf,
    /// `pid_file` (default `slp-host.pid`).
    pub pid_file: PathBuf,
    pub log: Log,
    pub rtc: Rtc,
    pub api: Api,
    pub jsip: Jsip,
    /// `[nodes.<name>]`: peer nodes, keyed by their realm.
    pub nodes: BTreeMap<String, Node>,
    pub slp: Slp,
    /// `[slps.<name>]`: per-SLP-name overrides.
    pub slps: BTreeMap<String, SlpOverrides>,
    /// `[plugins.<name>]`: per-API-plugin settings (`<name>` without the version).
    pub plugins: BTreeMap<String, PluginSettings>,
    pub process: Process,
    /// Warnings found while loading (unknown keys, unset realm, …). The
    /// caller logs them; they never make the configuration invalid.
    pub warnings: Vec<String>,
}

/// Server log level (`log.level`). `fatal` is accepted as `error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// Server log format (`log.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

/// `[log]`
#[derive(Debug, Clone, PartialEq)]
pub struct Log {
    /// `log.file` (default `logs/slp-host.log`); `None` (`""`) = stderr.
    pub file: Option<PathBuf>,
    /// `log.level` (default `info`).
    pub level: LogLevel,
    /// `log.format` (default `text`).
    pub format: LogFormat,
}

/// `[rtc]`: the client WebSocket listener(s) (§10).
#[derive(Debug, Clone, PartialEq)]
pub struct Rtc {
    /// `rtc.listen` (default `0.0.0.0:8080`); `None` (`""`) = off.
    pub listen: Option<SocketAddr>,
    /// `rtc.tls_listen` (default off).
    pub tls_listen: Option<SocketAddr>,
    /// `rtc.tls_cert` (PEM; default none; required when `tls_listen` is set).
    pub tls_cert: Option<PathBuf>,
    /// `rtc.tls_key` (PEM; default none; required when `tls_listen` is set).
    pub tls_key: Option<PathBuf>,
    /// `rtc.path` (default `/rtc`).
    pub path: String,
    /// `rtc.header_timeout` (default 10 s).
    pub header_timeout: Duration,
    /// `rtc.keepalive` (default 60 s).
    pub keepalive: Duration,
    /// `rtc.access_log` (default `logs/access.log`); `None` (`""`) = off.
    pub access_log: Option<PathBuf>,
    /// `rtc.queue_limit` (default 1024, ≥ 1).
    pub queue_limit: usize,
    /// `rtc.linger` (default 60 s; 0 allowed).
    pub linger: Duration,
    /// `rtc.max_frame` in bytes (default 64 KiB; 1 KiB ..= 16 MiB).
    pub max_frame: usize,
    /// `rtc.ping_interval` (default 30 s).
    pub ping_interval: Duration,
    /// `rtc.write_timeout` (default 10 s).
    pub write_timeout: Duration,
    /// `rtc.max_connections` (default 10000, ≥ 1).
    pub max_connections: usize,
    /// `rtc.auth_url` (default off).
    pub auth_url: Option<String>,
    /// `rtc.auth_timeout` (default 3 s).
    pub auth_timeout: Duration,
}

/// `[api]`: the management API listener(s) (§14).
#[derive(Debug, Clone, PartialEq)]
pub struct Api {
    /// `api.listen` (default `127.0.0.1:2539`); `None` (`""`) = off.
    pub listen: Option<SocketAddr>,
    /// `api.tls_listen` (default off).
    pub tls_listen: Option<SocketAddr>,
    /// `api.tls_cert` (default none; required when `tls_listen` is set).
    pub tls_cert: Option<PathBuf>,
    /// `api.tls_key` (default none; required when `tls_listen` is set).
    pub tls_key: Option<PathBuf>,
    /// `api.header_timeout` (default 10 s).
    pub header_timeout: Duration,
    /// `api.keepalive` (default 60 s).
    pub keepalive: Duration,
    /// `api.access_log` (default `logs/access.log`); `None` (`""`) = off.
    pub access_log: Option<PathBuf>,
    /// `api.token` (default none = no authentication).
    pub token: Option<String>,
    /// `api.max_upload` in bytes (default 32 MiB).
    pub max_upload: usize,
    /// `api.plugin_cpu_deadline` (default 200 ms).
    pub plugin_cpu_deadline: Duration,
    /// `api.plugin_memory_limit` in bytes (default 16 MiB).
    pub plugin_memory_limit: usize,
    /// `api.plugin_max_body` in bytes (default 1 MiB).
    pub plugin_max_body: usize,
}

/// `[jsip]`: the stack (§5, §6, §11).
#[derive(Debug, Clone, PartialEq)]
pub struct Jsip {
    /// `jsip.realm` (default `slp-host`, with a warning when unset).
    pub realm: String,
    /// `jsip.dial_path` (default `/rtc`).
    pub dial_path: String,
    /// `jsip.connect_timeout` (default 3 s).
    pub connect_timeout: Duration,
    /// `jsip.connect_retries`: dial attempts per cycle (default 10, ≥ 1).
    pub connect_retries: u32,
    /// `jsip.trans_timer` (default 5 s).
    pub trans_timer: Duration,
    /// `jsip.pr_timer` (default 60 s).
    pub pr_timer: Duration,
    /// `jsip.session_timer` (default 600 s).
    pub session_timer: Duration,
    /// `jsip.dial_unknown_hosts` (default false).
    pub dial_unknown_hosts: bool,
}

/// `[nodes.<name>]`: a peer node (§11.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// `url`: `ws://` or `wss://` URL including the path (required).
    pub url: String,
    /// `secret` (optional).
    pub secret: Option<String>,
    /// `ca_file` (optional, for `wss`).
    pub ca_file: Option<PathBuf>,
}

/// `[slp]`: SLP defaults and limits (§12.4, §13.7, §14.6).
#[derive(Debug, Clone, PartialEq)]
pub struct Slp {
    /// `slp.module_dir` (default `modules`).
    pub module_dir: PathBuf,
    /// `slp.store_dir` (default `store`).
    pub store_dir: PathBuf,
    /// `slp.state_dir` (default `state`).
    pub state_dir: PathBuf,
    /// `slp.cpu_deadline` (default 50 ms).
    pub cpu_deadline: Duration,
    /// `slp.memory_limit` in bytes (default 16 MiB).
    pub memory_limit: usize,
    /// `slp.mailbox_limit` (default 1024, ≥ 1).
    pub mailbox_limit: usize,
    /// `slp.max_timers` (default 64; 0 = SLPs cannot set timers).
    pub max_timers: usize,
    /// `slp.max_relids` (default 64; 0 = SLPs cannot bind relids).
    pub max_relids: usize,
    /// `slp.trap_threshold` (default 5, ≥ 1).
    pub trap_threshold: u32,
    /// `slp.kv_max_keys` per namespace (default 100000, ≥ 1).
    pub kv_max_keys: usize,
    /// `slp.kv_max_bytes` per namespace (default 64 MiB).
    pub kv_max_bytes: usize,
    /// `slp.kv_max_value` (default 64 KiB).
    pub kv_max_value: usize,
    /// `slp.max_live_instances`: live SLP instances the host holds at once,
    /// the size of the engine's instance pool (default 10000, 1..=1000000).
    pub max_live_instances: usize,
}

/// `[slps.<name>]`: per-name overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct SlpOverrides {
    /// `cpu_deadline` (default: inherit `slp.cpu_deadline`).
    pub cpu_deadline: Option<Duration>,
    /// `memory_limit` (default: inherit `slp.memory_limit`).
    pub memory_limit: Option<usize>,
    /// `max_instances` (default 0 = unlimited).
    pub max_instances: usize,
    /// `store`: key-value namespace (default: the SLP name).
    pub store: Option<String>,
    /// `config`: the table returned by the SLP's `config()` (a JSON object).
    pub config: Json,
}

impl Default for SlpOverrides {
    fn default() -> Self {
        SlpOverrides {
            cpu_deadline: None,
            memory_limit: None,
            max_instances: 0,
            store: None,
            config: Json::Object(serde_json::Map::new()),
        }
    }
}

/// `[plugins.<name>]`: per-API-plugin settings.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginSettings {
    /// `store`: key-value namespace (default: the plugin name).
    pub store: Option<String>,
    /// `config`: the table returned by the plugin's `config()` (a JSON object).
    pub config: Json,
}

impl Default for PluginSettings {
    fn default() -> Self {
        PluginSettings { store: None, config: Json::Object(serde_json::Map::new()) }
    }
}

/// `[process]`
#[derive(Debug, Clone, PartialEq)]
pub struct Process {
    /// `process.drain_timeout` (default 5 s; 0 allowed).
    pub drain_timeout: Duration,
}

/// Effective limits of one SLP name after per-name overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlpLimits {
    pub cpu_deadline: Duration,
    /// Bytes.
    pub memory_limit: usize,
    /// 0 = unlimited.
    pub max_instances: usize,
}

/// Why a configuration could not be loaded.
#[derive(Debug)]
pub enum ConfigError {
    /// The file could not be read (missing, unreadable, not UTF-8).
    Read { path: PathBuf, source: io::Error },
    /// The file is not valid TOML.
    Syntax { path: PathBuf, message: String },
    /// A key has an invalid value. `key` is the dotted key name.
    Invalid { key: String, message: String },
}

impl ConfigError {
    /// The offending key, for [`ConfigError::Invalid`].
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }

    fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid { key: key.into(), message: message.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, source } => {
                write!(f, "cannot read configuration file {}: {source}", path.display())
            }
            ConfigError::Syntax { path, message } => {
                write!(f, "configuration file {}: invalid TOML: {message}", path.display())
            }
            ConfigError::Invalid { key, message } => write!(f, "{key}: {message}"),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Loading

impl Config {
    /// Read and validate `path`. A missing file is an error (use this for a
    /// file named with `-c`).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: absolutize(path), source })?;
        Config::from_toml_str(&text, path)
    }

    /// Like [`Config::load`], but a missing file yields the defaults (with
    /// a warning saying so). Used for the default location when `-c` is not
    /// given. Other read errors are still errors.
    pub fn load_or_default(path: &Path) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::from_toml_str(&text, path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let mut c = Config::default_for(path);
                c.warnings.push(format!(
                    "configuration file {} not found; using built-in defaults",
                    c.config_path.display()
                ));
                c.warnings.push(realm_warning());
                Ok(c)
            }
            Err(source) => Err(ConfigError::Read { path: absolutize(path), source }),
        }
    }

    /// The built-in defaults for a configuration file at `config_path`
    /// (which determines `root`). Carries no warnings.
    pub fn default_for(config_path: &Path) -> Config {
        let config_path = absolutize(config_path);
        let root = default_root_abs(&config_path);
        Config::defaults(config_path, root)
    }

    /// Parse and validate TOML `text` as if read from `config_path`.
    pub fn from_toml_str(text: &str, config_path: &Path) -> Result<Config, ConfigError> {
        let config_path = absolutize(config_path);
        let table: Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: config_path.clone(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let mut warnings = Vec::new();
        let mut top = Section::new(String::new(), table);

        let root = match top.take("root") {
            None => default_root_abs(&config_path),
            Some(v) => {
                let s = string_value("root", v)?;
                if s.is_empty() {
                    return Err(ConfigError::invalid("root", "must not be empty"));
                }
                let dir = config_path.parent().unwrap_or(Path::new("/"));
                clean(&dir.join(s))
            }
        };
        let mut c = Config::defaults(config_path, root.clone());
        top.path("pid_file", &root, &mut c.pid_file)?;

        if let Some(mut s) = top.section("log")? {
            s.opt_path("file", &root, &mut c.log.file)?;
            if let Some(v) = s.take("level") {
                let key = s.key("level");
                let text = string_value(&key, v)?;
                c.log.level = match text.to_ascii_lowercase().as_str() {
                    "debug" => LogLevel::Debug,
                    "info" => LogLevel::Info,
                    "warn" | "warning" => LogLevel::Warn,
                    "error" | "fatal" => LogLevel::Error,
                    _ => {
                        return Err(ConfigError::invalid(
                            key,
                            format!(
                                "invalid level {text:?} (expected \"debug\", \"info\", \"warn\" or \"error\")"
                            ),
                        ));
                    }
                };
            }
            if let Some(v) = s.take("format") {
                let key = s.key("format");
                let text = string_value(&key, v)?;
                c.log.format = match text.to_ascii_lowercase().as_str() {
                    "text" => LogFormat::Text,
                    "json" => LogFormat::Json,
                    _ => {
                        return Err(ConfigError::invalid(
                            key,
                            format!("invalid format {text:?} (expected \"text\" or \"json\")"),
                        ));
                    }
                };
            }
            s.finish(&mut warnings);
        }

        if let Some(mut s) = top.section("rtc")? {
            let r = &mut c.rtc;
            s.address("listen", &mut r.listen)?;
            s.address("tls_listen", &mut r.tls_listen)?;
            s.opt_path("tls_cert", &root, &mut r.tls_cert)?;
            s.opt_path("tls_key", &root, &mut r.tls_key)?;
            s.url_path("path", &mut r.path)?;
            s.duration("header_timeout", false, &mut r.header_timeout)?;
            s.duration("keepalive", false, &mut r.keepalive)?;
            s.opt_path("access_log", &root, &mut r.access_log)?;
            s.count("queue_limit", 1, &mut r.queue_limit)?;
            s.duration("linger", true, &mut r.linger)?;
            s.size("max_frame", KIB, 16 * MIB, &mut r.max_frame)?;
            s.duration("ping_interval", false, &mut r.ping_interval)?;
            s.duration("write_timeout", false, &mut r.write_timeout)?;
            s.count("max_connections", 1, &mut r.max_connections)?;
            if let Some(v) = s.take("auth_url") {
                let key = s.key("auth_url");
                let url = string_value(&key, v)?;
                r.auth_url = if url.is_empty() {
                    None
                } else if valid_url(&url, &["http://", "https://"]) {
                    Some(url)
                } else {
                    return Err(ConfigError::invalid(
                        key,
                        format!("invalid URL {url:?} (expected http://host[:port]/path or https://…)"),
                    ));
                };
            }
            s.duration("auth_timeout", false, &mut r.auth_timeout)?;
            s.finish(&mut warnings);
        }

        if let Some(mut s) = top.section("api")? {
            let a = &mut c.api;
            s.address("listen", &mut a.listen)?;
            s.address("tls_listen", &mut a.tls_listen)?;
            s.opt_path("tls_cert", &root, &mut a.tls_cert)?;
            s.opt_path("tls_key", &root, &mut a.tls_key)?;
            s.duration("header_timeout", false, &mut a.header_timeout)?;
            s.duration("keepalive", false, &mut a.keepalive)?;
            s.opt_path("access_log", &root, &mut a.access_log)?;
            s.token("token", &mut a.token)?;
            s.size("max_upload", 1, 4 * GIB, &mut a.max_upload)?;
            s.duration("plugin_cpu_deadline", false, &mut a.plugin_cpu_deadline)?;
            s.size("plugin_memory_limit", 64 * KIB, 4 * GIB, &mut a.plugin_memory_limit)?;
            s.size("plugin_max_body", 0, 4 * GIB, &mut a.plugin_max_body)?;
            s.finish(&mut warnings);
        }

        let mut realm_set = false;
        if let Some(mut s) = top.section("jsip")? {
            let j = &mut c.jsip;
            if let Some(v) = s.take("realm") {
                let key = s.key("realm");
                let realm = string_value(&key, v)?;
                check_identity(&key, &realm)?;
                j.realm = realm;
                realm_set = true;
            }
            s.url_path("dial_path", &mut j.dial_path)?;
            s.duration("connect_timeout", false, &mut j.connect_timeout)?;
            let mut retries = j.connect_retries as usize;
            s.count("connect_retries", 1, &mut retries)?;
            j.connect_retries = retries as u32;
            s.duration("trans_timer", false, &mut j.trans_timer)?;
            s.duration("pr_timer", false, &mut j.pr_timer)?;
            s.duration("session_timer", false, &mut j.session_timer)?;
            s.boolean("dial_unknown_hosts", &mut j.dial_unknown_hosts)?;
            s.finish(&mut warnings);
        }

        if let Some(mut nodes) = top.section("nodes")? {
            for (name, mut s) in nodes.subsections()? {
                check_identity(&s.prefix, &name)?;
                let url_key = s.key("url");
                let url = match s.take("url") {
                    None => {
                        return Err(ConfigError::invalid(url_key, "missing (every node needs a url)"));
                    }
                    Some(v) => string_value(&url_key, v)?,
                };
                if !valid_url(&url, &["ws://", "wss://"]) {
                    return Err(ConfigError::invalid(
                        url_key,
                        format!("invalid URL {url:?} (expected ws://host[:port]/path or wss://…)"),
                    ));
                }
                let mut node = Node { url, secret: None, ca_file: None };
                s.token("secret", &mut node.secret)?;
                s.opt_path("ca_file", &root, &mut node.ca_file)?;
                if node.secret.is_none() {
                    warnings.push(format!(
                        "{} is not set: any client may connect with userid {name:?} (subject to the auth callback)",
                        s.key("secret")
                    ));
                }
                if node.ca_file.is_some() && node.url.starts_with("ws://") {
                    warnings.push(format!("{} is ignored for a ws:// url", s.key("ca_file")));
                }
                s.finish(&mut warnings);
                c.nodes.insert(name, node);
            }
            nodes.finish(&mut warnings);
        }

        if let Some(mut s) = top.section("slp")? {
            let p = &mut c.slp;
            s.path("module_dir", &root, &mut p.module_dir)?;
            s.path("store_dir", &root, &mut p.store_dir)?;
            s.path("state_dir", &root, &mut p.state_dir)?;
            s.duration("cpu_deadline", false, &mut p.cpu_deadline)?;
            s.size("memory_limit", 64 * KIB, 4 * GIB, &mut p.memory_limit)?;
            s.count("mailbox_limit", 1, &mut p.mailbox_limit)?;
            s.count("max_timers", 0, &mut p.max_timers)?;
            s.count("max_relids", 0, &mut p.max_relids)?;
            let mut threshold = p.trap_threshold as usize;
            s.count("trap_threshold", 1, &mut threshold)?;
            p.trap_threshold = threshold as u32;
            s.count("kv_max_keys", 1, &mut p.kv_max_keys)?;
            s.size("kv_max_bytes", 1, 64 * GIB, &mut p.kv_max_bytes)?;
            s.size("kv_max_value", 1, 4 * GIB, &mut p.kv_max_value)?;
            s.count("max_live_instances", 1, &mut p.max_live_instances)?;
            if p.max_live_instances > 1_000_000 {
                return Err(ConfigError::invalid(
                    s.key("max_live_instances"),
                    format!("must be at most 1000000, got {}", p.max_live_instances),
                ));
            }
            s.finish(&mut warnings);
        }

        if let Some(mut slps) = top.section("slps")? {
            for (name, mut s) in slps.subsections()? {
                if !valid_slp_name(&name) {
                    return Err(ConfigError::invalid(
                        s.prefix.clone(),
                        "invalid SLP name (expected ^[A-Za-z0-9_-]{1,63}$)",
                    ));
                }
                if name == "slps" {
                    warnings.push(format!("{}: the name \"slps\" is reserved; no SLP can have it", s.prefix));
                }
                let mut o = SlpOverrides::default();
                if let Some(v) = s.take("cpu_deadline") {
                    o.cpu_deadline = Some(duration_value(&s.key("cpu_deadline"), v, false)?);
                }
                if let Some(v) = s.take("memory_limit") {
                    o.memory_limit = Some(size_value(&s.key("memory_limit"), v, 64 * KIB, 4 * GIB)?);
                }
                s.count("max_instances", 0, &mut o.max_instances)?;
                s.namespace("store", &mut o.store)?;
                s.json_table("config", &mut o.config)?;
                s.finish(&mut warnings);
                c.slps.insert(name, o);
            }
            slps.finish(&mut warnings);
        }

        if let Some(mut plugins) = top.section("plugins")? {
            for (name, mut s) in plugins.subsections()? {
                if !valid_plugin_name(&name) {
                    return Err(ConfigError::invalid(
                        s.prefix.clone(),
                        "invalid plugin name (expected ^[A-Za-z0-9_]{1,63}$, without the version)",
                    ));
                }
                if matches!(name.as_str(), "runtime" | "apim" | "slpm") {
                    warnings
                        .push(format!("{}: the name {name:?} is reserved; no plugin can have it", s.prefix));
                }
                let mut p = PluginSettings::default();
                s.namespace("store", &mut p.store)?;
                s.json_table("config", &mut p.config)?;
                s.finish(&mut warnings);
                c.plugins.insert(name, p);
            }
            plugins.finish(&mut warnings);
        }

        if let Some(mut s) = top.section("process")? {
            s.duration("drain_timeout", true, &mut c.process.drain_timeout)?;
            s.finish(&mut warnings);
        }
        top.finish(&mut warnings);

        c.cross_check(&mut warnings)?;
        if !realm_set {
            warnings.push(realm_warning());
        }
        c.warnings = warnings;
        Ok(c)
    }

    fn defaults(config_path: PathBuf, root: PathBuf) -> Config {
        let at = |p: &str| clean(&root.join(p));
        Config {
            pid_file: at("slp-host.pid"),
            log: Log { file: Some(at("logs/slp-host.log")), level: LogLevel::Info, format: LogFormat::Text },
            rtc: Rtc {
                listen: Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 8080)),
                tls_listen: None,
                tls_cert: None,
                tls_key: None,
                path: "/rtc".to_string(),
                header_timeout: Duration::from_secs(10),
                keepalive: Duration::from_secs(60),
                access_log: Some(at("logs/access.log")),
                queue_limit: 1024,
                linger: Duration::from_secs(60),
                max_frame: 64 * KIB,
                ping_interval: Duration::from_secs(30),
                write_timeout: Duration::from_secs(10),
                max_connections: 10_000,
                auth_url: None,
                auth_timeout: Duration::from_secs(3),
            },
            api: Api {
                listen: Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 2539)),
                tls_listen: None,
                tls_cert: None,
                tls_key: None,
                header_timeout: Duration::from_secs(10),
                keepalive: Duration::from_secs(60),
                access_log: Some(at("logs/access.log")),
                token: None,
                max_upload: 32 * MIB,
                plugin_cpu_deadline: Duration::from_millis(200),
                plugin_memory_limit: 16 * MIB,
                plugin_max_body: MIB,
            },
            jsip: Jsip {
                realm: DEFAULT_REALM.to_string(),
                dial_path: "/rtc".to_string(),
                connect_timeout: Duration::from_secs(3),
                connect_retries: 10,
                trans_timer: Duration::from_secs(5),
                pr_timer: Duration::from_secs(60),
                session_timer: Duration::from_secs(600),
                dial_unknown_hosts: false,
            },
            nodes: BTreeMap::new(),
            slp: Slp {
                module_dir: at("modules"),
                store_dir: at("store"),
                state_dir: at("state"),
                cpu_deadline: Duration::from_millis(50),
                memory_limit: 16 * MIB,
                mailbox_limit: 1024,
                max_timers: 64,
                max_relids: 64,
                trap_threshold: 5,
                kv_max_keys: 100_000,
                kv_max_bytes: 64 * MIB,
                kv_max_value: 64 * KIB,
                max_live_instances: 10_000,
            },
            slps: BTreeMap::new(),
            plugins: BTreeMap::new(),
            process: Process { drain_timeout: Duration::from_secs(5) },
            warnings: Vec::new(),
            root,
            config_path,
        }
    }

    /// Checks that involve several keys, and warnings about the result.
    fn cross_check(&self, warnings: &mut Vec<String>) -> Result<(), ConfigError> {
        if self.rtc.listen.is_none() && self.rtc.tls_listen.is_none() {
            return Err(ConfigError::invalid(
                "rtc.listen",
                "at least one of rtc.listen and rtc.tls_listen must be set",
            ));
        }
        for (section, tls_listen, cert, key) in [
            ("rtc", self.rtc.tls_listen, &self.rtc.tls_cert, &self.rtc.tls_key),
            ("api", self.api.tls_listen, &self.api.tls_cert, &self.api.tls_key),
        ] {
            if tls_listen.is_some() {
                if cert.is_none() {
                    return Err(ConfigError::invalid(
                        format!("{section}.tls_cert"),
                        format!("must be set when {section}.tls_listen is set"),
                    ));
                }
                if key.is_none() {
                    return Err(ConfigError::invalid(
                        format!("{section}.tls_key"),
                        format!("must be set when {section}.tls_listen is set"),
                    ));
                }
            } else if cert.is_some() || key.is_some() {
                warnings.push(format!(
                    "{section}.tls_cert/{section}.tls_key are ignored because {section}.tls_listen is not set"
                ));
            }
        }
        if self.api.token.is_none() {
            for (key, addr) in [("api.listen", self.api.listen), ("api.tls_listen", self.api.tls_listen)] {
                if let Some(addr) = addr
                    && !addr.ip().is_loopback()
                {
                    warnings.push(format!(
                        "{key} {addr} is not a loopback address and api.token is empty: the management API accepts unauthenticated requests"
                    ));
                }
            }
        }
        Ok(())
    }

    // -----------------------------------------------------------------------
    // Per-name lookups

    /// Effective limits for SLP `name`: `[slps.<name>]` overrides over the
    /// `[slp]` defaults.
    pub fn slp_limits(&self, name: &str) -> SlpLimits {
        let o = self.slps.get(name);
        SlpLimits {
            cpu_deadline: o.and_then(|o| o.cpu_deadline).unwrap_or(self.slp.cpu_deadline),
            memory_limit: o.and_then(|o| o.memory_limit).unwrap_or(self.slp.memory_limit),
            max_instances: o.map_or(0, |o| o.max_instances),
        }
    }

    /// JSON text of `[slps.<name>.config]`, or `{}`.
    pub fn slp_config_json(&self, name: &str) -> String {
        self.slps.get(name).map_or_else(|| "{}".to_string(), |o| o.config.to_string())
    }

    /// Key-value namespace of SLP `name` (`slps.<name>.store`, default `name`).
    pub fn store_namespace(&self, name: &str) -> String {
        self.slps.get(name).and_then(|o| o.store.clone()).unwrap_or_else(|| name.to_string())
    }

    /// JSON text of `[plugins.<name>.config]`, or `{}`. `name` excludes the version.
    pub fn plugin_config_json(&self, name: &str) -> String {
        self.plugins.get(name).map_or_else(|| "{}".to_string(), |p| p.config.to_string())
    }

    /// Key-value namespace of API plugin `name` (`plugins.<name>.store`,
    /// default `name`). `name` excludes the version.
    pub fn plugin_store_namespace(&self, name: &str) -> String {
        self.plugins.get(name).and_then(|p| p.store.clone()).unwrap_or_else(|| name.to_string())
    }

    /// The non-reloadable keys (§15.2 "Reload: no") whose value differs
    /// between `self` (running) and `new` (re-read on SIGHUP). The server
    /// logs `<key> requires restart` for each and keeps the old value.
    pub fn restart_required(&self, new: &Config) -> Vec<String> {
        let mut keys = Vec::new();
        let mut check = |key: &str, changed: bool| {
            if changed {
                keys.push(key.to_string());
            }
        };
        check("root", self.root != new.root);
        check("pid_file", self.pid_file != new.pid_file);
        check("rtc.listen", self.rtc.listen != new.rtc.listen);
        check("rtc.tls_listen", self.rtc.tls_listen != new.rtc.tls_listen);
        check("rtc.path", self.rtc.path != new.rtc.path);
        check("rtc.header_timeout", self.rtc.header_timeout != new.rtc.header_timeout);
        check("rtc.keepalive", self.rtc.keepalive != new.rtc.keepalive);
        check("api.listen", self.api.listen != new.api.listen);
        check("api.tls_listen", self.api.tls_listen != new.api.tls_listen);
        check("api.header_timeout", self.api.header_timeout != new.api.header_timeout);
        check("api.keepalive", self.api.keepalive != new.api.keepalive);
        check("jsip.realm", self.jsip.realm != new.jsip.realm);
        check("slp.store_dir", self.slp.store_dir != new.slp.store_dir);
        check("slp.state_dir", self.slp.state_dir != new.slp.state_dir);
        let names: std::collections::BTreeSet<&String> = self.slps.keys().chain(new.slps.keys()).collect();
        for name in names {
            check(
                &format!("slps.{}.store", key_segment(name)),
                self.store_namespace(name) != new.store_namespace(name),
            );
        }
        let names: std::collections::BTreeSet<&String> =
            self.plugins.keys().chain(new.plugins.keys()).collect();
        for name in names {
            check(
                &format!("plugins.{}.store", key_segment(name)),
                self.plugin_store_namespace(name) != new.plugin_store_namespace(name),
            );
        }
        keys
    }
}

fn realm_warning() -> String {
    format!("jsip.realm is not set; using {DEFAULT_REALM:?}")
}

// ---------------------------------------------------------------------------
// Paths

/// `root` for a configuration file at `config_path` when `root` is not set:
/// the parent of the directory that holds the file.
pub fn default_root(config_path: &Path) -> PathBuf {
    default_root_abs(&absolutize(config_path))
}

fn default_root_abs(config_path: &Path) -> PathBuf {
    let dir = config_path.parent().unwrap_or(Path::new("/"));
    dir.parent().unwrap_or(dir).to_path_buf()
}

/// Make `path` absolute against the working directory and normalise it.
fn absolutize(path: &Path) -> PathBuf {
    clean(&std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()))
}

/// Lexical normalisation: drop `.` components, fold `name/..`, never go
/// above the root directory.
fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Prefix(_) | Component::RootDir => out.push(c.as_os_str()),
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            Component::Normal(n) => out.push(n),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

// ---------------------------------------------------------------------------
// Durations and sizes

/// Parse a duration such as `"1m30s"`, `"250ms"`, `"1h"`: one or more
/// `<digits><unit>` parts, units `h`, `m`, `s`, `ms` each at most once and in
/// that order. Returns `None` for anything else (including overflow).
pub fn parse_duration(text: &str) -> Option<Duration> {
    const UNIT_MS: [u64; 4] = [3_600_000, 60_000, 1_000, 1];
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return None;
    }
    let mut i = 0;
    let mut next_unit = 0;
    let mut total: u64 = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        let n: u64 = text[start..i].parse().ok()?;
        let rest = &text[i..];
        let (unit, len) = if rest.starts_with("ms") {
            (3, 2)
        } else if rest.starts_with('h') {
            (0, 1)
        } else if rest.starts_with('m') {
            (1, 1)
        } else if rest.starts_with('s') {
            (2, 1)
        } else {
            return None;
        };
        if unit < next_unit {
            return None;
        }
        next_unit = unit + 1;
        i += len;
        total = total.checked_add(n.checked_mul(UNIT_MS[unit])?)?;
    }
    Some(Duration::from_millis(total))
}

/// Parse a size string: plain digits (bytes) or digits followed by `KiB`,
/// `MiB` or `GiB` (case-insensitive, optionally after one space).
pub fn parse_size(text: &str) -> Option<u64> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let n: u64 = text[..digits].parse().ok()?;
    let unit = &text[digits..];
    let unit = unit.strip_prefix(' ').unwrap_or(unit);
    let factor: u64 = match unit.to_ascii_lowercase().as_str() {
        "" if digits == text.len() => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// Render a duration the way the configuration file writes it (`"1m30s"`).
pub fn format_duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, len) in [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
        if ms >= len {
            out.push_str(&format!("{}{unit}", ms / len));
            ms %= len;
        }
    }
    out
}

/// Render a size the way the configuration file writes it (`"64KiB"`, or
/// bytes when not a whole number of KiB).
pub fn format_size(n: usize) -> String {
    for (unit, len) in [("GiB", GIB), ("MiB", MIB), ("KiB", KIB)] {
        if n >= len && n.is_multiple_of(len) {
            return format!("{}{unit}", n / len);
        }
    }
    n.to_string()
}

// ---------------------------------------------------------------------------
// Value helpers

/// How a value is shown in error messages.
fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Integer(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::Datetime(d) => d.to_string(),
        Value::Array(_) => "an array".to_string(),
        Value::Table(_) => "a table".to_string(),
    }
}

fn string_value(key: &str, v: Value) -> Result<String, ConfigError> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(ConfigError::invalid(key, format!("expected a string, got {}", describe(&other)))),
    }
}

fn duration_value(key: &str, v: Value, allow_zero: bool) -> Result<Duration, ConfigError> {
    let d = match &v {
        Value::String(s) => parse_duration(s),
        _ => None,
    }
    .ok_or_else(|| ConfigError::invalid(key, format!("invalid duration {} {DURATION_HINT}", describe(&v))))?;
    if d.is_zero() && !allow_zero {
        return Err(ConfigError::invalid(key, format!("must be greater than 0, got {}", describe(&v))));
    }
    if d > MAX_DURATION {
        return Err(ConfigError::invalid(key, format!("must be at most 24h, got {}", describe(&v))));
    }
    Ok(d)
}

fn size_value(key: &str, v: Value, min: usize, max: usize) -> Result<usize, ConfigError> {
    let n = match &v {
        Value::Integer(i) => u64::try_from(*i).ok(),
        Value::String(s) => parse_size(s),
        _ => None,
    }
    .ok_or_else(|| ConfigError::invalid(key, format!("invalid size {} {SIZE_HINT}", describe(&v))))?;
    match usize::try_from(n) {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ConfigError::invalid(
            key,
            format!("must be between {} and {}, got {}", format_size(min), format_size(max), describe(&v)),
        )),
    }
}

/// A `[A-Za-z0-9_-]+` segment stays bare; anything else is quoted as TOML would.
fn key_segment(name: &str) -> String {
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        name.to_string()
    } else {
        format!("{name:?}")
    }
}

/// SLP names: `^[A-Za-z0-9_-]{1,63}$` (§14.3).
pub fn valid_slp_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// API plugin names (without the version): `^[A-Za-z0-9_]{1,63}$` (§14.4).
pub fn valid_plugin_name(name: &str) -> bool {
    (1..=63).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `scheme://host…` with a non-empty host, no whitespace or control characters.
fn valid_url(url: &str, schemes: &[&str]) -> bool {
    let Some(rest) = schemes
        .iter()
        .find_map(|s| url.get(..s.len()).filter(|p| p.eq_ignore_ascii_case(s)).map(|_| &url[s.len()..]))
    else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    !host.is_empty() && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Realms and node names are user ids: 1–256 bytes, no whitespace or control
/// characters.
fn check_identity(key: &str, value: &str) -> Result<(), ConfigError> {
    if value.is_empty() {
        return Err(ConfigError::invalid(key, "must not be empty"));
    }
    if value.len() > 256 {
        return Err(ConfigError::invalid(key, "must be at most 256 bytes"));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ConfigError::invalid(
            key,
            format!("{value:?} contains whitespace or control characters"),
        ));
    }
    Ok(())
}

fn toml_to_json(key: &str, v: Value) -> Result<Json, ConfigError> {
    Ok(match v {
        Value::String(s) => Json::String(s),
        Value::Integer(i) => Json::from(i),
        Value::Float(f) => serde_json::Number::from_f64(f)
            .map(Json::Number)
            .ok_or_else(|| ConfigError::invalid(key, format!("{f} cannot be represented in JSON")))?,
        Value::Boolean(b) => Json::Bool(b),
        Value::Datetime(d) => Json::String(d.to_string()),
        Value::Array(items) => Json::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| toml_to_json(&format!("{key}[{i}]"), v))
                .collect::<Result<_, _>>()?,
        ),
        Value::Table(t) => Json::Object(
            t.into_iter()
                .map(|(k, v)| {
                    let json = toml_to_json(&format!("{key}.{}", key_segment(&k)), v)?;
                    Ok((k, json))
                })
                .collect::<Result<_, ConfigError>>()?,
        ),
    })
}

/// A table being consumed; whatever is left at the end is unknown.
struct Section {
    /// Dotted key of this table ("" for the top level).
    prefix: String,
    table: Table,
}

impl Section {
    fn new(prefix: String, table: Table) -> Self {
        Section { prefix, table }
    }

    fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            key_segment(name)
        } else {
            format!("{}.{}", self.prefix, key_segment(name))
        }
    }

    fn take(&mut self, name: &str) -> Option<Value> {
        self.table.remove(name)
    }

    fn finish(self, warnings: &mut Vec<String>) {
        for name in self.table.keys() {
            warnings.push(format!("unknown key {}", self.key(name)));
        }
    }

    fn section(&mut self, name: &str) -> Result<Option<Section>, ConfigError> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::Table(t)) => Ok(Some(Section::new(self.key(name), t))),
            Some(other) => Err(ConfigError::invalid(
                self.key(name),
                format!("expected a table, got {}", describe(&other)),
            )),
        }
    }

    /// All entries as named sub-tables (for `[nodes.*]`, `[slps.*]`, `[plugins.*]`).
    fn subsections(&mut self) -> Result<Vec<(String, Section)>, ConfigError> {
        let names: Vec<String> = self.table.keys().cloned().collect();
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let section = self.section(&name)?.expect("key present");
            out.push((name, section));
        }
        Ok(out)
    }

    fn duration(&mut self, name: &str, allow_zero: bool, out: &mut Duration) -> Result<(), ConfigError> {
        if let Some(v) = self.take(name) {
            *out = duration_value(&self.key(name), v, allow_zero)?;
        }
        Ok(())
    }

    fn size(&mut self, name: &str, min: usize, max: usize, out: &mut usize) -> Result<(), ConfigError> {
        if let Some(v) = self.take(name) {
            *out = size_value(&self.key(name), v, min, max)?;
        }
        Ok(())
    }

    /// A non-negative integer in `min..=u32::MAX`.
    fn count(&mut self, name: &str, min: usize, out: &mut usize) -> Result<(), ConfigError> {
        let Some(v) = self.take(name) else {
            return Ok(());
        };
        let key = self.key(name);
        let Value::Integer(i) = v else {
            return Err(ConfigError::invalid(key, format!("expected an integer, got {}", describe(&v))));
        };
        if i < min as i64 {
            return Err(ConfigError::invalid(key, format!("must be at least {min}, got {i}")));
        }
        if i > i64::from(u32::MAX) {
            return Err(ConfigError::invalid(key, format!("must be at most {}, got {i}", u32::MAX)));
        }
        *out = i as usize;
        Ok(())
    }

    fn boolean(&mut self, name: &str, out: &mut bool) -> Result<(), ConfigError> {
        match self.take(name) {
            None => Ok(()),
            Some(Value::Boolean(b)) => {
                *out = b;
                Ok(())
            }
            Some(other) => Err(ConfigError::invalid(
                self.key(name),
                format!("expected true or false, got {}", describe(&other)),
            )),
        }
    }

    /// A socket address, or `""` for off.
    fn address(&mut self, name: &str, out: &mut Option<SocketAddr>) -> Result<(), ConfigError> {
        let Some(v) = self.take(name) else {
            return Ok(());
        };
        let key = self.key(name);
        let text = string_value(&key, v)?;
        *out = if text.is_empty() {
            None
        } else {
            Some(text.parse().map_err(|_| {
                ConfigError::invalid(
                    &key,
                    format!(
                        "invalid address {text:?} (expected ip:port, e.g. \"0.0.0.0:8080\" or \"[::]:8080\")"
                    ),
                )
            })?)
        };
        Ok(())
    }

    /// A required path, resolved against `root`.
    fn path(&mut self, name: &str, root: &Path, out: &mut PathBuf) -> Result<(), ConfigError> {
        if let Some(v) = self.take(name) {
            let key = self.key(name);
            let text = string_value(&key, v)?;
            if text.is_empty() {
                return Err(ConfigError::invalid(key, "must not be empty"));
            }
            *out = clean(&root.join(text));
        }
        Ok(())
    }

    /// An optional path, resolved against `root`; `""` = none.
    fn opt_path(&mut self, name: &str, root: &Path, out: &mut Option<PathBuf>) -> Result<(), ConfigError> {
        if let Some(v) = self.take(name) {
            let text = string_value(&self.key(name), v)?;
            *out = (!text.is_empty()).then(|| clean(&root.join(text)));
        }
        Ok(())
    }

    /// A URL path: starts with `/`, no whitespace, control characters, `?` or `#`.
    fn url_path(&mut self, name: &str, out: &mut String) -> Result<(), ConfigError> {
        if let Some(v) = self.take(name) {
            let key = self.key(name);
            let text = string_value(&key, v)?;
            if !text.starts_with('/') {
                return Err(ConfigError::invalid(key, format!("must start with \"/\", got {text:?}")));
            }
            if text.chars().any(|c| c.is_whitespace() || c.is_control() || c == '?' || c == '#') {
                return Err(ConfigError::invalid(
                    key,
                    format!("invalid URL path {text:?} (no whitespace, control characters, '?' or '#')"),
                ));
            }
            *out = text;
        }
        Ok(())
    }

    /// A bearer token or secret: `""` = none; otherwise no whitespace or
    /// control characters (it travels in an `Authorization` header).
    fn token(&mut self, name: &str, out: &mut Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = self.take(name) {
            let key = self.key(name);
            let text = string_value(&key, v)?;
            if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(ConfigError::invalid(key, "must not contain whitespace or control characters"));
            }
            *out = (!text.is_empty()).then_some(text);
        }
        Ok(())
    }

    /// A key-value namespace name: 1–255 bytes, no control characters.
    fn namespace(&mut self, name: &str, out: &mut Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = self.take(name) {
            let key = self.key(name);
            let text = string_value(&key, v)?;
            if text.is_empty() || text.len() > 255 || text.chars().any(char::is_control) {
                return Err(ConfigError::invalid(
                    key,
                    format!("invalid namespace {text:?} (1-255 bytes, no control characters)"),
                ));
            }
            *out = Some(text);
        }
        Ok(())
    }

    /// A free-form table, converted to a JSON object.
    fn json_table(&mut self, name: &str, out: &mut Json) -> Result<(), ConfigError> {
        match self.take(name) {
            None => Ok(()),
            Some(v @ Value::Table(_)) => {
                *out = toml_to_json(&self.key(name), v)?;
                Ok(())
            }
            Some(other) => Err(ConfigError::invalid(
                self.key(name),
                format!("expected a table, got {}", describe(&other)),
            )),
        }
    }
}

// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const CONF: &str = "/opt/x/conf/slp-host.toml";

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml_str(text, Path::new(CONF))
    }

    fn err(text: &str) -> String {
        parse(text).expect_err("expected an error").to_string()
    }

    fn temp_dir() -> PathBuf {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "slp-host-config-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn durations_valid() {
        let ms = Duration::from_millis;
        assert_eq!(parse_duration("60s"), Some(ms(60_000)));
        assert_eq!(parse_duration("1m30s"), Some(ms(90_000)));
        assert_eq!(parse_duration("250ms"), Some(ms(250)));
        assert_eq!(parse_duration("1h"), Some(ms(3_600_000)));
        assert_eq!(parse_duration("2m"), Some(ms(120_000)));
        assert_eq!(parse_duration("1h2m3s4ms"), Some(ms(3_723_004)));
        assert_eq!(parse_duration("1s500ms"), Some(ms(1_500)));
        assert_eq!(parse_duration("0s"), Some(ms(0)));
        assert_eq!(parse_duration("600s"), Some(ms(600_000)));
        assert_eq!(parse_duration("007s"), Some(ms(7_000)));
    }

    #[test]
    fn durations_invalid() {
        for bad in [
            "",
            "abc",
            "60",
            "s",
            "ms",
            "1.5s",
            "-1s",
            "+1s",
            " 1s",
            "1s ",
            "1 s",
            "30s1m",
            "1s1s",
            "1ms1s",
            "1d",
            "1S",
            "1M",
            "1sec",
            "1m30",
            "99999999999999999999s",
            "18446744073709551615h",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?} should be rejected");
        }
    }

    #[test]
    fn sizes_valid() {
        assert_eq!(parse_size("64KiB"), Some(65_536));
        assert_eq!(parse_size("16MiB"), Some(16 * 1024 * 1024));
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_size("65536"), Some(65_536));
        assert_eq!(parse_size("0"), Some(0));
        assert_eq!(parse_size("1 KiB"), Some(1024));
        assert_eq!(parse_size("2kib"), Some(2048));
    }

    #[test]
    fn sizes_invalid() {
        for bad in [
            "",
            "KiB",
            "64KB",
            "64kb",
            "64MB",
            "1.5MiB",
            "-1",
            "64 ",
            "64  KiB",
            " 64KiB",
            "64B",
            "64TiB",
            "0x10",
            "99999999999999999999",
            "17179869184GiB",
        ] {
            assert_eq!(parse_size(bad), None, "{bad:?} should be rejected");
        }
    }

    #[test]
    fn format_helpers() {
        assert_eq!(format_duration(Duration::from_millis(90_000)), "1m30s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_size(64 * KIB), "64KiB");
        assert_eq!(format_size(16 * MIB), "16MiB");
        assert_eq!(format_size(1000), "1000");
    }

    #[test]
    fn root_resolution() {
        assert_eq!(default_root(Path::new(CONF)), PathBuf::from("/opt/x"));
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(default_root(Path::new("conf/slp-host.toml")), cwd);
        assert_eq!(default_root(Path::new("./conf/./slp-host.toml")), cwd);
        assert_eq!(default_root(Path::new("/opt/y/etc/../conf/slp-host.toml")), PathBuf::from("/opt/y"));
        assert_eq!(default_root(Path::new("/slp-host.toml")), PathBuf::from("/"));
        assert_eq!(default_root(Path::new("/etc/slp-host.toml")), PathBuf::from("/"));

        let c = Config::default_for(Path::new("conf/slp-host.toml"));
        assert_eq!(c.root, cwd);
        assert_eq!(c.config_path, cwd.join("conf/slp-host.toml"));
        assert_eq!(c.pid_file, cwd.join("slp-host.pid"));

        // An explicit absolute root.
        let c = parse("root = \"/srv/slp\"").unwrap();
        assert_eq!(c.root, PathBuf::from("/srv/slp"));
        assert_eq!(c.pid_file, PathBuf::from("/srv/slp/slp-host.pid"));
        assert_eq!(c.slp.store_dir, PathBuf::from("/srv/slp/store"));
        // A relative root is relative to the configuration file's directory.
        let c = parse("root = \"..\"").unwrap();
        assert_eq!(c.root, PathBuf::from("/opt/x"));
        let c = parse("root = \"data\"").unwrap();
        assert_eq!(c.root, PathBuf::from("/opt/x/conf/data"));
        assert_eq!(c.log.file, Some(PathBuf::from("/opt/x/conf/data/logs/slp-host.log")));
    }

    #[test]
    fn relative_paths_resolve_against_root() {
        let c = parse(
            r#"
            pid_file = "run/slp.pid"
            [log]
            file = "/var/log/slp.log"
            [rtc]
            access_log = "../logs/rtc-access.log"
            tls_listen = "0.0.0.0:8443"
            tls_cert = "certs/rtc.pem"
            tls_key = "./certs/rtc.key"
            [api]
            access_log = ""
            [slp]
            module_dir = "mods"
            store_dir = "/data/store"
            state_dir = "var/state/"
            [nodes.peer]
            url = "wss://peer.example.net/rtc"
            secret = "s"
            ca_file = "certs/ca.pem"
            [jsip]
            realm = "node1"
            "#,
        )
        .unwrap();
        assert_eq!(c.pid_file, PathBuf::from("/opt/x/run/slp.pid"));
        assert_eq!(c.log.file, Some(PathBuf::from("/var/log/slp.log")));
        assert_eq!(c.rtc.access_log, Some(PathBuf::from("/opt/logs/rtc-access.log")));
        assert_eq!(c.rtc.tls_cert, Some(PathBuf::from("/opt/x/certs/rtc.pem")));
        assert_eq!(c.rtc.tls_key, Some(PathBuf::from("/opt/x/certs/rtc.key")));
        assert_eq!(c.api.access_log, None);
        assert_eq!(c.slp.module_dir, PathBuf::from("/opt/x/mods"));
        assert_eq!(c.slp.store_dir, PathBuf::from("/data/store"));
        assert_eq!(c.slp.state_dir, PathBuf::from("/opt/x/var/state"));
        assert_eq!(c.nodes["peer"].ca_file, Some(PathBuf::from("/opt/x/certs/ca.pem")));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    /// Every default of §15.2, asserted one by one.
    #[test]
    fn every_default() {
        let c = Config::default_for(Path::new(CONF));
        let p = PathBuf::from;
        assert_eq!(c.config_path, p(CONF));
        assert_eq!(c.root, p("/opt/x"));
        assert_eq!(c.pid_file, p("/opt/x/slp-host.pid"));

        assert_eq!(c.log.file, Some(p("/opt/x/logs/slp-host.log")));
        assert_eq!(c.log.level, LogLevel::Info);
        assert_eq!(c.log.format, LogFormat::Text);

        assert_eq!(c.rtc.listen, Some("0.0.0.0:8080".parse().unwrap()));
        assert_eq!(c.rtc.tls_listen, None);
        assert_eq!(c.rtc.tls_cert, None);
        assert_eq!(c.rtc.tls_key, None);
        assert_eq!(c.rtc.path, "/rtc");
        assert_eq!(c.rtc.header_timeout, Duration::from_secs(10));
        assert_eq!(c.rtc.keepalive, Duration::from_secs(60));
        assert_eq!(c.rtc.access_log, Some(p("/opt/x/logs/access.log")));
        assert_eq!(c.rtc.queue_limit, 1024);
        assert_eq!(c.rtc.linger, Duration::from_secs(60));
        assert_eq!(c.rtc.max_frame, 65_536);
        assert_eq!(c.rtc.ping_interval, Duration::from_secs(30));
        assert_eq!(c.rtc.write_timeout, Duration::from_secs(10));
        assert_eq!(c.rtc.max_connections, 10_000);
        assert_eq!(c.rtc.auth_url, None);
        assert_eq!(c.rtc.auth_timeout, Duration::from_secs(3));

        assert_eq!(c.api.listen, Some("127.0.0.1:2539".parse().unwrap()));
        assert_eq!(c.api.tls_listen, None);
        assert_eq!(c.api.tls_cert, None);
        assert_eq!(c.api.tls_key, None);
        assert_eq!(c.api.header_timeout, Duration::from_secs(10));
        assert_eq!(c.api.keepalive, Duration::from_secs(60));
        assert_eq!(c.api.access_log, Some(p("/opt/x/logs/access.log")));
        assert_eq!(c.api.token, None);
        assert_eq!(c.api.max_upload, 32 * 1024 * 1024);
        assert_eq!(c.api.plugin_cpu_deadline, Duration::from_millis(200));
        assert_eq!(c.api.plugin_memory_limit, 16 * 1024 * 1024);
        assert_eq!(c.api.plugin_max_body, 1024 * 1024);

        assert_eq!(c.jsip.realm, "slp-host");
        assert_eq!(c.jsip.dial_path, "/rtc");
        assert_eq!(c.jsip.connect_timeout, Duration::from_secs(3));
        assert_eq!(c.jsip.connect_retries, 10);
        assert_eq!(c.jsip.trans_timer, Duration::from_secs(5));
        assert_eq!(c.jsip.pr_timer, Duration::from_secs(60));
        assert_eq!(c.jsip.session_timer, Duration::from_secs(600));
        assert!(!c.jsip.dial_unknown_hosts);

        assert!(c.nodes.is_empty());

        assert_eq!(c.slp.module_dir, p("/opt/x/modules"));
        assert_eq!(c.slp.store_dir, p("/opt/x/store"));
        assert_eq!(c.slp.state_dir, p("/opt/x/state"));
        assert_eq!(c.slp.cpu_deadline, Duration::from_millis(50));
        assert_eq!(c.slp.memory_limit, 16 * 1024 * 1024);
        assert_eq!(c.slp.mailbox_limit, 1024);
        assert_eq!(c.slp.max_timers, 64);
        assert_eq!(c.slp.max_relids, 64);
        assert_eq!(c.slp.trap_threshold, 5);
        assert_eq!(c.slp.kv_max_keys, 100_000);
        assert_eq!(c.slp.kv_max_bytes, 64 * 1024 * 1024);
        assert_eq!(c.slp.kv_max_value, 64 * 1024);

        assert!(c.slps.is_empty());
        assert!(c.plugins.is_empty());
        assert_eq!(c.process.drain_timeout, Duration::from_secs(5));
        assert!(c.warnings.is_empty());

        // Per-name defaults.
        assert_eq!(
            c.slp_limits("anything"),
            SlpLimits {
                cpu_deadline: Duration::from_millis(50),
                memory_limit: 16 * 1024 * 1024,
                max_instances: 0,
            }
        );
        assert_eq!(c.slp_config_json("anything"), "{}");
        assert_eq!(c.store_namespace("anything"), "anything");
        assert_eq!(c.plugin_config_json("chatroom"), "{}");
        assert_eq!(c.plugin_store_namespace("chatroom"), "chatroom");
        assert_eq!(SlpOverrides::default().config, serde_json::json!({}));
    }

    #[test]
    fn empty_file_is_defaults_with_realm_warning() {
        let c = parse("").unwrap();
        let mut expected = Config::default_for(Path::new(CONF));
        expected.warnings = vec![r#"jsip.realm is not set; using "slp-host""#.to_string()];
        assert_eq!(c, expected);
        // Setting the realm silences it.
        let c = parse("[jsip]\nrealm = \"slp-host\"").unwrap();
        assert_eq!(c, Config::default_for(Path::new(CONF)));
    }

    #[test]
    fn spec_example_loads() {
        let c = parse(
            r#"
            [rtc]
            listen = "0.0.0.0:8080"
            linger = "60s"

            [api]
            listen = "127.0.0.1:2539"
            token = "change-me"

            [jsip]
            realm = "node1.example.net"

            [nodes."node2.example.net"]
            url = "wss://node2.example.net:8443/rtc"
            secret = "s3cret-shared-by-node1-and-node2"

            [slps.chatroom]
            max_instances = 5000
            [slps.chatroom.config]
            resend_on_timeout = true
            "#,
        )
        .unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert_eq!(c.api.token.as_deref(), Some("change-me"));
        assert_eq!(c.jsip.realm, "node1.example.net");
        assert_eq!(
            c.nodes["node2.example.net"],
            Node {
                url: "wss://node2.example.net:8443/rtc".into(),
                secret: Some("s3cret-shared-by-node1-and-node2".into()),
                ca_file: None,
            }
        );
        assert_eq!(c.slp_limits("chatroom").max_instances, 5000);
        assert_eq!(c.slp_config_json("chatroom"), r#"{"resend_on_timeout":true}"#);
    }

    #[test]
    fn every_key_set_to_non_default() {
        let c = parse(
            r#"
            pid_file = "x.pid"
            [log]
            file = ""
            level = "debug"
            format = "json"
            [rtc]
            listen = ""
            tls_listen = "[::]:8443"
            tls_cert = "c.pem"
            tls_key = "k.pem"
            path = "/ws"
            header_timeout = "5s"
            keepalive = "2m"
            access_log = "a.log"
            queue_limit = 1
            linger = "0s"
            max_frame = "1KiB"
            ping_interval = "15s"
            write_timeout = "1s"
            max_connections = 7
            auth_url = "https://auth.example/check"
            auth_timeout = "500ms"
            [api]
            listen = "127.0.0.1:0"
            tls_listen = "127.0.0.1:2540"
            tls_cert = "/c.pem"
            tls_key = "/k.pem"
            header_timeout = "1s"
            keepalive = "1s"
            access_log = "b.log"
            token = "tok"
            max_upload = 1048576
            plugin_cpu_deadline = "1s"
            plugin_memory_limit = "32MiB"
            plugin_max_body = "2048"
            [jsip]
            realm = "r1"
            dial_path = "/jsip"
            connect_timeout = "1s"
            connect_retries = 3
            trans_timer = "2s"
            pr_timer = "30s"
            session_timer = "1h"
            dial_unknown_hosts = true
            [slp]
            module_dir = "m"
            store_dir = "s"
            state_dir = "t"
            cpu_deadline = "10ms"
            memory_limit = "64MiB"
            mailbox_limit = 10
            max_timers = 0
            max_relids = 1
            trap_threshold = 2
            kv_max_keys = 5
            kv_max_bytes = "1MiB"
            kv_max_value = 100
            [process]
            drain_timeout = "0s"
            "#,
        )
        .unwrap();
        let p = PathBuf::from;
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert_eq!(c.pid_file, p("/opt/x/x.pid"));
        assert_eq!(c.log, Log { file: None, level: LogLevel::Debug, format: LogFormat::Json });
        assert_eq!(
            c.rtc,
            Rtc {
                listen: None,
                tls_listen: Some("[::]:8443".parse().unwrap()),
                tls_cert: Some(p("/opt/x/c.pem")),
                tls_key: Some(p("/opt/x/k.pem")),
                path: "/ws".into(),
                header_timeout: Duration::from_secs(5),
                keepalive: Duration::from_secs(120),
                access_log: Some(p("/opt/x/a.log")),
                queue_limit: 1,
                linger: Duration::ZERO,
                max_frame: 1024,
                ping_interval: Duration::from_secs(15),
                write_timeout: Duration::from_secs(1),
                max_connections: 7,
                auth_url: Some("https://auth.example/check".into()),
                auth_timeout: Duration::from_millis(500),
            }
        );
        assert_eq!(
            c.api,
            Api {
                listen: Some("127.0.0.1:0".parse().unwrap()),
                tls_listen: Some("127.0.0.1:2540".parse().unwrap()),
                tls_cert: Some(p("/c.pem")),
                tls_key: Some(p("/k.pem")),
                header_timeout: Duration::from_secs(1),
                keepalive: Duration::from_secs(1),
                access_log: Some(p("/opt/x/b.log")),
                token: Some("tok".into()),
                max_upload: 1 << 20,
                plugin_cpu_deadline: Duration::from_secs(1),
                plugin_memory_limit: 32 << 20,
                plugin_max_body: 2048,
            }
        );
        assert_eq!(
            c.jsip,
            Jsip {
                realm: "r1".into(),
                dial_path: "/jsip".into(),
                connect_timeout: Duration::from_secs(1),
                connect_retries: 3,
                trans_timer: Duration::from_secs(2),
                pr_timer: Duration::from_secs(30),
                session_timer: Duration::from_secs(3600),
                dial_unknown_hosts: true,
            }
        );
        assert_eq!(
            c.slp,
            Slp {
                module_dir: p("/opt/x/m"),
                store_dir: p("/opt/x/s"),
                state_dir: p("/opt/x/t"),
                cpu_deadline: Duration::from_millis(10),
                memory_limit: 64 << 20,
                mailbox_limit: 10,
                max_timers: 0,
                max_relids: 1,
                trap_threshold: 2,
                kv_max_keys: 5,
                kv_max_bytes: 1 << 20,
                kv_max_value: 100,
                max_live_instances: 10_000,
            }
        );
        assert_eq!(c.process.drain_timeout, Duration::ZERO);
    }

    #[test]
    fn per_name_overrides() {
        let c = parse(
            r#"
            [jsip]
            realm = "r"
            [slp]
            cpu_deadline = "40ms"
            memory_limit = "8MiB"
            [slps.chatroom]
            cpu_deadline = "100ms"
            max_instances = 5000
            store = "rooms"
            [slps.chatroom.config]
            resend_on_timeout = true
            limits = { max = 3, ratio = 0.5 }
            names = ["a", "b"]
            when = 1979-05-27T07:32:00Z
            [slps.big]
            memory_limit = "64MiB"
            [slps.empty]
            [plugins.chatroom]
            store = "rooms"
            [plugins.chatroom.config]
            page = 20
            [plugins.other]
            "#,
        )
        .unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert_eq!(
            c.slp_limits("chatroom"),
            SlpLimits {
                cpu_deadline: Duration::from_millis(100),
                memory_limit: 8 << 20,
                max_instances: 5000
            }
        );
        assert_eq!(
            c.slp_limits("big"),
            SlpLimits { cpu_deadline: Duration::from_millis(40), memory_limit: 64 << 20, max_instances: 0 }
        );
        assert_eq!(c.slp_limits("empty"), c.slp_limits("unknown"));
        assert_eq!(
            c.slp_limits("unknown"),
            SlpLimits { cpu_deadline: Duration::from_millis(40), memory_limit: 8 << 20, max_instances: 0 }
        );
        assert_eq!(c.store_namespace("chatroom"), "rooms");
        assert_eq!(c.store_namespace("big"), "big");
        assert_eq!(c.store_namespace("unknown"), "unknown");
        let json: Json = serde_json::from_str(&c.slp_config_json("chatroom")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "resend_on_timeout": true,
                "limits": {"max": 3, "ratio": 0.5},
                "names": ["a", "b"],
                "when": "1979-05-27T07:32:00Z"
            })
        );
        assert_eq!(c.slp_config_json("big"), "{}");
        assert_eq!(c.slp_config_json("unknown"), "{}");
        assert_eq!(c.plugin_store_namespace("chatroom"), "rooms");
        assert_eq!(c.plugin_store_namespace("other"), "other");
        assert_eq!(c.plugin_config_json("chatroom"), r#"{"page":20}"#);
        assert_eq!(c.plugin_config_json("other"), "{}");
    }

    #[test]
    fn unknown_keys_are_warnings() {
        let c = parse(
            r#"
            colour = "blue"
            [rtc]
            foo = 1
            [jsip]
            realm = "r"
            qsize = 10
            [weird]
            x = 1
            [slps.chatroom]
            mailbox_limit = 5
            [plugins.p]
            strange = true
            [nodes.n]
            url = "ws://n/rtc"
            secret = "s"
            typo_secret = "x"
            [process]
            exit_timeout = "5s"
            "#,
        )
        .unwrap();
        let mut w = c.warnings.clone();
        w.sort();
        assert_eq!(
            w,
            vec![
                "unknown key colour",
                "unknown key jsip.qsize",
                "unknown key nodes.n.typo_secret",
                "unknown key plugins.p.strange",
                "unknown key process.exit_timeout",
                "unknown key rtc.foo",
                "unknown key slps.chatroom.mailbox_limit",
                "unknown key weird",
            ]
        );
        // The known values next to them still apply.
        assert!(c.slps.contains_key("chatroom"));
    }

    #[test]
    fn invalid_values_name_the_key() {
        assert_eq!(
            err("[rtc]\nlinger = \"abc\""),
            r#"rtc.linger: invalid duration "abc" (expected e.g. "60s", "1m30s", "250ms")"#
        );
        assert_eq!(
            err("[rtc]\nlinger = 60"),
            r#"rtc.linger: invalid duration 60 (expected e.g. "60s", "1m30s", "250ms")"#
        );
        assert_eq!(err("[rtc]\nkeepalive = \"0s\""), r#"rtc.keepalive: must be greater than 0, got "0s""#);
        assert_eq!(
            err("[jsip]\nsession_timer = \"25h\""),
            r#"jsip.session_timer: must be at most 24h, got "25h""#
        );
        assert_eq!(err("[rtc]\nqueue_limit = 0"), "rtc.queue_limit: must be at least 1, got 0");
        assert_eq!(err("[rtc]\nqueue_limit = \"10\""), r#"rtc.queue_limit: expected an integer, got "10""#);
        assert_eq!(
            err("[rtc]\nqueue_limit = 99999999999"),
            "rtc.queue_limit: must be at most 4294967295, got 99999999999"
        );
        assert_eq!(err("[rtc]\nmax_frame = 512"), "rtc.max_frame: must be between 1KiB and 16MiB, got 512");
        assert_eq!(
            err("[rtc]\nmax_frame = \"32MiB\""),
            r#"rtc.max_frame: must be between 1KiB and 16MiB, got "32MiB""#
        );
        assert_eq!(
            err("[api]\nmax_upload = \"32MB\""),
            r#"api.max_upload: invalid size "32MB" (expected a number of bytes, or a string such as "64KiB", "16MiB", "1GiB")"#
        );
        assert_eq!(
            err("[slp]\nmemory_limit = -1"),
            r#"slp.memory_limit: invalid size -1 (expected a number of bytes, or a string such as "64KiB", "16MiB", "1GiB")"#
        );
        assert_eq!(
            err("[rtc]\nlisten = \"localhost:8080\""),
            r#"rtc.listen: invalid address "localhost:8080" (expected ip:port, e.g. "0.0.0.0:8080" or "[::]:8080")"#
        );
        assert_eq!(
            err("[api]\nlisten = \"127.0.0.1\""),
            r#"api.listen: invalid address "127.0.0.1" (expected ip:port, e.g. "0.0.0.0:8080" or "[::]:8080")"#
        );
        assert_eq!(err("[rtc]\npath = \"rtc\""), r#"rtc.path: must start with "/", got "rtc""#);
        assert_eq!(err("[jsip]\ndial_path = \"\""), r#"jsip.dial_path: must start with "/", got """#);
        assert_eq!(
            err("[rtc]\npath = \"/rtc?x=1\""),
            r#"rtc.path: invalid URL path "/rtc?x=1" (no whitespace, control characters, '?' or '#')"#
        );
        assert_eq!(
            err("[log]\nlevel = \"verbose\""),
            r#"log.level: invalid level "verbose" (expected "debug", "info", "warn" or "error")"#
        );
        assert_eq!(
            err("[log]\nformat = \"xml\""),
            r#"log.format: invalid format "xml" (expected "text" or "json")"#
        );
        assert_eq!(
            err("[jsip]\ndial_unknown_hosts = \"yes\""),
            r#"jsip.dial_unknown_hosts: expected true or false, got "yes""#
        );
        assert_eq!(err("rtc = 5"), "rtc: expected a table, got 5");
        assert_eq!(err("[jsip]\nrealm = \"\""), "jsip.realm: must not be empty");
        assert_eq!(
            err("[jsip]\nrealm = \"a b\""),
            r#"jsip.realm: "a b" contains whitespace or control characters"#
        );
        assert_eq!(err("[jsip]\nconnect_retries = 0"), "jsip.connect_retries: must be at least 1, got 0");
        assert_eq!(err("[slp]\ntrap_threshold = 0"), "slp.trap_threshold: must be at least 1, got 0");
        assert_eq!(err("[slp]\nmailbox_limit = -5"), "slp.mailbox_limit: must be at least 1, got -5");
        assert_eq!(err("pid_file = \"\""), "pid_file: must not be empty");
        assert_eq!(err("pid_file = 3"), "pid_file: expected a string, got 3");
        assert_eq!(err("root = \"\""), "root: must not be empty");
        assert_eq!(
            err("[rtc]\nauth_url = \"ftp://x\""),
            r#"rtc.auth_url: invalid URL "ftp://x" (expected http://host[:port]/path or https://…)"#
        );
        assert_eq!(
            err("[api]\ntoken = \"a b\""),
            "api.token: must not contain whitespace or control characters"
        );
        assert_eq!(
            err("[plugins.chat-room]"),
            "plugins.chat-room: invalid plugin name (expected ^[A-Za-z0-9_]{1,63}$, without the version)"
        );
        assert_eq!(
            err("[slps.\"bad name\"]\nmax_instances = 1"),
            r#"slps."bad name": invalid SLP name (expected ^[A-Za-z0-9_-]{1,63}$)"#
        );
        assert_eq!(
            err(&format!("[slps.{}]", "a".repeat(64))),
            format!("slps.{}: invalid SLP name (expected ^[A-Za-z0-9_-]{{1,63}}$)", "a".repeat(64))
        );
        assert_eq!(err("[slps]\nx = 1"), "slps.x: expected a table, got 1");
        assert_eq!(err("[slps.x]\nconfig = 1"), "slps.x.config: expected a table, got 1");
        assert_eq!(err("[slps.x.config]\nv = nan"), "slps.x.config.v: NaN cannot be represented in JSON");
        assert_eq!(
            err("[slps.x]\ncpu_deadline = \"fast\""),
            r#"slps.x.cpu_deadline: invalid duration "fast" (expected e.g. "60s", "1m30s", "250ms")"#
        );
        assert_eq!(
            err("[slps.x]\nmemory_limit = \"1KiB\""),
            r#"slps.x.memory_limit: must be between 64KiB and 4GiB, got "1KiB""#
        );
        assert_eq!(
            err("[slps.x]\nstore = \"\""),
            r#"slps.x.store: invalid namespace "" (1-255 bytes, no control characters)"#
        );
        assert_eq!(
            err("[plugins.\"chat.room\"]"),
            r#"plugins."chat.room": invalid plugin name (expected ^[A-Za-z0-9_]{1,63}$, without the version)"#
        );
        assert_eq!(err("[nodes.n]\nsecret = \"s\""), "nodes.n.url: missing (every node needs a url)");
        assert_eq!(
            err("[nodes.n]\nurl = \"http://n/rtc\""),
            r#"nodes.n.url: invalid URL "http://n/rtc" (expected ws://host[:port]/path or wss://…)"#
        );
        assert_eq!(err("[nodes.n]\nurl = \"ws:///rtc\"").split(':').next(), Some("nodes.n.url"));
        assert_eq!(
            err("[nodes.\"a b\"]\nurl = \"ws://n/\""),
            r#"nodes."a b": "a b" contains whitespace or control characters"#
        );
    }

    #[test]
    fn error_key_accessor() {
        let e = parse("[rtc]\nlinger = \"abc\"").unwrap_err();
        assert_eq!(e.key(), Some("rtc.linger"));
        let e = parse("[rtc\n").unwrap_err();
        assert!(matches!(e, ConfigError::Syntax { .. }), "{e:?}");
        assert_eq!(e.key(), None);
        assert!(
            e.to_string().starts_with("configuration file /opt/x/conf/slp-host.toml: invalid TOML: "),
            "{e}"
        );
        // Duplicate keys are TOML errors.
        assert!(matches!(parse("a = 1\na = 2").unwrap_err(), ConfigError::Syntax { .. }));
    }

    #[test]
    fn fatal_is_error_and_levels_are_case_insensitive() {
        assert_eq!(parse("[log]\nlevel = \"fatal\"").unwrap().log.level, LogLevel::Error);
        assert_eq!(parse("[log]\nlevel = \"error\"").unwrap().log.level, LogLevel::Error);
        assert_eq!(parse("[log]\nlevel = \"WARN\"").unwrap().log.level, LogLevel::Warn);
        assert_eq!(parse("[log]\nlevel = \"debug\"").unwrap().log.level, LogLevel::Debug);
        assert_eq!(parse("[log]\nformat = \"json\"").unwrap().log.format, LogFormat::Json);
    }

    #[test]
    fn listeners_and_tls() {
        assert_eq!(
            err("[rtc]\nlisten = \"\""),
            "rtc.listen: at least one of rtc.listen and rtc.tls_listen must be set"
        );
        assert_eq!(
            err("[rtc]\ntls_listen = \"0.0.0.0:8443\""),
            "rtc.tls_cert: must be set when rtc.tls_listen is set"
        );
        assert_eq!(
            err("[api]\ntls_listen = \"0.0.0.0:2540\"\ntls_cert = \"c.pem\""),
            "api.tls_key: must be set when api.tls_listen is set"
        );
        // The API may be switched off entirely.
        let c = parse("[api]\nlisten = \"\"").unwrap();
        assert_eq!(c.api.listen, None);
        // Cert without listener: warning.
        let c = parse("[rtc]\ntls_cert = \"c.pem\"\n[jsip]\nrealm = \"r\"").unwrap();
        assert_eq!(
            c.warnings,
            vec!["rtc.tls_cert/rtc.tls_key are ignored because rtc.tls_listen is not set"]
        );
        // A non-loopback API without a token: warning; with a token: none.
        let c = parse("[api]\nlisten = \"0.0.0.0:2539\"\n[jsip]\nrealm = \"r\"").unwrap();
        assert_eq!(
            c.warnings,
            vec![
                "api.listen 0.0.0.0:2539 is not a loopback address and api.token is empty: the management API accepts unauthenticated requests"
            ]
        );
        let c = parse("[api]\nlisten = \"0.0.0.0:2539\"\ntoken = \"t\"\n[jsip]\nrealm = \"r\"").unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let c = parse("[api]\nlisten = \"[::1]:2539\"\n[jsip]\nrealm = \"r\"").unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn node_warnings() {
        let c = parse(
            "[jsip]\nrealm = \"r\"\n[nodes.a]\nurl = \"ws://a:8080/rtc?x=1\"\nca_file = \"ca.pem\"\n[nodes.b]\nurl = \"WSS://b/rtc\"\nsecret = \"\"",
        )
        .unwrap();
        assert_eq!(
            c.warnings,
            vec![
                r#"nodes.a.secret is not set: any client may connect with userid "a" (subject to the auth callback)"#,
                "nodes.a.ca_file is ignored for a ws:// url",
                r#"nodes.b.secret is not set: any client may connect with userid "b" (subject to the auth callback)"#,
            ]
        );
        assert_eq!(c.nodes["b"].secret, None);
    }

    #[test]
    fn reserved_names_warn() {
        let c = parse("[jsip]\nrealm = \"r\"\n[slps.slps]\n[plugins.apim]").unwrap();
        assert_eq!(
            c.warnings,
            vec![
                r#"slps.slps: the name "slps" is reserved; no SLP can have it"#,
                r#"plugins.apim: the name "apim" is reserved; no plugin can have it"#,
            ]
        );
    }

    #[test]
    fn load_missing_file() {
        let dir = temp_dir();
        let missing = dir.join("conf/slp-host.toml");
        let e = Config::load(&missing).unwrap_err();
        assert!(matches!(&e, ConfigError::Read { source, .. } if source.kind() == io::ErrorKind::NotFound));
        assert!(
            e.to_string().starts_with(&format!("cannot read configuration file {}: ", missing.display())),
            "{e}"
        );

        let c = Config::load_or_default(&missing).unwrap();
        let mut expected = Config::default_for(&missing);
        assert_eq!(expected.root, dir);
        expected.warnings = vec![
            format!("configuration file {} not found; using built-in defaults", missing.display()),
            r#"jsip.realm is not set; using "slp-host""#.to_string(),
        ];
        assert_eq!(c, expected);

        // Other read errors (here: a directory) are still errors.
        std::fs::create_dir_all(&missing).unwrap();
        assert!(matches!(Config::load_or_default(&missing), Err(ConfigError::Read { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn load_existing_file() {
        let dir = temp_dir();
        let file = dir.join("conf/slp-host.toml");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "[jsip]\nrealm = \"n1\"\n[rtc]\nlinger = \"1m30s\"\n").unwrap();
        for c in [Config::load(&file).unwrap(), Config::load_or_default(&file).unwrap()] {
            assert_eq!(c.root, dir);
            assert_eq!(c.jsip.realm, "n1");
            assert_eq!(c.rtc.linger, Duration::from_secs(90));
            assert_eq!(c.pid_file, dir.join("slp-host.pid"));
            assert!(c.warnings.is_empty());
        }
        std::fs::write(&file, "[rtc]\nlinger = \"abc\"\n").unwrap();
        assert_eq!(Config::load(&file).unwrap_err().key(), Some("rtc.linger"));
        assert_eq!(Config::load_or_default(&file).unwrap_err().key(), Some("rtc.linger"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn shipped_conf() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf/slp-host.toml")
    }

    /// The shipped `conf/slp-host.toml` loads, sets every key to its default
    /// and nothing else.
    #[test]
    fn shipped_config_file_is_the_defaults() {
        let path = shipped_conf();
        let c = Config::load(&path).unwrap();
        assert_eq!(c, Config::default_for(&path));
    }

    /// The shipped file lists every scalar key of §15.2.
    #[test]
    fn shipped_config_file_lists_every_key() {
        let text = std::fs::read_to_string(shipped_conf()).unwrap();
        let table: Table = toml::from_str(&text).unwrap();
        let mut keys = Vec::new();
        for (k, v) in &table {
            match v {
                Value::Table(t) => keys.extend(t.keys().map(|s| format!("{k}.{s}"))),
                _ => keys.push(k.clone()),
            }
        }
        keys.sort();
        let mut expected: Vec<&str> = vec![
            "root",
            "pid_file",
            "log.file",
            "log.level",
            "log.format",
            "rtc.listen",
            "rtc.tls_listen",
            "rtc.tls_cert",
            "rtc.tls_key",
            "rtc.path",
            "rtc.header_timeout",
            "rtc.keepalive",
            "rtc.access_log",
            "rtc.queue_limit",
            "rtc.linger",
            "rtc.max_frame",
            "rtc.ping_interval",
            "rtc.write_timeout",
            "rtc.max_connections",
            "rtc.auth_url",
            "rtc.auth_timeout",
            "api.listen",
            "api.tls_listen",
            "api.tls_cert",
            "api.tls_key",
            "api.header_timeout",
            "api.keepalive",
            "api.access_log",
            "api.token",
            "api.max_upload",
            "api.plugin_cpu_deadline",
            "api.plugin_memory_limit",
            "api.plugin_max_body",
            "jsip.realm",
            "jsip.dial_path",
            "jsip.connect_timeout",
            "jsip.connect_retries",
            "jsip.trans_timer",
            "jsip.pr_timer",
            "jsip.session_timer",
            "jsip.dial_unknown_hosts",
            "slp.module_dir",
            "slp.store_dir",
            "slp.state_dir",
            "slp.cpu_deadline",
            "slp.memory_limit",
            "slp.mailbox_limit",
            "slp.max_timers",
            "slp.max_relids",
            "slp.trap_threshold",
            "slp.kv_max_keys",
            "slp.kv_max_bytes",
            "slp.kv_max_value",
            "slp.max_live_instances",
            "process.drain_timeout",
        ];
        expected.sort();
        assert_eq!(keys, expected);
        // The per-name tables are documented (commented out).
        for doc in ["# [nodes.", "# [slps.", "# [plugins."] {
            assert!(text.contains(doc), "missing {doc}");
        }
    }

    #[test]
    fn restart_required_lists_non_reloadable_changes() {
        let old = parse("[jsip]\nrealm = \"a\"\n[slps.x]\nstore = \"s\"").unwrap();
        let same =
            parse("[jsip]\nrealm = \"a\"\n[slps.x]\nstore = \"s\"\n[rtc]\nlinger = \"5s\"\nqueue_limit = 3")
                .unwrap();
        assert!(old.restart_required(&same).is_empty());
        let new = parse(
            "[jsip]\nrealm = \"b\"\n[rtc]\nlisten = \"0.0.0.0:9090\"\npath = \"/x\"\n[api]\nkeepalive = \"1s\"\n[slp]\nstate_dir = \"st\"\n[slps.y]\nstore = \"q\"\n[plugins.p]\nstore = \"z\"",
        )
        .unwrap();
        assert_eq!(
            old.restart_required(&new),
            vec![
                "rtc.listen",
                "rtc.path",
                "api.keepalive",
                "jsip.realm",
                "slp.state_dir",
                "slps.x.store",
                "slps.y.store",
                "plugins.p.store",
            ]
        );
    }
}
