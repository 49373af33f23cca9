//! Endpoints (spec §10.3–§10.4): the unit of addressing and queueing. An
//! endpoint outlives its sockets: a reconnecting user finds the messages that
//! were queued while it was away, and a replaced socket hands its queue to the
//! new one. Each endpoint has its own small lock; there is no global one.
//!
//! Lock order: a map shard is never held while an endpoint's lock is taken
//! (snapshots clone the entries first), so the two kinds of lock cannot deadlock.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use jsip::stack::{Track, Undeliverable};
use jsip::{Endpoint, Time};
use parking_lot::Mutex;
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::actor::ActorRef;
use crate::metrics::Metrics;

/// One frame waiting to be written.
pub struct Outbound {
    /// The serialised message.
    pub frame: Utf8Bytes,
    /// For client requests: who to tell when it is written or given up.
    pub track: Option<(Track, ActorRef)>,
}

/// Why a message could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueError {
    /// No endpoint of that name exists (any more).
    NoEndpoint,
    /// The endpoint's queue is at `rtc.queue_limit`.
    Full,
}

/// Connection state of an endpoint (spec §10.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// A live socket is attached.
    Connected,
    /// The socket is gone; the endpoint waits for a reconnect until the deadline.
    Lingering,
}

/// The mutable part of an endpoint, behind its own lock.
struct State {
    queue: VecDeque<Outbound>,
    status: Status,
    /// Increases with every attached socket; a writer stops when it is stale.
    socket: u64,
    /// Closes the current socket (with 4000 `replaced` when a new one arrives).
    close: Option<oneshot::Sender<CloseRequest>>,
    remote: String,
    since: jiff::Timestamp,
    /// Set when the linger window ended and the endpoint left the registry.
    removed: bool,
}

/// Why the registry asks a socket to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseRequest {
    /// A newer socket took over the endpoint: 4000 `replaced`.
    Replaced,
    /// Graceful stop: 1001 `server shutdown`.
    Shutdown,
}

/// One endpoint.
pub struct EndpointEntry {
    name: Endpoint,
    state: Mutex<State>,
    /// Wakes the writer of the current socket.
    pub(crate) wake: Notify,
    /// Generation of the current socket, readable without the lock.
    current: AtomicU64,
}

impl EndpointEntry {
    /// The endpoint's name.
    pub fn name(&self) -> &Endpoint {
        &self.name
    }

    /// True while `socket` is the endpoint's current socket; frames still
    /// arriving on a replaced socket are discarded (spec §10.3).
    pub fn is_current(&self, socket: u64) -> bool {
        self.current.load(Ordering::Acquire) == socket
    }
}

/// A socket attached to an endpoint; the handle its tasks use.
pub struct Attachment {
    /// The endpoint.
    pub entry: Arc<EndpointEntry>,
    /// This socket's generation.
    pub socket: u64,
    /// Fires when the registry wants this socket closed.
    pub close: oneshot::Receiver<CloseRequest>,
}

/// All endpoints by name.
pub struct Registry {
    endpoints: DashMap<Endpoint, Arc<EndpointEntry>>,
    queue_limit: AtomicUsize,
    linger: Duration,
    sockets: AtomicU64,
    queued: AtomicU64,
    metrics: Arc<Metrics>,
    /// Tokio's clock, not the wall clock: under `slp-host test` time is
    /// paused and the stack's timers follow the virtual clock.
    epoch: Instant,
}

impl Registry {
    /// An empty registry.
    pub fn new(queue_limit: usize, linger: Duration, metrics: Arc<Metrics>) -> Registry {
        Registry {
            endpoints: DashMap::new(),
            queue_limit: AtomicUsize::new(queue_limit),
            linger,
            sockets: AtomicU64::new(0),
            queued: AtomicU64::new(0),
            metrics,
            epoch: Instant::now(),
        }
    }

    /// Time on the stack's clock (milliseconds since the registry was made).
    pub fn now(&self) -> Time {
        Time::from_millis(self.epoch.elapsed().as_millis() as u64)
    }

