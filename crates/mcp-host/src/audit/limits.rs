//! The audit log as the policy's [`LimitStore`]: rate limiters, the day's use and the
//! reservations in SQLite tables next to the log, each change in one `IMMEDIATE`
//! transaction, so processes sharing the file count together. Settling a request's use
//! goes through the log's writer once it runs (see [`LimitStore::settle`] below).

use super::writer::{settle_in, Settlement};
use super::AuditLog;
use crate::policy::{fits, LimitStore, Rate, Reserved, StoreError, Usage};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::time::Duration;

impl AuditLog {
    /// Runs `f` in an `IMMEDIATE` transaction (the write lock taken at once, so a count read
    /// in it is still true when it commits).
    fn counted<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        let run = |db: &mut Connection| {
            let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        };
        run(&mut db)
            .map_err(|e: rusqlite::Error| StoreError(format!("audit log {}: {e}", self.path)))
    }
}

fn usage(db: &Connection, sql: &str, args: impl rusqlite::Params) -> rusqlite::Result<Usage> {
    let (tokens, cost) = db
        .query_row(sql, args, |r| {
            Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<f64>>(1)?))
        })
        .optional()?
        .unwrap_or((None, None));
    Ok(Usage {
        tokens: tokens.unwrap_or(0).max(0) as u64,
        cost: cost.unwrap_or(0.0),
    })
}

impl LimitStore for AuditLog {
    fn admit(&self, server: &str, now_us: i64, rate: Rate) -> Result<Option<Duration>, StoreError> {
        self.counted(|db| {
            let tat: Option<i64> = db
                .query_row("SELECT tat_us FROM rate WHERE server = ?1", [server], |r| {
                    r.get(0)
                })
                .optional()?;
            match rate.next(tat.unwrap_or(i64::MIN / 2), now_us) {
                Err(wait) => Ok(Some(wait)),
                Ok(next) => {
                    db.execute(
                        "INSERT INTO rate (server, tat_us) VALUES (?1, ?2)
                         ON CONFLICT (server) DO UPDATE SET tat_us = excluded.tat_us",
                        params![server, next],
                    )?;
                    Ok(None)
                }
            }
        })
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
        self.counted(|db| {
            db.execute("DELETE FROM reservation WHERE expires_ms <= ?1", [now_ms])?;
            let used = usage(
                db,
                "SELECT tokens, cost FROM budget WHERE server = ?1 AND day = ?2",
                params![server, day],
            )?;
            let held = usage(
                db,
                "SELECT SUM(tokens), SUM(cost) FROM reservation WHERE server = ?1 AND day = ?2",
                params![server, day],
            )?;
            let taken = used.plus(held);
            if !fits(taken, want, limit) {
                return Ok(Reserved::Over(taken));
            }
            db.execute(
                "INSERT INTO reservation (server, day, tokens, cost, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![server, day, want.tokens as i64, want.cost, expires_ms],
            )?;
            Ok(Reserved::Id(db.last_insert_rowid() as u64))
        })
    }

    /// Once the log's writer runs, a settlement goes through it (no wait for a commit: until
    /// it commits, the reservations it releases still count, so the counts only err on the
    /// safe side); else, or when its queue is full, it is written at once.
    fn settle(&self, server: &str, day: &str, ids: &[u64], used: Usage) -> Result<(), StoreError> {
        let s = Settlement {
            server: server.to_owned(),
            day: day.to_owned(),
            ids: ids.to_vec(),
            used,
        };
        match self.defer_settle(s) {
            None => Ok(()),
            Some(s) => self.counted(|db| settle_in(db, &s)),
        }
    }

    fn used(&self, server: &str, day: &str) -> Usage {
        let db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        usage(
            &db,
            "SELECT tokens, cost FROM budget WHERE server = ?1 AND day = ?2",
            params![server, day],
        )
        .unwrap_or_else(|e| {
            tracing::error!("cannot read the budget: {e}");
            Usage::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two logs on one file stand for two processes: each sees the other's counts.
    fn two(name: &str) -> (AuditLog, AuditLog, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("mcp-limits-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("audit.db");
        let a = AuditLog::open(&path, false).unwrap();
        let b = AuditLog::open(&path, false).unwrap();
        (a, b, dir)
    }

    #[test]
    fn a_rate_limit_is_shared_by_every_process_on_the_log() {
        let (a, b, dir) = two("rate");
        // One a minute, one at once.
        let rate = Rate {
            interval_us: 60_000_000,
            burst: 1,
        };
        assert_eq!(a.admit("s", 0, rate).unwrap(), None);
        assert_eq!(
            b.admit("s", 1_000_000, rate).unwrap(),
            Some(Duration::from_secs(59))
        );
        assert_eq!(b.admit("other", 1_000_000, rate).unwrap(), None);
        assert_eq!(b.admit("s", 60_000_000, rate).unwrap(), None);
        assert!(a.admit("s", 60_000_001, rate).unwrap().is_some());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn reservations_are_shared_and_expire() {
        let (a, b, dir) = two("reserve");
        let limit = Usage {
            tokens: 100,
            cost: 0.0,
        };
        let want = |tokens| Usage { tokens, cost: 0.0 };
        let Reserved::Id(id) = a.reserve("s", "d", want(70), limit, 1_000, 0).unwrap() else {
            panic!("70 of 100 fits")
        };
        assert_eq!(
            b.reserve("s", "d", want(40), limit, 1_000, 10).unwrap(),
            Reserved::Over(want(70))
        );
        b.settle("s", "d", &[id], want(20)).unwrap();
        assert!(matches!(
            a.reserve("s", "d", want(80), limit, 1_000, 20).unwrap(),
            Reserved::Id(_)
        ));
        // That one is never settled (its process died): past its expiry it stops counting.
        assert!(matches!(
            b.reserve("s", "d", want(80), limit, 2_000, 999).unwrap(),
            Reserved::Over(_)
        ));
        assert!(matches!(
            b.reserve("s", "d", want(80), limit, 2_000, 1_000).unwrap(),
            Reserved::Id(_)
        ));
        assert_eq!(a.used("s", "d"), want(20));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_read_only_log_refuses_to_count() {
        let (a, _b, dir) = two("readonly");
        let log = AuditLog::open_read_only(&dir.join("audit.db")).unwrap();
        let rate = Rate {
            interval_us: 1,
            burst: 1,
        };
        let e = log.admit("s", 0, rate).unwrap_err();
        assert!(e.0.contains("readonly database"), "{e}");
        assert!(a.admit("s", 0, rate).unwrap().is_none());
        let _ = std::fs::remove_dir_all(dir);
    }
}
