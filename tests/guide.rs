//! Runs every command of `docs/writing-an-slp.md`, so the guide cannot rot.
//!
//! Every ```sh block runs, in order, in one bash process started in an empty
//! temporary directory (so `cd` and variables carry over), with the
//! substitutions the guide's header comment lists: `SLP_HOST_REPO` is this
//! repository, the slp-host under test comes first on `PATH`, a block marked
//! `<!-- guide-test: skip ... -->` is not run, the ports 8080 and 2539 become
//! free ephemeral ports, and `CARGO_TARGET_DIR` is `target/guide` (shared by
//! runs, so only the first one compiles the SDK's dependencies).
//!
//! The code the guide shows is checked too: every ```rust block must appear in
//! `slp-guests/hunt/src/lib.rs`, and the ```json block must be the start of the
//! script it names.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest the whole guide may take (a cold `target/guide` compiles the SDK).
const LIMIT: Duration = Duration::from_secs(600);

struct Block {
    lang: String,
    text: String,
    /// Preceded by `<!-- guide-test: skip ... -->`.
    skip: bool,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().expect("repository root")
}

/// The fenced code blocks of a markdown text.
fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut lines = markdown.lines();
    let mut previous = "";
    while let Some(line) = lines.next() {
        if let Some(lang) = line.strip_prefix("```") {
            let mut text = String::new();
            for inner in lines.by_ref() {
                if inner.starts_with("```") {
                    break;
                }
                text.push_str(inner);
                text.push('\n');
            }
            out.push(Block {
                lang: lang.trim().to_owned(),
                text,
                skip: previous.starts_with("<!-- guide-test: skip"),
            });
        }
        if !line.trim().is_empty() {
            previous = line;
        }
    }
    out
}

/// Non-empty lines, trimmed: shown excerpts are dedented and may end in `// ...`.
fn code_lines(text: &str) -> Vec<&str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && *l != "// ...").collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn the_code_the_guide_shows_is_the_hunt_slp() {
    let repo = repo();
    let guide = std::fs::read_to_string(repo.join("docs/writing-an-slp.md")).expect("the guide");
    let source = std::fs::read_to_string(repo.join("slp-guests/hunt/src/lib.rs")).expect("hunt source");
    let source_lines = code_lines(&source);
    let all = blocks(&guide);
    let rust: Vec<&Block> = all.iter().filter(|b| b.lang == "rust").collect();
    assert!(rust.len() >= 5, "the guide walks through the code");
    for b in rust {
        let shown = code_lines(&b.text);
        assert!(
            source_lines.windows(shown.len()).any(|w| w == shown.as_slice()),
            "this excerpt is not in slp-guests/hunt/src/lib.rs any more:\n{}",
            b.text
        );
    }
    // The script excerpt: its name, peers and first stages are the file's.
    let json = all.iter().find(|b| b.lang == "json").expect("a script excerpt");
    let script: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo.join("slp-guests/hunt/scenarios/first_agent_answers.json")).unwrap(),
    )
    .unwrap();
    let shown: Vec<&str> = json.text.lines().collect();
    let member = |line: &str, name: &str| -> serde_json::Value {
        let value = line.trim().strip_prefix(&format!("\"{name}\": ")).expect("name, peers, stages in order");
        serde_json::from_str(value.trim_end_matches(',')).expect("JSON")
    };
    assert_eq!(member(shown[1], "name"), script["name"]);
    assert_eq!(member(shown[2], "peers"), script["peers"]);
    let stages: Vec<serde_json::Value> = shown[4..]
        .iter()
        .take_while(|l| l.trim() != "...")
        .map(|l| serde_json::from_str(l.trim().trim_end_matches(',')).expect("a stage per line"))
        .collect();
    assert!(!stages.is_empty());
    assert_eq!(stages.as_slice(), &script["stages"].as_array().unwrap()[..stages.len()]);
}

#[test]
fn every_command_in_the_guide_works() {
    let repo = repo();
    let guide = std::fs::read_to_string(repo.join("docs/writing-an-slp.md")).expect("the guide");
    let (rtc, api) = (free_port(), free_port());
    let mut script = String::from("set -euxo pipefail\n");
    let mut run = 0;
    for (i, b) in blocks(&guide).iter().enumerate() {
        if b.lang != "sh" || b.skip {
            continue;
        }
        run += 1;
        let text = b
            .text
            .lines()
            .filter(|l| !l.starts_with("export SLP_HOST_REPO="))
            .collect::<Vec<_>>()
            .join("\n")
            .replace("127.0.0.1:8080", &format!("127.0.0.1:{rtc}"))
            .replace("127.0.0.1:2539", &format!("127.0.0.1:{api}"));
        script.push_str(&format!(": guide block {i}\n{text}\n"));
    }
    assert!(run >= 10, "the guide's commands are marked sh");

    let work = std::env::temp_dir().join(format!("slp-host-guide-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_slp-host"));
    let path = format!("{}:{}", bin.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let (out, err) = (work.join("guide.out"), work.join("guide.err"));
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(&script)
        .current_dir(&work)
        .env("SLP_HOST_REPO", &repo)
        .env("PATH", path)
        .env("CARGO_TARGET_DIR", repo.join("target/guide"))
        .env("CARGO_NET_OFFLINE", "true")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap());
    // The outer cargo's jobserver and flags are not the guide reader's.
    for var in [
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
    ] {
        cmd.env_remove(var);
    }
    // Its own process group, so the background server is stopped even when a
    // command fails before the guide's own `slp-host -s stop`.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().expect("bash runs");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > LIMIT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    // SAFETY: kill(2) on the process group we created; no memory is involved.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGTERM) };
    let _ = child.wait();
    let stdout = std::fs::read_to_string(&out).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err).unwrap_or_default();
    let report = format!("--- stdout\n{stdout}\n--- stderr (last 60 lines)\n{}", tail(&stderr, 60));
    match status {
        Some(s) if s.success() => {}
        Some(s) => panic!("a command of the guide failed ({s}); the `+` lines show which\n{report}"),
        None => panic!("the guide took longer than {LIMIT:?}\n{report}"),
    }
    // What the reader is told to expect.
    assert!(stdout.contains("7 passed, 0 failed"), "slp-host test ran every script\n{report}");
    assert!(stdout.contains("2 passed, 0 failed"), "slp-host scenario ran both scripts live\n{report}");
    assert!(stdout.contains("hunt: rolled back to "), "{report}");
    let _ = std::fs::remove_dir_all(&work);
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
