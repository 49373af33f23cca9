//! `GET /runtime/v1/state` (spec §14.5) and `GET /metrics` (§14.7).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::json;
use crate::shared::Shared;
use crate::transport::registry::Status;

/// Query of `/runtime/v1/state`.
#[derive(serde::Deserialize)]
pub struct StateQuery {
    detail: Option<String>,
}

/// The runtime snapshot.
pub async fn state(State(shared): State<Arc<Shared>>, Query(q): Query<StateQuery>) -> Response {
    let (connected, lingering) = shared.registry.counts();
    let (dialogue_ids, relids) = shared.dispatch.sizes();
    let modules = &shared.modules;
    let instances: Vec<Value> = modules
        .all_versions()
        .into_iter()
        .filter(|v| {
            modules.current(&v.name).is_some_and(|c| Arc::ptr_eq(&c, v)) || v.live.load(Ordering::Relaxed) > 0
        })
        .map(|v| {
            json!({
                "slp": &*v.name,
                "hash": v.hash(),
                "current": modules.current(&v.name).is_some_and(|c| Arc::ptr_eq(&c, &v)),
                "live": v.live.load(Ordering::Relaxed),
                "on_load_alive": v.on_load_alive.load(Ordering::Relaxed),
            })
        })
        .collect();
    // Compiled code in memory, so an operator can see old versions go once
    // their last instance ends (their files stay in the store).
    let compiled: Vec<Value> = modules
        .compiled_in_memory()
        .into_iter()
        .map(|(hash, size)| json!({"hash": hash, "size": size}))
        .collect();
    let kv: Vec<Value> = shared
        .kv
        .sizes()
        .into_iter()
        .map(|(store, keys, bytes)| json!({"store": store, "keys": keys, "bytes": bytes}))
        .collect();
    let mut doc = json!({
        "uptime_s": shared.started.elapsed().as_secs(),
        "draining": shared.draining.load(Ordering::Relaxed),
        "endpoints": {
            "user": {"connected": connected, "lingering": lingering},
            "queued_messages": shared.registry.queued_messages(),
            "largest_queue": shared.registry.largest_queue(),
        },
        "sessions": shared.actors.load(Ordering::Relaxed),
        "bindings": {"dialogue_ids": dialogue_ids, "relids": relids},
        "instances": instances,
        "compiled": compiled,
        "kv": kv,
    });
    if q.detail.as_deref() == Some("1") {
        let list: Vec<Value> = shared
            .registry
            .list(1000)
            .into_iter()
            .map(|(name, status, remote, since, queue)| {
                json!({
                    "name": name,
                    "kind": "user",
                    "state": match status { Status::Connected => "connected", Status::Lingering => "lingering" },
                    "remote_addr": remote,
                    "connected_since": since,
                    "queue": queue,
                })
            })
            .collect();
        doc["endpoint_list"] = Value::Array(list);
    }
    json(StatusCode::OK, &doc)
}

/// Prometheus text format.
pub async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let mut out = String::from("# slp-host metrics\nslp_host_build_info{version=\"");
    out.push_str(env!("CARGO_PKG_VERSION"));
    out.push_str("\"} 1\n");
    shared.metrics.render(&mut out);
    let mut r = Response::new(Body::from(out));
    *r.status_mut() = StatusCode::OK;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    r
}
