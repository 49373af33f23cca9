//! The management API over real HTTP: uploads, validation errors, list,
//! delete, rollback by hash, and persistence across a restart.

mod common;

use common::{Client, api_json, guest, http, request, start, test_config, upload};
use serde_json::json;
use slp_host::server::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundled_slps_are_loaded_on_first_start() {
    let (server, _root) = start("bundled", "").await;
    let (status, list) = api_json(server.api_addr, "GET", "/slpm/v1/slps").await;
    assert_eq!(status, 200);
    let names: Vec<&str> =
        list["slps"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["conformance", "default"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_uploads_get_clear_errors_and_change_nothing() {
    let (server, _root) = start("invalid-uploads", "").await;
    let api = server.api_addr;
    let before = api_json(api, "GET", "/slpm/v1/default").await.1["hash"].clone();
    let (status, e) = upload(api, "default", b"definitely not wasm").await;
    assert_eq!(
        (status, e["error"].as_str(), e["message"].as_str()),
        (400, Some("invalid_component"), Some("not WebAssembly"))
    );
    let core_module = b"\0asm\x01\0\0\0";
    let (status, e) = upload(api, "default", core_module).await;
    assert_eq!((status, e["message"].as_str()), (400, Some("not a component (core module)")));
    // A valid component that does not implement the `slp` world.
    let empty_component = b"\0asm\x0d\0\x01\0";
    let (status, e) = upload(api, "default", empty_component).await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_component")));
    assert!(e["message"].as_str().unwrap().contains("init"), "names the missing export: {e}");
    let (status, _, body) =
        http(api, "POST", "/slpm/v1/default", &[("Content-Type", "text/plain")], &guest("echo")).await;
    let e: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((status, e["error"].as_str()), (415, Some("unsupported_media_type")));
    let (status, e) = api_json(api, "POST", "/slpm/v1/default").await;
    assert_eq!((status, e["error"].as_str()), (400, Some("bad_request")));
    let (status, e) = api_json(api, "POST", &format!("/slpm/v1/default?hash={}", "0".repeat(64))).await;
    assert_eq!((status, e["error"].as_str()), (404, Some("unknown_hash")));
    let (status, e) = api_json(api, "POST", "/slpm/v1/x?file=../etc/passwd").await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_path")));
    let (status, e) = upload(api, "bad%21name", &guest("echo")).await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_name")));
    let (status, e) = upload(api, "slps", &guest("echo")).await;
    assert_eq!((status, e["error"].as_str()), (400, Some("invalid_name")));
    assert_eq!(
        api_json(api, "GET", "/slpm/v1/default").await.1["hash"],
        before,
        "the previous version keeps serving"
    );
    let (status, e) = api_json(api, "DELETE", "/slpm/v1/nope").await;
    assert_eq!((status, e["error"].as_str()), (404, Some("not_found")));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_replace_rollback_delete_and_restart() {
    let root = common::temp_root("lifecycle");
    let server = Server::start(test_config(&root, "")).await.expect("starts");
    let api = server.api_addr;
    let echo_hash = api_json(api, "GET", "/slpm/v1/default").await.1["hash"].as_str().unwrap().to_owned();
    // Replace `default` with the conformance SLP.
    let (status, r) = upload(api, "default", &guest("conformance")).await;
    assert_eq!(status, 201, "{r}");
    assert_eq!((r["changed"].as_bool(), r["previous_hash"].as_str()), (Some(true), Some(echo_hash.as_str())));
    let conformance_hash = r["hash"].as_str().unwrap().to_owned();
    assert_eq!(r["on_load"], "ended", "the conformance on-load instance logs and returns");
    // New sessions use it at once: an unknown case answers 404.
    let mut c = Client::connect(server.rtc_addr, "ann").await;
    c.send(request("MESSAGE", "whatever", "ann", "svc", "v-1", 1)).await;
    assert_eq!(c.recv().await["Code"], 404);
    // The same bytes again: 201, unchanged.
    let (status, r) = upload(api, "default", &guest("conformance")).await;
    assert_eq!((status, r["changed"].as_bool()), (201, Some(false)));
    // Roll back by hash.
    let (status, r) = api_json(api, "POST", &format!("/slpm/v1/default?hash={echo_hash}")).await;
    assert_eq!((status, r["hash"].as_str()), (201, Some(echo_hash.as_str())));
    c.send(request("MESSAGE", "whatever", "ann", "svc", "v-2", 1)).await;
    assert_eq!(c.recv().await["Code"], 200);
    // ?file= loads a file from slp.module_dir (gortc compatibility).
    std::fs::create_dir_all(root.join("modules/sub")).unwrap();
    std::fs::write(root.join("modules/sub/echo.wasm"), guest("echo")).unwrap();
    let (status, r) = api_json(api, "POST", "/slpm/v1/fromfile?file=sub/echo.wasm").await;
    assert_eq!((status, r["hash"].as_str()), (201, Some(echo_hash.as_str())));
    let (status, r) = api_json(api, "POST", "/slpm/v1/fromfile?file=missing.wasm").await;
    assert_eq!((status, r["error"].as_str()), (400, Some("file_error")));
    assert_eq!(api_json(api, "DELETE", "/slpm/v1/fromfile").await.0, 200);
    // Load under a new name, delete another.
    assert_eq!(upload(api, "extra", &guest("echo")).await.0, 201);
    let (status, r) = api_json(api, "DELETE", "/slpm/v1/conformance").await;
    assert_eq!((status, r), (200, json!({"name":"conformance","hash":conformance_hash,"deleted":true})));
    server.stop().await;

    // Names and versions survive a restart.
    let server = Server::start(test_config(&root, "")).await.expect("restarts");
    let (_, list) = api_json(server.api_addr, "GET", "/slpm/v1/slps").await;
    let names: Vec<(&str, &str)> = list["slps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e["hash"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [("default", echo_hash.as_str()), ("extra", echo_hash.as_str())]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_sessions_finish_on_their_version_while_new_ones_use_the_new_one() {
    let (server, _root) = start("pinning", "").await;
    let api = server.api_addr;
    let old_hash = api_json(api, "GET", "/slpm/v1/default").await.1["hash"].as_str().unwrap().to_owned();
    // A call on the current version (echo) stays up.
    let mut caller = Client::connect(server.rtc_addr, "pin-a").await;
    caller.send(request("INVITE", "svc", "pin-a", "svc", "pin-1", 1)).await;
    assert_eq!(caller.recv().await["Code"], 200);
    let mut ack = request("ACK", "svc", "pin-a", "svc", "pin-1", 2);
    ack["RelatedID"] = json!(1);
    caller.send(ack).await;
    // Replace `default` with the conformance SLP.
    let (status, r) = upload(api, "default", &guest("conformance")).await;
    assert_eq!(status, 201, "{r}");
    let new_hash = r["hash"].as_str().unwrap().to_owned();
    // New sessions use the new version at once.
    let mut other = Client::connect(server.rtc_addr, "pin-b").await;
    other.send(request("MESSAGE", "unknown-case", "pin-b", "svc", "pin-2", 1)).await;
    assert_eq!(other.recv().await["Code"], 404, "conformance answers unknown cases 404; echo would say 200");
    // Both versions are listed: the old one with its live instance.
    let (_, entry) = api_json(api, "GET", "/slpm/v1/default").await;
    let versions = entry["versions"].as_array().unwrap();
    let live = |hash: &str| {
        versions
            .iter()
            .find(|v| v["hash"] == hash)
            .map(|v| (v["current"].clone(), v["live_instances"].clone()))
    };
    assert_eq!(live(&old_hash), Some((json!(false), json!(1))), "{entry}");
    assert_eq!(live(&new_hash).map(|l| l.0), Some(json!(true)), "{entry}");
    // The old session still works on its version: a re-INVITE is answered by echo (200).
    caller.send(request("INVITE", "svc", "pin-a", "svc", "pin-1", 3)).await;
    assert_eq!(caller.recv().await["Code"], 200);
    caller.send(request("BYE", "svc", "pin-a", "svc", "pin-1", 4)).await;
    assert_eq!(caller.recv().await["CSeq"], 4);
    // When it ends, the old version is no longer listed.
    let mut gone = false;
    for _ in 0..50 {
        let (_, entry) = api_json(api, "GET", "/slpm/v1/default").await;
        if entry["versions"].as_array().unwrap().iter().all(|v| v["hash"] != old_hash.as_str()) {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(gone, "the old version's last instance ended");
    server.stop().await;
}
