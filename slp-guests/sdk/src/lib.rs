//! `slp-sdk`: write slp-host service logic programs (SLPs) in Rust.
//!
//! An SLP is a WebAssembly component exporting the `jsip:slp` world
//! (`wit/slp.wit`, spec §13). With this crate it is a type implementing
//! [`Slp`] plus one [`export_slp!`] line:
//!
//! ```no_run
//! use slp_sdk::{Context, Delivery, InitKind, Method, Slp, build::response};
//!
//! struct Hello;
//!
//! impl Slp for Hello {
//!     fn init(_kind: InitKind, _ctx: &Context) -> Self {
//!         Hello
//!     }
//!
//!     fn on_message(&mut self, d: Delivery) {
//!         if d.message.method() == Some(Method::Message) {
//!             let _ = slp_sdk::send(&response(&d.message, 200).unwrap());
//!             slp_sdk::finish();
//!         }
//!     }
//! }
//!
//! slp_sdk::export_slp!(Hello);
//! ```
//!
//! Messages are [`jsip::Message`] values, the same type the host's protocol
//! core uses, and the §13.8 helpers are the core's own ([`build`]), so a
//! message an SLP builds here is exactly the message the stack would build.
//!
//! The crate compiles for the host target too (host calls then panic), so
//! SLP logic and the conversions can be unit-tested with `cargo test`.

use std::fmt;

pub use jsip;
pub use jsip::build::{self, HelperError};
pub use jsip::{DialogueId, Headers, Json, Kind, Message, Method, TermKind};

/// The bindings generated from `wit/slp.wit`. SLPs normally need none of it
/// directly: the SDK re-exports what they use.
#[doc(hidden)]
#[allow(clippy::too_many_arguments)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "slp",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__export_slp_world",
        default_bindings_module: "slp_sdk::bindings",
        additional_derives: [PartialEq, Eq],
    });
}

mod convert;
pub mod kv;

#[doc(hidden)]
pub mod __rt;

use bindings::jsip::slp::host as wit_host;
use bindings::jsip::slp::types as wit;

pub use wit::{Context, InitKind, LogLevel, Origin, SendError, SendErrorCode, Sent};

/// The entry points of an SLP (spec §13.1). One value of the type exists per
/// instance: [`Slp::init`] creates it, the other entries borrow it mutably.
/// Calls are made one at a time, in mailbox order.
pub trait Slp: Sized + 'static {
    /// The first call of every instance: a per-session instance (the request
    /// that created it follows at once) or the on-load instance of a version.
    fn init(kind: InitKind, ctx: &Context) -> Self;

    /// A message for the instance: requests, responses and synthetic ones.
    fn on_message(&mut self, d: Delivery);

    /// The binding period of `dialogue_id` ended (spec §7.4). Ignored by default.
    fn on_term(&mut self, dialogue_id: &str, kind: TermKind) {
        let _ = (dialogue_id, kind);
    }

    /// A timer started with [`start_timer`] fired. Ignored by default.
    fn on_timer(&mut self, id: u64, tag: u64) {
        let _ = (id, tag);
    }
}

/// A delivered message and its metadata (spec §13.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The message, exactly as received (or as built by the stack).
    pub message: Message,
    /// The method; for a response, the method of the request it answers.
    pub method: Method,
    /// Peer or stack.
    pub origin: Origin,
    /// For peer messages: the endpoint it came from (client userid or node name).
    pub source: Option<String>,
    /// Set when the message reached this instance through a relid.
    pub relid: Option<String>,
    /// True when this message created the binding of its DialogueID to this instance.
    pub first: bool,
}

impl Delivery {
    /// True for a request.
    pub fn is_request(&self) -> bool {
        self.message.is_request()
    }

    /// The response code; `None` for a request.
    pub fn code(&self) -> Option<u16> {
        self.message.code()
    }

    /// `METHOD` for a request, `METHOD_code` for a response (e.g. `INVITE_200`).
    pub fn name(&self) -> String {
        build::name(&self.message, self.method)
    }

    /// True for a request of `method`.
    pub fn is_request_of(&self, method: Method) -> bool {
        self.message.kind == Kind::Request(method)
    }

    /// True for a response to a `method` request with `code`.
    pub fn is_response_to(&self, method: Method, code: u16) -> bool {
        self.method == method && self.message.kind == Kind::Response(code)
    }

    /// `ack(resp)` of spec §13.8 for this response (a final answer to an INVITE).
    pub fn ack(&self) -> Result<Message, HelperError> {
        build::ack(&self.message, self.method)
    }
}

impl SendErrorCode {
    /// The code as spec §13.4 writes it, e.g. `no-dialogue`.
    pub fn as_str(self) -> &'static str {
        match self {
            SendErrorCode::InvalidMessage => "invalid-message",
            SendErrorCode::TooLarge => "too-large",
            SendErrorCode::NotOwner => "not-owner",
            SendErrorCode::DuplicateCseq => "duplicate-cseq",
            SendErrorCode::NoTransaction => "no-transaction",
            SendErrorCode::NoDialogue => "no-dialogue",
            SendErrorCode::InvalidState => "invalid-state",
            SendErrorCode::BadRelatedId => "bad-related-id",
            SendErrorCode::BadRoute => "bad-route",
            SendErrorCode::Quota => "quota",
        }
    }
}

