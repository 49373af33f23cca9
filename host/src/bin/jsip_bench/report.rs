//! The end-of-run report, as text and as one JSON line.

use hdrhistogram::Histogram;
use serde_json::{Value, json};

use super::args::{Args, Mode};
use super::worker::Stats;

/// Latency percentiles in milliseconds.
pub struct Latency {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Latency {
    /// `None` for no samples.
    fn of(samples_ns: &[u64]) -> Option<Latency> {
        if samples_ns.is_empty() {
            return None;
        }
        // 1 ns .. 1 h with 3 significant digits.
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds");
        for &v in samples_ns {
            h.saturating_record(v.max(1));
        }
        let ms = |ns: u64| ns as f64 / 1e6;
        Some(Latency {
            count: h.len(),
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        })
    }

    fn text(&self) -> String {
        format!(
            "p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}  (n={})",
            self.p50, self.p90, self.p99, self.p999, self.max, self.count
        )
    }

    fn json(&self) -> Value {
        json!({"p50": self.p50, "p90": self.p90, "p99": self.p99, "p999": self.p999,
               "max": self.max, "count": self.count})
    }
}

/// A server RSS delta.
pub struct Rss {
    /// KiB.
    pub before: u64,
    /// KiB.
    pub after: u64,
    /// Number of things the delta is divided by.
    pub per: u64,
    pub label: &'static str,
}

impl Rss {
    fn bytes_each(&self) -> f64 {
        (self.after as f64 - self.before as f64) * 1024.0 / self.per.max(1) as f64
    }

    fn text(&self) -> String {
        format!(
            "server VmRSS {} KiB → {} KiB: {:+} KiB for {} {}s = {:.0} bytes ({:.1} KiB) per {}",
            self.before,
            self.after,
            self.after as i64 - self.before as i64,
            self.per,
            self.label,
            self.bytes_each(),
            self.bytes_each() / 1024.0,
            self.label
        )
    }

    fn json(&self) -> Value {
        json!({"before_kib": self.before, "after_kib": self.after, "count": self.per,
               "bytes_each": self.bytes_each().round()})
    }
}

pub struct Report {
    mode: Mode,
    connections: usize,
    pipeline: usize,
    rate: Option<f64>,
    quickack: bool,
    duration: f64,
    warmup: f64,
    calls: usize,
    stats: Stats,
    latency: Option<Latency>,
    invite_latency: Option<Latency>,
    service_latency: Option<Latency>,
    pub connections_held: usize,
    pub establish_secs: Option<f64>,
    pub rss: Option<Rss>,
    pub rss_connections: Option<Rss>,
    /// CPUs used during the measured window by jsip-bench and by the server.
    pub cpu_self: Option<f64>,
    pub cpu_server: Option<f64>,
}

impl Report {
    pub fn new(args: &Args, stats: Stats) -> Report {
        Report {
            mode: args.mode,
            connections: args.connections,
            pipeline: args.pipeline,
            rate: args.rate,
            quickack: args.quickack,
            duration: args.duration.as_secs_f64(),
            warmup: args.warmup.as_secs_f64(),
            calls: args.calls,
            latency: Latency::of(&stats.lat),
            invite_latency: Latency::of(&stats.invite_lat),
            service_latency: Latency::of(&stats.service_lat),
            stats,
            connections_held: 0,
            establish_secs: None,
            rss: None,
            rss_connections: None,
            cpu_self: None,
            cpu_server: None,
        }
    }

    pub fn clean(&self) -> bool {
        self.stats.errors() == 0
    }

    fn load(&self) -> bool {
        matches!(self.mode, Mode::Message | Mode::Call)
    }

    fn throughput(&self) -> f64 {
        self.stats.completed as f64 / self.duration
    }

    fn unit(&self) -> &'static str {
        match self.mode {
            Mode::Call | Mode::HoldCalls => "calls",
            Mode::Message | Mode::Idle => "transactions",
        }
    }

    fn errors_text(&self) -> String {
        let s = &self.stats;
        let codes = if s.non200.is_empty() {
            "none".to_owned()
        } else {
            s.non200.iter().map(|(c, n)| format!("{c}×{n}")).collect::<Vec<_>>().join(", ")
        };
        format!(
            "{}  (non-200: {codes}; timeouts {}; closed sockets {}; in flight on closed sockets {})",
            s.errors(),
            s.timeouts,
            s.closed,
            s.lost
        )
    }

