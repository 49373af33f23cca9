//! `slp-host slpm ...`: the real binary against a real server, with and
//! without a bearer token: upload, list (table and --json), show, rollback
//! by hash, delete, and the error paths (unknown name, bad file, bad token,
//! no server, usage).

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{api_json, start};
use serde_json::Value;

/// What a run of the binary printed.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `slp-host slpm <args>` off the runtime's worker threads.
async fn slpm(args: &[&str]) -> Run {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_slp-host")).arg("slpm").args(&args).output().expect("binary runs")
    })
    .await
    .expect("join");
    Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn guest_file(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/guests/wasm32-wasip2/release")
        .join(format!("{name}.wasm"));
    p.to_string_lossy().into_owned()
}

fn ok(r: &Run) -> &str {
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    &r.stdout
}

fn failed(r: &Run, code: i32) -> &str {
    assert_eq!(r.code, code, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(r.stdout.is_empty(), "nothing on stdout when failing: {}", r.stdout);
    &r.stderr
}

/// A configuration file a user would have: the API address and maybe a token.
fn write_config(dir: &Path, api: SocketAddr, token: Option<&str>) -> String {
    let path = dir.join("conf/cli.toml");
    let token = token.map(|t| format!("token = \"{t}\"\n")).unwrap_or_default();
    std::fs::write(&path, format!("[api]\nlisten = \"{api}\"\n{token}")).unwrap();
    path.to_string_lossy().into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manage_slps_without_a_token() {
    let (server, root) = start("slpm-cli", "").await;
    let url = format!("http://{}", server.api_addr);
    let conf = write_config(&root, server.api_addr, None);

    // Upload, from the configuration's address.
    let r = slpm(&["-c", &conf, "upload", "svc", &guest_file("echo")]).await;
    let (_, entry) = api_json(server.api_addr, "GET", "/slpm/v1/svc").await;
    let echo_hash = entry["hash"].as_str().expect("svc is loaded").to_owned();
    assert!(ok(&r).starts_with(&format!("svc: loaded {echo_hash} (")), "{}", r.stdout);
    assert!(r.stdout.trim_end().ends_with("on-load instance ended"), "{}", r.stdout);

    // Replace it; the line names the previous version.
    let r = slpm(&["--url", &url, "upload", "svc", &guest_file("conformance")]).await;
    assert!(ok(&r).contains(&format!("replacing {}", &echo_hash[..12])), "{}", r.stdout);
    let conformance_hash =
        api_json(server.api_addr, "GET", "/slpm/v1/svc").await.1["hash"].as_str().unwrap().to_owned();
    assert_ne!(conformance_hash, echo_hash);

    // The table: a header and one row per name, with the short hash.
    let r = slpm(&["--url", &url, "list"]).await;
    let table = ok(&r);
    let mut lines = table.lines();
    assert!(lines.next().unwrap().starts_with("NAME "), "{table}");
    let row = table.lines().find(|l| l.starts_with("svc ")).unwrap_or_else(|| panic!("{table}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[1], &conformance_hash[..12], "{row}");
    assert!(table.lines().any(|l| l.starts_with("default ")), "{table}");

    // --json prints the API's own answer.
    let r = slpm(&["--url", &url, "--json", "list"]).await;
    let listed: Value = serde_json::from_str(ok(&r)).expect("JSON");
    let (_, direct) = api_json(server.api_addr, "GET", "/slpm/v1/slps").await;
    let names = |v: &Value| -> Vec<String> {
        v["slps"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(names(&listed), names(&direct));

    // Show one name.
    let r = slpm(&["--url", &url, "show", "svc"]).await;
    assert!(ok(&r).contains(&format!("hash:       {conformance_hash}")), "{}", r.stdout);

    // Roll back by hash.
    let r = slpm(&["--url", &url, "rollback", "svc", &echo_hash]).await;
    assert!(ok(&r).starts_with(&format!("svc: rolled back to {echo_hash}")), "{}", r.stdout);
    assert_eq!(api_json(server.api_addr, "GET", "/slpm/v1/svc").await.1["hash"], echo_hash.as_str());
    let r = slpm(&["--url", &url, "rollback", "svc", &"0".repeat(64)]).await;
    assert!(failed(&r, 1).contains("unknown_hash"), "{}", r.stderr);

    // Delete, then the name is unknown.
    let r = slpm(&["--url", &url, "--json", "delete", "svc"]).await;
    let deleted: Value = serde_json::from_str(ok(&r)).unwrap();
    assert_eq!(
        (deleted["deleted"].as_bool(), deleted["hash"].as_str()),
        (Some(true), Some(echo_hash.as_str()))
    );
    let r = slpm(&["--url", &url, "delete", "svc"]).await;
    assert_eq!(
        failed(&r, 1).trim_end(),
        "slp-host slpm: delete svc: not_found: SLP svc is not loaded (HTTP 404)"
    );
    let r = slpm(&["--url", &url, "show", "svc"]).await;
    assert!(failed(&r, 1).contains("not_found"), "{}", r.stderr);

    // Bad files: missing, and not a component.
    let r = slpm(&["--url", &url, "upload", "svc", "/nonexistent/x.wasm"]).await;
    assert!(failed(&r, 1).starts_with("slp-host slpm: cannot read /nonexistent/x.wasm: "), "{}", r.stderr);
    let junk = root.join("junk.wasm");
    std::fs::write(&junk, b"definitely not wasm").unwrap();
    let r = slpm(&["--url", &url, "upload", "svc", junk.to_str().unwrap()]).await;
    assert_eq!(
        failed(&r, 1).trim_end(),
        "slp-host slpm: upload svc: invalid_component: not WebAssembly (HTTP 400)"
    );
    let r = slpm(&["--url", &url, "upload", "bad name", &guest_file("echo")]).await;
    assert!(failed(&r, 1).contains("invalid_name"), "{}", r.stderr);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_comes_from_the_configuration() {
    let (server, root) = start("slpm-cli-token", "[api]\ntoken = \"s3cret-token\"").await;
    let url = format!("http://{}", server.api_addr);

    // Address and token from the configuration file.
    let conf = write_config(&root, server.api_addr, Some("s3cret-token"));
    let r = slpm(&["-c", &conf, "upload", "svc", &guest_file("echo")]).await;
    assert!(ok(&r).starts_with("svc: loaded "), "{}", r.stdout);
    let r = slpm(&["list", "--config", &conf]).await;
    assert!(ok(&r).lines().any(|l| l.starts_with("svc ")), "{}", r.stdout);

    // --token wins over the file; a wrong one is refused with the API's words.
    let r = slpm(&["-c", &conf, "--token", "wrong", "list"]).await;
    assert_eq!(
        failed(&r, 1).trim_end(),
        "slp-host slpm: list: unauthorized: missing or invalid bearer token (HTTP 401)"
    );
    // A configuration without a token sends none.
    let plain = write_config(&root, server.api_addr, None);
    let r = slpm(&["-c", &plain, "delete", "svc"]).await;
    assert!(failed(&r, 1).contains("unauthorized"), "{}", r.stderr);
    // --url and --token need no configuration file at all.
    let r =
        slpm(&["-c", "/nonexistent/conf.toml", "--url", &url, "--token", "s3cret-token", "delete", "svc"])
            .await;
    assert!(ok(&r).starts_with("svc: deleted (was "), "{}", r.stdout);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_and_unreachable_servers() {
    let r = slpm(&["frobnicate"]).await;
    assert!(failed(&r, 2).starts_with("slp-host slpm: unknown action \"frobnicate\""), "{}", r.stderr);
    assert!(r.stderr.contains("Usage: slp-host slpm"), "{}", r.stderr);
    let r = slpm(&["upload", "only-a-name"]).await;
    assert!(failed(&r, 2).contains("usage: slp-host slpm upload <name> <file.wasm>"), "{}", r.stderr);
    let r = slpm(&["rollback", "x", "abc"]).await;
    assert!(failed(&r, 2).contains("64 lowercase hex digits"), "{}", r.stderr);

    let r = slpm(&["--help"]).await;
    assert!(ok(&r).contains("apim"), "help mentions the plugin commands: {}", r.stdout);

    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let r = slpm(&["--url", &url, "--token", "", "list"]).await;
    assert!(
        failed(&r, 1).starts_with(&format!("slp-host slpm: cannot reach the management API at {url}: ")),
        "{}",
        r.stderr
    );
    let r = slpm(&["-c", "/nonexistent/conf.toml", "list"]).await;
    assert!(failed(&r, 1).contains("/nonexistent/conf.toml"), "{}", r.stderr);
}
