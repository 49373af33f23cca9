//! Counters and gauges the host keeps (spec §14.7). Each counter is an atomic
//! in a sharded map keyed by metric name and label values, so counting never
//! takes a global lock. `GET /metrics` renders them in Prometheus text format.

use std::borrow::Cow;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;

type Key = (&'static str, Cow<'static, str>);

/// All counters of the process.
#[derive(Default)]
pub struct Metrics {
    counters: DashMap<Key, AtomicU64>,
}

impl Metrics {
    /// Adds one to `name{labels}`; `labels` is the rendered label set, e.g. `reason="duplicate"`.
    pub fn inc(&self, name: &'static str, labels: impl Into<Cow<'static, str>>) {
        self.add(name, labels, 1);
    }

    /// Adds `n` to `name{labels}`.
    pub fn add(&self, name: &'static str, labels: impl Into<Cow<'static, str>>, n: u64) {
        let key = (name, labels.into());
        if let Some(c) = self.counters.get(&key) {
            c.fetch_add(n, Ordering::Relaxed);
            return;
        }
        self.counters.entry(key).or_default().fetch_add(n, Ordering::Relaxed);
    }

    /// The value of `name{labels}` (0 if never counted).
    pub fn get(&self, name: &'static str, labels: &str) -> u64 {
        self.counters.get(&(name, Cow::Owned(labels.to_owned()))).map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Counts a discarded message (`slp_host_dropped_messages_total{reason}`).
    pub fn dropped(&self, reason: &'static str) {
        self.inc("dropped_messages_total", label("reason", reason));
    }

    /// Prometheus text exposition of every counter.
    pub fn render(&self, out: &mut String) {
        let mut rows: Vec<(String, u64)> = self
            .counters
            .iter()
            .map(|e| {
                let (name, labels) = e.key();
                let series = if labels.is_empty() {
                    format!("slp_host_{name}")
                } else {
                    format!("slp_host_{name}{{{labels}}}")
                };
                (series, e.value().load(Ordering::Relaxed))
            })
            .collect();
        rows.sort();
        for (series, value) in rows {
            let _ = writeln!(out, "{series} {value}");
        }
    }
}

/// Renders one label: `name="value"`, escaping the value.
pub fn label(name: &str, value: &str) -> Cow<'static, str> {
    let value = value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    Cow::Owned(format!("{name}=\"{value}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_name_and_labels_and_renders_sorted() {
        let m = Metrics::default();
        m.dropped("duplicate");
        m.dropped("duplicate");
        m.inc("frames_total", label("direction", "in"));
        assert_eq!(m.get("dropped_messages_total", "reason=\"duplicate\""), 2);
        let mut out = String::new();
        m.render(&mut out);
        assert_eq!(
            out,
            "slp_host_dropped_messages_total{reason=\"duplicate\"} 2\nslp_host_frames_total{direction=\"in\"} 1\n"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a", "x\"y\\z"), "a=\"x\\\"y\\\\z\"");
    }
}
