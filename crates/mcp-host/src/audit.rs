//! The audit log: every sampling request, in SQLite (WAL), and the daily budgets.

use crate::policy::BudgetStore;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Mutex;

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
    source: rusqlite::Error,
}

/// The audit log.
pub struct AuditLog {
    db: Mutex<Connection>,
    keep_prompts: bool,
    path: String,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sampling (
  id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, server TEXT NOT NULL, tool_call TEXT, era TEXT NOT NULL,
  prompt_sha256 TEXT NOT NULL, prompt_bytes INTEGER NOT NULL, prompt TEXT, decision TEXT NOT NULL,
  decided_by TEXT NOT NULL, model TEXT, route_reason TEXT, tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL,
  cost REAL NOT NULL, latency_ms INTEGER NOT NULL, outcome TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS budget (
  server TEXT NOT NULL, day TEXT NOT NULL, tokens INTEGER NOT NULL, cost REAL NOT NULL, PRIMARY KEY (server, day));
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
            source,
        })?;
        Ok(AuditLog {
            db: Mutex::new(db),
            keep_prompts,
            path: p,
        })
    }

    /// An in-memory log (tests).
    pub fn in_memory() -> AuditLog {
        let db = Connection::open_in_memory().expect("sqlite in memory");
        db.execute_batch(SCHEMA).expect("schema");
        AuditLog {
            db: Mutex::new(db),
            keep_prompts: true,
            path: ":memory:".into(),
        }
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

    /// Appends an entry; failures are logged, never fatal to the request.
    pub fn record(&self, e: &Entry) {
        let db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        let r = db.execute(
            "INSERT INTO sampling (at_ms, server, tool_call, era, prompt_sha256, prompt_bytes, prompt, decision, decided_by,
             model, route_reason, tokens_in, tokens_out, cost, latency_ms, outcome)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            params![
                e.at_ms, e.server, e.tool_call, e.era, e.prompt_sha256, e.prompt_bytes, e.prompt, e.decision.as_str(), e.decided_by,
                e.model, e.route_reason, e.tokens_in, e.tokens_out, e.cost, e.latency_ms, e.outcome
            ],
        );
        if let Err(err) = r {
            tracing::error!(path = %self.path, "cannot write the audit log: {err}");
        }
    }

    /// The newest `limit` entries, oldest first.
    pub fn recent(&self, limit: usize) -> Result<Vec<Entry>, AuditError> {
        let db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        let err = |source| AuditError {
            path: self.path.clone(),
            source,
        };
        let mut stmt = db
            .prepare(
                "SELECT id, at_ms, server, tool_call, era, prompt_sha256, prompt_bytes, prompt, decision, decided_by, model,
                 route_reason, tokens_in, tokens_out, cost, latency_ms, outcome FROM sampling ORDER BY id DESC LIMIT ?1",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map([limit as i64], |r| {
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
            })
            .map_err(err)?;
        let mut out: Vec<Entry> = rows.collect::<Result<_, _>>().map_err(err)?;
        out.reverse();
        Ok(out)
    }
}

impl BudgetStore for AuditLog {
    fn used(&self, server: &str, day: &str) -> (u64, f64) {
        let db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        db.query_row(
            "SELECT tokens, cost FROM budget WHERE server = ?1 AND day = ?2",
            params![server, day],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, f64>(1)?)),
        )
        .optional()
        .unwrap_or_else(|e| {
            tracing::error!("cannot read the budget: {e}");
            None
        })
        .unwrap_or((0, 0.0))
    }

    fn add(&self, server: &str, day: &str, tokens: u64, cost: f64) {
        let db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        let r = db.execute(
            "INSERT INTO budget (server, day, tokens, cost) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (server, day) DO UPDATE SET tokens = tokens + excluded.tokens, cost = cost + excluded.cost",
            params![server, day, tokens as i64, cost],
        );
        if let Err(e) = r {
            tracing::error!("cannot update the budget: {e}");
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
            log.add("s", "2026-11-21", 40, 0.5);
            log.add("s", "2026-11-21", 2, 0.25);
        }
        let log = AuditLog::open(&path, false).unwrap();
        let rows = log.recent(10).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].server, "s");
        assert_eq!(log.used("s", "2026-11-21"), (42, 0.75));
        assert_eq!(log.used("s", "2026-11-22"), (0, 0.0));
        let _ = std::fs::remove_dir_all(dir);
    }
}
