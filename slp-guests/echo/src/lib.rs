//! The `echo` SLP: answers every request with 200 (see `behaviour`). The
//! host benchmarks with it (one fresh instance per session), so it does as
//! little as possible.

mod behaviour;

use behaviour::Behaviour;
use slp_sdk::build::response;
use slp_sdk::{Context, Delivery, InitKind, Slp};

struct Echo(Behaviour);

impl Slp for Echo {
    fn init(_kind: InitKind, _ctx: &Context) -> Self {
        // The on-load instance holds nothing, so it ends when init returns.
        Echo(Behaviour::default())
    }

    fn on_message(&mut self, d: Delivery) {
        self.0.on_message(&d, answer);
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
