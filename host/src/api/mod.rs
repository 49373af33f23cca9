//! The management API (spec §14): SLP management, runtime state, metrics.
//! JSON answers with clear errors; state changes are serialised.

pub mod slpm;
pub mod state;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::shared::Shared;

/// An API error: status, code and message (`{"error":…,"message":…}`).
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    /// An error answer.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json(self.status, &serde_json::json!({"error": self.code, "message": self.message}))
    }
}

/// A JSON answer with the API's content type.
pub fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    let mut r = Response::new(Body::from(value.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    r
}

/// The API's router.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/slpm/v1/{name}", get(slpm::get_one).post(slpm::upload).delete(slpm::delete))
        .route("/runtime/v1/state", get(state::state))
        .route("/metrics", get(state::metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(Arc::clone(&shared), common))
        .with_state(shared)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed on this route")
}

/// Bearer token, `Server` header, and request counting for every route.
async fn common(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    if let Some(token) = shared.config.api.token.as_deref().filter(|t| !t.is_empty()) {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !constant_time_eq(given.as_bytes(), token.as_bytes()) {
            let mut r =
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "missing or invalid bearer token")
                    .into_response();
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            r.headers_mut().insert(header::SERVER, HeaderValue::from_static("slp-host"));
            return r;
        }
    }
    let route = route_label(req.uri().path());
    let mut r = next.run(req).await;
    r.headers_mut().insert(header::SERVER, HeaderValue::from_static("slp-host"));
    shared.metrics.inc("api_requests_total", format!("route=\"{route}\",status=\"{}\"", r.status().as_u16()));
    r
}

/// The route family of a path, for the `route` label: a bounded set, so a
/// client requesting random paths cannot grow the metrics (spec §14.7).
fn route_label(path: &str) -> &'static str {
    match path {
        "/metrics" => "/metrics",
        "/runtime/v1/state" => "/runtime/v1/state",
        p if p.starts_with("/slpm/v1/") => "/slpm/v1",
        p if p.starts_with("/apim/v1/") => "/apim/v1",
        _ => "other",
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::{constant_time_eq, route_label};

    #[test]
    fn route_labels_are_a_bounded_set() {
        assert_eq!(route_label("/slpm/v1/echo"), "/slpm/v1");
        assert_eq!(route_label("/metrics"), "/metrics");
        assert_eq!(route_label("/runtime/v1/state"), "/runtime/v1/state");
        assert_eq!(route_label("/random/junk/1234"), "other");
    }

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
