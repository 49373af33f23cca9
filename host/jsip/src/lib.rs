//! `jsip`: the JSIP protocol core of slp-host.
//!
//! Sans-IO: nothing here reads a clock, a socket or a thread. The host, the
//! in-process SLP test harness and the load generator all drive the same code
//! by feeding it inputs (a received frame, an SLP send, "the time is now T")
//! and carrying out the outputs it returns.
//!
//! | module        | layer                                                        |
//! |---------------|--------------------------------------------------------------|
//! | [`message`]   | the message model and its serialisation (spec §2)            |
//! | [`json`]      | exact integers, canonical pass-through JSON, escaping        |
//! | [`syntax`]    | receiving frames: §4.1 frame checks, §4.2 object validation  |
//! | [`uri`]       | JSIP URIs and the `Router` list (spec §3)                    |
//! | [`transaction`] | transaction states and timers (spec §5)                    |
//! | [`session`]   | the INVITE dialogue state machine, tables A–H (spec §6)      |
//! | [`stack`]     | one instance's transactions, dialogues, bindings, TERM (§5–§8) |
//! | [`stats`]     | counters of timer expiries and generated responses (§14.7)   |
//! | [`build`]     | messages built from messages: SDK helpers and §6.7           |
//! | [`time`]      | time as an input                                             |

pub mod build;
pub mod json;
pub mod message;
pub mod session;
pub mod stack;
pub mod stats;
pub mod syntax;
pub mod time;
pub mod transaction;
pub mod uri;

pub use json::Json;
pub use message::{DialogueId, Headers, Kind, Message, Method};
pub use stack::{
    Config, Delivery, Endpoint, Origin, Output, SendError, Sent, Stack, TermKind, Track, Transmit,
};
pub use syntax::Rejection;
pub use time::Time;
