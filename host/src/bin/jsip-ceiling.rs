//! jsip-ceiling: the fastest a JSIP server on this stack can be, for
//! comparison with slp-host (issue 4, item 5).
//!
//! It does nothing but parse each JSON request frame and answer it the way
//! the `echo` SLP and the stack do: 200 to every request (MESSAGE, INVITE,
//! BYE, …), nothing to an ACK or a response, 400 to a frame the syntax layer
//! refuses. No dialogues, no transactions, no instances, no queue.
//!
//! For a fair comparison it uses what slp-host uses on the wire: tokio's
//! multi-thread runtime, tokio-tungstenite with the host's WebSocket settings
//! (4 KiB read buffer, frames written at once), TCP_NODELAY, the `jsip`
//! crate's parser and serialiser, and answers flushed in batches (as the
//! host's writer does) when several requests arrived together. It accepts the
//! host's URL shape, `ws://<addr>/rtc?userid=<id>`, so `jsip-bench` drives it
//! unchanged.
//!
//! ```sh
//! jsip-ceiling [--listen 127.0.0.1:8090] [--threads N]
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;

use futures_util::{FutureExt, SinkExt, StreamExt};
use jsip::syntax::{self, Rejection};
use jsip::{Kind, Method};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The host's default `rtc.max_frame`.
const MAX_FRAME: usize = 64 * 1024;

const USAGE: &str = "usage: jsip-ceiling [--listen ADDR (default 127.0.0.1:8090)] [--threads N]\n";

struct Args {
    listen: SocketAddr,
    threads: Option<usize>,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut args = Args { listen: "127.0.0.1:8090".parse().expect("literal"), threads: None };
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "-h" | "--help" => return Ok(None),
            "--listen" => {
                let v = value("--listen")?;
                args.listen = v.parse().map_err(|e| format!("--listen {v:?}: {e}"))?;
            }
            "--threads" => {
                let v = value("--threads")?;
                args.threads = Some(
                    v.parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or(format!("--threads {v:?}: not a positive number"))?,
                );
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some(args))
}

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("jsip-ceiling: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        rt.worker_threads(n);
    }
    let rt = match rt.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("jsip-ceiling: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(serve(args.listen)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jsip-ceiling: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(addr: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    eprintln!("jsip-ceiling: listening on ws://{}/rtc", listener.local_addr()?);
    loop {
        let (tcp, _) = listener.accept().await?;
        // Small frames both ways: Nagle's algorithm would hold answers back.
        let _ = tcp.set_nodelay(true);
        tokio::spawn(connection(tcp));
    }
}

/// The handshake checks the host makes that matter to a client: path and userid.
#[allow(clippy::result_large_err)] // the callback's signature is tungstenite's
fn check(req: &Request, resp: Response) -> Result<Response, ErrorResponse> {
    let refuse = |status: StatusCode, body: &str| {
        let mut r = ErrorResponse::new(Some(body.to_owned()));
        *r.status_mut() = status;
        r
    };
    if req.uri().path() != "/rtc" {
        return Err(refuse(StatusCode::NOT_FOUND, "not found"));
    }
    let has_userid = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|p| p.strip_prefix("userid=").is_some_and(|v| !v.is_empty())));
    if !has_userid {
        return Err(refuse(StatusCode::BAD_REQUEST, "missing userid"));
    }
    Ok(resp)
}

async fn connection(tcp: TcpStream) {
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(Some(MAX_FRAME))
        .max_frame_size(Some(MAX_FRAME));
    let Ok(ws) = tokio_tungstenite::accept_hdr_async_with_config(tcp, check, Some(config)).await else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    let mut next = stream.next().await;
    while let Some(Ok(frame)) = next {
        if let WsMessage::Text(text) = frame
            && let Some(answer) = answer(text.as_bytes())
            && sink.feed(WsMessage::Text(answer.into())).await.is_err()
        {
            return;
        }
        // Flush once no further request is waiting: one write for a batch.
        next = match stream.next().now_or_never() {
            Some(n) => n,
            None => {
                if sink.flush().await.is_err() {
                    return;
                }
                stream.next().await
            }
        };
    }
    let _ = sink.flush().await;
}

/// The answer to one frame, as the host's stack and `echo` would give it.
fn answer(frame: &[u8]) -> Option<String> {
    match syntax::parse(frame, MAX_FRAME) {
        Ok(msg) => match msg.kind {
            Kind::Request(Method::Ack) | Kind::Response(_) => None,
            Kind::Request(_) => jsip::build::response(&msg, 200).ok()?.to_frame().ok(),
        },
        Err(Rejection::Answer(bad)) => bad.to_frame().ok(),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::answer;

    #[test]
    fn answers_like_echo() {
        let invite =
            br#"{"Type":"INVITE","Request-URI":"svc","From":"a","To":"svc","DialogueID":"d1","CSeq":1}"#;
        let ok: serde_json::Value = serde_json::from_str(&answer(invite).expect("answered")).unwrap();
        assert_eq!(
            (ok["Type"].as_str(), ok["Code"].as_u64(), ok["CSeq"].as_u64()),
            (Some("RESPONSE"), Some(200), Some(1))
        );
        let ack = br#"{"Type":"ACK","Request-URI":"svc","From":"a","To":"svc","DialogueID":"d1","CSeq":2,"RelatedID":1}"#;
        assert_eq!(answer(ack), None);
        let bye = br#"{"Type":"BYE","Request-URI":"svc","From":"a","To":"svc","DialogueID":"d1","CSeq":3}"#;
        assert!(answer(bye).is_some_and(|a| a.contains("\"Code\":200")));
    }
}
