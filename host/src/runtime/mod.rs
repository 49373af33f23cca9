//! The WebAssembly runtime: the engine, SLP versions, the host side of the
//! WIT contract, the minimal WASI given to guests, the key-value store and traps.

pub mod bindings;
pub mod convert;
pub mod deadline;
pub mod engine;
pub mod kv;
pub mod modules;
pub mod traps;
pub mod wasi;

use wasmtime::component::{HasSelf, Linker};

use crate::session::Session;

/// The linker every SLP is instantiated with: the `slp` world and the minimal WASI.
pub fn linker(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<Session>> {
    let mut linker = Linker::new(engine);
    bindings::Slp::add_to_linker::<Session, HasSelf<Session>>(&mut linker, |s| s)?;
    wasi::add_to_linker(&mut linker)?;
    Ok(linker)
}

/// A wasmtime error as an `anyhow` error (wasmtime 48 has its own error type).
pub fn error(e: wasmtime::Error) -> anyhow::Error {
    anyhow::anyhow!("{e:#}")
}
