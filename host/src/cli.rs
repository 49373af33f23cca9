//! Command line (spec §15.1):
//!
//! ```text
//! slp-host [-c <config file>] [-t] [-s stop|quit|reload|reopen] [-h]
//! ```
//!
//! [`parse`] turns the arguments (without `argv[0]`) into a [`Command`]. A
//! [`UsageError`] means: print it and [`usage`] to stderr, exit with status
//! [`EXIT_USAGE`] (2).
//!
//! A first argument that does not start with `-` is returned as
//! [`Command::Sub`] with the remaining arguments untouched, for subcommands
//! (management-API helpers and the like). The caller must answer an unknown
//! subcommand name like an extra argument: usage to stderr, exit 2.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use crate::config::{Config, ConfigError, DEFAULT_CONFIG_PATH};

/// Exit status for command-line usage errors.
pub const EXIT_USAGE: i32 = 2;

/// The configuration file to use, and whether it was named with `-c`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigArg {
    pub path: PathBuf,
    /// `true` when given with `-c`/`--config`: then a missing file is an
    /// error. The default location may be missing (defaults apply).
    pub explicit: bool,
}

impl Default for ConfigArg {
    fn default() -> Self {
        ConfigArg { path: PathBuf::from(DEFAULT_CONFIG_PATH), explicit: false }
    }
}

impl ConfigArg {
    /// Load the configuration: [`Config::load`] when explicit, else
    /// [`Config::load_or_default`].
    pub fn load(&self) -> Result<Config, ConfigError> {
        if self.explicit { Config::load(&self.path) } else { Config::load_or_default(&self.path) }
    }
}

/// The `-s` words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignalKind {
    /// Immediate stop: SIGTERM.
    Stop,
    /// Graceful stop: SIGQUIT.
    Quit,
    /// Reload the configuration: SIGHUP.
    Reload,
    /// Reopen the log files: SIGUSR1.
    Reopen,
}

impl SignalKind {
    pub fn parse(word: &str) -> Option<SignalKind> {
        match word {
            "stop" => Some(SignalKind::Stop),
            "quit" => Some(SignalKind::Quit),
            "reload" => Some(SignalKind::Reload),
            "reopen" => Some(SignalKind::Reopen),
            _ => None,
        }
    }

    /// The `-s` word.
    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::Stop => "stop",
            SignalKind::Quit => "quit",
            SignalKind::Reload => "reload",
            SignalKind::Reopen => "reopen",
        }
    }

    /// The signal sent.
    pub fn signal(self) -> libc::c_int {
        match self {
            SignalKind::Stop => libc::SIGTERM,
            SignalKind::Quit => libc::SIGQUIT,
            SignalKind::Reload => libc::SIGHUP,
            SignalKind::Reopen => libc::SIGUSR1,
        }
    }

    /// The signal's name, e.g. `SIGTERM`.
    pub fn signal_name(self) -> &'static str {
        match self {
            SignalKind::Stop => "SIGTERM",
            SignalKind::Quit => "SIGQUIT",
            SignalKind::Reload => "SIGHUP",
            SignalKind::Reopen => "SIGUSR1",
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the server (no `-t`, `-s` or `-h`).
    Run { config: ConfigArg },
    /// `-t`: validate the configuration; exit 0 when valid, 1 otherwise.
    Test { config: ConfigArg },
    /// `-s <word>`: signal the running server named by the pid file.
    Signal { config: ConfigArg, signal: SignalKind },
    /// `-h`: print [`usage`] to stdout, exit 0.
    Help,
    /// A first argument not starting with `-`: a subcommand, with the
    /// remaining arguments unparsed.
    Sub { name: String, args: Vec<OsString> },
}

/// A command-line error: print it (its `Display` has no `slp-host:` prefix)
/// and [`usage`] to stderr, exit 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError {
    pub message: String,
}

impl UsageError {
    fn new(message: impl Into<String>) -> Self {
        UsageError { message: message.into() }
    }

