//! Sealed `requestState` for the modern era.
//!
//! The state carries the input replies (sampling, elicitation, roots) a tool call has
//! gathered so far, so that any
//! server process holding the same key can go on with the call (no shared storage). It is
//! readable by the client (nothing in it is secret: the client wrote the replies) but
//! cannot be changed: it is `base64url(payload) "." base64url(HMAC-SHA256(key, payload))`.
//! The payload binds the state to one request (method, tool or prompt name, digest of the
//! arguments) and carries an expiry.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

type HmacSha256 = Hmac<Sha256>;

/// The secret that seals request state. Servers behind one load balancer share it. For
/// rotation it may hold older keys too: the first key seals, every key opens, so states
/// sealed before a rotation stay good until they expire.
#[derive(Clone)]
pub struct StateKey {
    keys: Vec<[u8; 32]>,
}

impl std::fmt::Debug for StateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateKey(..)")
    }
}

impl StateKey {
    /// A fresh random key (state then survives only within this process).
    pub fn random() -> StateKey {
        let mut k = [0u8; 32];
        if getrandom::fill(&mut k).is_err() {
            // No OS randomness: derive from time and address; weak, so say so.
            tracing::warn!("no OS randomness; the requestState key is derived from the clock");
            let seed = format!("{:?}{:p}", SystemTime::now(), &k);
            k.copy_from_slice(&Sha256::digest(seed.as_bytes()));
        }
        StateKey { keys: vec![k] }
    }

    /// A key derived from a shared secret (any length), for several replicas.
    pub fn from_secret(secret: &[u8]) -> StateKey {
        StateKey {
            keys: vec![derive(secret)],
        }
    }

    /// Keys from several secrets, newest first: the first seals, all open (rotation).
    /// `None` when there is no secret.
    pub fn rotation<S: AsRef<[u8]>>(secrets: impl IntoIterator<Item = S>) -> Option<StateKey> {
        let keys: Vec<[u8; 32]> = secrets.into_iter().map(|s| derive(s.as_ref())).collect();
        (!keys.is_empty()).then_some(StateKey { keys })
    }

    /// The key that seals.
    fn sealing(&self) -> &[u8; 32] {
        &self.keys[0]
    }
}

fn derive(secret: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 32];
    k.copy_from_slice(&Sha256::digest(secret));
    k
}