    pub fn print(&self, json: bool) {
        let s = &self.stats;
        let loop_kind = match self.rate {
            Some(r) => format!("open loop at {r}/s"),
            None => format!("closed loop, pipeline {}", self.pipeline),
        };
        let loop_kind = if self.quickack { format!("{loop_kind}, TCP_QUICKACK") } else { loop_kind };
        match self.mode {
            Mode::Message | Mode::Call => println!(
                "jsip-bench {}: {} connections, {loop_kind}, {} s measured after {} s warm-up",
                self.mode.name(),
                self.connections,
                self.duration,
                self.warmup
            ),
            Mode::Idle => println!("jsip-bench idle: {} connections held", self.connections_held),
            Mode::HoldCalls => println!(
                "jsip-bench hold-calls: {} calls over {} connections, pipeline {}",
                self.calls, self.connections_held, self.pipeline
            ),
        }
        if self.load() {
            println!(
                "  completed      {} {} = {:.0}/s  (+{} in warm-up and drain)",
                s.completed,
                self.unit(),
                self.throughput(),
                s.completed_outside
            );
        }
        if self.mode == Mode::HoldCalls {
            let took = self.establish_secs.unwrap_or(0.0);
            println!(
                "  established    {} in {took:.2} s; released with BYE→200: {}",
                s.established, s.released
            );
        }
        println!("  errors         {}", self.errors_text());
        if let Some(reason) = &s.close_reason {
            println!("  first close    {reason}");
        }
        if let Some(l) = &self.latency {
            let from = if self.rate.is_some() { "  from the scheduled send" } else { "" };
            println!("  latency ms     {}{from}", l.text());
        }
        if let Some(l) = &self.service_latency {
            println!("  service ms     {}  from the actual send", l.text());
            println!("  max send lag   {:.3} ms", s.max_send_lag.as_secs_f64() * 1e3);
        }
        if let Some(l) = &self.invite_latency {
            println!("  INVITE→200 ms  {}", l.text());
        }
        match (self.cpu_server, self.cpu_self) {
            (Some(server), Some(own)) => {
                println!("  CPUs used      server {server:.2}, jsip-bench {own:.2} (measured window)")
            }
            (None, Some(own)) => println!("  CPUs used      jsip-bench {own:.2} (measured window)"),
            _ => {}
        }
        if let Some(r) = &self.rss_connections {
            println!("  {}", r.text());
        }
        if let Some(r) = &self.rss {
            println!("  {}", r.text());
        }
        if s.unmatched + s.invalid + s.server_requests > 0 {
            println!(
                "  other          unmatched responses {}, invalid frames {}, server requests {}",
                s.unmatched, s.invalid, s.server_requests
            );
        }
        for frame in &s.samples {
            println!("  unexpected     {frame}");
        }
        if json {
            println!("{}", self.json());
        }
    }

    fn json(&self) -> Value {
        let s = &self.stats;
        let mut v = json!({
            "mode": self.mode.name(),
            "connections": self.connections,
            "pipeline": self.pipeline,
            "rate": self.rate,
            "quickack": self.quickack,
            "errors": {
                "total": s.errors(),
                "non200": s.non200.iter().map(|(c, n)| (c.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
                "timeouts": s.timeouts,
                "closed": s.closed,
                "lost": s.lost,
            },
            "unmatched": s.unmatched,
            "invalid": s.invalid,
            "server_requests": s.server_requests,
        });
        let o = v.as_object_mut().expect("an object");
        if self.load() {
            o.insert("duration_s".into(), json!(self.duration));
            o.insert("warmup_s".into(), json!(self.warmup));
            o.insert("completed".into(), json!(s.completed));
            o.insert("throughput_per_s".into(), json!(self.throughput().round()));
        }
        if self.mode == Mode::HoldCalls {
            o.insert("calls".into(), json!(self.calls));
            o.insert("established".into(), json!(s.established));
            o.insert("released".into(), json!(s.released));
            o.insert("establish_s".into(), json!(self.establish_secs));
        }
        if let Some(l) = &self.latency {
            o.insert("latency_ms".into(), l.json());
        }
        if let Some(l) = &self.service_latency {
            o.insert("service_latency_ms".into(), l.json());
            o.insert("max_send_lag_ms".into(), json!(s.max_send_lag.as_secs_f64() * 1e3));
        }
        if let Some(l) = &self.invite_latency {
            o.insert("invite_latency_ms".into(), l.json());
        }
        if self.cpu_self.is_some() || self.cpu_server.is_some() {
            o.insert("cpu".into(), json!({"server": self.cpu_server, "jsip_bench": self.cpu_self}));
        }
        if let Some(r) = &self.rss_connections {
            o.insert("rss_connections".into(), r.json());
        }
        if let Some(r) = &self.rss {
            o.insert("rss".into(), r.json());
        }
        v
    }
}
