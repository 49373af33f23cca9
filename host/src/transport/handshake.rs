//! The RTC listener's HTTP side (spec §10.2): the handshake checks in their
//! exact order and answers, then the upgrade to a WebSocket.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use crate::shared::Shared;
use crate::transport::connection;

/// The router of the RTC listener: every path goes through [`handshake`].
pub fn router(shared: Arc<Shared>) -> axum::Router {
    axum::Router::new().fallback(handshake).with_state(shared)
}

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// The first value of query parameter `userid`, percent-decoded.
fn userid(query: Option<&str>) -> Option<String> {
    let query = query?;
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if percent_decode(k).as_deref() == Some("userid") {
            return percent_decode(v);
        }
    }
    None
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The server side's WebSocket settings (also used for in-memory peers).
pub fn ws_config(rtc: &crate::config::Rtc) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(Some(rtc.max_frame))
        .max_frame_size(Some(rtc.max_frame))
}

async fn handshake(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    mut req: Request<Body>,
) -> Response<Body> {
    let config = &shared.config.rtc;
    let result = |r: &'static str| shared.metrics.inc("ws_handshakes_total", format!("result=\"{r}\""));
    // 1. The path, exactly.
    if req.uri().path() != config.path {
        result("not_found");
        return text(StatusCode::NOT_FOUND, "not found");
    }
    // 2–3. userid.
    let Some(userid) = userid(req.uri().query()).filter(|u| !u.is_empty()) else {
        result("missing_userid");
        return text(StatusCode::BAD_REQUEST, "missing userid");
    };
    if userid.len() > 256 || userid.chars().any(char::is_control) {
        result("invalid_userid");
        return text(StatusCode::BAD_REQUEST, "invalid userid");
    }
    // 4. GET only.
    if req.method() != Method::GET {
        result("method");
        let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
        r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET"));
        return r;
    }
    // 5. A WebSocket handshake.
    let headers = req.headers();
    let key = headers.get(header::SEC_WEBSOCKET_KEY).filter(|k| !k.is_empty()).cloned();
    if !has_token(headers, header::CONNECTION, "upgrade")
        || !has_token(headers, header::UPGRADE, "websocket")
        || key.is_none()
    {
        result("not_websocket");
        return text(StatusCode::BAD_REQUEST, "not a websocket handshake");
    }
    // 6. Version 13.
    if !has_token(headers, header::SEC_WEBSOCKET_VERSION, "13") {
        result("version");
        let mut r = text(StatusCode::BAD_REQUEST, "unsupported websocket version");
        r.headers_mut().insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        return r;
    }
    // 7. Connection limit.
    if shared.registry.socket_count() as usize >= config.max_connections {
        result("overload");
        return text(StatusCode::SERVICE_UNAVAILABLE, "too many connections");
    }
    // 8–9 (node secrets, auth callback) arrive with peer nodes and the auth issue.
    let Some(on_upgrade) = req.extensions_mut().remove::<hyper::upgrade::OnUpgrade>() else {
        result("not_websocket");
        return text(StatusCode::BAD_REQUEST, "not a websocket handshake");
    };
    result("accepted");
    let accept = derive_accept_key(key.as_ref().map_or(&[][..], |k| k.as_bytes()));
    let ws_config = ws_config(config);
    let shared_task = Arc::clone(&shared);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let ws =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(ws_config))
                        .await;
                connection::run(shared_task, ws, userid, remote).await;
            }
            Err(e) => tracing::debug!(target: "rtc", %remote, "upgrade failed: {e}"),
        }
    });
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userid_is_the_first_decoded_value() {
        assert_eq!(userid(Some("userid=alice")), Some("alice".into()));
        assert_eq!(userid(Some("x=1&userid=carol%40example.org&userid=b")), Some("carol@example.org".into()));
        assert_eq!(userid(Some("x=1")), None);
        assert_eq!(userid(None), None);
        assert_eq!(userid(Some("userid=")), Some(String::new()));
        assert_eq!(userid(Some("userid=%zz")), None);
    }
}
