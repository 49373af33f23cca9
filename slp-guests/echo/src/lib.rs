//! The `echo` SLP: answers every request with 200. The host benchmarks with
//! it (one fresh instance per session), so it does as little as possible.
//!
//! * MESSAGE, OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, INFO: 200; outside an
//!   INVITE dialogue the instance then finishes.
//! * INVITE (initial or re-INVITE), UPDATE, PRACK: 200; the dialogue is kept.
//! * ACK: nothing. BYE (already answered by the stack) and CANCEL: finish.
//! * Responses: ignored.

use slp_sdk::build::response;
use slp_sdk::{Context, Delivery, InitKind, Kind, Method, Slp};

struct Echo {
    /// An INVITE dialogue was opened on this instance.
    in_dialogue: bool,
}

impl Slp for Echo {
    fn init(_kind: InitKind, _ctx: &Context) -> Self {
        // The on-load instance holds nothing, so it ends when init returns.
        Echo { in_dialogue: false }
    }

    fn on_message(&mut self, d: Delivery) {
        let Kind::Request(method) = d.message.kind else { return };
        match method {
            Method::Message
            | Method::Options
            | Method::Register
            | Method::Subscribe
            | Method::Notify
            | Method::Info => {
                answer(&d, 200);
                if !self.in_dialogue {
                    slp_sdk::finish();
                }
            }
            Method::Invite => {
                self.in_dialogue = true;
                answer(&d, 200);
            }
            Method::Update | Method::Prack => answer(&d, 200),
            Method::Ack => {}
            Method::Bye | Method::Cancel => slp_sdk::finish(),
        }
    }
}

fn answer(d: &Delivery, code: u16) {
    // `response` only fails for an ACK or a response, which never get here.
    if let Ok(r) = response(&d.message, code)
        && let Err(e) = slp_sdk::send(&r)
    {
        slp_sdk::warn!("echo: {} {code} not sent: {} {}", d.name(), e.code, e.detail);
    }
}

slp_sdk::export_slp!(Echo);
