//! The arguments of `slp-host slpm`: options may come before or after the
//! action word, so `slpm --json list` and `slpm list --json` both work.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::cli::ConfigArg;

/// What `slpm` should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Upload { name: String, file: PathBuf },
    List,
    Show { name: String },
    Delete { name: String },
    Rollback { name: String, hash: String },
}

/// A parsed `slpm` command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub config: ConfigArg,
    /// `--url`: the management API base URL, instead of `[api] listen`.
    pub url: Option<String>,
    /// `--token`: the bearer token, instead of `api.token`.
    pub token: Option<String>,
    /// `--json`: print the API's JSON instead of a table.
    pub json: bool,
    pub action: Action,
}

/// What the command line asks for: a run, or the help text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Run(Args),
    Help,
}

/// Parses the arguments after `slpm`. An `Err` is a usage error (exit 2).
pub fn parse(args: Vec<OsString>) -> Result<Parsed, String> {
    let mut config = None;
    let mut url = None;
    let mut token = None;
    let mut json = false;
    let mut words: Vec<OsString> = Vec::new();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let text = arg.to_string_lossy().into_owned();
        let (option, attached) = match text.split_once('=') {
            Some((o, v)) if o.starts_with("--") => (o.to_owned(), Some(OsString::from(v))),
            _ => (text.clone(), None),
        };
        // `--token ""` is allowed: it means "send no token".
        let mut value = |name: &str| -> Result<OsString, String> {
            match attached.clone().or_else(|| it.next()) {
                Some(v) if !v.is_empty() || name == "--token" => Ok(v),
                _ => Err(format!("option {name} requires a value")),
            }
        };
        match option.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--json" => json = true,
            "-c" | "--config" => config = Some(PathBuf::from(value("-c")?)),
            "--url" => url = Some(value("--url")?.to_string_lossy().into_owned()),
            "--token" => token = Some(value("--token")?.to_string_lossy().into_owned()),
            o if o.starts_with('-') && o.len() > 1 => return Err(format!("unknown option {o:?}")),
            _ => words.push(arg),
        }
    }
    let words: Vec<String> = words.into_iter().map(|w| w.to_string_lossy().into_owned()).collect();
    let action = action(&words)?;
    let config = match config {
        Some(path) => ConfigArg { path, explicit: true },
        None => ConfigArg::default(),
    };
    Ok(Parsed::Run(Args { config, url, token, json, action }))
}

fn action(words: &[String]) -> Result<Action, String> {
    let Some((verb, rest)) = words.split_first() else {
        return Err("missing action (upload, list, show, delete or rollback)".into());
    };
    let want = |n: usize, shape: &str| -> Result<(), String> {
        if rest.len() == n {
            Ok(())
        } else {
            Err(format!("usage: slp-host slpm {verb} {shape}").trim_end().to_owned())
        }
    };
    let action = match verb.as_str() {
        "upload" => {
            want(2, "<name> <file.wasm>")?;
            Action::Upload { name: rest[0].clone(), file: PathBuf::from(&rest[1]) }
        }
        "list" => {
            want(0, "")?;
            Action::List
        }
        "show" => {
            want(1, "<name>")?;
            Action::Show { name: rest[0].clone() }
        }
        "delete" => {
            want(1, "<name>")?;
            Action::Delete { name: rest[0].clone() }
        }
        "rollback" => {
            want(2, "<name> <hash>")?;
            let hash = rest[1].clone();
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                return Err(format!(
                    "rollback needs the full hash (64 lowercase hex digits, as printed by upload or `list --json`); got {hash:?}"
                ));
            }
            Action::Rollback { name: rest[0].clone(), hash }
        }
        other => {
            return Err(format!(
                "unknown action {other:?} (expected upload, list, show, delete or rollback)"
            ));
        }
    };
    Ok(action)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Parsed, String> {
        parse(args.iter().map(OsString::from).collect())
    }

    fn run(args: &[&str]) -> Args {
        match p(args) {
            Ok(Parsed::Run(a)) => a,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn options_go_before_or_after_the_action() {
        let a = run(&["--json", "list", "-c", "x.toml"]);
        assert_eq!((a.json, a.action, a.config.explicit), (true, Action::List, true));
        let a = run(&["upload", "hunt", "h.wasm", "--url=http://h:1", "--token", "t"]);
        assert_eq!(a.action, Action::Upload { name: "hunt".into(), file: "h.wasm".into() });
        assert_eq!((a.url.as_deref(), a.token.as_deref()), (Some("http://h:1"), Some("t")));
        assert!(!a.config.explicit);
        assert_eq!(p(&["list", "-h"]), Ok(Parsed::Help));
    }

    #[test]
    fn usage_errors_name_the_problem() {
        assert_eq!(p(&[]).unwrap_err(), "missing action (upload, list, show, delete or rollback)");
        assert_eq!(p(&["upload", "x"]).unwrap_err(), "usage: slp-host slpm upload <name> <file.wasm>");
        assert_eq!(p(&["list", "extra"]).unwrap_err(), "usage: slp-host slpm list");
        assert!(p(&["frob"]).unwrap_err().starts_with("unknown action \"frob\""));
        assert_eq!(p(&["list", "--bogus"]).unwrap_err(), "unknown option \"--bogus\"");
        assert_eq!(p(&["list", "--url"]).unwrap_err(), "option --url requires a value");
        assert!(p(&["rollback", "x", "abc"]).unwrap_err().contains("64 lowercase hex digits"));
        assert!(matches!(p(&["rollback", "x", &"a".repeat(64)]), Ok(Parsed::Run(_))));
    }
}
