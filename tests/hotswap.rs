//! Hot swap under load (issue 4, item 2; spec §12.1 "Replacing", §14.2,
//! §14.3, §14.5): while calls are live and new ones keep arriving, new
//! versions of an SLP are uploaded again and again, with rollbacks by
//! `?hash=` in between. The peers see which version served them: the
//! `versioned` guest puts its build marker into every answer (`X-Version`),
//! and each version here is that guest with a different marker patched in.
//!
//! What the test proves:
//! * no session fails (every answer is 200, the server never ends a call);
//! * no session changes version mid-flight (a mid-call INFO is answered by
//!   the version that answered the INVITE, however many swaps later);
//! * every session started after an upload's 201 uses that version or a
//!   later one (checked against the log of switches, so not timing-based);
//! * `GET /slpm/v1/<name>`, `/slpm/v1/slps` and `/runtime/v1/state` count
//!   live instances per version hash exactly, and the counts fall to zero as
//!   the old sessions end;
//! * then the old compiled code leaves memory (`compiled` in the state) while
//!   its file stays in the store, and a rollback by hash to it still works.
//!
//! `hot_swap_full_scale` (ignored) is the same at the scale and prints
//! the time from an upload request to the first new session it served:
//! `cargo test --release -p slp-host --test hotswap -- --ignored --nocapture`.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{api_json, guest, start, upload};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// The SLP name the versions are uploaded under; `call@swap` routes to it.
const SLP: &str = "swap";
/// The fixed part of the `versioned` guest's marker; 20 digits follow it.
const MARKER_PREFIX: &[u8] = b"@@slp-version@@:";

/// How big a run is.
#[derive(Clone, Copy)]
struct Scale {
    /// WebSocket connections.
    conns: usize,
    /// Calls set up on the first version before the swaps start, held to the end.
    base_calls: usize,
    /// Connections that keep starting new calls during the swaps.
    churners: usize,
    /// Uploads of new versions (body); a rollback by hash follows every second one.
    uploads: usize,
}

/// The marker of build `n`.
fn marker(n: usize) -> String {
    format!("{}{n:020}", String::from_utf8_lossy(MARKER_PREFIX))
}

/// The `versioned` component with the marker of build `n` patched in.
fn build(base: &[u8], n: usize) -> Vec<u8> {
    let at: Vec<usize> = base
        .windows(MARKER_PREFIX.len())
        .enumerate()
        .filter(|(_, w)| *w == MARKER_PREFIX)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 1, "the versioned component holds its marker exactly once");
    let mut bytes = base.to_vec();
    let start = at[0];
    bytes[start..start + MARKER_PREFIX.len() + 20].copy_from_slice(marker(n).as_bytes());
    bytes
}

// ---------------------------------------------------------------------------
// A WebSocket client that runs many dialogues at once.

/// Routes inbound frames to the dialogue they belong to.
struct Mux {
    userid: String,
    out: mpsc::UnboundedSender<String>,
    routes: Arc<Mutex<HashMap<String, mpsc::UnboundedSender<Value>>>>,
    /// Frames for no open dialogue: a failure unless empty at the end.
    strays: Arc<Mutex<Vec<Value>>>,
    next: AtomicUsize,
}

impl Mux {
    async fn connect(addr: SocketAddr, userid: &str) -> Arc<Mux> {
        let url = format!("ws://{addr}/rtc?userid={userid}");
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connects");
        let (mut sink, mut stream) = ws.split();
        let (out, mut rx) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            while let Some(text) = rx.recv().await {
                if sink.send(WsMessage::Text(text.into())).await.is_err() {
                    break;
                }
            }
        });
        let routes: Arc<Mutex<HashMap<String, mpsc::UnboundedSender<Value>>>> = Default::default();
        let strays: Arc<Mutex<Vec<Value>>> = Default::default();
        let (r2, s2) = (Arc::clone(&routes), Arc::clone(&strays));
        tokio::spawn(async move {
            while let Some(Ok(frame)) = stream.next().await {
                let WsMessage::Text(t) = frame else { continue };
                let v: Value = serde_json::from_str(t.as_str()).expect("server frames are JSON");
                let d = v["DialogueID"].as_str().unwrap_or("").to_owned();
                let route = r2.lock().unwrap().get(&d).cloned();
                match route {
                    Some(tx) if tx.send(v.clone()).is_ok() => {}
                    _ => s2.lock().unwrap().push(v),
                }
            }
        });
        Arc::new(Mux { userid: userid.to_owned(), out, routes, strays, next: AtomicUsize::new(0) })
    }

    /// A new dialogue on a fresh DialogueID.
    fn dialogue(self: &Arc<Mux>) -> Dialogue {
        let id = format!("{}-{}", self.userid, self.next.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = mpsc::unbounded_channel();
        self.routes.lock().unwrap().insert(id.clone(), tx);
        Dialogue { mux: Arc::clone(self), id, rx, cseq: 0, version: String::new() }
    }

    fn strays(&self) -> Vec<Value> {
        self.strays.lock().unwrap().clone()
    }
}

