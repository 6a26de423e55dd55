//! The audit log's writer: a thread that takes rows from a bounded queue and commits them in
//! batches, one transaction per batch (group commit).
//!
//! A row is *acknowledged* when its batch's transaction has committed: the pipeline sends a
//! request's answer to the server only then ([`AuditLog::commit`]), so every answer a server
//! received has its row in the log, whatever happens to the process afterwards. Requests that
//! finish together share one commit: while a batch commits, the next rows queue up and go in
//! the next one. With WAL and `synchronous=NORMAL` a commit survives the process crashing;
//! only a power loss or an operating system crash can take back the last commits.
//!
//! The queue is bounded: when it is full, a request waits for room (back-pressure), never
//! dropping its row. Dropping the log (its last `Arc`) closes the queue; the thread commits
//! what is left and the drop waits for it.

use super::{AuditError, AuditLog, Entry};
use crate::policy::Usage;
use rusqlite::{params, Connection};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// Rows queued at most before a request waits for room (the default).
pub const DEFAULT_QUEUE: usize = 1024;
/// Rows committed in one transaction at most.
const MAX_BATCH: usize = 512;

/// The answer of the writer for one job: committed, or why not.
type Ack = oneshot::Sender<Result<(), String>>;

/// One piece of work for the writer, and who waits for its commit.
pub(super) struct Job {
    work: Work,
    ack: Option<Ack>,
}

enum Work {
    /// A row of the log.
    Row(Entry),
    /// A request's use, settled against the day's budget (its reservations released).
    Settle(Settlement),
    /// Nothing: acknowledged once everything queued before it is committed.
    Flush,
}

/// What [`crate::policy::LimitStore::settle`] writes.
pub(super) struct Settlement {
    pub server: String,
    pub day: String,
    pub ids: Vec<u64>,
    pub used: Usage,
}

/// The queue's sending side and the thread behind it.
pub(super) struct Writer {
    tx: mpsc::Sender<Job>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    pub(super) fn start(db: Arc<Mutex<Connection>>, path: String, capacity: usize) -> Writer {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let thread = std::thread::Builder::new()
            .name("mcp-audit-writer".into())
            .spawn(move || run(db, &path, rx))
            .expect("the audit writer thread starts");
        Writer {
            tx,
            thread: Some(thread),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue ends the thread once it has committed what was queued.
        let (tx, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.tx, tx));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(db: Arc<Mutex<Connection>>, path: &str, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut db = db.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = write_all(&mut db, &batch) {
            // One job that cannot be written must not take the others down: each alone.
            tracing::warn!(%path, "a batch of the audit log failed ({e}); writing it row by row");
            for job in batch.drain(..) {
                let outcome = write_all(&mut db, std::slice::from_ref(&job));
                if let Err(e) = &outcome {
                    tracing::error!(%path, "cannot write the audit log: {e}");
                }
                if let Some(ack) = job.ack {
                    let _ = ack.send(outcome.map_err(|e| e.to_string()));
                }
            }
        }
        drop(db);
        for job in batch.drain(..) {
            if let Some(ack) = job.ack {
                let _ = ack.send(Ok(()));
            }
        }
    }
}

/// Commits `batch` in one transaction.
fn write_all(db: &mut Connection, batch: &[Job]) -> rusqlite::Result<()> {
    let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for job in batch {
        match &job.work {
            Work::Row(e) => insert(&tx, e)?,
            Work::Settle(s) => settle_in(&tx, s)?,
            Work::Flush => {}
        }
    }
    tx.commit()
}

/// Writes one row (inside the caller's transaction, if any).
pub(super) fn insert(db: &Connection, e: &Entry) -> rusqlite::Result<()> {
    let mut stmt = db.prepare_cached(
        "INSERT INTO sampling (at_ms, server, tool_call, era, prompt_sha256, prompt_bytes, prompt, decision, decided_by,
         model, route_reason, tokens_in, tokens_out, cost, latency_ms, outcome)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?;
    stmt.execute(params![
        e.at_ms,
        e.server,
        e.tool_call,
        e.era,
        e.prompt_sha256,
        e.prompt_bytes,
        e.prompt,
        e.decision.as_str(),
        e.decided_by,
        e.model,
        e.route_reason,
        e.tokens_in,
        e.tokens_out,
        e.cost,
        e.latency_ms,
        e.outcome
    ])?;
    Ok(())
}

/// Releases a request's reservations and adds what it used to the day's.
pub(super) fn settle_in(db: &Connection, s: &Settlement) -> rusqlite::Result<()> {
    for id in &s.ids {
        db.prepare_cached("DELETE FROM reservation WHERE id = ?1")?
            .execute([*id as i64])?;
    }
    db.prepare_cached(
        "INSERT INTO budget (server, day, tokens, cost) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (server, day) DO UPDATE SET tokens = tokens + excluded.tokens, cost = cost + excluded.cost",
    )?
    .execute(params![s.server, s.day, s.used.tokens as i64, s.used.cost])?;
    Ok(())
}

/// A row's place in the queue: commit it with [`Slot::commit`] and wait for its
/// acknowledgement.
pub struct Slot<'a> {
    log: &'a AuditLog,
    permit: Option<mpsc::Permit<'a, Job>>,
}

