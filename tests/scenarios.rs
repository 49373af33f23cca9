//! Scenario scripts (docs/scenario-scripts.md): every script under
//! `slp-guests/<slp>/scenarios/` runs in isolation through the library, a few
//! also through `slp-host scenario` against a real server, and wrong scripts
//! must fail with the stage and the expected and received messages.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use slp_host::scenario::{self, Options, Report, Script};

fn scenarios_dir(slp: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../slp-guests").join(slp).join("scenarios")
}

/// The scripts of one example SLP, sorted by file name.
fn scripts_of(slp: &str) -> Vec<Script> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenarios_dir(slp))
        .expect("scenarios directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{slp} has scenario scripts");
    files.iter().map(|f| Script::load(f).unwrap_or_else(|e| panic!("{e}"))).collect()
}

fn isolated(slp: &str, scripts: &[Script]) -> Report {
    scenario::run_isolated(&common::guest(slp), scripts, &Options::default())
}

fn assert_passed(report: &Report) {
    assert!(report.passed(), "\n{report}");
}

#[test]
fn echo_scripts_pass_in_isolation() {
    let scripts = scripts_of("echo");
    let report = isolated("echo", &scripts);
    assert_eq!(report.scripts.len(), scripts.len());
    assert_passed(&report);
}

#[test]
fn versioned_scripts_pass_in_isolation() {
    assert_passed(&isolated("versioned", &scripts_of("versioned")));
}

#[test]
fn hostile_scripts_pass_in_isolation() {
    // A debug build of the host makes each host call slow: 5000 timer
    // attempts can take longer than the default 50 ms deadline. The loop
    // script still hits this one, without the test depending on machine speed.
    let options =
        Options { config_toml: Some("[slps.default]\ncpu_deadline = \"2s\"\n".into()), ..Options::default() };
    assert_passed(&scenario::run_isolated(&common::guest("hostile"), &scripts_of("hostile"), &options));
}

/// One script per case of spec §16.3, the 30 s, 60 s, 80 s and 600 s timers
/// included (on virtual time).
#[test]
fn conformance_has_a_passing_script_per_case() {
    let scripts = scripts_of("conformance");
    let cases = [
        "unknown case",
        "Recv_MESSAGE",
        "Recv_INVITE ",
        "Recv_INVITE_Timeout",
        "Recv_MESSAGE_Timeout",
        "Recv_INVITE_Session_Timeout",
        "Recv_CANCEL",
        "Send_Error_Msg",
        "Send_BYE_481",
        "Send_ACK_No_Session",
        "Send_CANCEL_No_Session",
        "Send_Resp_No_Session",
        "Send_UPDATE_No_Session",
        "Send_MESSAGE ",
        "Send_MESSAGE_Timeout",
        "Send_INVITE ",
        "Send_INVITE_Timeout",
        "Send_INVITE_Session_Timeout",
        "Send_CANCEL ",
    ];
    for case in cases {
        assert!(
            scripts.iter().any(|s| s.name.contains(case)),
            "no script for case {case:?}: {:?}",
            scripts.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
    }
    assert_passed(&isolated("conformance", &scripts));
}

/// An rtest script as gortc users wrote them: an array of send/recv stages,
/// "timeout" as a Go duration, rtest's `vars` capture and use.
#[test]
fn gortc_rtest_scripts_run_unchanged() {
    let text = r#"[

{
    "type": "send",
    "value": {
        "Type": "MESSAGE",
        "Request-URI": "Send_MESSAGE",
        "From": "Alex@gortc.com",
        "To": "room:test1@gortc.com",
        "DialogueID": "aaa1",
        "P-Asserted-Identity": "Alex@gortc.com",
        "CSeq": 1
    },
    "timeout": "1s"
},

{
    "type": "recv",
    "value": {
        "CSeq": 1,
        "Code": 200
    },
    "timeout": "1s"
},

{
    "type": "recv",
    "value": {
        "Type": "MESSAGE",
        "Request-URI": "Alex@gortc.com",
        "From": "SendMessage",
        "To": "Alex@gortc.com"
    },
    "vars": {
        "$cseq": "CSeq",
        "$dlg": "DialogueID"
    }
},

{
    "type": "send",
    "value": {
        "Type": "RESPONSE",
        "Code": 200,
        "From": "SendMessage",
        "To": "Alex@gortc.com"
    },
    "vars": {
        "CSeq": "$cseq",
        "DialogueID": "$dlg"
    }
}

]
"#;
    let script = Script::parse("usera_send_message", text).expect("an rtest script parses");
    let options = Options { userid: "Alex@gortc.com".into(), ..Options::default() };
    let report = scenario::run_isolated(&common::guest("conformance"), &[script], &options);
    assert_passed(&report);
}

