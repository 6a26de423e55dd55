//! [`SamplingCache`]: an opt-in cache of sampling replies, keyed by a digest of the whole
//! request, so that a repeated question (a replayed call, the same query twice) costs one
//! model call. Entries expire after a time to live; the oldest go first when it is full.

use mcp_proto::clock::Clock;
use mcp_proto::sampling::{CreateMessageParams, CreateMessageResult};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Key = [u8; 32];

/// A cache of sampling replies (see the module docs). Give it to
/// [`ServerBuilder::sampling_cache`](crate::ServerBuilder::sampling_cache).
#[derive(Debug)]
pub struct SamplingCache {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<Key, (Duration, CreateMessageResult)>>,
    clock: Mutex<Option<Arc<dyn Clock>>>,
}

impl SamplingCache {
    /// A cache whose entries live `ttl` and which holds at most `capacity` replies.
    pub fn new(ttl: Duration, capacity: usize) -> SamplingCache {
        SamplingCache {
            ttl,
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
            clock: Mutex::new(None),
        }
    }

    /// Reads time from `clock` (the server's, set when the server is built).
    pub(crate) fn set_clock(&self, clock: Arc<dyn Clock>) {
        *self.clock.lock().unwrap_or_else(|e| e.into_inner()) = Some(clock);
    }

    fn now(&self) -> Duration {
        let clock = self.clock.lock().unwrap_or_else(|e| e.into_inner());
        match clock.as_ref() {
            Some(c) => c.monotonic(),
            None => mcp_proto::clock::SystemClock.monotonic(),
        }
    }

    /// The digest a request is cached under (its canonical JSON; `None` if it cannot be
    /// serialised).
    pub(crate) fn key(params: &CreateMessageParams) -> Option<Key> {
        let bytes = serde_json::to_vec(params).ok()?;
        Some(Sha256::digest(&bytes).into())
    }

    /// The cached reply for `key`, if it has not expired.
    pub(crate) fn get(&self, key: &Key) -> Option<CreateMessageResult> {
        let now = self.now();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(key) {
            Some((at, reply)) if now.saturating_sub(*at) < self.ttl => Some(reply.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Keeps `reply` for `key`, making room if the cache is full.
    pub(crate) fn put(&self, key: Key, reply: CreateMessageResult) {
        let now = self.now();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, (at, _)| now.saturating_sub(*at) < self.ttl);
            if entries.len() >= self.capacity {
                let oldest = entries
                    .iter()
                    .min_by_key(|(_, (at, _))| *at)
                    .map(|(k, _)| *k);
                if let Some(k) = oldest {
                    entries.remove(&k);
                }
            }
        }
        entries.insert(key, (now, reply));
    }

    /// How many replies it holds (expired ones included until they are next touched).
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether it holds no reply.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_proto::clock::ManualClock;
    use mcp_proto::SamplingMessage;

    #[test]
    fn expires_and_evicts_the_oldest() {
        let clock = Arc::new(ManualClock::new(std::time::UNIX_EPOCH));
        let cache = SamplingCache::new(Duration::from_secs(60), 2);
        cache.set_clock(clock.clone());
        let req = |t: &str| CreateMessageParams::new(vec![SamplingMessage::user(t)], 5);
        let reply = |t: &str| CreateMessageResult::from_text("m", t);
        let (a, b, c) = (
            SamplingCache::key(&req("a")).unwrap(),
            SamplingCache::key(&req("b")).unwrap(),
            SamplingCache::key(&req("c")).unwrap(),
        );
        assert_ne!(a, b);
        cache.put(a, reply("A"));
        clock.advance(Duration::from_secs(1));
        cache.put(b, reply("B"));
        assert_eq!(cache.get(&a).unwrap().text(), "A");
        clock.advance(Duration::from_secs(10));
        cache.put(c, reply("C"));
        assert!(cache.get(&a).is_none(), "the oldest went first");
        assert_eq!(cache.get(&b).unwrap().text(), "B");
        clock.advance(Duration::from_secs(55));
        assert!(cache.get(&b).is_none(), "expired");
        assert_eq!(cache.get(&c).unwrap().text(), "C");
    }
}
