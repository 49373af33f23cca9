//! `/slpm/v1`: upload, list, inspect and delete SLPs (spec §14.2, §14.3).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::{ApiError, json};
use crate::actor::{self, OnLoadOutcome, Plan};
use crate::config::valid_slp_name;
use crate::runtime::modules::{Compiled, Version};
use crate::shared::Shared;

/// Longest time a compilation may take (spec §14.2 step 3).
const COMPILE_LIMIT: Duration = Duration::from_secs(30);

fn timestamp(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if name == "slps" || !valid_slp_name(name) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_name",
            format!("SLP names match ^[A-Za-z0-9_-]{{1,63}}$ and \"slps\" is reserved; got {name:?}"),
        ));
    }
    Ok(())
}

fn version_entry(v: &Version, current: bool) -> Value {
    let traps_last_minute = v.traps_last_minute();
    json!({
        "hash": v.hash(),
        "current": current,
        "live_instances": v.live.load(Ordering::Relaxed),
        "on_load_alive": v.on_load_alive.load(Ordering::Relaxed),
        "instances_created": v.created.load(Ordering::Relaxed),
        "traps_total": v.traps.load(Ordering::Relaxed),
        "traps_last_minute": traps_last_minute,
        "unhealthy": v.is_unhealthy(),
    })
}

fn name_entry(shared: &Shared, current: &Arc<Version>) -> Value {
    let versions: Vec<Arc<Version>> = shared
        .modules
        .all_versions()
        .into_iter()
        .filter(|v| v.name == current.name && (Arc::ptr_eq(v, current) || v.live.load(Ordering::Relaxed) > 0))
        .collect();
    let created: u64 = versions.iter().map(|v| v.created.load(Ordering::Relaxed)).sum();
    let list: Vec<Value> = versions.iter().map(|v| version_entry(v, Arc::ptr_eq(v, current))).collect();
    json!({
        "name": &*current.name,
        "hash": current.hash(),
        "size": current.compiled.size,
        "loaded_at": timestamp(current.loaded_at),
        "instances_created": created,
        "unhealthy": current.is_unhealthy(),
        "versions": list,
    })
}

/// `GET /slpm/v1/slps` and `GET /slpm/v1/<name>`.
pub async fn get_one(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    if name == "slps" {
        return Ok(json(StatusCode::OK, &list(&shared)));
    }
    check_name(&name)?;
    match shared.modules.current(&name) {
        Some(v) => Ok(json(StatusCode::OK, &name_entry(&shared, &v))),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("SLP {name} is not loaded"))),
    }
}

fn list(shared: &Shared) -> Value {
    let current = shared.modules.all_current();
    let slps: Vec<Value> = current.iter().map(|v| name_entry(shared, v)).collect();
    let retired: Vec<Value> = shared
        .modules
        .all_versions()
        .into_iter()
        .filter(|v| !shared.modules.is_loaded(&v.name) && v.live.load(Ordering::Relaxed) > 0)
        .map(
            |v| json!({"name": &*v.name, "hash": v.hash(), "live_instances": v.live.load(Ordering::Relaxed)}),
        )
        .collect();
    let errors: Vec<Value> = shared
        .modules
        .skipped
        .lock()
        .iter()
        .map(|s| json!({"name": s.name, "hash": s.hash, "error": s.error}))
        .collect();
    json!({"slps": slps, "retired": retired, "errors": errors})
}

/// Where the component of an upload comes from (spec §14.2).
enum Source {
    Body,
    File(String),
    Hash(String),
}

fn source(query: &HashMap<String, String>, has_body: bool) -> Result<Source, ApiError> {
    let file = query.get("file");
    let hash = query.get("hash");
    let bad = |m: &str| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", m);
    match (has_body, file, hash) {
        (true, None, None) => Ok(Source::Body),
        (false, Some(f), None) => Ok(Source::File(f.clone())),
        (false, None, Some(h)) => Ok(Source::Hash(h.clone())),
        (false, None, None) => Err(bad("name exactly one source: a body, ?file= or ?hash=")),
        _ => Err(bad("name exactly one source: a body, ?file= or ?hash=, not several")),
    }
}

/// `POST /slpm/v1/<name>`.
pub async fn upload(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    req: Request<Body>,
) -> Result<Response, ApiError> {
    check_name(&name)?;
    let query: HashMap<String, String> =
        req.uri().query().map(|q| url_pairs(q).into_iter().collect()).unwrap_or_default();
    let content_type =
        req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let max = shared.config.api.max_upload;
    let body = axum::body::to_bytes(req.into_body(), max).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the component exceeds api.max_upload ({max} bytes)"),
        )
    })?;
    let bytes: Vec<u8> = match source(&query, !body.is_empty())? {
        Source::Body => {
            let ct = content_type
                .as_deref()
                .unwrap_or("")
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if ct != "application/wasm" && ct != "application/octet-stream" {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    format!("send the component as application/wasm or application/octet-stream, not {ct:?}"),
                ));
            }
            body.to_vec()
        }
        Source::File(path) => read_module_file(&shared, &path, max)?,
        Source::Hash(hash) => {
            let valid = hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
            let path = shared.modules.store_path(&hash);
            match std::fs::read(&path) {
                Ok(bytes) if valid => bytes,
                _ => {
                    return Err(ApiError::new(
                        StatusCode::NOT_FOUND,
                        "unknown_hash",
                        format!("no stored component {hash}"),
                    ));
                }
            }
        }
    };
    install(&shared, &name, bytes).await
}

