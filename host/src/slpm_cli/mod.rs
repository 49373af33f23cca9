//! `slp-host slpm ...`: manage SLPs through the management API (spec §14.3)
//! from the command line. The address and bearer token come from the
//! configuration file (`[api] listen`, `api.token`) unless `--url` /
//! `--token` are given.
//!
//! Exit status: 0 on success, 1 when the API or the file system reports an
//! error (one line on stderr with the API's error code and message), 2 for
//! usage errors.

mod args;
mod client;
mod render;

use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;

use serde_json::Value;

use crate::cli::EXIT_USAGE;
use args::{Action, Args, Parsed};
use client::BaseUrl;

/// The help text of `slp-host slpm`.
pub fn usage() -> &'static str {
    "\
Usage: slp-host slpm [options] <action>

Manage the SLPs of a running server through its management API.

Actions:
  upload <name> <file.wasm>   validate, store and switch <name> to the component
  list                        loaded SLPs: hash, size, live instances, versions, health
  show <name>                 one SLP and each of its running versions
  delete <name>               stop selecting <name>; running instances finish
  rollback <name> <hash>      switch <name> back to a stored version (full 64-digit hash)

Options:
  -c, --config <file>  configuration file for [api] listen and api.token
                       (default: conf/slp-host.toml)
  --url <url>          API base URL instead of [api] listen, e.g. http://127.0.0.1:2539
  --token <token>      bearer token instead of api.token (empty: send none)
  --json               print the API's JSON answer instead of a table
  -h, --help           print this help

API plugins will get the same commands as `slp-host apim ...` when they exist.
Exit status: 0 success, 1 error (the API's message is printed), 2 usage error.
"
}

/// Runs `slp-host slpm` with the arguments after `slpm`.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let args = match args::parse(args) {
        Ok(Parsed::Help) => {
            print!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Run(a)) => a,
        Err(e) => {
            eprintln!("slp-host slpm: {e}\n\n{}", usage());
            return ExitCode::from(EXIT_USAGE as u8);
        }
    };
    match run(&args) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("slp-host slpm: {e}");
            ExitCode::from(1)
        }
    }
}

/// Performs the action; returns what to print.
fn run(args: &Args) -> Result<String, String> {
    let (base, token) = endpoint(args)?;
    let call = |method: &str, path: String, body: Option<(&str, &[u8])>, what: String| {
        let answer = client::request(&base, token.as_deref(), method, &path, body)?;
        let json: Value = serde_json::from_slice(&answer.body).map_err(|_| {
            let text = String::from_utf8_lossy(&answer.body);
            format!("{what}: HTTP {} with a body that is not JSON: {}", answer.status, text.trim())
        })?;
        if !(200..300).contains(&answer.status) {
            return Err(format!(
                "{what}: {}: {} (HTTP {})",
                json["error"].as_str().unwrap_or("error"),
                json["message"].as_str().unwrap_or(""),
                answer.status
            ));
        }
        Ok(json)
    };
    let (json, readable) = match &args.action {
        Action::Upload { name, file } => {
            let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let v = call(
                "POST",
                format!("/slpm/v1/{}", encode(name)),
                Some(("application/wasm", &bytes)),
                format!("upload {name}"),
            )?;
            let text = render::loaded(&v, "loaded");
            (v, text)
        }
        Action::List => {
            let v = call("GET", "/slpm/v1/slps".into(), None, "list".into())?;
            let text = render::list(&v);
            (v, text)
        }
        Action::Show { name } => {
            let v = call("GET", format!("/slpm/v1/{}", encode(name)), None, format!("show {name}"))?;
            let text = render::show(&v);
            (v, text)
        }
        Action::Delete { name } => {
            let v = call("DELETE", format!("/slpm/v1/{}", encode(name)), None, format!("delete {name}"))?;
            let text = render::deleted(&v);
            (v, text)
        }
        Action::Rollback { name, hash } => {
            let path = format!("/slpm/v1/{}?hash={hash}", encode(name));
            let v = call("POST", path, None, format!("rollback {name}"))?;
            let text = render::loaded(&v, "rolled back to");
            (v, text)
        }
    };
    Ok(if args.json { format!("{json}\n") } else { readable })
}

/// The API's base URL and token: the options, else the configuration.
fn endpoint(args: &Args) -> Result<(BaseUrl, Option<String>), String> {
    if let (Some(url), Some(token)) = (&args.url, &args.token) {
        return Ok((BaseUrl::parse(url)?, Some(token.clone()).filter(|t| !t.is_empty())));
    }
    let config = args.config.load().map_err(|e| e.to_string())?;
    let base = match &args.url {
        Some(url) => BaseUrl::parse(url)?,
        None => {
            let listen = config.api.listen.ok_or_else(|| {
                format!(
                    "api.listen is off in {}; give the API address with --url",
                    config.config_path.display()
                )
            })?;
            BaseUrl { authority: reachable(listen).to_string(), prefix: String::new() }
        }
    };
    let token = args.token.clone().or(config.api.token).filter(|t| !t.is_empty());
    Ok((base, token))
}

/// A listen address as a client reaches it: the wildcard means this host.
fn reachable(listen: SocketAddr) -> SocketAddr {
    match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), listen.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), listen.port()),
        _ => listen,
    }
}

/// Percent-encodes a path segment, so an odd name reaches the API intact and
/// gets its `invalid_name` answer instead of breaking the request line.
fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
