//! jsip-bench: a load generator for slp-host.
//!
//! Opens N WebSocket connections (`userid=bench-<i>`) and runs one of:
//!
//! * `message`: MESSAGE transactions, each on a fresh DialogueID (so the
//!   server creates a fresh SLP instance per transaction), K in flight per
//!   connection (closed loop) or on a fixed schedule (`--rate`, open loop);
//! * `call`: INVITE → 200 → ACK → BYE → 200 cycles, likewise;
//! * `idle`: just hold the connections;
//! * `hold-calls`: establish M INVITE sessions (200 + ACK), hold them, then
//!   BYE them.
//!
//! `--server-pid` reads the server's VmRSS around the idle and hold phases,
//! and its CPU time during the measured window of a load.
//! Run with `--help` for the options.

#[path = "jsip_bench/args.rs"]
mod args;
#[path = "jsip_bench/report.rs"]
mod report;
#[path = "jsip_bench/wire.rs"]
mod wire;
#[path = "jsip_bench/worker.rs"]
mod worker;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use args::{Args, Mode};
use report::Report;
use wire::Frames;
use worker::{HoldPlan, Load, Plan, Stats, Ws};

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            print!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("jsip-bench: {e}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    let nofile = slp_host::limits::raise_nofile().unwrap_or(1024);
    // Each connection needs one descriptor, plus a few for the runtime.
    if (args.connections as u64) + 64 > nofile {
        eprintln!(
            "jsip-bench: warning: the open-file limit is {nofile}, too low for {} connections",
            args.connections
        );
    }
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(t) = args.threads {
        rt.worker_threads(t);
    }
    let rt = match rt.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("jsip-bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(3),
        Err(e) => {
            eprintln!("jsip-bench: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Returns whether the run was clean (no errors).
async fn run(args: Args) -> Result<bool, String> {
    let rss_start = read_rss(&args)?;
    let conns = connect_all(&args).await?;
    match args.mode {
        Mode::Idle => run_idle(&args, conns, rss_start).await,
        Mode::HoldCalls => run_hold_calls(&args, conns, rss_start).await,
        Mode::Message | Mode::Call => run_load(&args, conns).await,
    }
}

/// VmRSS of `--server-pid` in KiB.
fn read_rss(args: &Args) -> Result<Option<u64>, String> {
    let Some(pid) = args.rss_pid else { return Ok(None) };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("cannot read /proc/{pid}/status: {e}"))?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no VmRSS in /proc/{pid}/status"))?;
    Ok(Some(kib))
}

/// CPU time (user + system) of a process, in seconds; `None` if unreadable.
fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = pid.map_or_else(|| "/proc/self/stat".to_owned(), |p| format!("/proc/{p}/stat"));
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the line, so the 12th and 13th after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut f = rest.split(' ').skip(11);
    let ticks: u64 = f.next()?.parse::<u64>().ok()? + f.next()?.parse::<u64>().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| ticks as f64 / hz as f64)
}

fn userid(args: &Args, i: usize) -> String {
    format!("{}{i}", args.userid_prefix)
}

/// Opens the connections at `--connect-rate` per second; fails on the first
/// refusal with the server's answer.
async fn connect_all(args: &Args) -> Result<Vec<Ws>, String> {
    let n = args.connections;
    let sep = if args.url.contains('?') { '&' } else { '?' };
    let t0 = Instant::now();
    let step = Duration::from_secs_f64(1.0 / args.connect_rate);
    let mut set = JoinSet::new();
    let mut slots: Vec<Option<Ws>> = (0..n).map(|_| None).collect();
    let mut opened = 0usize;
    let mut last_report = t0;
    let mut failure: Option<String> = None;
    let mut next = 0usize;
    while (next < n || !set.is_empty()) && failure.is_none() {
        let due = t0 + step.mul_f64(next as f64);
        tokio::select! {
            biased;
            Some(r) = set.join_next(), if !set.is_empty() => match r {
                Ok((i, Ok(ws))) => {
                    slots[i] = Some(ws);
                    opened += 1;
                }
                Ok((i, Err(e))) => failure = Some(format!(
                    "connection {} of {n} (userid {}) failed after {opened} were open: {e}",
                    i + 1,
                    userid(args, i)
                )),
                Err(e) => failure = Some(format!("connect task failed: {e}")),
            },
            () = tokio::time::sleep_until(due), if next < n => {
                let url = format!("{}{sep}userid={}", args.url, userid(args, next));
                let i = next;
                set.spawn(async move { (i, connect(&url).await) });
                next += 1;
            }
        }
        if !args.quiet && last_report.elapsed() >= Duration::from_secs(1) {
            last_report = Instant::now();
            eprintln!("  connecting: {opened}/{n} open");
        }
    }
    if let Some(f) = failure {
        set.abort_all();
        return Err(f);
    }
    eprintln!("all {n} connections open in {:.2} s", t0.elapsed().as_secs_f64());
    Ok(slots.into_iter().map(|s| s.expect("every slot is filled")).collect())
}

async fn connect(url: &str) -> Result<Ws, String> {
    // Frames are small: tungstenite zero-fills its whole read buffer before
    // every read, so the default 128 KiB would dominate the generator's CPU.
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let attempt = tokio_tungstenite::connect_async_with_config(url, Some(config), true);
    match tokio::time::timeout(Duration::from_secs(10), attempt).await {
        Err(_) => Err("no handshake answer within 10 s".into()),
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(WsError::Http(resp))) => {
            let body = resp.body().as_deref().map(String::from_utf8_lossy).unwrap_or_default();
            let hint = if resp.status().as_u16() == 503 {
                " (the server refused: raise [rtc] max_connections in its configuration)"
            } else {
                ""
            };
            Err(format!("HTTP {} {:?}{hint}", resp.status(), body.trim()))
        }
        Ok(Err(WsError::Io(e))) if e.raw_os_error() == Some(libc::EMFILE) => {
            Err(format!("{e} (raise the open-file limit: ulimit -n)"))
        }
        Ok(Err(WsError::Io(e))) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => {
            Err(format!("{e} (out of local ports: see net.ipv4.ip_local_port_range)"))
        }
        Ok(Err(e)) => Err(e.to_string()),
    }
}