    /// The tokio instant of a stack time.
    pub fn instant(&self, t: Time) -> tokio::time::Instant {
        self.epoch + Duration::from_millis(t.as_millis())
    }

    /// Live sockets now.
    pub fn socket_count(&self) -> u64 {
        self.sockets.load(Ordering::Relaxed)
    }

    /// Messages waiting in all queues.
    pub fn queued_messages(&self) -> u64 {
        self.queued.load(Ordering::Relaxed)
    }

    /// The endpoint named `name`, connected or lingering.
    pub fn get(&self, name: &str) -> Option<Arc<EndpointEntry>> {
        self.endpoints.get(name).map(|e| e.value().clone())
    }

    /// The endpoint for a routing key, if it exists (spec §11.2 step 4).
    pub fn resolve(&self, key: &str) -> Option<Endpoint> {
        self.endpoints.get(key).map(|e| e.key().clone())
    }

    /// All entries, cloned out of the map so no shard lock is held afterwards.
    fn entries(&self) -> Vec<Arc<EndpointEntry>> {
        self.endpoints.iter().map(|e| e.value().clone()).collect()
    }

    /// Number of endpoints by status: (connected, lingering).
    pub fn counts(&self) -> (usize, usize) {
        let mut connected = 0;
        let mut lingering = 0;
        for e in self.entries() {
            match e.state.lock().status {
                Status::Connected => connected += 1,
                Status::Lingering => lingering += 1,
            }
        }
        (connected, lingering)
    }

    /// Attaches a new socket to endpoint `name` (spec §10.3): creates the
    /// endpoint, revives a lingering one (its queue is written first), or
    /// replaces the socket of a connected one (the old one gets 4000).
    pub fn attach(&self, name: &str, remote: String) -> Attachment {
        let (tx, rx) = oneshot::channel();
        loop {
            let entry = self.endpoints.entry(Endpoint::new(name)).or_insert_with(|| new_entry(name)).clone();
            let mut st = entry.state.lock();
            if st.removed {
                // Its linger ended just now; replace it with a fresh endpoint.
                drop(st);
                self.endpoints.remove_if(name, |_, e| Arc::ptr_eq(e, &entry));
                continue;
            }
            st.socket += 1;
            if let Some(old) = st.close.replace(tx) {
                let _ = old.send(CloseRequest::Replaced);
            }
            st.status = Status::Connected;
            st.remote = remote;
            st.since = jiff::Timestamp::now();
            let socket = st.socket;
            entry.current.store(socket, Ordering::Release);
            drop(st);
            self.sockets.fetch_add(1, Ordering::Relaxed);
            entry.wake.notify_one();
            return Attachment { entry, socket, close: rx };
        }
    }

    /// The socket `socket` of `entry` is gone. If it was the current one, the
    /// endpoint lingers; after `rtc.linger` with no new socket it is removed
    /// and its queued requests fail with 480 `user offline` (spec §10.3).
    pub fn detach(self: &Arc<Self>, entry: &Arc<EndpointEntry>, socket: u64) {
        self.sockets.fetch_sub(1, Ordering::Relaxed);
        {
            let mut st = entry.state.lock();
            if st.socket != socket {
                return; // Replaced: the new socket owns the endpoint.
            }
            st.status = Status::Lingering;
            st.close = None;
        }
        let registry = Arc::clone(self);
        let entry = Arc::clone(entry);
        let linger = self.linger;
        tokio::spawn(async move {
            tokio::time::sleep(linger).await;
            registry.expire(&entry, socket);
        });
    }

    /// End of a linger window.
    fn expire(&self, entry: &Arc<EndpointEntry>, socket: u64) {
        let queue = {
            let mut st = entry.state.lock();
            if st.socket != socket || st.status != Status::Lingering {
                return; // Reconnected meanwhile.
            }
            // Marked under the endpoint's lock, so no message slips into a dead queue.
            st.removed = true;
            std::mem::take(&mut st.queue)
        };
        self.endpoints.remove_if(&entry.name, |_, e| Arc::ptr_eq(e, entry));
        self.queued.fetch_sub(queue.len() as u64, Ordering::Relaxed);
        for out in queue {
            match out.track {
                Some((track, actor)) => actor.undeliverable(track, Undeliverable::Offline),
                None => self.metrics.dropped(crate::metrics::Dropped::LingerExpired),
            }
        }
    }

