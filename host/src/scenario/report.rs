//! Results of a run: one line per script, and for a failure the stage with
//! the expected and received messages side by side.

use std::fmt;

use serde_json::{Value, json};

/// The results of running scripts.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub scripts: Vec<ScriptReport>,
}

/// The result of one script.
#[derive(Debug, Clone)]
pub struct ScriptReport {
    /// The script's name.
    pub name: String,
    /// `None` when it passed.
    pub failure: Option<Failure>,
    /// Every message sent and received, when asked for (`-v`).
    pub transcript: Vec<String>,
}

/// Why a script failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The stage at fault, when one is (not for set-up problems).
    pub stage: Option<usize>,
    /// Its type (`send`, `recv`, …).
    pub kind: Option<&'static str>,
    /// Its peer.
    pub peer: Option<String>,
    /// One line saying what went wrong.
    pub why: String,
    /// What the stage expected (after substitution).
    pub expected: Option<Value>,
    /// What arrived instead.
    pub received: Option<Value>,
}

impl Failure {
    /// A failure before any stage ran (connecting, loading the component).
    pub fn setup(why: impl Into<String>) -> Failure {
        Failure { stage: None, kind: None, peer: None, why: why.into(), expected: None, received: None }
    }
}

impl Report {
    /// True when every script passed.
    pub fn passed(&self) -> bool {
        self.scripts.iter().all(|s| s.failure.is_none())
    }

    /// The scripts that failed.
    pub fn failures(&self) -> impl Iterator<Item = &ScriptReport> {
        self.scripts.iter().filter(|s| s.failure.is_some())
    }

    /// The report as JSON (`--json`).
    pub fn to_json(&self) -> Value {
        let scripts: Vec<Value> = self
            .scripts
            .iter()
            .map(|s| {
                let mut v = json!({"name": s.name, "passed": s.failure.is_none()});
                if let Some(f) = &s.failure {
                    v["stage"] = json!(f.stage);
                    v["type"] = json!(f.kind);
                    v["peer"] = json!(f.peer);
                    v["why"] = json!(f.why);
                    v["expected"] = f.expected.clone().unwrap_or(Value::Null);
                    v["received"] = f.received.clone().unwrap_or(Value::Null);
                }
                if !s.transcript.is_empty() {
                    v["transcript"] = json!(s.transcript);
                }
                v
            })
            .collect();
        json!({"passed": self.passed(), "scripts": scripts})
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.scripts {
            write!(f, "{s}")?;
        }
        Ok(())
    }
}

impl fmt::Display for ScriptReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.transcript {
            writeln!(f, "  {line}")?;
        }
        let Some(failure) = &self.failure else { return writeln!(f, "PASS {}", self.name) };
        write!(f, "FAIL {}: ", self.name)?;
        if let Some(n) = failure.stage {
            write!(f, "stage {n}")?;
            match (failure.kind, &failure.peer) {
                (Some(k), Some(p)) => write!(f, " ({k}, peer {p})")?,
                (Some(k), None) => write!(f, " ({k})")?,
                _ => {}
            }
            write!(f, ": ")?;
        }
        writeln!(f, "{}", failure.why)?;
        if failure.expected.is_some() || failure.received.is_some() {
            f.write_str(&side_by_side(failure.expected.as_ref(), failure.received.as_ref()))?;
        }
        Ok(())
    }
}

/// Two pretty-printed JSON values in columns, indented by two spaces.
pub fn side_by_side(expected: Option<&Value>, received: Option<&Value>) -> String {
    let lines = |v: Option<&Value>, none: &str| -> Vec<String> {
        match v {
            Some(v) => {
                serde_json::to_string_pretty(v).unwrap_or_default().lines().map(str::to_owned).collect()
            }
            None => vec![none.to_owned()],
        }
    };
    let left = lines(expected, "(nothing)");
    let right = lines(received, "(nothing)");
    let width = left.iter().map(|l| l.chars().count()).max().unwrap_or(0).max("expected".len());
    let mut out = format!("  {:<width$} | received\n", "expected");
    for i in 0..left.len().max(right.len()) {
        let l = left.get(i).map_or("", String::as_str);
        let r = right.get(i).map_or("", String::as_str);
        let line = format!("  {l:<width$} | {r}");
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_lines_and_columns() {
        let report = Report {
            scripts: vec![
                ScriptReport { name: "ok.json".into(), failure: None, transcript: vec![] },
                ScriptReport {
                    name: "bad.json".into(),
                    failure: Some(Failure {
                        stage: Some(1),
                        kind: Some("recv"),
                        peer: Some("main".into()),
                        why: "Code: expected 404, received 200".into(),
                        expected: Some(json!({"Code": 404})),
                        received: Some(json!({"CSeq": 1, "Code": 200})),
                    }),
                    transcript: vec![],
                },
            ],
        };
        assert!(!report.passed());
        let lines = [
            "PASS ok.json",
            "FAIL bad.json: stage 1 (recv, peer main): Code: expected 404, received 200",
            "  expected      | received",
            "  {             | {",
            "    \"Code\": 404 |   \"CSeq\": 1,",
            "  }             |   \"Code\": 200",
            "                | }",
        ];
        assert_eq!(report.to_string(), lines.join("\n") + "\n");
        let j = report.to_json();
        assert_eq!(j["passed"], false);
        assert_eq!(j["scripts"][1]["stage"], 1);
        assert_eq!(j["scripts"][1]["received"]["Code"], 200);
    }
}
