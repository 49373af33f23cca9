//! The `versioned` SLP: `echo` that names its build in every answer, so a
//! peer can tell which version of an SLP served its session (hot-swap tests).
//!
//! Every answer carries `X-Version` = the 32 bytes of [`MARKER`]. Tests make
//! distinct versions from one build by overwriting the 20 digits after
//! `@@slp-version@@:` in the component's bytes (the marker is a data segment
//! of the core module, so a same-length patch keeps the component valid and
//! changes its hash).
//!
//! Behaviour otherwise as `echo`: MESSAGE, OPTIONS, REGISTER, SUBSCRIBE,
//! NOTIFY, INFO get 200 and finish the instance outside an INVITE dialogue;
//! INVITE, UPDATE, PRACK get 200 and keep the dialogue; ACK nothing; BYE and
//! CANCEL finish.

use slp_sdk::build::response;
use slp_sdk::{Context, Delivery, InitKind, Json, Kind, Method, Slp};

/// The build's name: a fixed prefix and 20 digits that tests patch.
#[used]
static MARKER: [u8; 36] = *b"@@slp-version@@:00000000000000000000";

/// Reads the marker from memory, so that the compiler cannot fold the
/// constant into code (the patched bytes must be the ones answered).
fn marker() -> String {
    let bytes: Vec<u8> =
        (0..MARKER.len()).map(|i| unsafe { std::ptr::read_volatile(MARKER.as_ptr().add(i)) }).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

struct Versioned {
    /// An INVITE dialogue was opened on this instance.
    in_dialogue: bool,
}

impl Slp for Versioned {
    fn init(_kind: InitKind, _ctx: &Context) -> Self {
        Versioned { in_dialogue: false }
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
    let Ok(mut r) = response(&d.message, code) else { return };
    r.headers.set("X-Version", Json::string(&marker()));
    if let Err(e) = slp_sdk::send(&r) {
        slp_sdk::warn!("versioned: {} {code} not sent: {} {}", d.name(), e.code, e.detail);
    }
}

slp_sdk::export_slp!(Versioned);
