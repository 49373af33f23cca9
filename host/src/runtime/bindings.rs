//! Host-side bindings of the `slp` world (`wit/slp.wit`).

wasmtime::component::bindgen!({
    world: "slp",
    path: "../wit/slp.wit",
});

pub use self::jsip::slp::{host, kv, types};
