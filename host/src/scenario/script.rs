//! Parsing scenario scripts (docs/scenario-scripts.md): gortc rtest's array
//! of `send`/`recv` stages, and the object form with named peers.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;

/// How long a `recv` waits when its stage names no `timeout`.
pub const DEFAULT_RECV_TIMEOUT: Duration = Duration::from_secs(10);

/// The peer name of scripts that declare no peers.
pub const MAIN_PEER: &str = "main";

/// A parsed script.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    /// Shown in reports: the `name` member, else the file name.
    pub name: String,
    /// The peers, in document order; stages refer to them by index.
    pub peers: Vec<PeerSpec>,
    /// The stages, in order.
    pub stages: Vec<Stage>,
}

/// One scripted peer.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerSpec {
    /// Its name in the script.
    pub name: String,
    /// Its userid; `None`: the one given to the runner (command line).
    pub userid: Option<String>,
}

/// One stage.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// Index of the peer it acts on.
    pub peer: usize,
    pub action: Action,
}

/// What a stage does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Wait `delay`, then send `value` with the `set` members taken from variables.
    Send { value: Value, delay: Duration, set: Vec<(String, String)> },
    /// The peer's next message must match `expect` within `timeout`; then
    /// `capture` stores (variable, member) values.
    Recv { expect: Value, timeout: Duration, capture: Vec<(String, String)> },
    /// Let time pass.
    Sleep(Duration),
    /// Nothing may arrive on the peer for this long.
    Silence(Duration),
}

impl Action {
    /// The stage type as written in scripts.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Send { .. } => "send",
            Action::Recv { .. } => "recv",
            Action::Sleep(_) => "sleep",
            Action::Silence(_) => "silence",
        }
    }
}

