//! The audit log: every sampling request, in SQLite (WAL); and the policy's counts (rate
//! limiters, budgets, reservations: [`crate::policy::LimitStore`]), shared by every process
//! that opens the same file. Rows are written off the request path by a writer thread in
//! batches (`writer`): a request's answer waits for its row's commit, shared with the
//! requests that finish at the same time.

use rusqlite::{params, Connection};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

/// One audited sampling request.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Entry {
    /// Row id (set when read back).
    pub id: i64,
    /// Unix time in milliseconds.
    pub at_ms: i64,
    /// The server that asked.
    pub server: String,
    /// The tool call it served, if known (`name {args}`).
    pub tool_call: Option<String>,
    /// `legacy` or `modern`.
    pub era: String,
    /// SHA-256 of the prompt (system prompt and messages as JSON).
    pub prompt_sha256: String,
    /// Size of that JSON in bytes.
    pub prompt_bytes: i64,
    /// The prompt itself, only when the log is configured to keep it.
    pub prompt: Option<String>,
    /// What was decided.
    pub decision: Decision,
    /// Who decided: `mode auto`, `rule 1`, `user`, `policy`.
    pub decided_by: String,
    /// The model (`provider:id`).
    pub model: Option<String>,
    /// Why that model.
    pub route_reason: Option<String>,
    /// Tokens in.
    pub tokens_in: i64,
    /// Tokens out.
    pub tokens_out: i64,
    /// USD.
    pub cost: f64,
    /// Milliseconds from arrival to answer.
    pub latency_ms: i64,
    /// `ok`, or the error sent to the server.
    pub outcome: String,
}

/// What became of a sampling request (stored and shown as its text form).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum Decision {
    /// Sent to the model as asked, and the reply sent as it came.
    #[default]
    #[serde(rename = "approved")]
    Approved,
    /// A person edited the request before it was sent.
    #[serde(rename = "edited")]
    Edited,
    /// A person (or the approval mode, or a rule) rejected the request.
    #[serde(rename = "rejected")]
    Rejected,
    /// A policy or the router refused it before approval.
    #[serde(rename = "refused")]
    Refused,
    /// A person edited the model's reply before it was sent.
    #[serde(rename = "reply edited")]
    ReplyEdited,
    /// A person rejected the model's reply.
    #[serde(rename = "reply rejected")]
    ReplyRejected,
}

impl Decision {
    const ALL: [Decision; 6] = [
        Decision::Approved,
        Decision::Edited,
        Decision::Rejected,
        Decision::Refused,
        Decision::ReplyEdited,
        Decision::ReplyRejected,
    ];

