//! The RTC side: the WebSocket listener, its connections, and the endpoint
//! registry with its per-endpoint queues.

pub mod connection;
pub mod handshake;
pub mod registry;