/// One call to the `swap` SLP.
struct Dialogue {
    mux: Arc<Mux>,
    id: String,
    rx: mpsc::UnboundedReceiver<Value>,
    cseq: u64,
    /// `X-Version` of the INVITE's 200.
    version: String,
}

impl Drop for Dialogue {
    fn drop(&mut self) {
        self.mux.routes.lock().unwrap().remove(&self.id);
    }
}

impl Dialogue {
    fn send(&mut self, ty: &str, extra: Value) -> u64 {
        self.cseq += 1;
        let mut m = json!({"Type": ty, "Request-URI": "call@swap", "From": self.mux.userid, "To": SLP,
            "DialogueID": self.id, "CSeq": self.cseq});
        if let (Some(m), Value::Object(extra)) = (m.as_object_mut(), extra) {
            m.extend(extra);
        }
        self.mux.out.send(m.to_string()).expect("connection open");
        self.cseq
    }

    /// The 200 to request `cseq`; anything else is a failed session.
    async fn ok(&mut self, what: &str, cseq: u64) -> Value {
        let v = tokio::time::timeout(common::WAIT, self.rx.recv())
            .await
            .unwrap_or_else(|_| panic!("{}: no answer to {what} within {:?}", self.id, common::WAIT))
            .expect("route open");
        assert_eq!(
            (v["Type"].as_str(), v["Code"].as_u64(), v["CSeq"].as_u64()),
            (Some("RESPONSE"), Some(200), Some(cseq)),
            "{}: {what} failed: {v}",
            self.id
        );
        v
    }

    /// INVITE (refresh interval far beyond the test), 200, ACK: the version that answered.
    async fn establish(&mut self) -> String {
        let cseq = self.send("INVITE", json!({"Expire": 3600}));
        let ok = self.ok("INVITE", cseq).await;
        self.version = ok["X-Version"].as_str().expect("X-Version on the 200").to_owned();
        self.send("ACK", json!({"RelatedID": cseq}));
        self.version.clone()
    }

    /// A mid-call INFO; asserts the call's own version answered it.
    async fn check_pinned(&mut self) {
        let cseq = self.send("INFO", json!({}));
        let ok = self.ok("INFO", cseq).await;
        assert_eq!(
            ok["X-Version"].as_str(),
            Some(self.version.as_str()),
            "{}: changed version mid-call",
            self.id
        );
    }

    async fn hang_up(&mut self) {
        let cseq = self.send("BYE", json!({}));
        self.ok("BYE", cseq).await;
    }
}

// ---------------------------------------------------------------------------
// The log of switches and what the sessions saw.

/// Every switch of the current version, in order, and how far they got.
#[derive(Default)]
struct Switches {
    /// Marker of each switch, pushed before the switch's request is sent.
    markers: Mutex<Vec<String>>,
    /// Switches whose request was sent.
    started: AtomicUsize,
    /// Switches whose 201 arrived.
    done: AtomicUsize,
    /// When each new session was answered, and by which version.
    answers: Mutex<Vec<(Instant, String)>>,
}

impl Switches {
    /// Switch `done - 1` is current; later ones may take effect any time.
    fn before_invite(&self) -> usize {
        self.done.load(Ordering::SeqCst)
    }

    /// The session started after `done` switches completed must have been
    /// served by that switch's version or a later one.
    fn check_new_session(&self, done_before: usize, version: &str) {
        let started = self.started.load(Ordering::SeqCst);
        let markers = self.markers.lock().unwrap();
        let allowed = &markers[done_before - 1..started];
        assert!(
            allowed.iter().any(|m| m == version),
            "a session started after switch {done_before} (201 received) was served by {version}; allowed: {allowed:?}"
        );
        self.answers.lock().unwrap().push((Instant::now(), version.to_owned()));
    }
}

// ---------------------------------------------------------------------------
// The management API.

/// Live per-session instances per hash of the `swap` versions, from `/slpm/v1/swap`.
async fn live_by_hash_slpm(api: SocketAddr) -> BTreeMap<String, u64> {
    let (status, e) = api_json(api, "GET", &format!("/slpm/v1/{SLP}")).await;
    assert_eq!(status, 200, "{e}");
    sum_by_hash(e["versions"].as_array().expect("versions"), "live_instances")
}

