//! The key-value store shared by all instances of all versions of the SLP
//! name (spec §13.7). Every operation is atomic. Keys are 1–512 bytes of
//! UTF-8, values at most `slp.kv_max_value` bytes, TTLs in milliseconds.

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::bindings::jsip::slp::kv::{
    Entry, Expectation, KvError, Page, delete, delete_if, get, list, put, put_if, set_ttl,
};

/// A JSON helper failed: in the store, or (de)serialising the value.
#[derive(Debug)]
pub enum KvJsonError {
    /// The store refused the operation.
    Kv(KvError),
    /// The value could not be serialised, or the stored bytes are not `T`.
    Json(serde_json::Error),
}

impl fmt::Display for KvJsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvJsonError::Kv(e) => write!(f, "store: {}", e.name()),
            KvJsonError::Json(e) => write!(f, "json: {e}"),
        }
    }
}

impl std::error::Error for KvJsonError {}

impl From<KvError> for KvJsonError {
    fn from(e: KvError) -> Self {
        KvJsonError::Kv(e)
    }
}

impl From<serde_json::Error> for KvJsonError {
    fn from(e: serde_json::Error) -> Self {
        KvJsonError::Json(e)
    }
}

/// The value of `key` decoded from JSON, with its revision (for [`put_json_if`]).
pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<(T, u64)>, KvJsonError> {
    match get(key) {
        Some(entry) => Ok(Some((serde_json::from_slice(&entry.value)?, entry.revision))),
        None => Ok(None),
    }
}

/// Stores `value` as JSON, replacing value and TTL; returns the new revision.
pub fn put_json<T: Serialize + ?Sized>(
    key: &str,
    value: &T,
    ttl_ms: Option<u64>,
) -> Result<u64, KvJsonError> {
    Ok(put(key, &serde_json::to_vec(value)?, ttl_ms)?)
}

/// Stores `value` as JSON only if `expect` holds; returns the new revision.
pub fn put_json_if<T: Serialize + ?Sized>(
    key: &str,
    value: &T,
    expect: Expectation,
    ttl_ms: Option<u64>,
) -> Result<u64, KvJsonError> {
    Ok(put_if(key, &serde_json::to_vec(value)?, expect, ttl_ms)?)
}