/// A script that expects the wrong thing fails, naming the stage and showing
/// the expected and received messages side by side.
#[test]
fn wrong_scripts_fail_with_stage_and_side_by_side() {
    let wrong_code = Script::parse(
        "wrong_code.json",
        r#"[{"type":"send","value":{"Type":"MESSAGE","Request-URI":"svc","From":"alice","To":"svc",
                                   "DialogueID":"w1","CSeq":1}},
            {"type":"recv","value":{"Code":404},"timeout":"1s"}]"#,
    )
    .unwrap();
    let never = Script::parse("never.json", r#"[{"type":"recv","value":{"Type":"MESSAGE"},"timeout":"3s"}]"#)
        .unwrap();
    let not_silent = Script::parse(
        "not_silent.json",
        r#"[{"type":"send","value":{"Type":"OPTIONS","Request-URI":"svc","From":"alice","To":"svc",
                                   "DialogueID":"w2","CSeq":5}},
            {"type":"silence","timeout":"2s"}]"#,
    )
    .unwrap();
    let unknown_var = Script::parse(
        "unknown_var.json",
        r#"[{"type":"send","value":{"Type":"OPTIONS","Request-URI":"svc","From":"alice","To":"svc",
                                   "DialogueID":"${dlg}","CSeq":5}}]"#,
    )
    .unwrap();
    let report = isolated("echo", &[wrong_code, never, not_silent, unknown_var]);
    assert!(!report.passed());
    assert_eq!(report.failures().count(), 4, "\n{report}");
    let text = report.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "FAIL wrong_code.json: stage 1 (recv, peer main): Code: expected 404, received 200");
    assert_eq!(lines[1].split_whitespace().collect::<Vec<_>>(), ["expected", "|", "received"]);
    assert!(
        lines.iter().any(|l| l.contains("\"Code\": 404") && l.contains("| ") && !l.contains("\"Code\": 200")),
        "{text}"
    );
    assert!(lines.iter().any(|l| l.trim_start().starts_with('|') && l.contains("\"Code\": 200")), "{text}");
    assert!(
        text.contains("FAIL never.json: stage 0 (recv, peer main): nothing received within 3s"),
        "{text}"
    );
    assert!(
        text.contains(
            "FAIL not_silent.json: stage 1 (silence, peer main): expected nothing for 2s, received a message"
        ),
        "{text}"
    );
    assert!(
        text.contains("FAIL unknown_var.json: stage 0 (send, peer main): unknown variable ${dlg}"),
        "{text}"
    );
    let json = report.to_json();
    assert_eq!(json["scripts"][0]["stage"], 1);
    assert_eq!(json["scripts"][0]["received"]["Code"], 200);
}

/// Configuration reaches the isolated host: a 2 s session timer makes the
/// echo call end with a BYE after 2 s instead of 600 s.
#[test]
fn isolated_runs_take_the_configuration() {
    let script = Script::parse(
        "short_session.json",
        r#"[{"type":"send","value":{"Type":"INVITE","Request-URI":"svc","From":"alice","To":"svc",
                                   "DialogueID":"s1","CSeq":1}},
            {"type":"recv","value":{"Code":200,"CSeq":1}},
            {"type":"send","value":{"Type":"ACK","Request-URI":"svc","From":"alice","To":"svc",
                                   "DialogueID":"s1","CSeq":2,"RelatedID":1}},
            {"type":"silence","timeout":"1s"},
            {"type":"recv","value":{"Type":"BYE","DialogueID":"s1"},"timeout":"2s"}]"#,
    )
    .unwrap();
    let options =
        Options { config_toml: Some("[jsip]\nsession_timer = \"2s\"\n".into()), ..Options::default() };
    assert_passed(&scenario::run_isolated(&common::guest("echo"), std::slice::from_ref(&script), &options));
    // The default 600 s: nothing within 3 s.
    let report = scenario::run_isolated(&common::guest("echo"), &[script], &Options::default());
    assert!(report.to_string().contains("stage 4 (recv, peer main): nothing received within 2s"), "{report}");
}

#[test]
fn an_invalid_component_fails_every_script_with_the_reason() {
    let scripts = scripts_of("echo");
    let report = scenario::run_isolated(b"not a component", &scripts[..2], &Options::default());
    assert_eq!(report.failures().count(), 2, "{report}");
    for s in &report.scripts {
        let why = &s.failure.as_ref().expect("failed").why;
        assert!(why.starts_with("invalid component:"), "{why}");
    }
}