async fn collect(mut set: JoinSet<Stats>) -> Stats {
    let mut total = Stats::default();
    while let Some(r) = set.join_next().await {
        match r {
            Ok(s) => total.merge(s),
            Err(e) => {
                eprintln!("jsip-bench: a connection task failed: {e}");
                total.closed += 1;
            }
        }
    }
    total
}

async fn run_load(args: &Args, conns: Vec<Ws>) -> Result<bool, String> {
    let load = if args.mode == Mode::Call { Load::Call } else { Load::Message };
    let start = Instant::now() + Duration::from_millis(50);
    let plan = Arc::new(Plan {
        load,
        pipeline: args.pipeline,
        rate: args.rate,
        connections: args.connections,
        start,
        warm_end: start + args.warmup,
        end: start + args.warmup + args.duration,
        timeout: args.timeout,
        done: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        quickack: args.quickack,
    });
    let mut set = JoinSet::new();
    for (i, ws) in conns.into_iter().enumerate() {
        let frames = Frames::new(&userid(args, i), &args.target, i);
        set.spawn(worker::run(ws, i, frames, Arc::clone(&plan)));
    }
    let progress = (!args.quiet).then(|| {
        let plan = Arc::clone(&plan);
        tokio::spawn(async move {
            let mut last = 0;
            let mut tick =
                tokio::time::interval_at(plan.start + Duration::from_secs(1), Duration::from_secs(1));
            for s in 1.. {
                tick.tick().await;
                let done = plan.done.load(Ordering::Relaxed);
                let phase = if Instant::now() <= plan.warm_end { " (warm-up)" } else { "" };
                eprintln!(
                    "  t={s:>3}s {:>8}/s  errors {}{phase}",
                    done - last,
                    plan.errors.load(Ordering::Relaxed)
                );
                last = done;
            }
        })
    });
    // CPU use of both processes over the measured window.
    let cpu = {
        let plan = Arc::clone(&plan);
        let server = args.rss_pid;
        tokio::spawn(async move {
            tokio::time::sleep_until(plan.warm_end).await;
            let before = (cpu_seconds(None), server.and_then(|p| cpu_seconds(Some(p))));
            tokio::time::sleep_until(plan.end).await;
            let after = (cpu_seconds(None), server.and_then(|p| cpu_seconds(Some(p))));
            let window = (plan.end - plan.warm_end).as_secs_f64();
            let used = |a: Option<f64>, b: Option<f64>| Some((b? - a?) / window);
            (used(before.0, after.0), used(before.1, after.1))
        })
    };
    let stats = collect(set).await;
    if let Some(p) = progress {
        p.abort();
    }
    let mut report = Report::new(args, stats);
    if let Ok((own, server)) = cpu.await {
        report.cpu_self = own;
        report.cpu_server = server;
    }
    report.print(args.json);
    Ok(report.clean())
}

