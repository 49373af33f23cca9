//! `jsip`: the JSIP protocol core of slp-host.
//!
//! Sans-IO: nothing here reads a clock, a socket or a thread. The host, the
//! in-process SLP test harness and the load generator all drive the same code
//! by feeding it inputs (a received frame, an SLP send, "the time is now T")
//! and carrying out the outputs it returns.
//!
//! | module        | layer                                                        |
//! |---------------|--------------------------------------------------------------|
//! | [`uri`]       | JSIP URIs and the `Router` list (spec §3)                    |

pub mod uri;
pub mod json;
pub mod message;
pub mod syntax;

pub use json::Json;
pub use message::{DialogueId, Headers, Kind, Message, Method};
pub use syntax::Rejection;