fn slp_host(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_slp-host")).args(args).output().expect("slp-host runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn path_str(p: PathBuf) -> String {
    p.to_str().expect("UTF-8 path").to_owned()
}

fn guest_path(name: &str) -> String {
    path_str(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../target/guests/wasm32-wasip2/release/{name}.wasm")),
    )
}

/// `SLP_HOST_PERFMAP=1` (docs/writing-an-slp.md, "Profiling an SLP"): the
/// process writes a perf map naming the guest's compiled functions.
#[test]
fn perfmap_names_guest_functions_for_perf() {
    let message = path_str(scenarios_dir("echo").join("message.json"));
    let child = Command::new(env!("CARGO_BIN_EXE_slp-host"))
        .args(["test", &guest_path("echo"), &message])
        .env("SLP_HOST_PERFMAP", "1")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("slp-host runs");
    let map = PathBuf::from(format!("/tmp/perf-{}.map", child.id()));
    let status = child.wait_with_output().expect("slp-host ends").status;
    assert!(status.success(), "{status}");
    let text = std::fs::read_to_string(&map).unwrap_or_else(|e| panic!("{}: {e}", map.display()));
    let _ = std::fs::remove_file(&map);
    // One line per compiled function: start address, size, name (the
    // bundled guests are stripped, so the names are wasmtime's indices).
    let guest: Vec<&str> = text.lines().filter(|l| l.contains(" wasm[0]::function[")).collect();
    assert!(guest.len() > 10, "{text}");
    for line in guest {
        let fields: Vec<&str> = line.splitn(3, ' ').collect();
        let start = fields[0].strip_prefix("0x").map(|a| u64::from_str_radix(a, 16));
        assert!(matches!(start, Some(Ok(_))) && u64::from_str_radix(fields[1], 16).is_ok(), "{line}");
    }
}

#[test]
fn slp_host_test_command() {
    let message = path_str(scenarios_dir("echo").join("message.json"));
    let two = path_str(scenarios_dir("echo").join("two_peers.json"));
    let (code, out, err) = slp_host(&["test", &guest_path("echo"), &message, &two]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("PASS echo: MESSAGE gets 200\nPASS echo: two peers"), "{out}");
    assert!(out.contains("2 passed, 0 failed"), "{out}");

    let root = common::temp_root("scenario-cli");
    let wrong = root.join("wrong.json");
    std::fs::write(
        &wrong,
        r#"[{"type":"send","value":{"Type":"MESSAGE","Request-URI":"svc","From":"alice","To":"svc",
                                   "DialogueID":"w1","CSeq":1}},
            {"type":"recv","value":{"Code":486}}]"#,
    )
    .unwrap();
    let wrong = path_str(wrong);
    let (code, out, _) = slp_host(&["test", &guest_path("echo"), &message, &wrong]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("FAIL {wrong}: stage 1 (recv, peer main): Code: expected 486, received 200"))
    );
    assert!(out.contains("expected") && out.contains("| received"), "{out}");

    let (code, out, _) = slp_host(&["test", "--json", &guest_path("echo"), &wrong]);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&out).expect("--json prints JSON");
    assert_eq!((json["passed"].as_bool(), json["scripts"][0]["stage"].as_u64()), (Some(false), Some(1)));

    let bad = root.join("bad.json");
    std::fs::write(&bad, r#"[{"type":"recv","value":{},"timeout":"soon"}]"#).unwrap();
    let (code, out, _) = slp_host(&["test", &guest_path("echo"), &path_str(bad)]);
    assert_eq!(code, 1);
    assert!(out.contains("stage 0: timeout \"soon\" is not a duration"), "{out}");

    let (code, _, err) = slp_host(&["test", &guest_path("echo")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("usage: slp-host test"), "{err}");
}

/// The same scripts against a live server over real WebSockets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slp_host_scenario_against_a_live_server() {
    let (server, root) = common::start("scenario-live", "").await;
    let url = format!("ws://{}/rtc?userid=alice", server.rtc_addr);
    let echo = |f: &str| path_str(scenarios_dir("echo").join(f));
    let args = ["scenario", "--url", &url, &echo("message.json"), &echo("two_peers.json")];
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let (code, out, err) =
        tokio::task::spawn_blocking(move || slp_host(&args.iter().map(String::as_str).collect::<Vec<_>>()))
            .await
            .unwrap();
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("PASS echo: MESSAGE gets 200"), "{out}");

    // The conformance SLP as `default`: bob asks it to message alice.
    let (status, body) = common::upload(server.api_addr, "default", &common::guest("conformance")).await;
    assert_eq!(status, 201, "{body}");
    let script = path_str(scenarios_dir("conformance").join("send_message_to_another_peer.json"));
    let wrong = root.join("wrong.json");
    std::fs::write(
        &wrong,
        r#"[{"type":"send","value":{"Type":"MESSAGE","Request-URI":"Recv_MESSAGE","From":"alice","To":"svc",
                                   "DialogueID":"live-w1","CSeq":1}},
            {"type":"recv","value":{"Code":404},"timeout":"2s"}]"#,
    )
    .unwrap();
    let wrong = path_str(wrong);
    let url2 = url.clone();
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        slp_host(&["scenario", "--url", &url2, "--userid", "carol", &script, &wrong])
    })
    .await
    .unwrap();
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("PASS conformance: Send_MESSAGE asked by bob on behalf of alice reaches alice"),
        "{out}"
    );
    assert!(out.contains("stage 1 (recv, peer main): Code: expected 404, received 200"), "{out}");
    assert!(out.contains("\"Code\": 404") && out.contains("\"Code\": 200"), "{out}");

    let (code, _, err) = tokio::task::spawn_blocking(|| slp_host(&["scenario", "x.json"])).await.unwrap();
    assert_eq!(code, 2, "{err}");
    server.stop().await;
}
