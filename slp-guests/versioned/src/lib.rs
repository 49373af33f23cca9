//! The `versioned` SLP: `echo` that names its build in every answer, so a
//! peer can tell which version of an SLP served its session (hot-swap tests).
//!
//! Every answer carries `X-Version` = the 32 bytes of [`MARKER`]. Tests make
//! distinct versions from one build by overwriting the 20 digits after
//! `@@slp-version@@:` in the component's bytes (the marker is a data segment
//! of the core module, so a same-length patch keeps the component valid and
//! changes its hash).
//!
//! Behaviour otherwise as `echo`, whose `behaviour.rs` this crate shares.

#[path = "../../echo/src/behaviour.rs"]
mod behaviour;

use behaviour::Behaviour;
use slp_sdk::build::response;
use slp_sdk::{Context, Delivery, InitKind, Json, Slp};

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

struct Versioned(Behaviour);

impl Slp for Versioned {
    fn init(_kind: InitKind, _ctx: &Context) -> Self {
        Versioned(Behaviour::default())
    }

    fn on_message(&mut self, d: Delivery) {
        self.0.on_message(&d, answer);
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