fn read_module_file(shared: &Shared, path: &str, max: usize) -> Result<Vec<u8>, ApiError> {
    let p = std::path::Path::new(path);
    if path.is_empty()
        || p.is_absolute()
        || p.components().any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_path",
            format!("?file= must be a relative path inside slp.module_dir without ..: {path:?}"),
        ));
    }
    let full = shared.config.slp.module_dir.join(p);
    let meta = std::fs::metadata(&full).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "file_error", format!("{}: {e}", full.display()))
    })?;
    if meta.len() as usize > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("{} exceeds api.max_upload", full.display()),
        ));
    }
    std::fs::read(&full)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "file_error", format!("{}: {e}", full.display())))
}

/// Validates, stores and switches to a component, then runs its on-load
/// instance; answers 201 after that `init` returned (spec §14.2 "Success").
pub async fn install(shared: &Arc<Shared>, name: &str, bytes: Vec<u8>) -> Result<Response, ApiError> {
    if shared.draining.load(Ordering::Relaxed) {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the server is stopping",
        ));
    }
    let _serial = shared.modules.change.lock().await;
    let compiled = compile(shared, bytes.clone()).await?;
    let io =
        |e: std::io::Error| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "store_error", e.to_string());
    shared.modules.persist_component(&compiled, &bytes).map_err(io)?;
    let switch = shared.modules.switch(name, compiled).map_err(io)?;
    let on_load = if switch.changed { Some(start_on_load(shared, &switch.version).await) } else { None };
    tracing::info!(target: "api", slp = name, hash = %switch.version.hash(), changed = switch.changed, "SLP loaded");
    let on_load = match on_load {
        None | Some(OnLoadOutcome::Ended) => "ended".to_owned(),
        Some(OnLoadOutcome::Running) => "running".to_owned(),
        Some(OnLoadOutcome::Trapped(m)) => format!("trapped: {m}"),
    };
    Ok(json(
        StatusCode::CREATED,
        &json!({
            "name": name,
            "hash": switch.version.hash(),
            "size": switch.version.compiled.size,
            "loaded_at": timestamp(switch.version.loaded_at),
            "previous_hash": switch.previous,
            "changed": switch.changed,
            "on_load": on_load,
        }),
    ))
}

async fn compile(shared: &Arc<Shared>, bytes: Vec<u8>) -> Result<Arc<Compiled>, ApiError> {
    let shared2 = Arc::clone(shared);
    let job = tokio::task::spawn_blocking(move || {
        let probe = || crate::session::Session::probe(Arc::clone(&shared2));
        shared2.modules.compile(&bytes, &probe)
    });
    match tokio::time::timeout(COMPILE_LIMIT, job).await {
        Ok(Ok(Ok(c))) => Ok(c),
        Ok(Ok(Err(invalid))) => Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_component", invalid.0)),
        Ok(Err(e)) => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())),
        Err(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_component",
            "compilation took longer than 30 s",
        )),
    }
}

/// Creates the on-load instance of a version that just became current and
/// supersedes the previous one's (spec §12.2).
pub async fn start_on_load(shared: &Arc<Shared>, version: &Arc<Version>) -> OnLoadOutcome {
    let (tx, rx) = oneshot::channel();
    let actor = actor::spawn(shared, Plan::OnLoad(Arc::clone(version), tx));
    if let Some(old) = shared.on_load.insert(version.name.to_string(), actor) {
        old.supersede();
    }
    rx.await.unwrap_or(OnLoadOutcome::Ended)
}

/// `DELETE /slpm/v1/<name>`.
pub async fn delete(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    check_name(&name)?;
    if shared.draining.load(Ordering::Relaxed) {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the server is stopping",
        ));
    }
    let _serial = shared.modules.change.lock().await;
    let removed = shared
        .modules
        .delete(&name)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "store_error", e.to_string()))?;
    match removed {
        Some(v) => {
            if let Some((_, old)) = shared.on_load.remove(&name) {
                old.supersede();
            }
            tracing::info!(target: "api", slp = %name, hash = %v.hash(), "SLP deleted");
            Ok(json(StatusCode::OK, &json!({"name": name, "hash": v.hash(), "deleted": true})))
        }
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("SLP {name} is not loaded"))),
    }
}

/// Decoded `key=value` pairs of a query string.
fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
