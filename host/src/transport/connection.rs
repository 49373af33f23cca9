//! One WebSocket connection: a reader that parses frames and hands messages to
//! dispatch, and a writer that drains the endpoint's queue (spec §4.1, §10.3–§10.6).
//! The reader never waits for an instance or for another socket.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use jsip::syntax::{self, Rejection};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::dispatch;
use crate::metrics::{Direction, label};
use crate::shared::Shared;
use crate::transport::registry::{Attachment, CloseRequest, EndpointEntry};

/// What a connection runs over: an upgraded HTTP connection in the server,
/// an in-memory pipe when `slp-host test` runs an SLP in isolation.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

type Ws<S> = WebSocketStream<S>;

/// Frames the writer sends in one go before flushing.
const BATCH: usize = 64;

/// Asks the writer to close the socket with this code and reason.
struct Close(u16, &'static str);

/// Serves one socket until it closes.
pub async fn run<S: Io>(shared: Arc<Shared>, ws: Ws<S>, userid: String, remote: SocketAddr) {
    let Attachment { entry, socket, close } = shared.registry.attach(&userid, remote.to_string());
    shared.metrics.connections_opened.inc();
    tracing::debug!(target: "rtc", userid, %remote, "connected");
    let (sink, stream) = ws.split();
    let (ctl_tx, ctl_rx) = mpsc::unbounded_channel::<Close>();
    let last_rx = Arc::new(AtomicU64::new(shared.registry.now().as_millis()));
    let mut writer = tokio::spawn(write_loop(
        Arc::clone(&shared),
        Arc::clone(&entry),
        socket,
        sink,
        ctl_rx,
        close,
        Arc::clone(&last_rx),
    ));
    let ended = {
        let ctl = ctl_tx;
        let mut read = std::pin::pin!(read_loop(&shared, &entry, socket, stream, &ctl, &last_rx));
        let first = tokio::select! {
            peer_code = &mut read => Ok(peer_code),
            sent = &mut writer => Err(sent.ok().flatten()),
        };
        match first {
            Ok(peer_code) => Ok(peer_code),
            // The writer gave up first (a write timed out or failed, a ping
            // went unanswered, the socket was replaced, the server stops).
            // The peer gets `write_timeout` to finish the closing handshake,
            // then the socket is dropped instead of staying attached
            // half-dead until the peer goes.
            Err(sent_code) => {
                let grace = shared.config.rtc.write_timeout;
                Err((sent_code, tokio::time::timeout(grace, &mut read).await.ok().flatten()))
            }
        }
        // The reader, then the control channel's sender, are dropped here:
        // that stops the writer when the reader ended first.
    };
    let (sent_code, peer_code) = match ended {
        Ok(peer_code) => (writer.await.ok().flatten(), peer_code),
        Err(codes) => codes,
    };
    // The code this side sent wins; else the peer's; else the socket just died (1006).
    let code = sent_code.or(peer_code).unwrap_or(1006);
    shared.metrics.inc("ws_closed_total", format!("code=\"{code}\""));
    shared.registry.detach(&entry, socket);
    tracing::debug!(target: "rtc", userid, %remote, "disconnected");
}

/// Reads until the socket ends; returns the peer's close code when the peer
/// closed it (`None` when this side asked the writer to close).
async fn read_loop<S: Io>(
    shared: &Arc<Shared>,
    entry: &Arc<EndpointEntry>,
    socket: u64,
    mut stream: SplitStream<Ws<S>>,
    ctl: &mpsc::UnboundedSender<Close>,
    last_rx: &AtomicU64,
) -> Option<u16> {
    let source = entry.name().clone();
    let max_frame = shared.config.rtc.max_frame;
    while let Some(frame) = stream.next().await {
        last_rx.store(shared.registry.now().as_millis(), Ordering::Relaxed);
        let close = |code, reason| {
            shared.metrics.inc("invalid_messages_total", format!("action=\"closed\",reason=\"{reason}\""));
            let _ = ctl.send(Close(code, reason));
            None
        };
        if !entry.is_current(socket) {
            continue; // Replaced: no longer read (spec §10.3).
        }
        match frame {
            Ok(WsMessage::Text(text)) => {
                shared.metrics.frames(Direction::In, 1);
                match syntax::parse(text.as_bytes(), max_frame) {
                    Ok(msg) => {
                        shared.metrics.message(Direction::In, msg.kind);
                        dispatch::received(shared, msg, &source)
                    }
                    Err(Rejection::Close { code, reason }) => return close(code, reason),
                    Err(rejection) => invalid(shared, &source, rejection, text.as_str()),
                }
            }
            Ok(WsMessage::Binary(_)) => return close(1003, "binary frames not supported"),
            Ok(WsMessage::Close(frame)) => return Some(frame.map_or(1005, |f| u16::from(f.code))),
            Ok(_) => {} // ping, pong: signs of life; tungstenite answers pings.
            Err(WsError::Capacity(CapacityError::MessageTooLong { .. })) => {
                return close(1009, "frame too large");
            }
            Err(WsError::Utf8(_)) => return close(1007, "invalid UTF-8"),
            Err(e) => {
                tracing::debug!(target: "rtc", endpoint = %source, "read error: {e}");
                return Some(1006);
            }
        }
    }
    Some(1006)
}

/// A frame the syntax layer refused without closing: answer 400 or drop (spec §4.2, §4.3).
fn invalid(shared: &Arc<Shared>, source: &jsip::Endpoint, rejection: Rejection, payload: &str) {
    let reason = rejection.reason().into_owned();
    shared.metrics.inc(
        "invalid_messages_total",
        format!("action=\"{}\",{}", rejection.action(), label("reason", &reason)),
    );
    let head: String = payload.chars().take(200).collect();
    tracing::warn!(target: "rtc", endpoint = %source, %reason, payload = %head, "invalid message");
    if let Rejection::Answer(answer) = rejection {
        dispatch::send_generated(shared, &answer, source);
    }
}

async fn write_loop<S: Io>(
    shared: Arc<Shared>,
    entry: Arc<EndpointEntry>,
    socket: u64,
    mut sink: SplitSink<Ws<S>, WsMessage>,
    mut ctl: mpsc::UnboundedReceiver<Close>,
    close: oneshot::Receiver<CloseRequest>,
    last_rx: Arc<AtomicU64>,
) -> Option<u16> {
    let mut close = Some(close);
    let ping_every = shared.config.rtc.ping_interval;
    let write_timeout = shared.config.rtc.write_timeout;
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        batch.clear();
        if shared.registry.peek(&entry, socket, BATCH, &mut batch).is_none() {
            // Replaced: pass the wake-up on to the new socket's writer.
            entry.wake.notify_one();
            return close_with(&mut sink, 4000, "replaced").await;
        }
        if batch.is_empty() {
            tokio::select! {
                _ = entry.wake.notified() => continue,
                request = async { close.as_mut().expect("polled while some").await }, if close.is_some() => {
                    close = None;
                    match request {
                        Ok(CloseRequest::Replaced) => return close_with(&mut sink, 4000, "replaced").await,
                        Ok(CloseRequest::Shutdown) => return close_with(&mut sink, 1001, "server shutdown").await,
                        Err(_) => continue,
                    }
                }
                c = ctl.recv() => {
                    return match c {
                        Some(Close(code, reason)) => close_with(&mut sink, code, reason).await,
                        None => None,
                    };
                }
                _ = ping.tick() => {
                    let silent = shared.registry.now().as_millis().saturating_sub(last_rx.load(Ordering::Relaxed));
                    if Duration::from_millis(silent) > ping_every * 2 {
                        return close_with(&mut sink, 1001, "ping timeout").await;
                    }
                    if timed(write_timeout, sink.send(WsMessage::Ping(Default::default()))).await.is_err() {
                        return None;
                    }
                    continue;
                }
            }
        }
        let n = batch.len();
        let sent = async {
            for frame in batch.drain(..) {
                sink.feed(WsMessage::Text(frame)).await?;
            }
            sink.flush().await
        };
        if timed(write_timeout, sent).await.is_err() {
            // Dead or too slow: the unfinished frames stay queued for the next socket.
            return None;
        }
        shared.metrics.frames(Direction::Out, n as u64);
        shared.registry.written(&entry, socket, n);
    }
}

/// Runs a write under `limit`. Most writes finish on their first poll, so the
/// timer is armed only for one that has to wait: registering and cancelling
/// a timer for every batch showed up in the profile of the hot path.
async fn timed<F: Future<Output = Result<(), WsError>>>(limit: Duration, f: F) -> Result<(), ()> {
    let mut f = std::pin::pin!(f);
    let first = std::future::poll_fn(|cx| Poll::Ready(f.as_mut().poll(cx))).await;
    let done = match first {
        Poll::Ready(r) => r.is_ok(),
        Poll::Pending => matches!(tokio::time::timeout(limit, f).await, Ok(Ok(()))),
    };
    if done { Ok(()) } else { Err(()) }
}

/// Sends a close frame; returns its code for `ws_closed_total`.
async fn close_with<S: Io>(
    sink: &mut SplitSink<Ws<S>, WsMessage>,
    code: u16,
    reason: &'static str,
) -> Option<u16> {
    let frame = CloseFrame { code: CloseCode::from(code), reason: reason.into() };
    let _ = tokio::time::timeout(Duration::from_secs(1), sink.send(WsMessage::Close(Some(frame)))).await;
    let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
    Some(code)
}
