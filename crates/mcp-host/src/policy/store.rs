//! Where the policy keeps its counts: rate limiters, the day's use, and the reservations of
//! requests being answered. [`MemoryLimits`] keeps them in one process; the audit log
//! ([`crate::audit::AuditLog`]) keeps them in SQLite, shared by every process that opens the
//! same file, so limits hold across `call`s, hosts and bridges.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Tokens (in + out) and US dollars.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// Tokens.
    pub tokens: u64,
    /// USD.
    pub cost: f64,
}

impl Usage {
    /// `self + other`.
    pub fn plus(self, other: Usage) -> Usage {
        Usage {
            tokens: self.tokens.saturating_add(other.tokens),
            cost: self.cost + other.cost,
        }
    }
}

/// A rate limit as a generic cell rate: one request each `interval`, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Time between requests at the sustained rate, in microseconds.
    pub interval_us: i64,
    /// How many may come at once.
    pub burst: u32,
}

impl Rate {
    /// The theoretical arrival time after a request at `now_us`, when the limiter's last one
    /// is `tat_us`; `Err(wait)` when the request is over the limit. A `tat_us` further ahead
    /// than the burst allows can only come from a wall clock set back: the limiter starts
    /// again from now rather than wait out the jump.
    pub fn next(&self, tat_us: i64, now_us: i64) -> Result<i64, Duration> {
        let capacity = self
            .interval_us
            .saturating_mul(i64::from(self.burst.max(1)));
        let tat_us = if tat_us.saturating_sub(now_us) > capacity {
            now_us
        } else {
            tat_us
        };
        let tat = tat_us.max(now_us).saturating_add(self.interval_us);
        let over = tat - now_us - capacity;
        if over > 0 {
            return Err(Duration::from_micros(over as u64));
        }
        Ok(tat)
    }
}

/// Why a store could not be read or written. The policy refuses sampling then (fail-closed):
/// a limit it cannot count is not a limit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// What a reservation attempt found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reserved {
    /// Reserved, under this id.
    Id(u64),
    /// It does not fit: this much is used and reserved already.
    Over(Usage),
}

/// The policy's counts, kept where every process under the same limits sees them.
pub trait LimitStore: Send + Sync + 'static {
    /// Counts one request of `server` at `now_us` (Unix microseconds) against `rate`: `Ok(None)`
    /// when admitted (and counted), `Ok(Some(wait))` when over the limit.
    fn admit(&self, server: &str, now_us: i64, rate: Rate) -> Result<Option<Duration>, StoreError>;
    /// Reserves `want` of `server`'s budget for `day` when what is used, what others have
    /// reserved and `want` together stay within `limit` (a field of `0` is no limit). A
    /// reservation not settled by `expires_ms` (Unix milliseconds: its process died) stops
    /// counting.
    fn reserve(
        &self,
        server: &str,
        day: &str,
        want: Usage,
        limit: Usage,
        expires_ms: i64,
        now_ms: i64,
    ) -> Result<Reserved, StoreError>;
    /// Ends the reservations `ids` of `server` for `day`, and adds `used` to the day's use.
    fn settle(&self, server: &str, day: &str, ids: &[u64], used: Usage) -> Result<(), StoreError>;
    /// What `server` used on `day` (settled requests only).
    fn used(&self, server: &str, day: &str) -> Usage;
}

/// The counts in memory: limits hold in this process only (tests; hosts without an audit
/// log).
#[derive(Default)]
pub struct MemoryLimits(Mutex<Counts>);

#[derive(Default)]
struct Counts {
    tat: HashMap<String, i64>,
    used: HashMap<(String, String), Usage>,
    reserved: HashMap<u64, (String, String, Usage, i64)>,
    next: u64,
}

impl LimitStore for MemoryLimits {
    fn admit(&self, server: &str, now_us: i64, rate: Rate) -> Result<Option<Duration>, StoreError> {
        let mut c = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let tat = c.tat.get(server).copied().unwrap_or(i64::MIN / 2);
        match rate.next(tat, now_us) {
            Ok(next) => {
                c.tat.insert(server.to_owned(), next);
                Ok(None)
            }
            Err(wait) => Ok(Some(wait)),
        }
    }

    fn reserve(
        &self,
        server: &str,
        day: &str,
        want: Usage,
        limit: Usage,
        expires_ms: i64,
        now_ms: i64,
    ) -> Result<Reserved, StoreError> {
        let mut c = self.0.lock().unwrap_or_else(|p| p.into_inner());
        c.reserved.retain(|_, r| r.3 > now_ms);
        let key = (server.to_owned(), day.to_owned());
        let held = c
            .reserved
            .values()
            .filter(|r| (&r.0, &r.1) == (&key.0, &key.1))
            .fold(Usage::default(), |a, r| a.plus(r.2));
        let taken = c.used.get(&key).copied().unwrap_or_default().plus(held);
        if !fits(taken, want, limit) {
            return Ok(Reserved::Over(taken));
        }
        c.next += 1;
        let id = c.next;
        c.reserved.insert(id, (key.0, key.1, want, expires_ms));
        Ok(Reserved::Id(id))
    }

    fn settle(&self, server: &str, day: &str, ids: &[u64], used: Usage) -> Result<(), StoreError> {
        let mut c = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for id in ids {
            c.reserved.remove(id);
        }
        let e = c
            .used
            .entry((server.to_owned(), day.to_owned()))
            .or_default();
        *e = e.plus(used);
        Ok(())
    }

    fn used(&self, server: &str, day: &str) -> Usage {
        let c = self.0.lock().unwrap_or_else(|p| p.into_inner());
        c.used
            .get(&(server.to_owned(), day.to_owned()))
            .copied()
            .unwrap_or_default()
    }
}

/// Whether `want` on top of `taken` stays within `limit` (a field of `0` is no limit).
pub fn fits(taken: Usage, want: Usage, limit: Usage) -> bool {
    let total = taken.plus(want);
    (limit.tokens == 0 || total.tokens <= limit.tokens)
        && (limit.cost <= 0.0 || total.cost <= limit.cost + 1e-12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_set_back_does_not_block_the_limiter() {
        let rate = Rate {
            interval_us: 1_000_000,
            burst: 2,
        };
        let tat = rate.next(i64::MIN / 2, 10_000_000).unwrap();
        let tat = rate.next(tat, 10_000_000).unwrap();
        assert!(rate.next(tat, 10_000_000).is_err());
        // The clock goes back an hour: admitted as if fresh, not an hour later.
        assert!(rate.next(tat, 10_000_000 - 3_600_000_000).is_ok());
    }
}
