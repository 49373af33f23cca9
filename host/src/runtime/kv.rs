//! The key-value store of spec §13.7: one namespace per SLP name (shared by
//! every instance of every version), in memory, with revisions, TTLs and
//! quotas. Each namespace has its own lock; operations are atomic.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

// The runtime's clock, so TTLs follow virtual time in `slp-host test`.
use tokio::time::Instant;

use dashmap::DashMap;
use parking_lot::Mutex;

/// Largest key in bytes.
pub const MAX_KEY: usize = 512;
/// Longest TTL: 366 days.
pub const MAX_TTL: Duration = Duration::from_secs(366 * 24 * 3600);

/// Limits per namespace (`slp.kv_*`).
#[derive(Debug, Clone, Copy)]
pub struct KvLimits {
    /// `slp.kv_max_keys`.
    pub max_keys: usize,
    /// `slp.kv_max_bytes`: keys plus values.
    pub max_bytes: usize,
    /// `slp.kv_max_value`.
    pub max_value: usize,
}

impl Default for KvLimits {
    fn default() -> Self {
        KvLimits { max_keys: 100_000, max_bytes: 64 << 20, max_value: 64 << 10 }
    }
}

/// Why an operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvError {
    /// A limit would be exceeded.
    Quota,
    /// Bad key or TTL.
    Invalid,
    /// The condition did not hold.
    Conflict,
}

/// A stored value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The bytes.
    pub value: Vec<u8>,
    /// Its revision.
    pub revision: u64,
    /// Remaining time to live.
    pub ttl: Option<Duration>,
}

/// The condition of `put_if`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The key must not exist.
    Absent,
    /// The key must have this revision.
    Revision(u64),
}

struct Slot {
    value: Vec<u8>,
    revision: u64,
    expires: Option<Instant>,
}

#[derive(Default)]
struct Namespace {
    keys: BTreeMap<String, Slot>,
    revision: u64,
    bytes: usize,
}

impl Namespace {
    /// Drops the key if it has expired; true if it is (still) there.
    fn live(&mut self, key: &str, now: Instant) -> bool {
        match self.keys.get(key) {
            Some(s) if s.expires.is_some_and(|e| e <= now) => {
                self.remove(key);
                false
            }
            Some(_) => true,
            None => false,
        }
    }

    fn remove(&mut self, key: &str) -> bool {
        match self.keys.remove(key) {
            Some(s) => {
                self.bytes -= key.len() + s.value.len();
                true
            }
            None => false,
        }
    }

    fn write(
        &mut self,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
        limits: &KvLimits,
        now: Instant,
    ) -> Result<u64, KvError> {
        let old = self.keys.get(key).map(|s| key.len() + s.value.len());
        let new = key.len() + value.len();
        if old.is_none() && self.keys.len() >= limits.max_keys {
            return Err(KvError::Quota);
        }
        if self.bytes - old.unwrap_or(0) + new > limits.max_bytes {
            return Err(KvError::Quota);
        }
        self.revision += 1;
        self.bytes = self.bytes - old.unwrap_or(0) + new;
        let slot = Slot { value, revision: self.revision, expires: ttl.map(|t| now + t) };
        self.keys.insert(key.to_owned(), slot);
        Ok(self.revision)
    }

