//! Scenario scripts (docs/scenario-scripts.md): scripted WebSocket peers that
//! send JSIP messages and expect answers, for testing SLPs.
//!
//! | module     | job                                                          |
//! |------------|--------------------------------------------------------------|
//! | [`script`] | the format: parsing, Go durations, errors naming the stage   |
//! | [`matcher`]| subset matching of a received message                        |
//! | [`vars`]   | captured variables, built-ins, `${name}` substitution        |
//! | [`runner`] | plays stages over connected peers                            |
//! | [`report`] | PASS/FAIL lines, expected and received side by side, JSON    |
//! | [`local`]  | `slp-host test`: the real host in-process, virtual time      |
//! | [`live`]   | `slp-host scenario`: real WebSockets to a running server     |
//! | [`cli`]    | the two subcommands                                          |

pub mod cli;
pub mod live;
pub mod local;
pub mod matcher;
pub mod report;
pub mod runner;
pub mod script;
pub mod vars;

pub use local::{Isolated, run_isolated};
pub use report::{Failure, Report, ScriptReport};
pub use script::{Script, ScriptError};

/// The userid of single-peer scripts when none is given.
pub const DEFAULT_USERID: &str = "alice";

/// How to run scripts.
#[derive(Debug, Clone)]
pub struct Options {
    /// Userid of scripts that declare no peers (default `alice`).
    pub userid: String,
    /// Configuration (TOML text) for runs in isolation: its `[jsip]`,
    /// `[slp]`, `[slps.*]` and `[rtc]` limits apply; paths and listeners do not.
    pub config_toml: Option<String>,
    /// Record every message sent and received in the report.
    pub verbose: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { userid: DEFAULT_USERID.to_owned(), config_toml: None, verbose: false }
    }
}

/// The userids of a script's peers: declared ones, or `default` for a peer
/// without one; `${uniq}` in them is replaced by `uniq`.
pub fn userids(script: &Script, default: &str, uniq: &str) -> Vec<(String, String)> {
    script
        .peers
        .iter()
        .map(|p| {
            let userid = p.userid.as_deref().unwrap_or(default).replace("${uniq}", uniq);
            (p.name.clone(), userid)
        })
        .collect()
}
