//! The engine: plays a script's stages over connected peers and reports the
//! first stage that fails. It does not know whether the peers are in-memory
//! sockets on virtual time or real connections to a live server.

use std::pin::Pin;
use std::time::Duration;

use futures_util::{Sink, SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::matcher;
use super::report::{Failure, ScriptReport};
use super::script::{Action, Script};
use super::vars::{self, Vars};

/// What a peer's reader saw.
#[derive(Debug, Clone)]
enum Inbound {
    Message(Value),
    /// A text frame that is not a JSON object.
    NotJson(String),
    /// The connection ended: the close frame's code and reason, if any.
    Closed(Option<(u16, String)>),
}

type BoxSink = Pin<Box<dyn Sink<WsMessage, Error = WsError> + Send>>;

/// A connected scripted peer. A background task reads its socket all the
/// time (so pings are answered while the script waits elsewhere) and queues
/// the messages for `recv` stages.
pub struct Peer {
    /// Its name in the script.
    pub name: String,
    /// The userid it connected with.
    pub userid: String,
    sink: BoxSink,
    inbox: mpsc::UnboundedReceiver<Inbound>,
    reader: JoinHandle<()>,
    /// Set once the connection ended; later receives report it again.
    ended: Option<Option<(u16, String)>>,
}

impl Peer {
    /// Starts the reader of a connected WebSocket.
    pub fn spawn<S>(name: &str, userid: &str, ws: WebSocketStream<S>) -> Peer
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (sink, mut stream) = ws.split();
        let (tx, inbox) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            let ended = loop {
                match stream.next().await {
                    Some(Ok(WsMessage::Text(t))) => {
                        let item = match serde_json::from_str::<Value>(t.as_str()) {
                            Ok(v @ Value::Object(_)) => Inbound::Message(v),
                            _ => Inbound::NotJson(t.to_string()),
                        };
                        if tx.send(item).is_err() {
                            return;
                        }
                    }
                    Some(Ok(WsMessage::Close(frame))) => {
                        break frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                    }
                    Some(Ok(_)) => {} // ping, pong, binary: not messages
                    Some(Err(_)) | None => break None,
                }
            };
            let _ = tx.send(Inbound::Closed(ended));
        });
        Peer {
            name: name.to_owned(),
            userid: userid.to_owned(),
            sink: Box::pin(sink),
            inbox,
            reader,
            ended: None,
        }
    }

    async fn send(&mut self, v: &Value) -> Result<(), String> {
        self.sink.send(WsMessage::Text(v.to_string().into())).await.map_err(|e| format!("send failed: {e}"))
    }

    /// The next inbound item within `limit`; `None` on timeout.
    async fn recv(&mut self, limit: Duration) -> Option<Inbound> {
        if let Some(ended) = &self.ended {
            return Some(Inbound::Closed(ended.clone()));
        }
        match tokio::time::timeout(limit, self.inbox.recv()).await {
            Err(_) => None,
            Ok(Some(Inbound::Closed(c))) => {
                self.ended = Some(c.clone());
                Some(Inbound::Closed(c))
            }
            Ok(Some(item)) => Some(item),
            Ok(None) => {
                self.ended = Some(None);
                Some(Inbound::Closed(None))
            }
        }
    }

    /// Closes the connection politely (close frame, then end).
    pub async fn close(mut self) {
        let limit = Duration::from_secs(1);
        let _ = tokio::time::timeout(limit, self.sink.send(WsMessage::Close(None))).await;
        let _ = tokio::time::timeout(limit, self.sink.close()).await;
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// A unique token for `${uniq}`: DialogueIDs of repeated runs against a live
/// server must not meet the state an earlier run left behind.
pub fn uniq() -> String {
    format!("{:08x}", rand::random::<u32>())
}

/// Plays `script` over `peers` (one per script peer, in the same order).
pub async fn run(script: &Script, peers: &mut [Peer], uniq: &str, verbose: bool) -> ScriptReport {
    let mut play = Play {
        vars: Vars::new(peers.iter().map(|p| (p.name.clone(), p.userid.clone())).collect(), uniq.to_owned()),
        transcript: Vec::new(),
        verbose,
        started: Instant::now(),
    };
    let mut failure = None;
    for (index, stage) in script.stages.iter().enumerate() {
        let peer = &mut peers[stage.peer];
        if let Err(mut f) = play.stage(&stage.action, stage.peer, peer).await {
            f.stage = Some(index);
            f.kind = Some(stage.action.kind());
            f.peer = Some(peer.name.clone());
            failure = Some(f);
            break;
        }
    }
    ScriptReport { name: script.name.clone(), failure, transcript: play.transcript }
}

struct Play {
    vars: Vars,
    transcript: Vec<String>,
    verbose: bool,
    started: Instant,
}

fn fail(why: impl Into<String>) -> Failure {
    Failure::setup(why)
}

impl Play {
    fn note(&mut self, peer: &Peer, arrow: &str, what: &str) {
        if self.verbose {
            let t = self.started.elapsed().as_secs_f64();
            self.transcript.push(format!("[{t:9.3}s] {} {arrow} {what}", peer.name));
        }
    }

    async fn stage(&mut self, action: &Action, index: usize, peer: &mut Peer) -> Result<(), Failure> {
        match action {
            Action::Send { value, delay, set } => {
                if !delay.is_zero() {
                    tokio::time::sleep(*delay).await;
                }
                let mut msg = self.vars.substitute(value, index).map_err(fail)?;
                for (member, var) in set {
                    let v = self.vars.get(var, index).ok_or_else(|| {
                        fail(format!("vars: {member} takes ${var}, which no earlier recv stage captured"))
                    })?;
                    msg[member.as_str()] = v;
                }
                self.note(peer, "→", &msg.to_string());
                peer.send(&msg).await.map_err(fail)
            }
            Action::Recv { expect, timeout, capture } => {
                let expected = self.vars.substitute(expect, index).map_err(fail)?;
                let with = |why: String, received: Option<Value>| Failure {
                    expected: Some(expected.clone()),
                    received,
                    ..fail(why)
                };
                let msg = match peer.recv(*timeout).await {
                    None => return Err(with(format!("nothing received within {}", human(*timeout)), None)),
                    Some(Inbound::Closed(c)) => return Err(with(closed(c), None)),
                    Some(Inbound::NotJson(t)) => {
                        return Err(with(
                            "received a frame that is not a JSON object".into(),
                            Some(Value::String(t)),
                        ));
                    }
                    Some(Inbound::Message(m)) => m,
                };
                self.note(peer, "←", &msg.to_string());
                if let Some(m) = matcher::mismatch(&expected, &msg) {
                    return Err(with(m.to_string(), Some(msg)));
                }
                for (var, member) in capture {
                    match vars::member(&msg, member) {
                        Some(v) => self.vars.set(var, v.clone()),
                        None => {
                            return Err(with(
                                format!("vars: cannot capture ${var}: no {member} in the message"),
                                Some(msg),
                            ));
                        }
                    }
                }
                Ok(())
            }
            Action::Sleep(d) => {
                tokio::time::sleep(*d).await;
                Ok(())
            }
            Action::Silence(d) => match peer.recv(*d).await {
                None => Ok(()),
                Some(Inbound::Message(m)) => {
                    self.note(peer, "←", &m.to_string());
                    Err(Failure {
                        received: Some(m),
                        ..fail(format!("expected nothing for {}, received a message", human(*d)))
                    })
                }
                Some(Inbound::NotJson(t)) => Err(Failure {
                    received: Some(Value::String(t)),
                    ..fail(format!("expected nothing for {}, received a frame", human(*d)))
                }),
                Some(Inbound::Closed(c)) => Err(fail(closed(c))),
            },
        }
    }
}

fn closed(c: Option<(u16, String)>) -> String {
    match c {
        Some((code, reason)) => format!("the connection was closed ({code} {reason:?})"),
        None => "the connection was closed".to_owned(),
    }
}

/// A duration as a script would write it.
pub fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) { format!("{}s", ms / 1000) } else { format!("{ms}ms") }
}