impl Slot<'_> {
    /// Queues the row (at once: its place is already taken) and waits until it is committed.
    pub async fn commit(self, entry: Entry) -> Result<(), AuditError> {
        let Some(permit) = self.permit else {
            // A read-only log has no writer: the write fails here, saying why.
            return self.log.write_now(&entry);
        };
        let (ack, done) = oneshot::channel();
        permit.send(Job {
            work: Work::Row(entry),
            ack: Some(ack),
        });
        match done.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(self.log.failed(why)),
            Err(_) => Err(self.log.failed("the audit writer stopped".into())),
        }
    }
}

impl AuditLog {
    /// Takes a place in the writer's queue, waiting while it is full (back-pressure). Cancel-
    /// safe: dropping the future takes no place.
    pub async fn slot(&self) -> Slot<'_> {
        let permit = match self.writer() {
            Some(w) => w.tx.reserve().await.ok(),
            None => None,
        };
        Slot { log: self, permit }
    }

    /// Writes `entry` through the writer and waits until it is committed: the row is then in
    /// the log for good (see the module's notes on durability).
    pub async fn commit(&self, entry: Entry) -> Result<(), AuditError> {
        self.slot().await.commit(entry).await
    }

    /// Waits until every row queued before this call is committed.
    pub async fn flush(&self) -> Result<(), AuditError> {
        let Some(w) = self.writer() else {
            return Ok(());
        };
        let (ack, done) = oneshot::channel();
        let job = Job {
            work: Work::Flush,
            ack: Some(ack),
        };
        if w.tx.send(job).await.is_err() {
            return Err(self.failed("the audit writer stopped".into()));
        }
        match done.await {
            Ok(r) => r.map_err(|why| self.failed(why)),
            Err(_) => Err(self.failed("the audit writer stopped".into())),
        }
    }

    /// Queues a settlement when the writer runs (it is committed before, or with, the row of
    /// its request, which is queued after it); gives it back when there is no writer yet or
    /// no room, for the caller to write at once.
    pub(super) fn defer_settle(&self, s: Settlement) -> Option<Settlement> {
        let Some(Some(w)) = self.writer.get() else {
            return Some(s);
        };
        let job = Job {
            work: Work::Settle(s),
            ack: None,
        };
        match w.tx.try_send(job) {
            Ok(()) => None,
            Err(mpsc::error::TrySendError::Full(job) | mpsc::error::TrySendError::Closed(job)) => {
                match job.work {
                    Work::Settle(s) => Some(s),
                    _ => None,
                }
            }
        }
    }

    /// Rows waiting in the writer's queue (not yet taken into a batch).
    pub fn queued(&self) -> usize {
        self.writer()
            .map_or(0, |w| w.tx.max_capacity() - w.tx.capacity())
    }

    pub(super) fn write_now(&self, entry: &Entry) -> Result<(), AuditError> {
        let db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        insert(&db, entry).map_err(self.err())
    }

    fn failed(&self, why: String) -> AuditError {
        AuditError {
            path: self.path.clone(),
            source: super::Cause::Writer(why),
        }
    }
}