    /// Its text form, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approved => "approved",
            Decision::Edited => "edited",
            Decision::Rejected => "rejected",
            Decision::Refused => "refused",
            Decision::ReplyEdited => "reply edited",
            Decision::ReplyRejected => "reply rejected",
        }
    }

    /// The decision written `text`.
    pub fn parse(text: &str) -> Option<Decision> {
        Decision::ALL.into_iter().find(|d| d.as_str() == text)
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the log could not be used.
#[derive(Debug, thiserror::Error)]
#[error("audit log {path}: {source}")]
pub struct AuditError {
    path: String,
    source: Cause,
}

/// What went wrong under an [`AuditError`].
#[derive(Debug, thiserror::Error)]
enum Cause {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// The writer could not commit the row (its error, as text).
    #[error("{0}")]
    Writer(String),
}

/// The audit log.
pub struct AuditLog {
    db: Arc<Mutex<Connection>>,
    keep_prompts: bool,
    path: String,
    /// Started with the first row written through it; `None` inside for a read-only log.
    writer: OnceLock<Option<Writer>>,
    writable: bool,
    queue: usize,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sampling (
  id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, server TEXT NOT NULL, tool_call TEXT, era TEXT NOT NULL,
  prompt_sha256 TEXT NOT NULL, prompt_bytes INTEGER NOT NULL, prompt TEXT, decision TEXT NOT NULL,
  decided_by TEXT NOT NULL, model TEXT, route_reason TEXT, tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL,
  cost REAL NOT NULL, latency_ms INTEGER NOT NULL, outcome TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS budget (
  server TEXT NOT NULL, day TEXT NOT NULL, tokens INTEGER NOT NULL, cost REAL NOT NULL, PRIMARY KEY (server, day));
CREATE TABLE IF NOT EXISTS rate (server TEXT PRIMARY KEY, tat_us INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS reservation (
  id INTEGER PRIMARY KEY, server TEXT NOT NULL, day TEXT NOT NULL, tokens INTEGER NOT NULL, cost REAL NOT NULL,
  expires_ms INTEGER NOT NULL);
";

impl AuditLog {
    /// Opens (or creates) the log. With `keep_prompts`, full prompts are stored; otherwise
    /// only their hash and size.
    pub fn open(path: &Path, keep_prompts: bool) -> Result<AuditLog, AuditError> {
        let p = path.display().to_string();
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        // Hosts starting at the same moment can find the log locked while one of them sets it
        // up (switching to WAL is not covered by the busy timeout): wait and try again.
        let mut attempt = 0;
        let db = loop {
            match setup(path) {
                Err(e) if is_busy(&e) && attempt < 100 => {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => break other,
            }
        };
        let db = db.map_err(|source| AuditError {
            path: p.clone(),
            source: source.into(),
        })?;
        Ok(AuditLog::new(db, keep_prompts, p, true))
    }

    /// Opens an existing log for reading only (`mcp-sampling audit`). A host given such a
    /// log refuses every sampling request: its limits cannot be counted (fail-closed).
    pub fn open_read_only(path: &Path) -> Result<AuditLog, AuditError> {
        let p = path.display().to_string();
        let flags =
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let db = Connection::open_with_flags(path, flags).map_err(|source| AuditError {
            path: p.clone(),
            source: source.into(),
        })?;
        Ok(AuditLog::new(db, false, p, false))
    }

    /// An in-memory log (tests).
    pub fn in_memory() -> AuditLog {
        let db = Connection::open_in_memory().expect("sqlite in memory");
        db.execute_batch(SCHEMA).expect("schema");
        AuditLog::new(db, true, ":memory:".into(), true)
    }

    fn new(db: Connection, keep_prompts: bool, path: String, writable: bool) -> AuditLog {
        AuditLog {
            db: Arc::new(Mutex::new(db)),
            keep_prompts,
            path,
            writer: OnceLock::new(),
            writable,
            queue: writer::DEFAULT_QUEUE,
        }
    }

    /// The most rows waiting for the writer before a request waits for room (default
    /// [`writer::DEFAULT_QUEUE`]); set before the first row is written.
    pub fn queue_capacity(mut self, rows: usize) -> AuditLog {
        self.queue = rows.max(1);
        self
    }

    fn writer(&self) -> Option<&Writer> {
        self.writer
            .get_or_init(|| {
                self.writable
                    .then(|| Writer::start(self.db.clone(), self.path.clone(), self.queue))
            })
            .as_ref()
    }

    /// Whether full prompts are kept.
    pub fn keeps_prompts(&self) -> bool {
        self.keep_prompts
    }

    /// Hash and size of a prompt, and the prompt when it is kept.
    pub fn fingerprint(&self, prompt_json: &str) -> (String, i64, Option<String>) {
        let hash = Sha256::digest(prompt_json.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        (
            hash,
            prompt_json.len() as i64,
            self.keep_prompts.then(|| prompt_json.to_owned()),
        )
    }

    /// Appends an entry at once, in its own transaction, bypassing the writer (tools and
    /// tests; the pipeline uses [`AuditLog::commit`]). Failures are logged.
    pub fn record(&self, e: &Entry) {
        if let Err(err) = self.write_now(e) {
            tracing::error!("cannot write the audit log: {err}");
        }
    }

    /// The newest `limit` entries, oldest first.
    pub fn recent(&self, limit: usize) -> Result<Vec<Entry>, AuditError> {
        let mut out = self.query(&Filter {
            limit,
            ..Filter::default()
        })?;
        out.reverse();
        Ok(out)
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> AuditError + '_ {
        |source| AuditError {
            path: self.path.clone(),
            source: source.into(),
        }
    }

    /// The entries that pass `f`, newest first.
    pub fn query(&self, f: &Filter) -> Result<Vec<Entry>, AuditError> {
        let db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        let err = self.err();
        let mut stmt = db
            .prepare(
                "SELECT id, at_ms, server, tool_call, era, prompt_sha256, prompt_bytes, prompt, decision, decided_by, model,
                 route_reason, tokens_in, tokens_out, cost, latency_ms, outcome FROM sampling
                 WHERE (?1 IS NULL OR server = ?1) AND (?2 IS NULL OR decision = ?2)
                   AND (?3 IS NULL OR at_ms >= ?3) AND (?4 IS NULL OR at_ms < ?4)
                 ORDER BY id DESC LIMIT ?5",
            )
            .map_err(&err)?;
        let decision = f.decision.map(Decision::as_str);
        let args = params![f.server, decision, f.from_ms, f.until_ms, f.limit as i64];
        let rows = stmt.query_map(args, entry).map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }

    /// SQLite's `PRAGMA integrity_check`: `ok`, or what is wrong.
    pub fn integrity_check(&self) -> Result<String, AuditError> {
        let db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        db.query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(self.err())
    }

    /// The servers named in the log, sorted.
    pub fn servers(&self) -> Result<Vec<String>, AuditError> {
        let db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        let err = self.err();
        let mut stmt = db
            .prepare("SELECT DISTINCT server FROM sampling ORDER BY server")
            .map_err(&err)?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }

    /// Tokens (in + out), cost and requests per server per UTC day, of the entries that pass
    /// `f` (its limit counts days), oldest day first.
    pub fn daily(&self, f: &Filter) -> Result<Vec<DailyUsage>, AuditError> {
        let db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        let err = self.err();
        let mut stmt = db
            .prepare(
                "SELECT date(at_ms / 1000, 'unixepoch') AS day, server, SUM(tokens_in + tokens_out), SUM(cost), COUNT(*)
                 FROM sampling
                 WHERE (?1 IS NULL OR server = ?1) AND (?2 IS NULL OR decision = ?2)
                   AND (?3 IS NULL OR at_ms >= ?3) AND (?4 IS NULL OR at_ms < ?4)
                   AND day IN (SELECT DISTINCT date(at_ms / 1000, 'unixepoch') AS d FROM sampling ORDER BY d DESC LIMIT ?5)
                 GROUP BY day, server ORDER BY day, server",
            )
            .map_err(&err)?;
        let decision = f.decision.map(Decision::as_str);
        let args = params![f.server, decision, f.from_ms, f.until_ms, f.limit as i64];
        let rows = stmt
            .query_map(args, |r| {
                Ok(DailyUsage {
                    day: r.get(0)?,
                    server: r.get(1)?,
                    tokens: r.get(2)?,
                    cost: r.get(3)?,
                    requests: r.get(4)?,
                })
            })
            .map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }
}

/// Which entries to read.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// Only this server's.
    pub server: Option<String>,
    /// Only those with this decision.
    pub decision: Option<Decision>,
    /// Only those at or after this Unix time in milliseconds.
    pub from_ms: Option<i64>,
    /// Only those before this Unix time in milliseconds.
    pub until_ms: Option<i64>,
    /// At most this many.
    pub limit: usize,
}

impl Default for Filter {
    fn default() -> Filter {
        Filter {
            server: None,
            decision: None,
            from_ms: None,
            until_ms: None,
            limit: 200,
        }
    }
}

/// One server's use on one day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailyUsage {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// The server.
    pub server: String,
    /// Tokens in and out.
    pub tokens: i64,
    /// USD.
    pub cost: f64,
    /// Requests.
    pub requests: i64,
}

fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    Ok(Entry {
        id: r.get(0)?,
        at_ms: r.get(1)?,
        server: r.get(2)?,
        tool_call: r.get(3)?,
        era: r.get(4)?,
        prompt_sha256: r.get(5)?,
        prompt_bytes: r.get(6)?,
        prompt: r.get(7)?,
        decision: {
            let text: String = r.get(8)?;
            Decision::parse(&text).ok_or_else(|| {
                let why = format!("unknown decision {text:?}");
                rusqlite::Error::FromSqlConversionFailure(
                    8,
                    rusqlite::types::Type::Text,
                    why.into(),
                )
            })?
        },
        decided_by: r.get(9)?,
        model: r.get(10)?,
        route_reason: r.get(11)?,
        tokens_in: r.get(12)?,
        tokens_out: r.get(13)?,
        cost: r.get(14)?,
        latency_ms: r.get(15)?,
        outcome: r.get(16)?,
    })
}

fn setup(path: &Path) -> rusqlite::Result<Connection> {
    let db = Connection::open(path)?;
    db.busy_timeout(std::time::Duration::from_secs(5))?;
    db.pragma_update(None, "journal_mode", "WAL")?;
    // With WAL, NORMAL survives a crash of the process (only power loss can drop the last
    // commits) and saves an fsync per request.
    db.pragma_update(None, "synchronous", "NORMAL")?;
    db.execute_batch(SCHEMA)?;
    Ok(db)
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
}

mod limits;
pub mod writer;

use writer::Writer;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{LimitStore, Usage};

    #[test]
    fn many_hosts_can_open_a_new_log_at_once() {
        let dir = std::env::temp_dir().join(format!("mcp-audit-race-{}", std::process::id()));
        for round in 0..20 {
            let path = dir.join(format!("audit-{round}.db"));
            let opens: Vec<_> = (0..16)
                .map(|_| {
                    let p = path.clone();
                    std::thread::spawn(move || AuditLog::open(&p, false).map(|_| ()))
                })
                .collect();
            for o in opens {
                o.join().unwrap().unwrap();
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn entries_and_budgets_survive_reopening() {
        let dir = std::env::temp_dir().join(format!("mcp-audit-{}", std::process::id()));
        let path = dir.join("audit.db");
        {
            let log = AuditLog::open(&path, false).unwrap();
            let (hash, bytes, kept) = log.fingerprint("{\"q\":1}");
            assert_eq!((hash.len(), bytes, kept), (64, 7, None));
            log.record(&Entry {
                server: "s".into(),
                era: "legacy".into(),
                prompt_sha256: hash,
                decision: Decision::Approved,
                outcome: "ok".into(),
                ..Default::default()
            });
            let spend = |tokens, cost| log.settle("s", "2026-11-21", &[], Usage { tokens, cost });
            spend(40, 0.5).unwrap();
            spend(2, 0.25).unwrap();
        }
        let log = AuditLog::open(&path, false).unwrap();
        let rows = log.recent(10).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].server, "s");
        let used = |day| log.used("s", day);
        assert_eq!(
            used("2026-11-21"),
            Usage {
                tokens: 42,
                cost: 0.75
            }
        );
        assert_eq!(used("2026-11-22"), Usage::default());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn queries_filter_by_server_decision_and_time_and_sum_per_day() {
        let log = AuditLog::in_memory();
        let day = 86_400_000;
        for (at_ms, server, decision, tokens_in) in [
            (0, "a", Decision::Approved, 10),
            (1, "b", Decision::Rejected, 0),
            (day + 5, "a", Decision::Approved, 7),
            (day + 6, "a", Decision::Edited, 3),
        ] {
            log.record(&Entry {
                at_ms,
                server: server.into(),
                decision,
                tokens_in,
                tokens_out: 1,
                cost: 0.5,
                ..Default::default()
            });
        }
        let ids = |f: Filter| -> Vec<i64> { log.query(&f).unwrap().iter().map(|e| e.id).collect() };
        assert_eq!(ids(Filter::default()), [4, 3, 2, 1]);
        let a = Some("a".to_owned());
        assert_eq!(
            ids(Filter {
                server: a.clone(),
                ..Filter::default()
            }),
            [4, 3, 1]
        );
        let approved = Some(Decision::Approved);
        assert_eq!(
            ids(Filter {
                decision: approved,
                ..Filter::default()
            }),
            [3, 1]
        );
        assert_eq!(
            ids(Filter {
                from_ms: Some(day),
                ..Filter::default()
            }),
            [4, 3]
        );
        assert_eq!(
            ids(Filter {
                until_ms: Some(day),
                limit: 1,
                ..Filter::default()
            }),
            [2]
        );
        assert_eq!(log.servers().unwrap(), ["a", "b"]);
        let daily = log.daily(&Filter::default()).unwrap();
        let rows: Vec<_> = daily
            .iter()
            .map(|d| (d.day.as_str(), d.server.as_str(), d.tokens, d.requests))
            .collect();
        assert_eq!(
            rows,
            [
                ("1970-01-01", "a", 11, 1),
                ("1970-01-01", "b", 1, 1),
                ("1970-01-02", "a", 12, 2)
            ]
        );
        let last = log
            .daily(&Filter {
                limit: 1,
                ..Filter::default()
            })
            .unwrap();
        assert_eq!(last.len(), 1);
    }
}