/// Hex SHA-256 of a JSON value (serde_json writes object keys sorted, so equal values give
/// equal digests).
pub(crate) fn digest(v: &Value) -> String {
    let bytes = serde_json::to_vec(v).unwrap_or_default();
    let d = Sha256::digest(&bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a tool call has gathered between rounds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Payload {
    /// Format version.
    pub v: u8,
    /// The method (`tools/call`, `prompts/get`).
    pub m: String,
    /// The tool's or prompt's name.
    pub t: String,
    /// Digest of the arguments.
    pub a: String,
    /// Expiry, Unix milliseconds.
    pub exp: u64,
    /// Rounds so far.
    pub r: u32,
    /// Answered input requests: key -> (digest of the request, reply).
    pub k: BTreeMap<String, (String, Value)>,
    /// Asked in the last round and not answered yet: key -> (digest of the request, its
    /// method).
    pub q: BTreeMap<String, (String, String)>,
}

/// Why a `requestState` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// Not in our format, or the MAC does not match.
    #[error("requestState failed verification: it was changed, or sealed by another server key")]
    Tampered,
    /// Past its expiry.
    #[error("requestState expired {0} s ago; call the tool again without it")]
    Expired(u64),
    /// Sealed for another call.
    #[error("requestState belongs to a different request ({0}); it must be sent only with the call that received it")]
    WrongCall(String),
}

/// Unix milliseconds (0 before 1970).
fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Payload {
    /// A new state for this call, issued at `now` (by the server's clock), valid for `ttl`.
    pub(crate) fn new(
        method: &str,
        tool: &str,
        args_digest: String,
        now: SystemTime,
        ttl: Duration,
    ) -> Payload {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        Payload {
            v: 2,
            m: method.into(),
            t: tool.into(),
            a: args_digest,
            exp: unix_ms(now).saturating_add(ttl_ms),
            r: 0,
            k: BTreeMap::new(),
            q: BTreeMap::new(),
        }
    }

    /// Seals the payload.
    pub(crate) fn seal(&self, key: &StateKey) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        let mut mac = HmacSha256::new_from_slice(key.sealing()).expect("HMAC takes any key length");
        mac.update(&json);
        let tag = mac.finalize().into_bytes();
        format!("{}.{}", B64.encode(&json), B64.encode(tag))
    }

    /// Opens a sealed state and checks it belongs to this call and has not expired at `now`.
    pub(crate) fn open(
        sealed: &str,
        key: &StateKey,
        method: &str,
        tool: &str,
        args_digest: &str,
        now: SystemTime,
    ) -> Result<Payload, StateError> {
        let (body, tag) = sealed.split_once('.').ok_or(StateError::Tampered)?;
        let json = B64.decode(body).map_err(|_| StateError::Tampered)?;
        let tag = B64.decode(tag).map_err(|_| StateError::Tampered)?;
        let opens = |k: &[u8; 32]| {
            let mut mac = HmacSha256::new_from_slice(k).expect("HMAC takes any key length");
            mac.update(&json);
            mac.verify_slice(&tag).is_ok()
        };
        if !key.keys.iter().any(opens) {
            return Err(StateError::Tampered);
        }
        let p: Payload = serde_json::from_slice(&json).map_err(|_| StateError::Tampered)?;
        if p.v != 2 {
            return Err(StateError::Tampered);
        }
        let now = unix_ms(now);
        if now > p.exp {
            return Err(StateError::Expired((now - p.exp) / 1000));
        }
        if p.m != method || p.t != tool {
            return Err(StateError::WrongCall(format!(
                "it was issued for {} {:?}",
                p.m, p.t
            )));
        }
        if p.a != args_digest {
            return Err(StateError::WrongCall(
                "it was issued for other arguments".into(),
            ));
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-08-22T00:00:00Z.
    fn t0() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_787_356_800)
    }

    fn payload() -> Payload {
        let mut p = Payload::new(
            "tools/call",
            "t",
            "abc".into(),
            t0(),
            Duration::from_secs(60),
        );
        p.k.insert(
            "s0".into(),
            (
                "d".into(),
                serde_json::json!({"role": "assistant", "model": "m"}),
            ),
        );
        p
    }

    #[test]
    fn round_trips_and_refuses_tampering() {
        let key = StateKey::random();
        let p = payload();
        let sealed = p.seal(&key);
        assert_eq!(
            Payload::open(&sealed, &key, "tools/call", "t", "abc", t0()),
            Ok(p.clone())
        );
        // Change one character of the body.
        let mut bytes = sealed.clone().into_bytes();
        bytes[5] = if bytes[5] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert_eq!(
            Payload::open(&tampered, &key, "tools/call", "t", "abc", t0()),
            Err(StateError::Tampered)
        );
        assert_eq!(
            Payload::open(&sealed, &StateKey::random(), "tools/call", "t", "abc", t0()),
            Err(StateError::Tampered)
        );
        assert_eq!(
            Payload::open("garbage", &key, "tools/call", "t", "abc", t0()),
            Err(StateError::Tampered)
        );
        assert!(matches!(
            Payload::open(&sealed, &key, "tools/call", "other", "abc", t0()),
            Err(StateError::WrongCall(_))
        ));
        assert!(matches!(
            Payload::open(&sealed, &key, "tools/call", "t", "xyz", t0()),
            Err(StateError::WrongCall(_))
        ));
    }

    #[test]
    fn expires_after_its_ttl_by_the_given_time() {
        let key = StateKey::from_secret(b"shared");
        let sealed = payload().seal(&key);
        let open_at = |t: SystemTime| Payload::open(&sealed, &key, "tools/call", "t", "abc", t);
        assert!(
            open_at(t0() + Duration::from_secs(60)).is_ok(),
            "valid to the last ms"
        );
        assert_eq!(
            open_at(t0() + Duration::from_millis(60_001)),
            Err(StateError::Expired(0))
        );
        assert_eq!(
            open_at(t0() + Duration::from_secs(65)),
            Err(StateError::Expired(5))
        );
    }

    #[test]
    fn a_huge_ttl_saturates() {
        let p = Payload::new("tools/call", "t", "abc".into(), t0(), Duration::MAX);
        assert_eq!(p.exp, u64::MAX);
    }

    #[test]
    fn rotated_keys_open_old_states_and_seal_with_the_new() {
        let old = StateKey::from_secret(b"old");
        let sealed_before = payload().seal(&old);
        let rotated = StateKey::rotation([b"new".as_slice(), b"old".as_slice()]).unwrap();
        let open = |s: &str, k: &StateKey| Payload::open(s, k, "tools/call", "t", "abc", t0());
        assert!(
            open(&sealed_before, &rotated).is_ok(),
            "old states still open"
        );
        let sealed_after = payload().seal(&rotated);
        assert!(open(&sealed_after, &StateKey::from_secret(b"new")).is_ok());
        assert_eq!(open(&sealed_after, &old), Err(StateError::Tampered));
        assert!(StateKey::rotation(Vec::<&[u8]>::new()).is_none());
    }
}