/// A script that cannot be used: file, stage (when one is at fault) and problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    pub file: String,
    pub stage: Option<usize>,
    pub message: String,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.stage {
            Some(n) => write!(f, "{}: stage {n}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ScriptError {}

impl Script {
    /// Reads and parses a script file.
    pub fn load(path: impl AsRef<Path>) -> Result<Script, ScriptError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ScriptError {
            file: file.clone(),
            stage: None,
            message: format!("cannot read: {e}"),
        })?;
        Script::parse(&file, &text)
    }

    /// Parses a script; `file` names it in errors and is its default name.
    pub fn parse(file: &str, text: &str) -> Result<Script, ScriptError> {
        let err = |stage, message: String| ScriptError { file: file.to_owned(), stage, message };
        let doc: Value = serde_json::from_str(text).map_err(|e| err(None, format!("not valid JSON: {e}")))?;
        match doc {
            Value::Array(stages) => {
                let peers = vec![PeerSpec { name: MAIN_PEER.to_owned(), userid: None }];
                let stages = parse_stages(&stages, &peers).map_err(|(i, m)| err(Some(i), m))?;
                Ok(Script { name: file.to_owned(), peers, stages })
            }
            Value::Object(_) => {
                // Parsed again with serde, which keeps the document order of `peers`.
                let top: TopLevel = serde_json::from_str(text).map_err(|e| err(None, e.to_string()))?;
                let peers = match top.peers {
                    None => vec![PeerSpec { name: MAIN_PEER.to_owned(), userid: None }],
                    Some(Ordered(list)) if list.is_empty() => {
                        return Err(err(None, "\"peers\" is empty".into()));
                    }
                    Some(Ordered(list)) => list
                        .into_iter()
                        .map(|(name, v)| peer_spec(name, v))
                        .collect::<Result<_, _>>()
                        .map_err(|m| err(None, m))?,
                };
                let stages = parse_stages(&top.stages, &peers).map_err(|(i, m)| err(Some(i), m))?;
                Ok(Script { name: top.name.unwrap_or_else(|| file.to_owned()), peers, stages })
            }
            _ => Err(err(None, "a script is a JSON array of stages or an object with \"stages\"".into())),
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TopLevel {
    name: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    peers: Option<Ordered>,
    stages: Vec<Value>,
}

/// A JSON object's members in document order (serde_json's `Map` sorts them).
struct Ordered(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of peer name → {\"userid\": ...}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut out: Vec<(String, Value)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    if out.iter().any(|(n, _)| *n == k) {
                        return Err(serde::de::Error::custom(format!("peer {k:?} declared twice")));
                    }
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn peer_spec(name: String, v: Value) -> Result<PeerSpec, String> {
    if name.is_empty() || name.contains(['.', '$', '{', '}']) {
        return Err(format!("peer name {name:?}: use letters, digits, '-' or '_'"));
    }
    let Value::Object(mut m) = v else {
        return Err(format!("peer {name:?}: expected an object like {{\"userid\": \"...\"}}"));
    };
    let userid = match m.remove("userid") {
        None => name.clone(),
        Some(Value::String(s)) if !s.is_empty() => s,
        Some(other) => return Err(format!("peer {name:?}: userid must be a non-empty string, got {other}")),
    };
    if let Some(k) = m.keys().next() {
        return Err(format!("peer {name:?}: unknown member {k:?}"));
    }
    Ok(PeerSpec { name, userid: Some(userid) })
}

fn parse_stages(stages: &[Value], peers: &[PeerSpec]) -> Result<Vec<Stage>, (usize, String)> {
    stages.iter().enumerate().map(|(i, v)| parse_stage(v, peers).map_err(|m| (i, m))).collect()
}

fn parse_stage(v: &Value, peers: &[PeerSpec]) -> Result<Stage, String> {
    let Value::Object(m) = v else { return Err(format!("a stage is an object, got {v}")) };
    let kind = match m.get("type") {
        Some(Value::String(s)) => s.as_str(),
        Some(other) => return Err(format!("\"type\" must be a string, got {other}")),
        None => return Err("missing \"type\" (send, recv, sleep or silence)".into()),
    };
    let allowed: &[&str] = match kind {
        "send" | "recv" => &["type", "value", "timeout", "vars", "peer"],
        "sleep" => &["type", "timeout"],
        "silence" => &["type", "timeout", "peer"],
        other => return Err(format!("unknown type {other:?} (send, recv, sleep or silence)")),
    };
    if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!("unknown member {k:?} in a {kind} stage"));
    }
    let peer = match m.get("peer") {
        None => 0,
        Some(Value::String(p)) => peers
            .iter()
            .position(|s| s.name == *p)
            .ok_or_else(|| format!("unknown peer {p:?} (declared: {})", peer_names(peers)))?,
        Some(other) => return Err(format!("\"peer\" must be a string, got {other}")),
    };
    let timeout = match m.get("timeout") {
        None => None,
        Some(Value::String(s)) => {
            Some(parse_go_duration(s).ok_or_else(|| format!("timeout {s:?} is not a duration like \"1s\""))?)
        }
        Some(other) => return Err(format!("timeout must be a duration string like \"1s\", got {other}")),
    };
    let value = || match m.get("value") {
        Some(v @ Value::Object(_)) => Ok(v.clone()),
        Some(other) => Err(format!("\"value\" must be a JSON object, got {other}")),
        None => Err(format!("a {kind} stage needs a \"value\"")),
    };
    let vars = || -> Result<Vec<(String, String)>, String> {
        match m.get("vars") {
            None => Ok(Vec::new()),
            Some(Value::Object(vars)) => vars
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) if !s.is_empty() && !k.is_empty() => Ok((k.clone(), s.clone())),
                    _ => Err(format!("vars: {k:?} must map to a non-empty string, got {v}")),
                })
                .collect(),
            Some(other) => Err(format!("\"vars\" must be an object, got {other}")),
        }
    };
    let needs_timeout = || timeout.ok_or_else(|| format!("a {kind} stage needs a \"timeout\""));
    let action = match kind {
        "send" => Action::Send {
            value: value()?,
            delay: timeout.unwrap_or_default(),
            // {"member": "$var"}: the member gets the variable's value.
            set: vars()?.into_iter().map(|(member, var)| (member, var_name(&var).to_owned())).collect(),
        },
        "recv" => Action::Recv {
            expect: value()?,
            timeout: timeout.unwrap_or(DEFAULT_RECV_TIMEOUT),
            // {"$var": "member"}: the variable gets the received member.
            capture: vars()?.into_iter().map(|(var, member)| (var_name(&var).to_owned(), member)).collect(),
        },
        "sleep" => Action::Sleep(needs_timeout()?),
        _ => Action::Silence(needs_timeout()?),
    };
    Ok(Stage { peer, action })
}

fn peer_names(peers: &[PeerSpec]) -> String {
    peers.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
}

/// A variable name without rtest's leading `$`.
pub fn var_name(s: &str) -> &str {
    s.strip_prefix('$').unwrap_or(s)
}