    fn sweep(&mut self, now: Instant) {
        let expired: Vec<String> = self
            .keys
            .iter()
            .filter(|(_, s)| s.expires.is_some_and(|e| e <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for k in expired {
            self.remove(&k);
        }
    }
}

/// One namespace handle.
#[derive(Clone)]
pub struct Store {
    ns: Arc<Mutex<Namespace>>,
    limits: KvLimits,
}

fn check_key(key: &str) -> Result<(), KvError> {
    if key.is_empty() || key.len() > MAX_KEY { Err(KvError::Invalid) } else { Ok(()) }
}

fn check_ttl(ttl: Option<Duration>) -> Result<(), KvError> {
    match ttl {
        Some(t) if t.is_zero() || t > MAX_TTL => Err(KvError::Invalid),
        _ => Ok(()),
    }
}

impl Store {
    /// The entry of `key`, if present and not expired.
    pub fn get(&self, key: &str) -> Option<Entry> {
        let now = Instant::now();
        let mut ns = self.ns.lock();
        if !ns.live(key, now) {
            return None;
        }
        ns.keys.get(key).map(|s| Entry {
            value: s.value.clone(),
            revision: s.revision,
            ttl: s.expires.map(|e| e.saturating_duration_since(now)),
        })
    }

    /// Stores a value, replacing value and TTL; the new revision.
    pub fn put(&self, key: &str, value: Vec<u8>, ttl: Option<Duration>) -> Result<u64, KvError> {
        check_key(key)?;
        check_ttl(ttl)?;
        if value.len() > self.limits.max_value {
            return Err(KvError::Quota);
        }
        let now = Instant::now();
        let mut ns = self.ns.lock();
        ns.live(key, now);
        ns.write(key, value, ttl, &self.limits, now)
    }

    /// Stores a value if `expect` holds.
    pub fn put_if(
        &self,
        key: &str,
        value: Vec<u8>,
        expect: Expect,
        ttl: Option<Duration>,
    ) -> Result<u64, KvError> {
        check_key(key)?;
        check_ttl(ttl)?;
        if value.len() > self.limits.max_value {
            return Err(KvError::Quota);
        }
        let now = Instant::now();
        let mut ns = self.ns.lock();
        let current = if ns.live(key, now) { ns.keys.get(key).map(|s| s.revision) } else { None };
        match (expect, current) {
            (Expect::Absent, None) => {}
            (Expect::Revision(r), Some(c)) if r == c => {}
            _ => return Err(KvError::Conflict),
        }
        ns.write(key, value, ttl, &self.limits, now)
    }

    /// Deletes a key; true if it existed.
    pub fn delete(&self, key: &str) -> bool {
        let mut ns = self.ns.lock();
        ns.live(key, Instant::now()) && ns.remove(key)
    }

    /// Deletes a key if it has `revision`.
    pub fn delete_if(&self, key: &str, revision: u64) -> Result<(), KvError> {
        let mut ns = self.ns.lock();
        match ns.live(key, Instant::now()) && ns.keys.get(key).is_some_and(|s| s.revision == revision) {
            true => {
                ns.remove(key);
                Ok(())
            }
            false => Err(KvError::Conflict),
        }
    }

    /// Sets or removes the TTL; true if the key existed.
    pub fn set_ttl(&self, key: &str, ttl: Option<Duration>) -> Result<bool, KvError> {
        check_ttl(ttl)?;
        let now = Instant::now();
        let mut ns = self.ns.lock();
        if !ns.live(key, now) {
            return Ok(false);
        }
        if let Some(s) = ns.keys.get_mut(key) {
            s.expires = ttl.map(|t| now + t);
        }
        Ok(true)
    }

    /// Keys with `prefix` after `start_after`, at most `limit` (1–1000), and whether more follow.
    pub fn list(&self, prefix: &str, start_after: Option<&str>, limit: usize) -> (Vec<String>, bool) {
        let limit = limit.clamp(1, 1000);
        let now = Instant::now();
        let mut ns = self.ns.lock();
        ns.sweep(now);
        let start = match start_after {
            Some(after) if after >= prefix => Bound::Excluded(after.to_owned()),
            _ => Bound::Included(prefix.to_owned()),
        };
        let mut keys = Vec::new();
        let mut more = false;
        for (k, _) in ns.keys.range((start, Bound::Unbounded)) {
            if !k.starts_with(prefix) {
                break;
            }
            if keys.len() == limit {
                more = true;
                break;
            }
            keys.push(k.clone());
        }
        (keys, more)
    }

    /// (keys, bytes) now.
    pub fn size(&self) -> (usize, usize) {
        let ns = self.ns.lock();
        (ns.keys.len(), ns.bytes)
    }
}

/// All namespaces.
#[derive(Default)]
pub struct KvStores {
    namespaces: DashMap<String, Store>,
    limits: KvLimits,
}

impl KvStores {
    /// Namespaces with these limits.
    pub fn new(limits: KvLimits) -> KvStores {
        KvStores { namespaces: DashMap::new(), limits }
    }

    /// The namespace `name`, created on first use.
    pub fn namespace(&self, name: &str) -> Store {
        if let Some(s) = self.namespaces.get(name) {
            return s.clone();
        }
        let limits = self.limits;
        self.namespaces.entry(name.to_owned()).or_insert_with(|| Store { ns: Arc::default(), limits }).clone()
    }

    /// (name, keys, bytes) of every namespace.
    pub fn sizes(&self) -> Vec<(String, usize, usize)> {
        let stores: Vec<(String, Store)> =
            self.namespaces.iter().map(|e| (e.key().clone(), e.value().clone())).collect();
        stores
            .into_iter()
            .map(|(n, s)| {
                let (k, b) = s.size();
                (n, k, b)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Store {
        KvStores::new(KvLimits { max_keys: 3, max_bytes: 36, max_value: 16 }).namespace("t")
    }

    #[test]
    fn put_get_revisions_and_conditions() {
        let s = store();
        let r1 = s.put("a", b"1".to_vec(), None).unwrap();
        let r2 = s.put("b", b"2".to_vec(), None).unwrap();
        assert!(r2 > r1);
        assert_eq!(s.get("a").unwrap(), Entry { value: b"1".to_vec(), revision: r1, ttl: None });
        assert_eq!(s.put_if("a", b"x".to_vec(), Expect::Absent, None), Err(KvError::Conflict));
        assert_eq!(s.put_if("a", b"x".to_vec(), Expect::Revision(r2), None), Err(KvError::Conflict));
        let r3 = s.put_if("a", b"x".to_vec(), Expect::Revision(r1), None).unwrap();
        assert_eq!(s.delete_if("a", r1), Err(KvError::Conflict));
        assert_eq!(s.delete_if("a", r3), Ok(()));
        assert!(!s.delete("a"));
        assert!(s.delete("b"));
        assert_eq!(s.size(), (0, 0));
    }

    /// On the runtime's paused clock, as in `slp-host test`: the key expires
    /// exactly when virtual time reaches its TTL, with no real waiting.
    #[tokio::test(start_paused = true)]
    async fn ttl_makes_keys_invisible_at_expiry_on_the_runtime_clock() {
        let s = store();
        s.put("k", b"v".to_vec(), Some(Duration::from_secs(3600))).unwrap();
        assert_eq!(s.get("k").unwrap().ttl, Some(Duration::from_secs(3600)));
        tokio::time::advance(Duration::from_secs(3599)).await;
        assert_eq!(s.get("k").unwrap().ttl, Some(Duration::from_secs(1)));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(s.get("k"), None);
        assert_eq!(s.put("k", b"v".to_vec(), Some(Duration::ZERO)), Err(KvError::Invalid));
        s.put("k", b"v".to_vec(), None).unwrap();
        assert_eq!(s.set_ttl("k", Some(Duration::from_millis(10))), Ok(true));
        assert_eq!(s.set_ttl("nope", None), Ok(false));
    }

    #[test]
    fn quotas_and_key_rules() {
        let s = store();
        assert_eq!(s.put("", vec![], None), Err(KvError::Invalid));
        assert_eq!(s.put(&"k".repeat(513), vec![], None), Err(KvError::Invalid));
        assert_eq!(s.put("big", vec![0; 17], None), Err(KvError::Quota));
        for k in ["a", "b", "c"] {
            s.put(k, vec![0; 10], None).unwrap();
        }
        assert_eq!(s.put("d", vec![], None), Err(KvError::Quota), "key count");
        assert_eq!(s.put("a", vec![0; 16], None), Err(KvError::Quota), "bytes: 33 - 11 + 17 > 36");
        assert!(s.put("a", vec![0; 5], None).is_ok(), "replacing shrinks");
    }

    #[test]
    fn list_pages_in_byte_order() {
        let s = KvStores::default().namespace("p");
        for k in ["sub/r/a", "sub/r/b", "sub/r/c", "sub/s/a", "x"] {
            s.put(k, vec![], None).unwrap();
        }
        assert_eq!(s.list("sub/r/", None, 2), (vec!["sub/r/a".into(), "sub/r/b".into()], true));
        assert_eq!(s.list("sub/r/", Some("sub/r/b"), 2), (vec!["sub/r/c".into()], false));
        assert_eq!(s.list("", None, 1000).0.len(), 5);
    }

    #[test]
    fn namespaces_are_shared_by_name() {
        let stores = KvStores::default();
        stores.namespace("n").put("k", b"v".to_vec(), None).unwrap();
        assert!(stores.namespace("n").get("k").is_some());
        assert!(stores.namespace("other").get("k").is_none());
    }
}
