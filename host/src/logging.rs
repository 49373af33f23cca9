//! The server log (spec §15.5): one line per event, plain text or JSON, with
//! the fields of the spans the event happened in. A session actor's span
//! carries its DialogueID, SLP name, version hash and instance id, so every
//! line about a session (the host's and the guest's own) names it.
//!
//! Text: `<RFC 3339 local time, µs> <LEVEL> <target>: <message> key=value …`.
//! JSON: `{"ts":…,"level":…,"target":…,"msg":…,<fields>}`.
//! An event's own field wins over a span field of the same name.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use crate::config::{Config, LogFormat};

/// Installs the process's subscriber as the configuration says: level,
/// format, and file (stderr when none).
pub fn init(config: &Config) -> std::io::Result<()> {
    let filter = EnvFilter::try_new(config.log.level.as_str()).unwrap_or_else(|_| EnvFilter::new("info"));
    let writer: tracing_subscriber::fmt::writer::BoxMakeWriter = match &config.log.file {
        Some(path) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
            tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::sync::Mutex::new(file))
        }
        None => tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::io::stderr),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .fmt_fields(SpanFields)
        .event_format(LineFormat { json: config.log.format == LogFormat::Json })
        .try_init()
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// The event formatter for both formats.
pub struct LineFormat {
    /// JSON lines instead of text.
    pub json: bool,
}

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut w: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        // Span fields, innermost span first so it wins over outer ones.
        if let Some(scope) = ctx.event_scope() {
            for span in scope {
                let ext = span.extensions();
                let Some(stored) = ext.get::<FormattedFields<N>>() else { continue };
                for (k, v) in SpanFields::decode(stored.as_str()) {
                    fields.add_missing(k, v);
                }
            }
        }
        let meta = event.metadata();
        let ts = jiff::Zoned::now().strftime("%Y-%m-%dT%H:%M:%S%.6f%:z").to_string();
        if self.json {
            let mut line = Map::new();
            line.insert("ts".into(), Value::String(ts));
            line.insert("level".into(), Value::String(meta.level().to_string()));
            line.insert("target".into(), Value::String(meta.target().to_owned()));
            line.insert("msg".into(), Value::String(fields.message));
            for (k, v) in fields.list {
                line.entry(k).or_insert(v);
            }
            writeln!(w, "{}", Value::Object(line))
        } else {
            write!(w, "{ts} {} {}: {}", meta.level(), meta.target(), fields.message)?;
            for (k, v) in &fields.list {
                match v {
                    Value::String(s) if !s.is_empty() && !s.contains([' ', '"', '=', '\n']) => {
                        write!(w, " {k}={s}")?
                    }
                    Value::String(s) => write!(w, " {k}={s:?}")?,
                    other => write!(w, " {k}={other}")?,
                }
            }
            writeln!(w)
        }
    }
}

/// How span fields are stored while the span lives: `name=text` or
/// `name:number` entries, each ended by U+001F. Cheap to write when a session
/// starts (no quoting, no JSON), read back only when a line is written.
pub struct SpanFields;

const END: char = '\u{1f}';

impl SpanFields {
    fn decode(stored: &str) -> impl Iterator<Item = (String, Value)> + '_ {
        stored.split(END).filter(|e| !e.is_empty()).filter_map(|e| {
            let at = e.find(['=', ':'])?;
            let (name, value) = (&e[..at], &e[at + 1..]);
            let value = match &e[at..=at] {
                ":" => value
                    .parse::<i128>()
                    .map_or_else(|_| Value::String(value.to_owned()), |n| json_number(n, value)),
                _ => Value::String(value.to_owned()),
            };
            Some((name.to_owned(), value))
        })
    }
}

fn json_number(n: i128, text: &str) -> Value {
    u64::try_from(n)
        .map(Value::from)
        .or_else(|_| i64::try_from(n).map(Value::from))
        .unwrap_or_else(|_| Value::String(text.to_owned()))
}

impl<'w> FormatFields<'w> for SpanFields {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut v = SpanWriter { w: &mut writer, result: Ok(()) };
        fields.record(&mut v);
        v.result
    }

    fn add_fields(
        &self,
        current: &'w mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        // Entries are self-delimiting: append without a separator.
        self.format_fields(current.as_writer(), fields)
    }
}

struct SpanWriter<'a, 'w> {
    w: &'a mut Writer<'w>,
    result: fmt::Result,
}

