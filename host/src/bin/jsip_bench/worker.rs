//! What one connection does: the message and call loops (closed or open),
//! holding established calls, and holding an idle socket.

use std::collections::{BTreeMap, HashMap};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::wire::{self, Frames, Inbound};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How often pending transactions are checked for timeouts.
const TICK: Duration = Duration::from_millis(20);

/// Open loop: how early a scheduled send may go (the timer's granularity).
const EARLY: Duration = Duration::from_millis(1);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Load {
    /// One MESSAGE transaction per unit.
    Message,
    /// INVITE → 200 → ACK → BYE → 200 per unit.
    Call,
}

/// Shared by every connection of a message or call run.
pub struct Plan {
    pub load: Load,
    pub pipeline: usize,
    /// Open loop: units per second across all connections.
    pub rate: Option<f64>,
    pub connections: usize,
    pub start: Instant,
    pub warm_end: Instant,
    pub end: Instant,
    pub timeout: Duration,
    /// Completed units (all phases), for the progress lines.
    pub done: AtomicU64,
    /// Errors of any kind, for the progress lines.
    pub errors: AtomicU64,
    /// Set TCP_QUICKACK after each read (see `--quickack`).
    pub quickack: bool,
}

#[derive(Default, Debug)]
pub struct Stats {
    /// Units completed within the measured window.
    pub completed: u64,
    /// Units completed during the warm-up or the final drain.
    pub completed_outside: u64,
    pub started: u64,
    /// Final answers other than 200, by code.
    pub non200: BTreeMap<u16, u64>,
    pub timeouts: u64,
    /// Sockets that closed or failed under us.
    pub closed: u64,
    /// Transactions still pending when their socket closed.
    pub lost: u64,
    /// Responses matching no pending transaction.
    pub unmatched: u64,
    /// Frames that were not recognisable JSIP.
    pub invalid: u64,
    /// Requests the server sent us (answered 200).
    pub server_requests: u64,
    /// Unit latency in ns: from the send (closed loop) or from the scheduled
    /// send time (open loop).
    pub lat: Vec<u64>,
    /// Open loop only: from the actual send.
    pub service_lat: Vec<u64>,
    /// Call mode: INVITE sent (or scheduled) → 200 received.
    pub invite_lat: Vec<u64>,
    /// Open loop: largest delay between a scheduled send and the send.
    pub max_send_lag: Duration,
    /// hold-calls: calls answered 200 and ACKed.
    pub established: u64,
    /// hold-calls: calls ended with BYE → 200.
    pub released: u64,
    pub close_reason: Option<String>,
    /// The first few unexpected frames (non-200 answers, server requests).
    pub samples: Vec<String>,
}

/// How many unexpected frames are kept for the report.
const SAMPLES: usize = 5;

impl Stats {
    pub fn merge(&mut self, o: Stats) {
        self.completed += o.completed;
        self.completed_outside += o.completed_outside;
        self.started += o.started;
        for (code, n) in o.non200 {
            *self.non200.entry(code).or_default() += n;
        }
        self.timeouts += o.timeouts;
        self.closed += o.closed;
        self.lost += o.lost;
        self.unmatched += o.unmatched;
        self.invalid += o.invalid;
        self.server_requests += o.server_requests;
        self.lat.extend(o.lat);
        self.service_lat.extend(o.service_lat);
        self.invite_lat.extend(o.invite_lat);
        self.max_send_lag = self.max_send_lag.max(o.max_send_lag);
        self.established += o.established;
        self.released += o.released;
        if self.close_reason.is_none() {
            self.close_reason = o.close_reason;
        }
        let room = SAMPLES.saturating_sub(self.samples.len());
        self.samples.extend(o.samples.into_iter().take(room));
    }

    pub fn errors(&self) -> u64 {
        self.non200.values().sum::<u64>() + self.timeouts + self.closed + self.lost
    }

