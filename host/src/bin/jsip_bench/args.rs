//! Command line of jsip-bench (hand-rolled: the crate has no argument parser).

use std::time::Duration;

pub const USAGE: &str = "\
jsip-bench: load generator for slp-host (JSIP over WebSocket)

USAGE:
  jsip-bench --url ws://127.0.0.1:8080/rtc --mode message|call [options]
  jsip-bench --url ... --mode idle --connections N --hold 30s
  jsip-bench --url ... --mode hold-calls --connections N --calls M --hold 30s

OPTIONS:
  --url URL            WebSocket URL of the server (default ws://127.0.0.1:8080/rtc);
                       ?userid=<prefix><i> is appended
  --mode MODE          message | call | idle | hold-calls (default message)
  -c, --connections N  WebSocket connections (default 100)
  -d, --duration D     measured time after the warm-up (default 10s)
  --warmup D           warm-up excluded from the figures (default 2s)
  --pipeline K         transactions (message) or calls (call, hold-calls) in flight per
                       connection (default 1)
  --rate R             open loop: R transactions or calls per second across all connections,
                       on a fixed schedule; latency counts from the scheduled send time
  --timeout D          a transaction without a final answer after D is an error (default 5s)
  --calls M            hold-calls: INVITE sessions to establish and hold (spread over connections)
  --hold D             idle, hold-calls: how long to hold once everything is open (default 30s)
  --connect-rate R     new connections per second while opening (default 500)
  --server-pid PID     the server's pid: report its VmRSS delta (idle, hold-calls) and its
                       CPU use during the measured window (message, call); alias --rss-pid
  --target URI         Request-URI and To of the requests (default svc@example.org)
  --userid-prefix P    userid of connection i is P<i> (default bench-)
  --threads T          tokio worker threads (default: number of CPUs)
  --quickack           set TCP_QUICKACK after every read (message, call): the client then
                       acknowledges responses at once instead of delaying the ACK; a
                       diagnostic for Nagle stalls on a server without TCP_NODELAY
  --json               also print one machine-readable JSON line at the end
  -q, --quiet          no per-second progress lines on stderr
  -h, --help           this text

Durations: 500ms, 10s, 2m, 1h, combinations like 1m30s; a bare number means seconds.
";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Message,
    Call,
    Idle,
    HoldCalls,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Message => "message",
            Mode::Call => "call",
            Mode::Idle => "idle",
            Mode::HoldCalls => "hold-calls",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Args {
    pub url: String,
    pub mode: Mode,
    pub connections: usize,
    pub duration: Duration,
    pub warmup: Duration,
    pub pipeline: usize,
    pub rate: Option<f64>,
    pub timeout: Duration,
    pub calls: usize,
    pub hold: Duration,
    pub connect_rate: f64,
    pub rss_pid: Option<u32>,
    pub target: String,
    pub userid_prefix: String,
    pub threads: Option<usize>,
    pub json: bool,
    pub quiet: bool,
    pub quickack: bool,
}

impl Default for Args {
    fn default() -> Self {
        Args {
            url: "ws://127.0.0.1:8080/rtc".into(),
            mode: Mode::Message,
            connections: 100,
            duration: Duration::from_secs(10),
            warmup: Duration::from_secs(2),
            pipeline: 1,
            rate: None,
            timeout: Duration::from_secs(5),
            calls: 0,
            hold: Duration::from_secs(30),
            connect_rate: 500.0,
            rss_pid: None,
            target: "svc@example.org".into(),
            userid_prefix: "bench-".into(),
            threads: None,
            json: false,
            quiet: false,
            quickack: false,
        }
    }
}

/// `Ok(None)` means help was asked for.
pub fn parse(mut it: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut a = Args::default();
    while let Some(flag) = it.next() {
        let (flag, inline) = match flag.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (flag, None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline.clone().or_else(|| it.next()).ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--json" => a.json = true,
            "--quickack" => a.quickack = true,
            "-q" | "--quiet" => a.quiet = true,
            "--url" => a.url = value(&flag)?,
            "--mode" => {
                a.mode = match value(&flag)?.as_str() {
                    "message" => Mode::Message,
                    "call" => Mode::Call,
                    "idle" => Mode::Idle,
                    "hold-calls" => Mode::HoldCalls,
                    m => return Err(format!("unknown mode {m:?} (message, call, idle, hold-calls)")),
                }
            }
            "-c" | "--connections" => a.connections = number(&flag, &value(&flag)?)?,
            "-d" | "--duration" => a.duration = duration(&flag, &value(&flag)?)?,
            "--warmup" => a.warmup = duration(&flag, &value(&flag)?)?,
            "--pipeline" => a.pipeline = number(&flag, &value(&flag)?)?,
            "--rate" => a.rate = Some(positive(&flag, &value(&flag)?)?),
            "--timeout" => a.timeout = duration(&flag, &value(&flag)?)?,
            "--calls" => a.calls = number(&flag, &value(&flag)?)?,
            "--hold" => a.hold = duration(&flag, &value(&flag)?)?,
            "--connect-rate" => a.connect_rate = positive(&flag, &value(&flag)?)?,
            "--server-pid" | "--rss-pid" => a.rss_pid = Some(number(&flag, &value(&flag)?)?),
            "--target" => a.target = value(&flag)?,
            "--userid-prefix" => a.userid_prefix = value(&flag)?,
            "--threads" => a.threads = Some(number(&flag, &value(&flag)?)?),
            f => return Err(format!("unknown option {f:?}")),
        }
    }
    if a.connections == 0 {
        return Err("--connections must be at least 1".into());
    }
    if a.pipeline == 0 {
        return Err("--pipeline must be at least 1".into());
    }
    if a.threads == Some(0) {
        return Err("--threads must be at least 1".into());
    }
    if a.mode == Mode::HoldCalls && a.calls == 0 {
        return Err("--mode hold-calls needs --calls N".into());
    }
    if a.duration.is_zero() && matches!(a.mode, Mode::Message | Mode::Call) {
        return Err("--duration must be positive".into());
    }
    if !a.url.starts_with("ws://") {
        return Err(format!("--url must be a ws:// URL, not {:?}", a.url));
    }
    if a.target.contains(['"', '\\']) || a.userid_prefix.contains(['"', '\\', '&', '#', ' ']) {
        return Err("--target and --userid-prefix must not need escaping".into());
    }
    Ok(Some(a))
}

fn number<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
    v.replace('_', "").parse().map_err(|_| format!("{flag}: {v:?} is not a valid number"))
}

fn positive(flag: &str, v: &str) -> Result<f64, String> {
    match v.replace('_', "").parse::<f64>() {
        Ok(x) if x > 0.0 && x.is_finite() => Ok(x),
        _ => Err(format!("{flag}: {v:?} is not a positive number")),
    }
}

/// `500ms`, `10s`, `2m`, `1h`, `1m30s`, or a bare number of seconds.
pub fn duration(flag: &str, v: &str) -> Result<Duration, String> {
    let bad = || format!("{flag}: {v:?} is not a duration (e.g. 500ms, 10s, 1m30s)");
    if let Ok(secs) = v.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).map_err(|_| bad());
    }
    let mut total = 0.0;
    let mut rest = v;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let n: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "us" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += n * scale;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}