/// The same from the list `/slpm/v1/slps`.
async fn live_by_hash_list(api: SocketAddr) -> BTreeMap<String, u64> {
    let (status, l) = api_json(api, "GET", "/slpm/v1/slps").await;
    assert_eq!(status, 200, "{l}");
    let entry = l["slps"].as_array().expect("slps").iter().find(|s| s["name"] == SLP).expect("swap listed");
    sum_by_hash(entry["versions"].as_array().expect("versions"), "live_instances")
}

/// `/runtime/v1/state`: live instances per hash of `swap`, and the hashes whose code is in memory.
async fn state(api: SocketAddr) -> (BTreeMap<String, u64>, Vec<String>) {
    let (status, s) = api_json(api, "GET", "/runtime/v1/state").await;
    assert_eq!(status, 200, "{s}");
    let ours: Vec<Value> =
        s["instances"].as_array().expect("instances").iter().filter(|i| i["slp"] == SLP).cloned().collect();
    let compiled = s["compiled"]
        .as_array()
        .expect("compiled")
        .iter()
        .map(|c| c["hash"].as_str().unwrap().to_owned())
        .collect();
    (sum_by_hash(&ours, "live"), compiled)
}

/// A version can be listed more than once (a rollback makes a new version of
/// the same code): counts are per hash. Zero counts are left out.
fn sum_by_hash(versions: &[Value], field: &str) -> BTreeMap<String, u64> {
    let mut by_hash = BTreeMap::new();
    for v in versions {
        let n = v[field].as_u64().expect("count");
        if n > 0 {
            *by_hash.entry(v["hash"].as_str().expect("hash").to_owned()).or_default() += n;
        }
    }
    by_hash
}

