//! `GET /runtime/v1/state` (spec §14.5) and `GET /metrics` (§14.7).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use jsip::session::State as DialogueState;

use super::json;
use crate::metrics::{Exposition, label, render_versions};
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
                // Per (name, hash): every Version object of the pair shares them.
                "dialogues": v.metrics.dialogues.get(),
                "unhealthy": v.is_unhealthy(),
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
    let by_state: serde_json::Map<String, Value> = DialogueState::ALL
        .iter()
        .zip(shared.metrics.dialogues_by_state())
        .filter(|(s, _)| **s != DialogueState::End)
        .map(|(s, n)| (s.name().to_owned(), json!(n)))
        .collect();
    let orphaned = shared.metrics.orphaned.get();
    let (server, client) = shared.metrics.transactions();
    let mut doc = json!({
        "uptime_s": shared.started.elapsed().as_secs(),
        "draining": shared.draining.load(Ordering::Relaxed),
        "endpoints": {
            "user": {"connected": connected, "lingering": lingering},
            "queued_messages": shared.registry.queued_messages(),
            "largest_queue": shared.registry.largest_queue(),
        },
        "sessions": shared.actors.load(Ordering::Relaxed),
        "dialogues": {"total": by_state.values().filter_map(Value::as_i64).sum::<i64>(), "by_state": by_state, "orphaned": orphaned},
        "transactions": {"client": client, "server": server},
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

/// Prometheus text format (spec §14.7).
pub async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let mut r = Response::new(Body::from(render(&shared)));
    *r.status_mut() = StatusCode::OK;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    r
}

/// Every family: process counters, per-version series, and the gauges read
/// from the state now.
pub fn render(shared: &Shared) -> String {
    let mut e = Exposition::new();
    e.family("build_info", "gauge", "always 1");
    e.sample("build_info", concat!("version=\"", env!("CARGO_PKG_VERSION"), "\""), 1);
    let (connected, lingering) = shared.registry.counts();
    e.family("connections", "gauge", "open WebSocket connections");
    e.sample("connections", "", shared.registry.socket_count());
    e.family("endpoints", "gauge", "endpoints by kind and state");
    e.sample("endpoints", "kind=\"user\",state=\"connected\"", connected);
    e.sample("endpoints", "kind=\"user\",state=\"lingering\"", lingering);
    e.family("queued_messages", "gauge", "messages in all endpoint queues");
    e.sample("queued_messages", "", shared.registry.queued_messages());
    shared.metrics.render(&mut e);
    // Live instances per (name, hash), summed over the Version objects of the pair.
    let alive = shared.modules.all_versions();
    let now = tokio::time::Instant::now();
    let versions: Vec<_> = shared
        .modules
        .version_metrics()
        .into_iter()
        .map(|m| {
            let same = alive.iter().filter(|v| Arc::ptr_eq(&v.metrics, &m));
            let (live, on_load) = same.fold((0, false), |(n, o), v| {
                (n + v.live.load(Ordering::Relaxed), o || v.on_load_alive.load(Ordering::Relaxed))
            });
            let unhealthy = m.window.is_unhealthy(now);
            (m, live, on_load, unhealthy)
        })
        .collect();
    render_versions(&mut e, &versions);
    e.family("state_entries_skipped_total", "counter", "state file entries skipped at startup (spec §14.6)");
    e.sample("state_entries_skipped_total", "file=\"slps.json\"", shared.modules.skipped.lock().len());
    let kv = shared.kv.sizes();
    e.family("kv_keys", "gauge", "keys in each SLP store");
    for (store, keys, _) in &kv {
        e.sample("kv_keys", &label("store", store), keys);
    }
    e.family("kv_bytes", "gauge", "bytes in each SLP store");
    for (store, _, bytes) in &kv {
        e.sample("kv_bytes", &label("store", store), bytes);
    }
    e.finish()
}