    fn fail_code(&mut self, code: u16, frame: &str) {
        *self.non200.entry(code).or_default() += 1;
        self.sample(frame);
    }

    fn sample(&mut self, frame: &str) {
        if self.samples.len() < SAMPLES {
            self.samples.push(frame.to_owned());
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Message,
    Invite,
    Bye,
}

struct Pending {
    kind: Kind,
    unit: u64,
    /// Start of the unit: send time (closed loop) or scheduled time (open loop).
    start: Instant,
    /// When the unit's first request was actually sent.
    first_sent: Instant,
    /// When this transaction's request was sent (for the timeout).
    sent: Instant,
}

/// The protocol state of one connection, kept apart from the socket so the
/// handlers are synchronous and only fill `out`.
struct Conn {
    frames: Frames,
    next_cseq: u64,
    next_unit: u64,
    pending: HashMap<u64, Pending>,
    out: Vec<String>,
    need_flush: bool,
    stats: Stats,
}

impl Conn {
    fn new(frames: Frames) -> Conn {
        Conn {
            frames,
            next_cseq: 1,
            next_unit: 1,
            pending: HashMap::new(),
            out: Vec::new(),
            need_flush: false,
            stats: Stats::default(),
        }
    }

    fn cseq(&mut self) -> u64 {
        let c = self.next_cseq;
        self.next_cseq += 1;
        c
    }

    /// Queues a request and, unless it is an ACK, registers its transaction.
    fn send(&mut self, kind: Option<Kind>, unit: u64, related: Option<u64>, start: Instant, now: Instant) {
        let method = match kind {
            Some(Kind::Message) => "MESSAGE",
            Some(Kind::Invite) => "INVITE",
            Some(Kind::Bye) => "BYE",
            None => "ACK",
        };
        let cseq = self.cseq();
        self.out.push(self.frames.request(method, unit, cseq, related));
        if let Some(kind) = kind {
            self.pending.insert(cseq, Pending { kind, unit, start, first_sent: now, sent: now });
        }
    }

    fn new_unit(&mut self, kind: Kind, start: Instant, now: Instant) -> u64 {
        let unit = self.next_unit;
        self.next_unit += 1;
        self.stats.started += 1;
        self.send(Some(kind), unit, None, start, now);
        unit
    }

    async fn flush(&mut self, ws: &mut Ws) -> Result<(), WsError> {
        for f in self.out.drain(..) {
            ws.feed(Message::text(f)).await?;
        }
        self.need_flush = false;
        ws.flush().await
    }

    fn socket_closed(&mut self, reason: String) {
        self.stats.closed += 1;
        self.stats.lost += self.pending.len() as u64;
        self.pending.clear();
        self.stats.close_reason.get_or_insert(reason);
    }

    /// Handles what the socket yielded; `Some(frame)` is a text frame to be
    /// interpreted by the caller.
    fn on_ws(&mut self, m: Option<Result<Message, WsError>>) -> Result<Option<Message>, ()> {
        match m {
            Some(Ok(m @ Message::Text(_))) => Ok(Some(m)),
            Some(Ok(Message::Close(f))) => {
                let why = f.map_or_else(|| "no close frame".into(), |f| format!("{} {}", f.code, f.reason));
                self.socket_closed(format!("closed by the server: {why}"));
                Err(())
            }
            Some(Ok(Message::Ping(_))) => {
                // tungstenite queued the pong; it goes out with the next flush.
                self.need_flush = true;
                Ok(None)
            }
            Some(Ok(_)) => Ok(None),
            Some(Err(e)) => {
                self.socket_closed(format!("socket error: {e}"));
                Err(())
            }
            None => {
                self.socket_closed("socket ended without a close frame".into());
                Err(())
            }
        }
    }

    /// A request from the server: answer it 200 (ACKs need no answer).
    fn on_server_request(&mut self, text: &str) {
        self.stats.server_requests += 1;
        self.stats.sample(text);
        if let Some(r) = wire::answer(text) {
            self.out.push(r);
        }
    }

    /// Removes the transactions older than `timeout`; returns how many.
    fn expire(&mut self, now: Instant, timeout: Duration) -> usize {
        let before = self.pending.len();
        self.pending.retain(|_, p| now.saturating_duration_since(p.sent) < timeout);
        let n = before - self.pending.len();
        self.stats.timeouts += n as u64;
        n
    }
}

/// Asks the kernel to acknowledge received data at once instead of
/// delaying the ACK (Linux resets this after a while, so it is set after
/// every read).
fn quickack(ws: &Ws) {
    if let MaybeTlsStream::Plain(tcp) = ws.get_ref() {
        use std::os::fd::AsRawFd;
        let one: libc::c_int = 1;
        // SAFETY: a valid socket descriptor and a c_int option value of the
        // size passed.
        unsafe {
            libc::setsockopt(
                tcp.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_QUICKACK,
                (&raw const one).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The message or call load of one connection until `plan.end`, then a
/// drain of what is still in flight (bounded by the timeout).
pub async fn run(mut ws: Ws, conn: usize, frames: Frames, plan: Arc<Plan>) -> Stats {
    let mut c = Conn::new(frames);
    let kind = match plan.load {
        Load::Message => Kind::Message,
        Load::Call => Kind::Invite,
    };
    let interval = plan.rate.map(|r| Duration::from_secs_f64(plan.connections as f64 / r));
    let mut next_send =
        plan.start + plan.rate.map_or(Duration::ZERO, |r| Duration::from_secs_f64(conn as f64 / r));
    tokio::time::sleep_until(plan.start).await;
    let now = Instant::now();
    if interval.is_none() {
        for _ in 0..plan.pipeline {
            c.new_unit(kind, now, now);
        }
    }
    let hard_stop = plan.end + plan.timeout + TICK * 5;
    let mut next_tick = now + TICK;
    let mut armed = next_tick;
    let mut sleep = pin!(tokio::time::sleep_until(armed));
    'outer: loop {
        if (!c.out.is_empty() || c.need_flush)
            && let Err(e) = c.flush(&mut ws).await
        {
            c.socket_closed(format!("send failed: {e}"));
            break;
        }
        let now = Instant::now();
        if now >= plan.end && c.pending.is_empty() {
            break;
        }
        if now >= hard_stop {
            c.stats.timeouts += c.pending.len() as u64;
            plan.errors.fetch_add(c.pending.len() as u64, Ordering::Relaxed);
            c.pending.clear();
            break;
        }
        let wake = match interval {
            Some(_) if next_send < plan.end => (next_send - EARLY).min(next_tick),
            _ => next_tick,
        };
        if wake != armed {
            armed = wake;
            sleep.as_mut().reset(wake);
        }
        let errors0 = c.stats.errors();
        tokio::select! {
            biased;
            m = ws.next() => {
                if plan.quickack {
                    quickack(&ws);
                }
                let mut m = m;
                loop {
                    match c.on_ws(m) {
                        Ok(Some(Message::Text(t))) => on_frame(&mut c, &plan, kind, t.as_str(), Instant::now()),
                        Ok(_) => {}
                        Err(()) => {
                            plan.errors.fetch_add(c.stats.errors() - errors0, Ordering::Relaxed);
                            break 'outer;
                        }
                    }
                    // Take whatever else is already buffered before writing.
                    match ws.next().now_or_never() {
                        Some(next) => m = next,
                        None => break,
                    }
                }
            }
            () = &mut sleep => {
                let now = Instant::now();
                if let Some(iv) = interval {
                    // Tokio's timer has a 1 ms granularity: sends due within it
                    // go now, and a unit's start is the earlier of its scheduled
                    // and its actual send time.
                    while next_send <= now + EARLY && next_send < plan.end {
                        c.stats.max_send_lag = c.stats.max_send_lag.max(now.saturating_duration_since(next_send));
                        c.new_unit(kind, next_send.min(now), now);
                        next_send += iv;
                    }
                }
                if now >= next_tick {
                    let expired = c.expire(now, plan.timeout);
                    if interval.is_none() && now < plan.end {
                        for _ in 0..expired {
                            c.new_unit(kind, now, now);
                        }
                    }
                    next_tick = now + TICK;
                }
            }
        }
        let new_errors = c.stats.errors() - errors0;
        if new_errors > 0 {
            plan.errors.fetch_add(new_errors, Ordering::Relaxed);
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
    c.stats
}

fn on_frame(c: &mut Conn, plan: &Plan, kind: Kind, text: &str, now: Instant) {
    let (cseq, code) = match wire::classify(text) {
        Inbound::Response { cseq, code } => (cseq, code),
        Inbound::Request => return c.on_server_request(text),
        Inbound::Invalid => {
            c.stats.invalid += 1;
            return;
        }
    };
    if code < 200 {
        return; // provisional
    }
    let Some(p) = c.pending.remove(&cseq) else {
        c.stats.unmatched += 1;
        return;
    };
    let in_window = now >= plan.warm_end && now <= plan.end;
    let done = match p.kind {
        Kind::Message | Kind::Bye if code == 200 => {
            plan.done.fetch_add(1, Ordering::Relaxed);
            if in_window {
                c.stats.completed += 1;
                c.stats.lat.push(nanos(now - p.start));
                if plan.rate.is_some() {
                    c.stats.service_lat.push(nanos(now - p.first_sent));
                }
            } else {
                c.stats.completed_outside += 1;
            }
            true
        }
        Kind::Invite => {
            // Every final answer to an INVITE is ACKed.
            c.send(None, p.unit, Some(cseq), p.start, now);
            if code == 200 {
                if in_window {
                    c.stats.invite_lat.push(nanos(now - p.start));
                }
                c.send(Some(Kind::Bye), p.unit, None, p.start, now);
                if let Some(bye) = c.pending.get_mut(&(c.next_cseq - 1)) {
                    bye.first_sent = p.first_sent;
                }
                false
            } else {
                c.stats.fail_code(code, text);
                true
            }
        }
        Kind::Message | Kind::Bye => {
            c.stats.fail_code(code, text);
            true
        }
    };
    // Closed loop: the finished unit makes room for the next one.
    if done && plan.rate.is_none() && now < plan.end {
        c.new_unit(kind, now, now);
    }
}

/// Shared by the connections of a hold-calls run.
pub struct HoldPlan {
    pub pipeline: usize,
    pub timeout: Duration,
    /// Calls answered 200 (progress).
    pub established: AtomicU64,
    /// Calls that failed to establish (progress).
    pub failed: AtomicU64,
    /// Connections that have finished establishing their share.
    pub settled: AtomicU64,
}

/// Establishes `calls` INVITE sessions (200 + ACK, no BYE), holds them until
/// `release` turns true, then ends them with BYE.
pub async fn hold_calls(
    mut ws: Ws,
    frames: Frames,
    calls: usize,
    plan: Arc<HoldPlan>,
    mut release: watch::Receiver<bool>,
) -> Stats {
    let mut c = Conn::new(frames);
    let mut held: Vec<u64> = Vec::with_capacity(calls);
    let mut to_start = calls;
    let mut alive = true;
    // Phase 1: establish.
    while alive && (to_start > 0 || !c.pending.is_empty()) {
        let now = Instant::now();
        while to_start > 0 && c.pending.len() < plan.pipeline {
            to_start -= 1;
            c.new_unit(Kind::Invite, now, now);
        }
        alive = pump(&mut ws, &mut c, plan.timeout, |c, text, now| {
            let Inbound::Response { cseq, code } = wire::classify(text) else {
                return c.on_server_request(text);
            };
            let Some(p) = (code >= 200).then(|| c.pending.remove(&cseq)).flatten() else { return };
            c.send(None, p.unit, Some(cseq), now, now);
            if code == 200 {
                c.stats.invite_lat.push(nanos(now - p.start));
                held.push(p.unit);
                plan.established.fetch_add(1, Ordering::Relaxed);
            } else {
                c.stats.fail_code(code, text);
                plan.failed.fetch_add(1, Ordering::Relaxed);
            }
        })
        .await;
    }
    plan.failed.fetch_add(c.stats.timeouts + c.stats.lost, Ordering::Relaxed);
    c.stats.established = held.len() as u64;
    plan.settled.fetch_add(1, Ordering::Relaxed);
    // Phase 2: hold, still answering pings and server requests.
    alive = alive && hold_until_release(&mut ws, &mut c, &mut release).await;
    // Phase 3: BYE every held call, keeping the window small enough for
    // the server's outbound queue.
    let window = plan.pipeline.max(64);
    while alive && (!held.is_empty() || !c.pending.is_empty()) {
        let now = Instant::now();
        while c.pending.len() < window
            && let Some(unit) = held.pop()
        {
            c.send(Some(Kind::Bye), unit, None, now, now);
        }
        alive = pump(&mut ws, &mut c, plan.timeout, |c, text, _| {
            let Inbound::Response { cseq, code } = wire::classify(text) else {
                return c.on_server_request(text);
            };
            if code >= 200 && c.pending.remove(&cseq).is_some() {
                if code == 200 {
                    c.stats.released += 1;
                } else {
                    c.stats.fail_code(code, text);
                }
            }
        })
        .await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
    c.stats
}

/// Flushes `c.out`, then waits for frames (handing each text frame to
/// `on_text`) or for the next timeout check. Returns false once the socket
/// is gone.
async fn pump(
    ws: &mut Ws,
    c: &mut Conn,
    timeout: Duration,
    mut on_text: impl FnMut(&mut Conn, &str, Instant),
) -> bool {
    if (!c.out.is_empty() || c.need_flush)
        && let Err(e) = c.flush(ws).await
    {
        c.socket_closed(format!("send failed: {e}"));
        return false;
    }
    let oldest = c.pending.values().map(|p| p.sent).min();
    let deadline = oldest.map_or_else(|| Instant::now() + TICK, |t| t + timeout);
    match tokio::time::timeout_at(deadline, ws.next()).await {
        Ok(m) => match c.on_ws(m) {
            Ok(Some(Message::Text(t))) => on_text(c, t.as_str(), Instant::now()),
            Ok(_) => {}
            Err(()) => return false,
        },
        Err(_) => {
            c.expire(Instant::now(), timeout);
        }
    }
    true
}

/// Keeps a socket open, answering pings and server requests, until `release`
/// turns true; false if the socket failed meanwhile.
async fn hold_until_release(ws: &mut Ws, c: &mut Conn, release: &mut watch::Receiver<bool>) -> bool {
    while !*release.borrow() {
        tokio::select! {
            r = release.changed() => if r.is_err() { break },
            m = ws.next() => match c.on_ws(m) {
                Ok(Some(Message::Text(t))) => match wire::classify(t.as_str()) {
                    Inbound::Request => c.on_server_request(t.as_str()),
                    _ => c.stats.unmatched += 1,
                },
                Ok(_) => {}
                Err(()) => return false,
            },
        }
        if (!c.out.is_empty() || c.need_flush)
            && let Err(e) = c.flush(ws).await
        {
            c.socket_closed(format!("send failed: {e}"));
            return false;
        }
    }
    true
}

/// Holds one idle socket (answering pings) until `release` turns true.
pub async fn idle(mut ws: Ws, mut release: watch::Receiver<bool>) -> Stats {
    let mut c = Conn::new(Frames::new("", "", 0));
    if !hold_until_release(&mut ws, &mut c, &mut release).await {
        return c.stats;
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
    c.stats
}