async fn run_idle(args: &Args, conns: Vec<Ws>, rss_start: Option<u64>) -> Result<bool, String> {
    let n = conns.len();
    let (release, rx) = watch::channel(false);
    let mut set = JoinSet::new();
    for ws in conns {
        set.spawn(worker::idle(ws, rx.clone()));
    }
    println!("all {n} connections connected; holding for {:?}", args.hold);
    let held_since = Instant::now();
    let mut rss = None;
    if rss_start.is_some() {
        // Let the server settle before reading its RSS.
        tokio::time::sleep(Duration::from_secs(2).min(args.hold)).await;
        rss = read_rss(args)?;
    }
    tokio::time::sleep_until(held_since + args.hold).await;
    let _ = release.send(true);
    let stats = collect(set).await;
    let mut report = Report::new(args, stats);
    report.connections_held = n;
    if let (Some(before), Some(after)) = (rss_start, rss) {
        report.rss = Some(report::Rss { before, after, per: n as u64, label: "connection" });
    }
    report.print(args.json);
    Ok(report.clean())
}

async fn run_hold_calls(args: &Args, conns: Vec<Ws>, rss_start: Option<u64>) -> Result<bool, String> {
    let n = conns.len();
    let mut rss_conns = None;
    if rss_start.is_some() {
        tokio::time::sleep(Duration::from_secs(2)).await;
        rss_conns = read_rss(args)?;
    }
    let plan = Arc::new(HoldPlan {
        pipeline: args.pipeline,
        timeout: args.timeout,
        established: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        settled: AtomicU64::new(0),
    });
    let (release, rx) = watch::channel(false);
    let mut set = JoinSet::new();
    let t0 = Instant::now();
    for (i, ws) in conns.into_iter().enumerate() {
        let share = args.calls / n + usize::from(i < args.calls % n);
        let frames = Frames::new(&userid(args, i), &args.target, i);
        set.spawn(worker::hold_calls(ws, frames, share, Arc::clone(&plan), rx.clone()));
    }
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if plan.settled.load(Ordering::Relaxed) == n as u64 {
            break;
        }
        if !args.quiet && t0.elapsed().as_millis() % 1000 < 200 {
            eprintln!(
                "  establishing: {} established, {} failed",
                plan.established.load(Ordering::Relaxed),
                plan.failed.load(Ordering::Relaxed)
            );
        }
    }
    let established = plan.established.load(Ordering::Relaxed);
    let failed = plan.failed.load(Ordering::Relaxed);
    let took = t0.elapsed().as_secs_f64();
    println!(
        "{established} of {} calls established ({failed} failed) in {took:.2} s; holding for {:?}",
        args.calls, args.hold
    );
    let held_since = Instant::now();
    let mut rss_calls = None;
    if rss_start.is_some() {
        tokio::time::sleep(Duration::from_secs(2).min(args.hold)).await;
        rss_calls = read_rss(args)?;
    }
    tokio::time::sleep_until(held_since + args.hold).await;
    let _ = release.send(true);
    let stats = collect(set).await;
    let mut report = Report::new(args, stats);
    report.connections_held = n;
    report.establish_secs = Some(took);
    if let (Some(start), Some(before), Some(after)) = (rss_start, rss_conns, rss_calls) {
        report.rss_connections =
            Some(report::Rss { before: start, after: before, per: n as u64, label: "connection" });
        report.rss = Some(report::Rss { before, after, per: established.max(1), label: "call" });
    }
    report.print(args.json);
    Ok(report.clean())
}
