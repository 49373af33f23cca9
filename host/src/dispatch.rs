//! Dispatch (spec §9): which session actor gets a received message, and which
//! SLP a new conversation goes to. Runs on the socket reader; it never waits
//! for an instance. Creating the instance happens in the new actor's task.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use jsip::stats::Toward;
use jsip::uri::{self, Uri};
use jsip::{Endpoint, Kind, Message, Method, build};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::actor::{self, Plan};
use crate::metrics::{Direction, Dropped};
use crate::shared::Shared;
use crate::transport::registry::Outbound;

/// Hands a received, valid message to the actor bound to its DialogueID, or
/// dispatches it as a new conversation.
pub fn received(shared: &Arc<Shared>, msg: Message, source: &Endpoint) {
    let d = msg.dialogue_id.clone();
    // Step 2: the DialogueID binding (orphaned dialogues keep theirs, step 1).
    let msg = match shared.dispatch.get(&d) {
        Some(actor) => match actor.received(msg, source.clone(), None) {
            Ok(()) => return,
            // The actor ended after the lookup: the binding is stale.
            Err(msg) => {
                shared.dispatch.unbind(&d, actor.id());
                msg
            }
        },
        None => msg,
    };
    let method = match msg.kind {
        Kind::Response(_) => return answer_unbound(shared, msg, source),
        Kind::Request(m) => m,
    };
    new_request(shared, method, msg, source);
}

/// A response on an unbound DialogueID: it answers a BYE or CANCEL whose
/// transaction outlived the binding (§5.7, §9.5), or nothing.
fn answer_unbound(shared: &Arc<Shared>, msg: Message, source: &Endpoint) {
    let Some(actor) = shared.dispatch.answers(&msg.dialogue_id) else {
        return shared.metrics.dropped(Dropped::NoTransaction);
    };
    // The actor ended after the lookup: the route is stale.
    if let Err(msg) = actor.received(msg, source.clone(), None) {
        shared.dispatch.unroute_answers(&msg.dialogue_id, actor.id());
        shared.metrics.dropped(Dropped::NoTransaction);
    }
}

/// A request on an unbound DialogueID (§7.3, §9.2 steps 3–9).
pub fn new_request(shared: &Arc<Shared>, method: Method, msg: Message, source: &Endpoint) {
    match method {
        Method::Ack => return shared.metrics.dropped(Dropped::AckNoDialogue),
        // §7.3: answered by the stack before dispatch.
        _ if method.needs_dialogue() => return answer_stateless(shared, &msg, source, 481, "no dialogue"),
        _ => {}
    }
    // Step 3: the first Router element must parse.
    let router = msg.router.as_deref().map(uri::first_router);
    let first = match router.map(Uri::parse) {
        None => None,
        Some(Ok(u)) => Some(u),
        Some(Err(e)) => return reject(shared, msg, source, 400, format!("bad Router: {e}")),
    };
    // Step 4: relid.
    if let Some(relid) = first.as_ref().and_then(|u| u.param("relid")).filter(|r| !r.is_empty()) {
        return match shared.dispatch.relid(relid) {
            Some(actor) => {
                let relid = relid.to_owned();
                let d = msg.dialogue_id.clone();
                if shared.dispatch.bind(&d, &actor) {
                    if let Err(msg) = actor.received(msg, source.clone(), Some(relid)) {
                        shared.dispatch.unbind(&d, actor.id());
                        reject(shared, msg, source, 404, "unknown relid".into());
                    }
                } else {
                    received(shared, msg, source);
                }
            }
            None => reject(shared, msg, source, 404, "unknown relid".into()),
        };
    }
    // Step 5.
    if !method.may_create_instance() {
        return reject(shared, msg, source, 481, "no dialogue".into());
    }
    // Step 6: type parameter, else first label of the first Router URI or of
    // the Request-URI when such an SLP is loaded, else `default`.
    let name = select_slp(shared, &msg, first.as_ref());
    // Step 7.
    let Some(version) = shared.modules.current(&name) else {
        return reject(shared, msg, source, 404, format!("SLP {name} not loaded"));
    };
    // Step 8.
    if shared.draining.load(Ordering::Relaxed) {
        return reject(shared, msg, source, 503, "shutting down".into());
    }
    let max = shared.config.slp_limits(&name).max_instances;
    if max > 0 && version.live.load(Ordering::Relaxed) as usize >= max {
        return reject(shared, msg, source, 503, "SLP overloaded".into());
    }
    // Step 9: a new actor, bound before the next event of the DialogueID (O6).
    start(shared, Plan::Session(version), msg, source);
}

fn select_slp(shared: &Shared, msg: &Message, first_router: Option<&Uri<'_>>) -> String {
    if let Some(t) = first_router.and_then(|u| u.param("type")).filter(|t| !t.is_empty()) {
        return t.to_owned();
    }
    let label = match (first_router, msg.router.is_some()) {
        (Some(u), _) => Some(u.first_label().to_owned()),
        (None, false) => {
            msg.request_uri.as_deref().and_then(|r| Uri::parse(r).ok()).map(|u| u.first_label().to_owned())
        }
        (None, true) => None,
    };
    match label {
        Some(l) if shared.modules.is_loaded(&l) => l,
        _ => "default".to_owned(),
    }
}

/// Starts an actor for a new conversation and hands it the request.
fn start(shared: &Arc<Shared>, plan: Plan, msg: Message, source: &Endpoint) {
    let d = msg.dialogue_id.clone();
    let actor = actor::spawn_for(shared, plan, Some(&d));
    match shared.dispatch.bind_or_get(&d, &actor) {
        Ok(()) => {
            actor.track_binding(d.clone());
            if let Err(msg) = actor.received(msg, source.clone(), None) {
                shared.dispatch.unbind(&d, actor.id());
                received(shared, msg, source);
            }
        }
        // Another socket bound the DialogueID first: that actor gets it.
        Err(_) => {
            actor.abandon();
            received(shared, msg, source);
        }
    }
}

/// Answers a request that no SLP will see. An INVITE is answered through a
/// dialogue (it moves to ERR and waits for the ACK), so it gets an actor
/// without an instance; anything else is answered statelessly.
fn reject(shared: &Arc<Shared>, msg: Message, source: &Endpoint, code: u16, reason: String) {
    if msg.method() == Some(Method::Invite) {
        return start(shared, Plan::Reject { code, reason }, msg, source);
    }
    answer_stateless(shared, &msg, source, code, &reason);
}

/// A response built from the request, written to the socket it came from.
pub fn answer_stateless(shared: &Shared, request: &Message, source: &Endpoint, code: u16, reason: &str) {
    let mut answer = match build::response(request, code) {
        Ok(a) => a,
        Err(_) => return,
    };
    answer.set_reason(reason);
    if send_generated(shared, &answer, source) == Some(false) {
        shared.metrics.dropped(Dropped::QueueFull);
    }
}

/// Queues an answer the host made itself (not an SLP) for the peer it
/// answers, and counts it. `Some(false)` when the peer's queue refused it,
/// `None` when it could not be serialised.
pub fn send_generated(shared: &Shared, answer: &Message, peer: &Endpoint) -> Option<bool> {
    if let Some(code) = answer.code() {
        shared.metrics.generated(code, Toward::Peer);
    }
    let frame = answer.to_frame().ok()?;
    let queued = shared
        .registry
        .enqueue(peer.as_str(), Outbound { frame: Utf8Bytes::from(frame), track: None })
        .is_ok();
    if queued {
        shared.metrics.message(Direction::Out, answer.kind);
    }
    Some(queued)
}
