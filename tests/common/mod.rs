//! Test harness: a real server on ephemeral loopback ports with its own
//! directories, real WebSocket clients, and a minimal HTTP client for the API.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use slp_host::config::Config;
use slp_host::server::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for something that should happen.
pub const WAIT: Duration = Duration::from_secs(10);

/// A fresh directory for one server's files, removed when dropped.
pub struct TempRoot(PathBuf);

impl std::ops::Deref for TempRoot {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh directory for one server's files.
pub fn temp_root(tag: &str) -> TempRoot {
    let dir =
        std::env::temp_dir().join(format!("slp-host-test-{tag}-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(dir.join("conf")).expect("temp dir");
    TempRoot(dir)
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// A configuration for tests: loopback, ephemeral ports, short timers;
/// `extra_toml` is merged over it, table by table.
pub fn test_config(root: &std::path::Path, extra_toml: &str) -> Config {
    let base = format!(
        r#"
root = "{root}"
[log]
file = ""
[rtc]
listen = "127.0.0.1:0"
linger = "2s"
[api]
listen = "127.0.0.1:0"
[jsip]
realm = "test.local"
trans_timer = "1s"
pr_timer = "3s"
session_timer = "9s"
"#,
        root = root.display()
    );
    let mut doc: toml::Table = base.parse().expect("base config");
    let extra: toml::Table = extra_toml.parse().expect("extra config");
    merge(&mut doc, extra);
    let path = root.join("conf/slp-host.toml");
    std::fs::write(&path, doc.to_string()).expect("write config");
    Config::load(&path).expect("valid test config")
}

fn merge(into: &mut toml::Table, from: toml::Table) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(toml::Value::Table(a)), toml::Value::Table(b)) => merge(a, b),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

/// Starts a server on a fresh root.
pub async fn start(tag: &str, extra_toml: &str) -> (Server, TempRoot) {
    let root = temp_root(tag);
    let server = Server::start(test_config(&root, extra_toml)).await.expect("server starts");
    (server, root)
}

/// A WebSocket client.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub userid: String,
}

impl Client {
    /// Connects as `userid`.
    pub async fn connect(addr: SocketAddr, userid: &str) -> Client {
        let url = format!("ws://{addr}/rtc?userid={userid}");
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connects");
        Client { ws, userid: userid.to_owned() }
    }

    /// Sends a JSON text frame.
    pub async fn send(&mut self, v: Value) {
        self.ws.send(WsMessage::Text(v.to_string().into())).await.expect("send");
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(WsMessage::Text(text.to_owned().into())).await.expect("send");
    }

    /// Sends a raw frame.
    pub async fn send_frame(&mut self, frame: WsMessage) {
        self.ws.send(frame).await.expect("send");
    }

    /// The next JSON message, within `WAIT`.
    pub async fn recv(&mut self) -> Value {
        self.recv_within(WAIT).await.unwrap_or_else(|| panic!("{}: no message within {WAIT:?}", self.userid))
    }

    /// The next JSON message, or `None` when nothing arrives within `limit`.
    pub async fn recv_within(&mut self, limit: Duration) -> Option<Value> {
        loop {
            let frame = tokio::time::timeout(limit, self.ws.next()).await.ok()??;
            match frame {
                Ok(WsMessage::Text(t)) => {
                    return Some(serde_json::from_str(t.as_str()).expect("server frames are JSON"));
                }
                Ok(WsMessage::Ping(_) | WsMessage::Pong(_)) => continue,
                Ok(other) => panic!("{}: unexpected frame {other:?}", self.userid),
                Err(e) => panic!("{}: read error {e}", self.userid),
            }
        }
    }

    /// Asserts nothing arrives for `limit`.
    pub async fn expect_silence(&mut self, limit: Duration) {
        if let Some(v) = self.recv_within(limit).await {
            panic!("{}: expected nothing, got {v}", self.userid);
        }
    }

    /// Waits for the server's close frame and returns its code and reason.
    pub async fn closed(&mut self) -> Option<(u16, String)> {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next()).await.ok()? {
                Some(Ok(WsMessage::Close(Some(CloseFrame { code, reason })))) => {
                    return Some((u16::from(code), reason.to_string()));
                }
                Some(Ok(WsMessage::Close(None))) | None => return None,
                Some(Ok(_)) => continue,
                Some(Err(_)) => return None,
            }
        }
    }
}

/// A request built like a gortc client would.
pub fn request(ty: &str, uri: &str, from: &str, to: &str, d: &str, cseq: u64) -> Value {
    serde_json::json!({"Type": ty, "Request-URI": uri, "From": from, "To": to, "DialogueID": d, "CSeq": cseq})
}

/// A response to `req` with `code`.
pub fn response(req: &Value, code: u16) -> Value {
    serde_json::json!({"Type": "RESPONSE", "Code": code, "From": req["From"], "To": req["To"],
        "DialogueID": req["DialogueID"], "CSeq": req["CSeq"]})
}

/// A minimal HTTP/1.1 client: (status, headers as lowercase "name: value" lines, body).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    s.write_all(body).await.expect("write body");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), s.read_to_end(&mut raw))
        .await
        .expect("answer in time")
        .expect("read");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let status: u16 = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).expect("status");
    let headers = head.lines().skip(1).map(|l| l.to_ascii_lowercase()).collect::<Vec<_>>().join("\n");
    if headers.contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    (status, headers, body)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(nl) = b.windows(2).position(|w| w == b"\r\n") else { return out };
        let size =
            usize::from_str_radix(std::str::from_utf8(&b[..nl]).unwrap_or("0").trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[nl + 2..nl + 2 + size]);
        b = &b[nl + 2 + size + 2..];
    }
}

/// JSON from the API.
pub async fn api_json(addr: SocketAddr, method: &str, path: &str) -> (u16, Value) {
    let (status, _, body) = http(addr, method, path, &[], b"").await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Polls `/runtime/v1/state` every 100 ms until `done` holds; fails after `within`.
pub async fn state_until(
    addr: SocketAddr,
    within: Duration,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let last = api_json(addr, "GET", "/runtime/v1/state").await.1;
        if done(&last) {
            return last;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("{what}: state never settled: {last}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Uploads a component.
pub async fn upload(addr: SocketAddr, name: &str, bytes: &[u8]) -> (u16, Value) {
    let (status, _, body) =
        http(addr, "POST", &format!("/slpm/v1/{name}"), &[("Content-Type", "application/wasm")], bytes).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// The bundled guests, as built by the host's build script.
pub fn guest(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/guests/wasm32-wasip2/release")
        .join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
