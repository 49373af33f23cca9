//! What `echo` does with each message, apart from how it sends an answer.
//! `versioned` includes this file too (`#[path]`): it must behave exactly
//! like `echo` and only adds a header to its answers.
//!
//! * MESSAGE, OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, INFO: 200; outside an
//!   INVITE dialogue the instance then finishes.
//! * INVITE (initial or re-INVITE), UPDATE, PRACK: 200; the dialogue is kept.
//! * ACK: nothing. BYE (already answered by the stack) and CANCEL: finish.
//! * Responses: ignored.

use slp_sdk::{Delivery, Kind, Method};

/// One instance's state.
#[derive(Default)]
pub struct Behaviour {
    /// An INVITE dialogue was opened on this instance.
    in_dialogue: bool,
}

impl Behaviour {
    /// Handles `d`, answering through `answer(d, code)`.
    pub fn on_message(&mut self, d: &Delivery, answer: fn(&Delivery, u16)) {
        let Kind::Request(method) = d.message.kind else { return };
        match method {
            Method::Message
            | Method::Options
            | Method::Register
            | Method::Subscribe
            | Method::Notify
            | Method::Info => {
                answer(d, 200);
                if !self.in_dialogue {
                    slp_sdk::finish();
                }
            }
            Method::Invite => {
                self.in_dialogue = true;
                answer(d, 200);
            }
            Method::Update | Method::Prack => answer(d, 200),
            Method::Ack => {}
            Method::Bye | Method::Cancel => slp_sdk::finish(),
        }
    }
}
