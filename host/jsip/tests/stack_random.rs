//! Seeded random walks over the stack: peers and the SLP send arbitrary
//! requests and answers on a few DialogueIDs, time jumps, the instance may end.
//! The driver checks on every output that each received request gets at most
//! one final answer on the wire, each SLP request at most one final outcome,
//! TERM closes exactly one open binding period, `first` opens one, and nothing
//! reaches an ended instance (§5.3, §7.4, O5, §12.3). At the end, once every
//! timer has run, the stack must hold nothing.

mod common;

use common::*;
use jsip::{Message, Method, build};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const DS: [&str; 3] = ["d1", "d2", "d3"];
const PEER_METHODS: [Method; 9] = [
    Method::Invite,
    Method::Invite,
    Method::Ack,
    Method::Bye,
    Method::Cancel,
    Method::Prack,
    Method::Update,
    Method::Info,
    Method::Message,
];
const CODES: [u16; 9] = [100, 180, 183, 200, 202, 404, 486, 487, 500];

fn pick<'a, T>(rng: &mut StdRng, v: &'a [T]) -> Option<&'a T> {
    if v.is_empty() { None } else { Some(&v[rng.random_range(0..v.len())]) }
}

/// Mostly one of the last few, sometimes any.
fn recent<T: Clone>(rng: &mut StdRng, v: Vec<T>) -> Option<T> {
    let from = if rng.random_bool(0.8) { v.len().saturating_sub(4) } else { 0 };
    pick(rng, &v[from..]).cloned()
}

fn delivered_requests(h: &Harness) -> Vec<Message> {
    h.log
        .iter()
        .filter_map(|e| match &e.what {
            What::Deliver(d) if d.message.is_request() && d.method != Method::Ack => Some(d.message.clone()),
            _ => None,
        })
        .collect()
}

fn transmitted_requests(h: &Harness) -> Vec<(String, Message)> {
    h.log
        .iter()
        .filter_map(|e| match &e.what {
            What::Tx { endpoint, message, .. }
                if message.is_request() && message.method() != Some(Method::Ack) =>
            {
                Some((endpoint.clone(), message.clone()))
            }
            _ => None,
        })
        .collect()
}

fn invite_finals(h: &Harness) -> Vec<Message> {
    h.log
        .iter()
        .filter_map(|e| match &e.what {
            What::Deliver(d) if d.method == Method::Invite && d.message.code().is_some_and(|c| c >= 200) => {
                Some(d.message.clone())
            }
            _ => None,
        })
        .collect()
}

fn walk(seed: u64, steps: usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut h = Harness::scaled();
    // Per DialogueID: the peer's next CSeq and its latest INVITE's CSeq.
    let mut next_cseq = [1u64; 3];
    let mut last_invite = [0u64; 3];
    for _ in 0..steps {
        match rng.random_range(0..20) {
            // A peer's request.
            0..=4 => {
                let m = *pick(&mut rng, &PEER_METHODS).unwrap();
                let i = rng.random_range(0..DS.len());
                let cseq = if rng.random_bool(0.85) {
                    next_cseq[i] += 1;
                    next_cseq[i]
                } else {
                    rng.random_range(1..next_cseq[i] + 2)
                };
                if m == Method::Invite {
                    last_invite[i] = cseq;
                }
                let mut req = peer(m, DS[i], cseq);
                if matches!(m, Method::Ack | Method::Cancel) {
                    req.related_id = match rng.random_range(0..10) {
                        0..=6 => Some(last_invite[i]),
                        7 => Some(rng.random_range(1..next_cseq[i] + 2)),
                        _ => None,
                    };
                }
                let from = if rng.random_bool(0.9) { "alice" } else { "carol" };
                h.recv(from, req);
            }
            // The SLP answers a delivered request.
            5..=8 => {
                if let Some(req) = recent(&mut rng, delivered_requests(&h)) {
                    let code = *pick(&mut rng, &CODES).unwrap();
                    let _ = h.send(resp(&req, code));
                }
            }
            // A peer answers a transmitted request.
            9..=12 => {
                if let Some((ep, req)) = recent(&mut rng, transmitted_requests(&h)) {
                    let code = *pick(&mut rng, &CODES).unwrap();
                    h.recv(&ep, resp(&req, code));
                }
            }
            // The SLP sends a request.
            13..=15 => {
                let d = *pick(&mut rng, &DS).unwrap();
                let msg = match rng.random_range(0..8) {
                    0 => {
                        let mut inv = slp(Method::Invite, "bob", d, 0);
                        if rng.random_bool(0.3) {
                            inv.expire = Some(rng.random_range(0..20));
                        }
                        Some(inv)
                    }
                    1 => pick(&mut rng, &invite_finals(&h)).and_then(|r| build::ack(r, Method::Invite).ok()),
                    2 => transmitted_requests(&h)
                        .into_iter()
                        .filter(|(_, m)| m.method() == Some(Method::Invite))
                        .last()
                        .and_then(|(_, inv)| build::cancel(&inv).ok()),
                    3 => Some(slp(Method::Bye, "bob", d, 0)),
                    4 => Some(slp(Method::Prack, "bob", d, 0)),
                    5 => Some(slp(Method::Update, "bob", d, 0)),
                    6 => Some(slp(Method::Info, "bob", d, 0)),
                    _ => Some(slp(Method::Message, "bob", d, rng.random_range(0..4))),
                };
                if let Some(msg) = msg {
                    let _ = h.send(msg);
                }
            }
            // Time passes.
            16..=17 => {
                let ms = *pick(&mut rng, &[0u64, 1, 200, 500, 999, 1_000, 1_000, 3_000, 9_000]).unwrap();
                h.advance(ms);
            }
            // The instance ends, rarely.
            18 => {}
            _ => {
                if rng.random_bool(0.015) {
                    h.end(if rng.random_bool(0.5) { End::Finished } else { End::Trapped });
                }
            }
        }
    }
    // Let every timer run out; the peers stay silent.
    h.advance(1_000_000);
    assert!(h.stack.is_idle(), "seed {seed}: the stack still holds state: {:?}", h.stack);
    assert_eq!(h.stack.next_timeout(), None, "seed {seed}");
}

#[test]
fn random_walks_keep_the_invariants() {
    for seed in 0..400 {
        let result = std::panic::catch_unwind(|| walk(seed, 300));
        if let Err(e) = result {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("seed {seed}: {msg}");
        }
    }
}