/// Polls until all three views show exactly `expected` live instances per hash.
async fn wait_for_live(api: SocketAddr, expected: &BTreeMap<String, u64>) {
    let deadline = Instant::now() + common::WAIT;
    loop {
        let (slpm, list, (st, _)) =
            (live_by_hash_slpm(api).await, live_by_hash_list(api).await, state(api).await);
        if slpm == *expected && list == *expected && st == *expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "live instances per hash\n expected {expected:?}\n /slpm/v1/{SLP} {slpm:?}\n /slpm/v1/slps {list:?}\n /runtime/v1/state {st:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls until the compiled code of `hash` is in memory (`true`) or not.
async fn wait_compiled(api: SocketAddr, hash: &str, in_memory: bool) {
    let deadline = Instant::now() + common::WAIT;
    loop {
        let (_, compiled) = state(api).await;
        if compiled.iter().any(|h| h == hash) == in_memory {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "compiled code of {hash} in memory should be {in_memory}: {compiled:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Makes a version current, by body or by `?hash=`, recording the switch; returns its hash.
async fn switch(api: SocketAddr, log: &Switches, marker: &str, source: Result<&[u8], &str>) -> String {
    log.markers.lock().unwrap().push(marker.to_owned());
    log.started.fetch_add(1, Ordering::SeqCst);
    let (status, r) = match source {
        Ok(bytes) => upload(api, SLP, bytes).await,
        Err(hash) => api_json(api, "POST", &format!("/slpm/v1/{SLP}?hash={hash}")).await,
    };
    assert_eq!(status, 201, "switch to {marker}: {r}");
    assert_eq!(r["changed"].as_bool(), Some(true), "{r}");
    log.done.fetch_add(1, Ordering::SeqCst);
    r["hash"].as_str().expect("hash").to_owned()
}

// ---------------------------------------------------------------------------

/// A connection that keeps starting calls until `stop`: each call is
/// checked against the switch log and for pinning; the first call after
/// each switch is kept up to the end, the others are hung up at once.
async fn churn(
    mux: Arc<Mux>,
    log: Arc<Switches>,
    stop: Arc<AtomicBool>,
    kept_per_switch: Arc<AtomicUsize>,
) -> Vec<Dialogue> {
    let mut kept = Vec::new();
    let mut kept_at = 0;
    while !stop.load(Ordering::SeqCst) {
        let mut call = mux.dialogue();
        let done_before = log.before_invite();
        let version = call.establish().await;
        log.check_new_session(done_before, &version);
        call.check_pinned().await;
        if done_before > kept_at {
            kept_at = done_before;
            kept.push(call);
            kept_per_switch.fetch_add(1, Ordering::SeqCst);
        } else {
            call.hang_up().await;
        }
    }
    kept
}

async fn hot_swap(scale: Scale) {
    // Room for the held calls, the ones started during the swaps and on-load instances.
    let pool = scale.base_calls + scale.churners * (scale.uploads * 2 + 10) + 100;
    let (server, root) = start("hotswap", &format!("[slp]\nmax_live_instances = {pool}\n")).await;
    let api = server.api_addr;
    let base = guest("versioned");
    let log = Arc::new(Switches::default());
    let mut hash_of: HashMap<String, String> = HashMap::new();

    // Version 0 is current; the base calls are set up on it.
    let v0 = marker(0);
    hash_of.insert(v0.clone(), switch(api, &log, &v0, Ok(&build(&base, 0))).await);
    let mut muxes = Vec::new();
    for i in 0..scale.conns {
        muxes.push(Mux::connect(server.rtc_addr, &format!("hs{i}")).await);
    }
    let mut setups = Vec::new();
    for (i, mux) in muxes.iter().enumerate() {
        let n = scale.base_calls / scale.conns + usize::from(i < scale.base_calls % scale.conns);
        let mux = Arc::clone(mux);
        setups.push(tokio::spawn(async move {
            let mut calls: Vec<Dialogue> = (0..n).map(|_| mux.dialogue()).collect();
            let versions = futures_util::future::join_all(calls.iter_mut().map(Dialogue::establish)).await;
            assert!(versions.iter().all(|v| *v == marker(0)), "base calls on version 0");
            calls
        }));
    }
    let mut held: Vec<Dialogue> = Vec::new();
    for s in setups {
        held.extend(s.await.expect("setup task"));
    }
    assert_eq!(held.len(), scale.base_calls);
    eprintln!("hot swap: {} base calls on {} connections", held.len(), scale.conns);

    // New calls keep arriving while versions are swapped.
    let stop = Arc::new(AtomicBool::new(false));
    let kept_count = Arc::new(AtomicUsize::new(0));
    let churners: Vec<_> = muxes
        .iter()
        .take(scale.churners)
        .map(|m| {
            tokio::spawn(churn(Arc::clone(m), Arc::clone(&log), Arc::clone(&stop), Arc::clone(&kept_count)))
        })
        .collect();
    // Every churner keeps one call of version 0 before the first upload, so
    // that each keeps exactly one call per switch.
    wait_kept(&kept_count, scale.churners).await;
    let mut timings = Vec::new();
    let mut previous = v0.clone();
    for n in 1..=scale.uploads {
        let m = marker(n);
        let t = Instant::now();
        let hash = switch(api, &log, &m, Ok(&build(&base, n))).await;
        timings.push((n, t, t.elapsed()));
        hash_of.insert(m.clone(), hash);
        // Every churner keeps one call of this switch before the next one.
        wait_kept(&kept_count, scale.churners * log.done.load(Ordering::SeqCst)).await;
        if n % 2 == 0 {
            // Roll back to the version before, by hash.
            let h = hash_of[&previous].clone();
            switch(api, &log, &previous, Err(&h)).await;
            wait_kept(&kept_count, scale.churners * log.done.load(Ordering::SeqCst)).await;
        }
        previous = m;
        // The base calls still run on version 0.
        for call in held.iter_mut().step_by(scale.base_calls.div_ceil(20).max(1)) {
            call.check_pinned().await;
        }
    }
    stop.store(true, Ordering::SeqCst);
    for c in churners {
        held.extend(c.await.expect("churn task"));
    }
    let switches = log.done.load(Ordering::SeqCst);
    eprintln!(
        "hot swap: {} switches ({} uploads, {} rollbacks), {} new sessions, {} calls held",
        switches,
        scale.uploads,
        switches - 1 - scale.uploads,
        log.answers.lock().unwrap().len(),
        held.len()
    );
    report_timings(&log, &timings);

    // Every held call still runs on the version that answered its INVITE.
    for call in &mut held {
        call.check_pinned().await;
    }
    // The API counts them exactly, per hash.
    let mut by_marker: BTreeMap<String, Vec<Dialogue>> = BTreeMap::new();
    for call in held {
        by_marker.entry(call.version.clone()).or_default().push(call);
    }
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for (m, calls) in &by_marker {
        *expected.entry(hash_of[m].clone()).or_default() += calls.len() as u64;
    }
    wait_for_live(api, &expected).await;
    assert!(expected.len() > 2, "calls of several versions are live: {expected:?}");

    // Old calls end, oldest version first: its count falls to zero, its code
    // leaves memory and its file stays on disk. The current version stays.
    let current = log.markers.lock().unwrap().last().cloned().expect("a switch");
    let current_hash = hash_of[&current].clone();
    let mut order: Vec<String> = by_marker.keys().cloned().collect();
    order.sort_by_key(|m| (m == &current, m.clone()));
    for m in &order {
        let calls = by_marker.get_mut(m).expect("group");
        let half = calls.len() / 2;
        let (first_half, rest) = calls.split_at_mut(half);
        for c in first_half.iter_mut() {
            c.hang_up().await;
        }
        let hash = &hash_of[m];
        if !first_half.is_empty() {
            // The count falls as the sessions end.
            *expected.get_mut(hash).expect("counted") -= first_half.len() as u64;
            wait_for_live(api, &expected).await;
            wait_compiled(api, hash, true).await;
        }
        for c in rest.iter_mut() {
            c.hang_up().await;
        }
        expected.remove(hash);
        wait_for_live(api, &expected).await;
        let (status, e) = api_json(api, "GET", &format!("/slpm/v1/{SLP}")).await;
        assert_eq!(status, 200);
        let listed: Vec<&str> =
            e["versions"].as_array().unwrap().iter().map(|v| v["hash"].as_str().unwrap()).collect();
        if *hash != current_hash {
            assert!(
                !listed.contains(&hash.as_str()),
                "{m} has no instance and is not current, yet listed: {e}"
            );
            wait_compiled(api, hash, false).await;
        } else {
            assert_eq!(listed, vec![hash.as_str()], "only the current version is left: {e}");
            wait_compiled(api, hash, true).await;
        }
        assert!(
            root.join("store").join(format!("{hash}.wasm")).exists(),
            "the file of {m} stays in the store"
        );
    }

    // Rollback by hash to version 0, whose code was dropped: the next session runs it.
    let h0 = hash_of[&v0].clone();
    assert_ne!(h0, current_hash);
    wait_compiled(api, &h0, false).await;
    switch(api, &log, &v0, Err(&h0)).await;
    wait_compiled(api, &h0, true).await;
    let mut call = muxes[0].dialogue();
    assert_eq!(call.establish().await, v0, "the session after the rollback runs version 0");
    call.check_pinned().await;
    call.hang_up().await;
    drop(call);

    for mux in &muxes {
        assert!(mux.strays().is_empty(), "{}: frames outside any open call: {:?}", mux.userid, mux.strays());
    }
    server.stop().await;
}

/// Waits until the churners have kept `n` calls (one per churner per switch).
async fn wait_kept(kept: &AtomicUsize, n: usize) {
    let deadline = Instant::now() + common::WAIT * 6;
    while kept.load(Ordering::SeqCst) < n {
        assert!(
            Instant::now() < deadline,
            "churners kept {} calls, waiting for {n}",
            kept.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Prints, for each upload, request→201 and request→first new session served by it.
fn report_timings(log: &Switches, timings: &[(usize, Instant, Duration)]) {
    let answers = log.answers.lock().unwrap();
    let mut to_201 = Vec::new();
    let mut to_first = Vec::new();
    for (n, sent, took) in timings {
        let m = marker(*n);
        // Markers of uploads are new, so any answer carrying one came after its request.
        if let Some(first) = answers.iter().filter(|(_, v)| *v == m).map(|(t, _)| *t).min() {
            to_first.push(first - *sent);
        }
        to_201.push(*took);
    }
    let stats = |mut v: Vec<Duration>| {
        v.sort();
        if v.is_empty() {
            return "n/a".to_owned();
        }
        format!("min {:?} p50 {:?} max {:?} (n={})", v[0], v[v.len() / 2], v[v.len() - 1], v.len())
    };
    eprintln!("hot swap: upload request → 201: {}", stats(to_201));
    eprintln!("hot swap: upload request → first new session served by it: {}", stats(to_first));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_swap_under_load_pins_sessions_and_frees_old_code() {
    hot_swap(Scale { conns: 8, base_calls: 300, churners: 4, uploads: 20 }).await;
}

/// The scale: 10,000 live calls on 100 connections (more as new ones
/// keep arriving), 100 uploads and 50 rollbacks. Needs the release build and a few minutes:
/// `cargo test --release -p slp-host --test hotswap -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread")]
#[ignore]
async fn hot_swap_full_scale() {
    hot_swap(Scale { conns: 100, base_calls: 10_000, churners: 2, uploads: 100 }).await;
}

#[test]
fn builds_differ_only_in_their_marker() {
    let base = guest("versioned");
    let (a, b) = (build(&base, 1), build(&base, 2));
    assert_eq!(a.len(), base.len());
    assert_ne!(a, b);
    let differing = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    assert_eq!(differing, 1, "one digit differs");
}