impl Visit for SpanWriter<'_, '_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.result = self.result.and_then(|()| write!(self.w, "{}={value:?}{END}", field.name()));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.result = self.result.and_then(|()| write!(self.w, "{}={value}{END}", field.name()));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.result = self.result.and_then(|()| write!(self.w, "{}:{value}{END}", field.name()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.result = self.result.and_then(|()| write!(self.w, "{}:{value}{END}", field.name()));
    }
}

/// An event's message and fields, in order.
#[derive(Default)]
struct Fields {
    message: String,
    list: Vec<(String, Value)>,
}

impl Fields {
    fn add_missing(&mut self, k: String, v: Value) {
        if k != "message" && !self.list.iter().any(|(name, _)| *name == k) {
            self.list.push((k, v));
        }
    }

    fn push(&mut self, field: &Field, v: Value) {
        match (field.name(), v) {
            ("message", Value::String(s)) => self.message = s,
            (name, v) => self.list.push((name.to_owned(), v)),
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, Value::String(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, Value::String(value.to_owned()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, Value::from(value));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    fn capture(json: bool, level: &str, f: impl FnOnce()) -> String {
        let buf = Buffer::default();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new(level))
            .with_writer(buf.clone())
            .fmt_fields(SpanFields)
            .event_format(LineFormat { json })
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        String::from_utf8(buf.0.lock().unwrap().clone()).unwrap()
    }

    fn in_session() {
        let span =
            tracing::info_span!("session", dialogue = "d-1", slp = "echo", instance = tracing::field::Empty);
        let _g = span.enter();
        span.record("instance", 7u64);
        tracing::warn!(target: "rtc", endpoint = "alice", "slow peer");
        tracing::info!(target: "slp", slp = "own", "guest says hi");
    }

    #[test]
    fn text_lines_carry_span_fields_after_the_event_fields() {
        let out = capture(false, "info", in_session);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(
            lines[0].ends_with(" WARN rtc: slow peer endpoint=alice dialogue=d-1 slp=echo instance=7"),
            "{out}"
        );
        assert!(lines[1].ends_with(" INFO slp: guest says hi slp=own dialogue=d-1 instance=7"), "{out}");
        // `<RFC 3339 local time with microseconds>`: 2025-06-01T09:30:12.481234+02:00
        let ts = lines[0].split(' ').next().unwrap();
        assert_eq!(ts.len(), "2025-06-01T09:30:12.481234+02:00".len(), "{ts}");
        assert!(jiff::Timestamp::strptime("%Y-%m-%dT%H:%M:%S%.f%:z", ts).is_ok(), "{ts}");
    }

    #[test]
    fn json_lines_are_flat_objects_with_span_fields() {
        let out = capture(true, "info", in_session);
        let v: Vec<Value> =
            out.lines().map(|l| serde_json::from_str(l).expect("one object per line")).collect();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0]["level"], "WARN");
        assert_eq!(v[0]["target"], "rtc");
        assert_eq!(v[0]["msg"], "slow peer");
        assert_eq!(v[0]["endpoint"], "alice");
        assert_eq!(v[0]["dialogue"], "d-1");
        assert_eq!(v[0]["instance"], 7);
        assert_eq!(v[1]["slp"], "own", "the event's own field wins");
        assert!(v[0]["ts"].is_string());
    }

    #[test]
    fn a_filtered_span_adds_nothing() {
        let out = capture(false, "warn", in_session);
        assert_eq!(out.lines().count(), 1);
        assert!(out.trim_end().ends_with("rtc: slow peer endpoint=alice"), "{out}");
    }
}

#[cfg(test)]
mod cost {
    use super::*;

    /// What one session span costs at `info` (enabled) and `warn` (filtered
    /// out). Run with `cargo test --release -p slp-host --lib span_cost -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn span_cost() {
        for level in ["info", "warn"] {
            let subscriber = tracing_subscriber::fmt()
                .with_env_filter(EnvFilter::new(level))
                .with_writer(std::io::sink)
                .fmt_fields(SpanFields)
                .event_format(LineFormat { json: false })
                .finish();
            tracing::subscriber::with_default(subscriber, || {
                let n = 200_000u32;
                let t = std::time::Instant::now();
                for i in 0..n {
                    let span = tracing::info_span!(target: "slp", "session", dialogue = "d-123456", slp = "echo", hash = "5d41402a", instance = tracing::field::Empty);
                    span.record("instance", u64::from(i));
                    let _g = span.enter();
                }
                println!("{level}: {:?} per span", t.elapsed() / n);
            });
        }
    }
}
