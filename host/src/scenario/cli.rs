//! The `test` and `scenario` subcommands:
//!
//! ```text
//! slp-host test [--userid <id>] [--config <file>] [--json] [-v] <component.wasm> <script>...
//! slp-host scenario --url <ws url> [--userid <id>] [--json] [-v] <script>...
//! ```
//!
//! One line per script (`PASS <script>` / `FAIL <script>: …` with the expected
//! and received messages side by side); exit status 0 when all passed, 1
//! otherwise, 2 for usage errors.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use super::report::{Failure, Report, ScriptReport};
use super::script::Script;
use super::{DEFAULT_USERID, Options, live, local};
use crate::cli::EXIT_USAGE;

/// Usage of the two subcommands.
pub fn usage() -> &'static str {
    "usage: slp-host test [--userid <id>] [--config <file>] [--json] [-v] <component.wasm> <script>...\n\
     \x20      slp-host scenario --url <ws://host:port/rtc?userid=id> [--userid <id>] [--json] [-v] <script>...\n\
     \n\
     test      runs the component in-process against the scripted peers, on virtual time\n\
     scenario  runs the scripts against a live server over real WebSockets\n\
     script format: docs/scenario-scripts.md"
}

/// Parsed arguments.
#[derive(Debug, Default, PartialEq)]
struct Args {
    url: Option<String>,
    userid: Option<String>,
    config: Option<PathBuf>,
    json: bool,
    verbose: bool,
    help: bool,
    positional: Vec<String>,
}

fn parse(args: Vec<OsString>, allow_url: bool, allow_config: bool) -> Result<Args, String> {
    let mut out = Args::default();
    let mut it =
        args.into_iter().map(|a| a.into_string().map_err(|a| format!("argument {a:?} is not UTF-8")));
    while let Some(arg) = it.next() {
        let arg = arg?;
        let mut value = |name: &str| -> Result<String, String> {
            it.next().transpose()?.ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--url" if allow_url => out.url = Some(value("--url")?),
            "--userid" => out.userid = Some(value("--userid")?).filter(|u| !u.is_empty()),
            "--config" | "-c" if allow_config => out.config = Some(PathBuf::from(value("--config")?)),
            "--json" => out.json = true,
            "-v" | "--verbose" => out.verbose = true,
            "-h" | "--help" => out.help = true,
            "--" => {
                for rest in it.by_ref() {
                    out.positional.push(rest?);
                }
            }
            a if a.starts_with('-') && a.len() > 1 => return Err(format!("unknown option {a}")),
            _ => out.positional.push(arg),
        }
    }
    Ok(out)
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("slp-host: {message}\n\n{}", usage());
    ExitCode::from(EXIT_USAGE as u8)
}

/// The arguments, or what to exit with: a usage error, or success after `--help`.
fn parse_or_exit(args: Vec<OsString>, allow_url: bool, allow_config: bool) -> Result<Args, ExitCode> {
    let args = parse(args, allow_url, allow_config).map_err(|e| usage_error(&e))?;
    if args.help {
        println!("{}", usage());
        return Err(ExitCode::SUCCESS);
    }
    Ok(args)
}

/// `slp-host test …`
pub fn test_main(args: Vec<OsString>) -> ExitCode {
    let args = match parse_or_exit(args, false, true) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let Some((component, scripts)) = args.positional.split_first() else {
        return usage_error("test needs a component and at least one script");
    };
    if scripts.is_empty() {
        return usage_error("test needs at least one script");
    }
    let wasm = match std::fs::read(component) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("slp-host: cannot read {component}: {e}");
            return ExitCode::from(1);
        }
    };
    let config_toml = match &args.config {
        None => None,
        Some(p) => match std::fs::read_to_string(p) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("slp-host: cannot read {}: {e}", p.display());
                return ExitCode::from(1);
            }
        },
    };
    let options = Options {
        userid: args.userid.clone().unwrap_or_else(|| DEFAULT_USERID.to_owned()),
        config_toml,
        verbose: args.verbose,
    };
    let mut isolated = local::Isolated::new(&wasm, options);
    run_all(scripts, args.json, |script| Report { scripts: vec![isolated.run(script)] })
}

/// `slp-host scenario …`
pub fn scenario_main(args: Vec<OsString>) -> ExitCode {
    let args = match parse_or_exit(args, true, false) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let Some(url) = args.url.clone() else { return usage_error("scenario needs --url ws://host:port/rtc") };
    if !(url.starts_with("ws://") || url.starts_with("wss://")) {
        return usage_error(&format!("--url {url:?}: expected a ws:// URL"));
    }
    if args.positional.is_empty() {
        return usage_error("scenario needs at least one script");
    }
    let userid =
        args.userid.clone().or_else(|| live::userid_of(&url)).unwrap_or_else(|| DEFAULT_USERID.to_owned());
    let options = Options { userid, config_toml: None, verbose: args.verbose };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("slp-host: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    run_all(&args.positional, args.json, |script| {
        runtime.block_on(live::run_live(&url, std::slice::from_ref(script), &options))
    })
}

/// Loads and runs each script, printing its result as soon as it is known
/// (or the whole report as JSON at the end).
fn run_all(files: &[String], json: bool, mut run: impl FnMut(&Script) -> Report) -> ExitCode {
    let mut all = Report::default();
    for file in files {
        let report = match Script::load(file) {
            Ok(script) => run(&script),
            Err(e) => Report {
                scripts: vec![ScriptReport {
                    name: file.clone(),
                    failure: Some(Failure::setup(format!("invalid script: {e}"))),
                    transcript: Vec::new(),
                }],
            },
        };
        if !json {
            out(format_args!("{report}"));
        }
        all.scripts.extend(report.scripts);
    }
    if json {
        out(format_args!("{}\n", serde_json::to_string_pretty(&all.to_json()).unwrap_or_default()));
    } else if files.len() > 1 {
        let failed = all.failures().count();
        out(format_args!("{} passed, {failed} failed\n", all.scripts.len() - failed));
    }
    if all.passed() { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

/// Writes to stdout; a closed pipe (`slp-host test ... | head`) is not an
/// error worth a panic: the exit status still tells pass or fail.
fn out(text: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_fmt(text).and_then(|()| stdout.flush());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn options_and_positionals() {
        let a = parse(args(&["--userid", "bob", "-v", "x.wasm", "a.json", "--json"]), false, true).unwrap();
        assert_eq!(a.userid.as_deref(), Some("bob"));
        assert!(a.verbose && a.json);
        assert_eq!(a.positional, vec!["x.wasm", "a.json"]);
        assert_eq!(parse(args(&["--url", "ws://x"]), false, true).unwrap_err(), "unknown option --url");
        assert_eq!(parse(args(&["--config"]), false, true).unwrap_err(), "--config needs a value");
        assert_eq!(parse(args(&["--config", "c.toml"]), true, false).unwrap_err(), "unknown option --config");
        let a = parse(args(&["--", "-odd.json"]), true, false).unwrap();
        assert_eq!(a.positional, vec!["-odd.json"]);
    }
}