    /// Queues a frame for `endpoint`. Never blocks; a full queue fails the new
    /// message only (spec §10.4).
    pub fn enqueue(&self, endpoint: &str, out: Outbound) -> Result<(), (QueueError, Outbound)> {
        let Some(entry) = self.get(endpoint) else {
            return Err((QueueError::NoEndpoint, out));
        };
        {
            let mut st = entry.state.lock();
            if st.removed {
                return Err((QueueError::NoEndpoint, out));
            }
            if st.queue.len() >= self.queue_limit.load(Ordering::Relaxed) {
                return Err((QueueError::Full, out));
            }
            st.queue.push_back(out);
        }
        self.queued.fetch_add(1, Ordering::Relaxed);
        entry.wake.notify_one();
        Ok(())
    }

    /// Up to `max` frames from the head of the queue for the writer of
    /// `socket`, without removing them: a frame leaves the queue only once
    /// written, so a socket that dies mid-write leaves it for the next one.
    /// `None` when the socket is no longer the endpoint's current one.
    pub fn peek(
        &self,
        entry: &EndpointEntry,
        socket: u64,
        max: usize,
        into: &mut Vec<Utf8Bytes>,
    ) -> Option<()> {
        let st = entry.state.lock();
        if st.socket != socket {
            return None;
        }
        into.extend(st.queue.iter().take(max).map(|o| o.frame.clone()));
        Some(())
    }

    /// Removes the `n` frames the writer of `socket` has written, and reports
    /// the tracked ones as written. A replaced socket removes nothing.
    pub fn written(&self, entry: &EndpointEntry, socket: u64, n: usize) {
        let mut done = Vec::new();
        {
            let mut st = entry.state.lock();
            if st.socket != socket {
                return;
            }
            for _ in 0..n.min(st.queue.len()) {
                if let Some(out) = st.queue.pop_front()
                    && let Some(track) = out.track
                {
                    done.push(track);
                }
            }
        }
        self.queued.fetch_sub(n as u64, Ordering::Relaxed);
        for (track, actor) in done {
            actor.written(track);
        }
    }

    /// Asks every socket to close (graceful stop).
    pub fn close_all(&self, why: CloseRequest) {
        for e in self.entries() {
            if let Some(tx) = e.state.lock().close.take() {
                let _ = tx.send(why);
            }
        }
    }

    /// Applies a new queue limit to all endpoints.
    pub fn set_queue_limit(&self, limit: usize) {
        self.queue_limit.store(limit, Ordering::Relaxed);
    }

    /// A snapshot for `/runtime/v1/state?detail=1`: name, status, remote, since, queue length.
    pub fn list(&self, max: usize) -> Vec<(String, Status, String, String, usize)> {
        self.entries()
            .iter()
            .take(max)
            .map(|e| {
                let st = e.state.lock();
                (e.name.to_string(), st.status, st.remote.clone(), st.since.to_string(), st.queue.len())
            })
            .collect()
    }

    /// The longest queue.
    pub fn largest_queue(&self) -> usize {
        self.entries().iter().map(|e| e.state.lock().queue.len()).max().unwrap_or(0)
    }
}

fn new_entry(name: &str) -> Arc<EndpointEntry> {
    Arc::new(EndpointEntry {
        name: Endpoint::new(name),
        state: Mutex::new(State {
            queue: VecDeque::new(),
            status: Status::Lingering,
            socket: 0,
            close: None,
            remote: String::new(),
            since: jiff::Timestamp::now(),
            removed: false,
        }),
        wake: Notify::new(),
        current: AtomicU64::new(0),
    })
}
