//! slp-host: the JSIP signalling server that runs per-session WebAssembly SLPs.
//!
//! | module        | job                                                            |
//! |---------------|----------------------------------------------------------------|
//! | [`transport`] | WebSocket listener, connections, endpoint registry and queues  |
//! | [`dispatch`]  | which session actor gets a message; which SLP a new one goes to |
//! | [`actor`]     | the session actor: stack + wasm instance + timers, one task    |
//! | [`session`]   | the actor's state and the host services SLPs call              |
//! | [`runtime`]   | wasmtime engine, SLP versions, WIT bindings, WASI, kv, traps   |
//! | [`api`]       | management API: `/slpm/v1`, `/runtime/v1/state`, `/metrics`    |
//! | [`server`]    | start-up and shutdown                                          |
//! | [`scenario`]  | scripted peers: `slp-host test` (isolation) and `scenario` (live) |
//!
//! The protocol itself (syntax, transactions, dialogues) is the `jsip` crate.

pub mod actor;
pub mod api;
pub mod cli;
pub mod config;
pub mod dispatch;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod pidfile;
pub mod runtime;
pub mod scenario;
pub mod server;
pub mod session;
pub mod shared;
pub mod slpm_cli;
pub mod transport;