impl fmt::Display for SendErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl LogLevel {
    /// `debug`, `info`, `warn` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

impl Origin {
    /// `peer` or `stack`.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Peer => "peer",
            Origin::Stack => "stack",
        }
    }
}

// ---------------------------------------------------------------------------
// Host services (spec §13.3)
// ---------------------------------------------------------------------------

/// Submits a message through the stack (spec §13.4). Returns once the
/// DialogueID's stream has processed it; later outcomes arrive as deliveries.
/// A failed send changes nothing.
pub fn send(msg: &Message) -> Result<Sent, SendError> {
    wit_host::send(&convert::message_to_wit(msg))
}

/// A new DialogueID `dlg_<realm>_<uuid-v4>`, reserved for and bound to this
/// instance. Fails when the quota is reached.
pub fn new_dialogue_id() -> Result<String, String> {
    wit_host::new_dialogue_id()
}

/// A new relid `rel<realm>+<uuid-v4>` bound to this instance (spec §13.6).
/// A bound relid keeps the instance alive.
pub fn bind_relid() -> Result<String, String> {
    wit_host::bind_relid()
}

/// Releases a relid; true if it was bound to this instance.
pub fn unbind_relid(relid: &str) -> bool {
    wit_host::unbind_relid(relid)
}

/// Starts a one-shot timer of `delay_ms` (1 … 86 400 000) that fires
/// [`Slp::on_timer`] with `tag`. Returns its id.
pub fn start_timer(delay_ms: u32, tag: u64) -> Result<u64, String> {
    wit_host::start_timer(delay_ms, tag)
}

/// Cancels a timer; true if it was pending (its firing is then never delivered).
pub fn cancel_timer(id: u64) -> bool {
    wit_host::cancel_timer(id)
}

/// Ends the instance when the current call returns (spec §12.3). Idempotent;
/// sends made in the same call, before or after, still happen.
pub fn finish() {
    wit_host::finish()
}

/// Writes a line to the server log, tagged with the SLP name, version and
/// instance. See also [`debug!`], [`info!`], [`warn!`] and [`error!`].
pub fn log(level: LogLevel, text: &str) {
    wit_host::log(level, text)
}

/// The JSON text of `[slps.<name>.config]`, or `{}`.
pub fn config() -> String {
    wit_host::config()
}

/// The configuration parsed into `T`.
pub fn config_json<T: serde::de::DeserializeOwned>() -> Result<T, serde_json::Error> {
    serde_json::from_str(&config())
}

/// `jsip.realm` of the host.
pub fn realm() -> String {
    wit_host::realm()
}

/// Logs `reason` at `error` level, then traps the instance deliberately (an
/// explicit abort, trap kind `panic`, spec §12.5).
pub fn trap(reason: &str) -> ! {
    log(LogLevel::Error, reason);
    std::process::abort()
}

/// Logs a formatted line at `debug` level.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => { $crate::log($crate::LogLevel::Debug, &::std::format!($($arg)*)) };
}

/// Logs a formatted line at `info` level.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::log($crate::LogLevel::Info, &::std::format!($($arg)*)) };
}

/// Logs a formatted line at `warn` level.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::log($crate::LogLevel::Warn, &::std::format!($($arg)*)) };
}

/// Logs a formatted line at `error` level.
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => { $crate::log($crate::LogLevel::Error, &::std::format!($($arg)*)) };
}

/// Exports a type implementing [`Slp`] as the component's `jsip:slp/slp`
/// world. Use it once, in the SLP's `cdylib` crate.
///
/// The instance's value lives in a thread-local cell: [`Slp::init`] fills it,
/// every later entry borrows it. A component instance is single-threaded and
/// serves exactly one SLP instance, so this is the instance state.
#[macro_export]
macro_rules! export_slp {
    ($ty:ty) => {
        const _: () = {
            ::std::thread_local! {
                static __SLP_STATE: ::core::cell::RefCell<::core::option::Option<$ty>> =
                    const { ::core::cell::RefCell::new(::core::option::Option::None) };
            }

            struct __SlpExports;

            impl $crate::bindings::Guest for __SlpExports {
                fn init(kind: $crate::InitKind, ctx: $crate::Context) {
                    $crate::__rt::init::<$ty>(&__SLP_STATE, kind, ctx)
                }
                fn on_message(delivery: $crate::bindings::Delivery) {
                    $crate::__rt::on_message::<$ty>(&__SLP_STATE, delivery)
                }
                fn on_term(dialogue_id: ::std::string::String, kind: $crate::bindings::TermKind) {
                    $crate::__rt::on_term::<$ty>(&__SLP_STATE, dialogue_id, kind)
                }
                fn on_timer(id: u64, tag: u64) {
                    $crate::__rt::on_timer::<$ty>(&__SLP_STATE, id, tag)
                }
            }

    $crate::bindings::__export_slp_world!(__SlpExports with_types_in $crate::bindings);
        };
    };
}