/// Parses a Go `time.ParseDuration` string: `"300ms"`, `"1.5s"`, `"1m30s"`,
/// `"2h"`, `"0"`. Negative durations are refused.
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    let s = text.strip_prefix('+').unwrap_or(text);
    if s == "0" {
        return Some(Duration::ZERO);
    }
    if s.is_empty() {
        return None;
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let num = &rest[..num_len];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return None;
        }
        let n: f64 = num.parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let nanos = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += n * nanos;
    }
    if !total.is_finite() || total > u64::MAX as f64 {
        return None;
    }
    Some(Duration::from_nanos(total.round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        let ms = |n| Some(Duration::from_millis(n));
        assert_eq!(parse_go_duration("1s"), ms(1000));
        assert_eq!(parse_go_duration("300ms"), ms(300));
        assert_eq!(parse_go_duration("1.5s"), ms(1500));
        assert_eq!(parse_go_duration("1m30s"), ms(90_000));
        assert_eq!(parse_go_duration("2h"), ms(7_200_000));
        assert_eq!(parse_go_duration("0"), ms(0));
        assert_eq!(parse_go_duration("250us"), Some(Duration::from_micros(250)));
        assert_eq!(parse_go_duration("10ns"), Some(Duration::from_nanos(10)));
        for bad in ["", "1", "s", "1x", "-1s", "1..5s", ".s", "1s2"] {
            assert_eq!(parse_go_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn rtest_array_form() {
        let s = Script::parse(
            "t.json",
            r#"[{"type":"send","value":{"Type":"MESSAGE"},"timeout":"1s"},
                {"type":"recv","value":{"Code":200},"vars":{"$cseq":"CSeq"}},
                {"type":"send","value":{"Type":"RESPONSE"},"vars":{"CSeq":"$cseq"}}]"#,
        )
        .unwrap();
        assert_eq!(s.name, "t.json");
        assert_eq!(s.peers, vec![PeerSpec { name: "main".into(), userid: None }]);
        assert_eq!(
            s.stages[0].action,
            Action::Send {
                value: serde_json::json!({"Type":"MESSAGE"}),
                delay: Duration::from_secs(1),
                set: vec![]
            }
        );
        assert_eq!(
            s.stages[1].action,
            Action::Recv {
                expect: serde_json::json!({"Code":200}),
                timeout: DEFAULT_RECV_TIMEOUT,
                capture: vec![("cseq".into(), "CSeq".into())]
            }
        );
        let Action::Send { set, .. } = &s.stages[2].action else { panic!() };
        assert_eq!(set, &vec![("CSeq".to_owned(), "cseq".to_owned())]);
    }

    #[test]
    fn object_form_keeps_peer_order() {
        let s = Script::parse(
            "t.json",
            r#"{"name":"two","peers":{"zed":{"userid":"z@x"},"amy":{}},
                "stages":[{"type":"recv","value":{}},{"peer":"amy","type":"silence","timeout":"1s"},
                          {"type":"sleep","timeout":"600s"}]}"#,
        )
        .unwrap();
        assert_eq!(s.name, "two");
        assert_eq!(s.peers[0], PeerSpec { name: "zed".into(), userid: Some("z@x".into()) });
        assert_eq!(s.peers[1], PeerSpec { name: "amy".into(), userid: Some("amy".into()) });
        assert_eq!(s.stages[0].peer, 0);
        assert_eq!(s.stages[1].peer, 1);
        assert_eq!(s.stages[2].action, Action::Sleep(Duration::from_secs(600)));
    }

    #[test]
    fn errors_name_file_stage_and_problem() {
        let e = |text| Script::parse("f.json", text).unwrap_err().to_string();
        assert_eq!(e("{"), "f.json: not valid JSON: EOF while parsing an object at line 1 column 1");
        assert_eq!(e("3"), "f.json: a script is a JSON array of stages or an object with \"stages\"");
        assert_eq!(
            e(r#"[{"type":"send","value":{}},{"type":"recv"}]"#),
            "f.json: stage 1: a recv stage needs a \"value\""
        );
        assert_eq!(
            e(r#"[{"type":"wait","value":{}}]"#),
            "f.json: stage 0: unknown type \"wait\" (send, recv, sleep or silence)"
        );
        assert_eq!(
            e(r#"[{"type":"recv","value":{},"timeout":"soon"}]"#),
            "f.json: stage 0: timeout \"soon\" is not a duration like \"1s\""
        );
        assert_eq!(
            e(r#"[{"type":"recv","value":{},"tiemout":"1s"}]"#),
            "f.json: stage 0: unknown member \"tiemout\" in a recv stage"
        );
        assert_eq!(e(r#"[{"type":"sleep"}]"#), "f.json: stage 0: a sleep stage needs a \"timeout\"");
        assert_eq!(
            e(r#"{"peers":{"a":{}},"stages":[{"peer":"b","type":"sleep","timeout":"1s"}]}"#),
            "f.json: stage 0: unknown member \"peer\" in a sleep stage"
        );
        assert_eq!(
            e(r#"{"peers":{"a":{}},"stages":[{"peer":"b","type":"silence","timeout":"1s"}]}"#),
            "f.json: stage 0: unknown peer \"b\" (declared: a)"
        );
        assert!(e(r#"{"peers":{"a":{},"a":{}},"stages":[]}"#).contains("peer \"a\" declared twice"));
        assert!(e(r#"{"stages":[],"extra":1}"#).contains("unknown field `extra`"));
        assert_eq!(
            e(r#"{"peers":{"a":{"userid":3}},"stages":[]}"#),
            "f.json: peer \"a\": userid must be a non-empty string, got 3"
        );
    }
}