    /// Always [`EXIT_USAGE`].
    pub fn exit_code(&self) -> i32 {
        EXIT_USAGE
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UsageError {}

/// The usage text.
pub fn usage() -> &'static str {
    "\
Usage: slp-host [-c <config file>] [-t] [-s stop|quit|reload|reopen] [-h]

Options:
  -c, --config <file>  configuration file
                       (default: conf/slp-host.toml, relative to the working directory)
  -t, --test           validate the configuration and exit (0 = valid, 1 = invalid)
  -s <signal>          send a signal to the running server (pid read from pid_file) and exit:
                         stop    immediate stop (SIGTERM)
                         quit    graceful stop: drain, then exit (SIGQUIT)
                         reload  re-read the configuration file (SIGHUP)
                         reopen  reopen the server and access logs (SIGUSR1)
  -h, --help           print this help and exit

The server runs in the foreground; use a service manager to supervise it.

Commands (each has its own -h):
  slp-host slpm ...      manage the SLPs of a running server (upload, list, show, delete, rollback)
  slp-host test ...      run scenario scripts against a component in isolation, on virtual time
  slp-host scenario ...  run scenario scripts against a live server
"
}

/// Parse the arguments, without `argv[0]`.
pub fn parse<I, A>(args: I) -> Result<Command, UsageError>
where
    I: IntoIterator<Item = A>,
    A: Into<OsString>,
{
    let mut args = args.into_iter().map(Into::into).peekable();

    if let Some(first) = args.peek()
        && let Some(word) = first.to_str()
        && !word.is_empty()
        && !word.starts_with('-')
    {
        let name = word.to_string();
        args.next();
        return Ok(Command::Sub { name, args: args.collect() });
    }

    let mut config: Option<PathBuf> = None;
    let mut signal: Option<SignalKind> = None;
    let mut test = false;
    let mut help = false;

    while let Some(arg) = args.next() {
        let Some(text) = arg.to_str() else {
            return Err(UsageError::new(format!("extra argument {:?}", arg.to_string_lossy())));
        };
        // Split the option from an attached value: `-cFILE`, `--config=FILE`.
        let (option, attached): (&str, Option<OsString>) = if let Some(v) = text.strip_prefix("--config=") {
            ("--config", Some(v.into()))
        } else if let Some(v) = text.strip_prefix("--signal=") {
            ("--signal", Some(v.into()))
        } else if text.len() > 2 && (text.starts_with("-c") || text.starts_with("-s")) {
            (&text[..2], Some(text[2..].into()))
        } else {
            (text, None)
        };
        match option {
            "-h" | "--help" => help = true,
            "-t" | "--test" => test = true,
            "-c" | "--config" => {
                let value = match attached.or_else(|| args.next()) {
                    Some(v) if !v.is_empty() => v,
                    _ => return Err(UsageError::new(format!("option {option} requires a file name"))),
                };
                if config.replace(PathBuf::from(value)).is_some() {
                    return Err(UsageError::new("option -c given more than once"));
                }
            }
            "-s" | "--signal" => {
                let Some(value) = attached.or_else(|| args.next()) else {
                    return Err(UsageError::new(format!(
                        "option {option} requires one of stop, quit, reload, reopen"
                    )));
                };
                let word = value.to_string_lossy();
                let kind = SignalKind::parse(&word).ok_or_else(|| {
                    UsageError::new(format!(
                        "unknown signal {word:?} for -s (expected stop, quit, reload or reopen)"
                    ))
                })?;
                if signal.replace(kind).is_some() {
                    return Err(UsageError::new("option -s given more than once"));
                }
            }
            _ if text.starts_with('-') => {
                return Err(UsageError::new(format!("unknown option {text:?}")));
            }
            _ => return Err(UsageError::new(format!("extra argument {text:?}"))),
        }
    }

    if help {
        return Ok(Command::Help);
    }
    let config = match config {
        Some(path) => ConfigArg { path, explicit: true },
        None => ConfigArg::default(),
    };
    match (test, signal) {
        (true, Some(_)) => Err(UsageError::new("options -t and -s cannot be combined")),
        (true, None) => Ok(Command::Test { config }),
        (false, Some(signal)) => Ok(Command::Signal { config, signal }),
        (false, None) => Ok(Command::Run { config }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, UsageError> {
        parse(args.iter().copied())
    }

    fn explicit(path: &str) -> ConfigArg {
        ConfigArg { path: PathBuf::from(path), explicit: true }
    }

    fn usage_err(args: &[&str]) -> String {
        let e = p(args).expect_err("expected a usage error");
        assert_eq!(e.exit_code(), 2);
        e.to_string()
    }

    #[test]
    fn no_arguments_runs_with_default_config() {
        assert_eq!(
            p(&[]),
            Ok(Command::Run {
                config: ConfigArg { path: PathBuf::from("conf/slp-host.toml"), explicit: false }
            })
        );
    }

    #[test]
    fn config_option_forms() {
        for args in [
            &["-c", "/etc/x.toml"][..],
            &["-c/etc/x.toml"],
            &["--config", "/etc/x.toml"],
            &["--config=/etc/x.toml"],
        ] {
            assert_eq!(p(args), Ok(Command::Run { config: explicit("/etc/x.toml") }), "{args:?}");
        }
        // getopt style: the next argument is the value even if it looks like an option.
        assert_eq!(p(&["-c", "-t"]), Ok(Command::Run { config: explicit("-t") }));
        // Naming the default path explicitly still makes it explicit.
        assert_eq!(
            p(&["-c", "conf/slp-host.toml"]),
            Ok(Command::Run { config: explicit("conf/slp-host.toml") })
        );
    }

    #[test]
    fn test_option() {
        assert_eq!(p(&["-t"]), Ok(Command::Test { config: ConfigArg::default() }));
        assert_eq!(p(&["--test", "-c", "a.toml"]), Ok(Command::Test { config: explicit("a.toml") }));
        assert_eq!(p(&["-c", "a.toml", "-t", "-t"]), Ok(Command::Test { config: explicit("a.toml") }));
    }

    #[test]
    fn signal_option() {
        for (word, kind, sig, name) in [
            ("stop", SignalKind::Stop, libc::SIGTERM, "SIGTERM"),
            ("quit", SignalKind::Quit, libc::SIGQUIT, "SIGQUIT"),
            ("reload", SignalKind::Reload, libc::SIGHUP, "SIGHUP"),
            ("reopen", SignalKind::Reopen, libc::SIGUSR1, "SIGUSR1"),
        ] {
            assert_eq!(p(&["-s", word]), Ok(Command::Signal { config: ConfigArg::default(), signal: kind }));
            assert_eq!(kind.as_str(), word);
            assert_eq!(kind.signal(), sig);
            assert_eq!(kind.signal_name(), name);
        }
        assert_eq!(
            p(&["-squit", "-c", "x.toml"]),
            Ok(Command::Signal { config: explicit("x.toml"), signal: SignalKind::Quit })
        );
        assert_eq!(
            p(&["--signal=reload"]),
            Ok(Command::Signal { config: ConfigArg::default(), signal: SignalKind::Reload })
        );
    }

    #[test]
    fn help_wins_over_other_valid_options() {
        assert_eq!(p(&["-h"]), Ok(Command::Help));
        assert_eq!(p(&["--help"]), Ok(Command::Help));
        assert_eq!(p(&["-t", "-h"]), Ok(Command::Help));
        assert_eq!(p(&["-c", "x", "-s", "stop", "-h"]), Ok(Command::Help));
        // …but not over a usage error.
        assert_eq!(usage_err(&["-h", "--bogus"]), r#"unknown option "--bogus""#);
    }

    #[test]
    fn usage_errors_exit_2() {
        assert_eq!(usage_err(&["-x"]), r#"unknown option "-x""#);
        assert_eq!(usage_err(&["-d"]), r#"unknown option "-d""#);
        assert_eq!(usage_err(&["-th"]), r#"unknown option "-th""#);
        assert_eq!(usage_err(&["--"]), r#"unknown option "--""#);
        assert_eq!(usage_err(&["-"]), r#"unknown option "-""#);
        assert_eq!(usage_err(&["-t", "extra"]), r#"extra argument "extra""#);
        assert_eq!(usage_err(&["-c", "a.toml", "b.toml"]), r#"extra argument "b.toml""#);
        assert_eq!(
            usage_err(&["-s", "restart"]),
            r#"unknown signal "restart" for -s (expected stop, quit, reload or reopen)"#
        );
        assert_eq!(
            usage_err(&["-s", "STOP"]),
            r#"unknown signal "STOP" for -s (expected stop, quit, reload or reopen)"#
        );
        assert_eq!(usage_err(&["-s"]), "option -s requires one of stop, quit, reload, reopen");
        assert_eq!(usage_err(&["-c"]), "option -c requires a file name");
        assert_eq!(usage_err(&["-c", ""]), "option -c requires a file name");
        assert_eq!(usage_err(&["--config="]), "option --config requires a file name");
        assert_eq!(usage_err(&["-c", "a", "-c", "b"]), "option -c given more than once");
        assert_eq!(usage_err(&["-s", "stop", "-s", "quit"]), "option -s given more than once");
        assert_eq!(usage_err(&["-t", "-s", "stop"]), "options -t and -s cannot be combined");
    }

    #[test]
    fn first_word_is_a_subcommand() {
        assert_eq!(
            p(&["slpm", "list", "-c", "x"]),
            Ok(Command::Sub { name: "slpm".into(), args: vec!["list".into(), "-c".into(), "x".into()] })
        );
        assert_eq!(p(&["test"]), Ok(Command::Sub { name: "test".into(), args: vec![] }));
        // Only in first position: after options it is an extra argument.
        assert_eq!(usage_err(&["-t", "slpm"]), r#"extra argument "slpm""#);
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_config_path_is_kept() {
        use std::os::unix::ffi::OsStringExt;
        let raw = OsString::from_vec(b"/tmp/\xffconf.toml".to_vec());
        let cmd = parse([OsString::from("-c"), raw.clone()]).unwrap();
        assert_eq!(
            cmd,
            Command::Run { config: ConfigArg { path: PathBuf::from(raw.clone()), explicit: true } }
        );
        // A non-UTF-8 word where an option is expected is an extra argument.
        assert_eq!(parse([raw]).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn usage_text_states_signal_semantics() {
        let u = usage();
        assert!(u.starts_with("Usage: slp-host [-c <config file>] [-t] [-s stop|quit|reload|reopen] [-h]\n"));
        assert!(u.contains("stop    immediate stop (SIGTERM)"), "{u}");
        assert!(u.contains("quit    graceful stop: drain, then exit (SIGQUIT)"), "{u}");
        assert!(u.contains("reload  re-read the configuration file (SIGHUP)"), "{u}");
        assert!(u.contains("reopen  reopen the server and access logs (SIGUSR1)"), "{u}");
        assert!(u.contains("conf/slp-host.toml"));
    }

    #[test]
    fn config_arg_load_respects_explicitness() {
        let dir = std::env::temp_dir().join(format!("slp-host-cli-test-{}", std::process::id()));
        let missing = dir.join("conf/none.toml");
        let implicit = ConfigArg { path: missing.clone(), explicit: false };
        let c = implicit.load().unwrap();
        assert_eq!(c.root, dir);
        assert!(c.warnings[0].ends_with("not found; using built-in defaults"), "{:?}", c.warnings);
        let explicit = ConfigArg { path: missing, explicit: true };
        assert!(matches!(explicit.load(), Err(ConfigError::Read { .. })));
    }
}
