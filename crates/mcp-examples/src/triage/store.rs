//! The ticket store: SQLite, a file (`--db FILE`, created if missing) or memory, with the
//! customers seeded (their plans and SLAs) and every triage kept.

use super::{Category, Priority};
use rusqlite::{params, Connection, OptionalExtension};
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS customers (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  email TEXT NOT NULL UNIQUE,
  plan TEXT NOT NULL CHECK (plan IN ('enterprise', 'business', 'pro', 'free')),
  sla_hours INTEGER
);
CREATE TABLE IF NOT EXISTS tickets (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  subject TEXT NOT NULL,
  body TEXT NOT NULL,
  customer TEXT,
  customer_id INTEGER REFERENCES customers(id),
  priority TEXT NOT NULL,
  category TEXT NOT NULL,
  rationale TEXT NOT NULL,
  first_reply TEXT NOT NULL,
  decided_by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tickets_priority ON tickets(priority);
INSERT OR IGNORE INTO customers (name, email, plan, sla_hours) VALUES
  ('Northwind Logistics', 'ops@northwind.example', 'enterprise', 1),
  ('Globex Health', 'it@globex.example', 'enterprise', 1),
  ('Initech', 'support@initech.example', 'business', 4),
  ('Acme Bakery', 'hello@acmebakery.example', 'pro', NULL),
  ('Jane Doe', 'jane.doe@example.com', 'free', NULL),
  ('Tomás Silva', 'tomas.silva@example.org', 'free', NULL);
";

/// A customer, as the ticket names it.
#[derive(Serialize, JsonSchema, Debug, Clone, PartialEq)]
pub struct Customer {
    /// The customer's name.
    pub name: String,
    /// The contact address on file.
    pub email: String,
    /// The plan: enterprise, business, pro or free.
    pub plan: String,
    /// The response time the plan promises, in hours (none: no SLA).
    pub sla_hours: Option<u32>,
    #[serde(skip)]
    pub(crate) id: i64,
}

/// A stored ticket.
#[derive(Serialize, JsonSchema, Debug, Clone)]
pub struct Ticket {
    /// Its number.
    pub id: i64,
    /// When it was triaged (UTC, RFC 3339).
    pub created_at: String,
    /// Its subject.
    pub subject: String,
    /// Who sent it, as given.
    pub customer: Option<String>,
    /// The priority.
    pub priority: Priority,
    /// The category.
    pub category: Category,
    /// Why.
    pub rationale: String,
    /// The suggested first reply.
    pub first_reply: String,
    /// Who decided: `rule`, `model:NAME` or `fallback (WHY)`.
    pub decided_by: String,
}

/// A triage to store.
pub struct NewTicket<'a> {
    pub subject: &'a str,
    pub body: &'a str,
    pub customer: Option<&'a str>,
    pub customer_id: Option<i64>,
    pub priority: Priority,
    pub category: Category,
    pub rationale: &'a str,
    pub first_reply: &'a str,
    pub decided_by: &'a str,
}

/// Filters of `list_tickets`.
pub struct Filter<'a> {
    pub priority: Option<Priority>,
    pub category: Option<Category>,
    pub customer: Option<&'a str>,
    pub limit: u32,
}

/// Counts of `ticket_stats`.
#[derive(Serialize, JsonSchema, Debug, Default)]
pub struct Stats {
    /// Tickets stored.
    pub total: u64,
    /// Tickets per priority (P1..P4).
    pub by_priority: BTreeMap<String, u64>,
    /// Tickets per category.
    pub by_category: BTreeMap<String, u64>,
    /// Tickets per decider: rule, model or fallback.
    pub by_decider: BTreeMap<String, u64>,
}

/// The open store.
pub struct Store(Connection);

impl Store {
    /// Opens `path` (created if missing) or a database in memory, and seeds it.
    pub fn open(path: Option<&Path>) -> Result<Store, String> {
        let conn = match path {
            Some(p) => Connection::open(p)
                .map_err(|e| format!("cannot open the ticket database {}: {e}", p.display()))?,
            None => Connection::open_in_memory().map_err(|e| e.to_string())?,
        };
        conn.execute_batch(SCHEMA).map_err(|e| match path {
            Some(p) => format!("cannot set up the ticket database {}: {e}", p.display()),
            None => format!("cannot set up the ticket database: {e}"),
        })?;
        Ok(Store(conn))
    }

    /// The customer a ticket names: by e-mail, by name, or by the domain of an e-mail for
    /// an organisation (any plan but free); case aside.
    pub fn customer(&self, who: &str) -> rusqlite::Result<Option<Customer>> {
        let who = who.trim().to_lowercase();
        let domain = who
            .rsplit_once('@')
            .map(|(_, d)| d.to_owned())
            .unwrap_or_default();
        self.0
            .query_row(
                "SELECT id, name, email, plan, sla_hours FROM customers
                 WHERE lower(email) = ?1 OR lower(name) = ?1
                    OR (plan <> 'free' AND ?2 <> '' AND lower(email) LIKE '%@' || ?2)
                 ORDER BY lower(email) = ?1 DESC, lower(name) = ?1 DESC LIMIT 1",
                params![who, domain],
                |r| {
                    Ok(Customer {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        email: r.get(2)?,
                        plan: r.get(3)?,
                        sla_hours: r.get(4)?,
                    })
                },
            )
            .optional()
    }

    /// Every customer, by name.
    pub fn customers(&self) -> rusqlite::Result<Vec<Customer>> {
        let mut stmt = self
            .0
            .prepare("SELECT id, name, email, plan, sla_hours FROM customers ORDER BY name")?;
        let rows = stmt.query_map([], |r| {
            Ok(Customer {
                id: r.get(0)?,
                name: r.get(1)?,
                email: r.get(2)?,
                plan: r.get(3)?,
                sla_hours: r.get(4)?,
            })
        })?;
        rows.collect()
    }

    /// Stores a triage; its number and time.
    pub fn insert(&self, t: &NewTicket<'_>) -> rusqlite::Result<(i64, String)> {
        self.0.query_row(
            "INSERT INTO tickets (subject, body, customer, customer_id, priority, category,
                                  rationale, first_reply, decided_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id, created_at",
            params![
                t.subject,
                t.body,
                t.customer,
                t.customer_id,
                t.priority.as_str(),
                t.category.as_str(),
                t.rationale,
                t.first_reply,
                t.decided_by
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Stored tickets, newest first.
    pub fn list(&self, f: &Filter<'_>) -> rusqlite::Result<Vec<Ticket>> {
        let mut stmt = self.0.prepare(
            "SELECT t.id, t.created_at, t.subject, t.customer, t.priority, t.category,
                    t.rationale, t.first_reply, t.decided_by
             FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id
             WHERE (?1 IS NULL OR t.priority = ?1) AND (?2 IS NULL OR t.category = ?2)
               AND (?3 IS NULL OR lower(t.customer) = lower(?3) OR lower(c.name) = lower(?3)
                    OR lower(c.email) = lower(?3))
             ORDER BY t.id DESC LIMIT ?4",
        )?;
        let rows = stmt.query_map(
            params![
                f.priority.map(Priority::as_str),
                f.category.map(Category::as_str),
                f.customer,
                f.limit
            ],
            |r| {
                let priority: String = r.get(4)?;
                let category: String = r.get(5)?;
                Ok(Ticket {
                    id: r.get(0)?,
                    created_at: r.get(1)?,
                    subject: r.get(2)?,
                    customer: r.get(3)?,
                    priority: Priority::parse(&priority).unwrap_or(Priority::P4),
                    category: Category::parse(&category).unwrap_or(Category::Question),
                    rationale: r.get(6)?,
                    first_reply: r.get(7)?,
                    decided_by: r.get(8)?,
                })
            },
        )?;
        rows.collect()
    }

    /// Counts by priority, category and decider.
    pub fn stats(&self) -> rusqlite::Result<Stats> {
        let mut stats = Stats::default();
        let mut stmt = self.0.prepare(
            "SELECT priority, category,
                    CASE WHEN decided_by LIKE 'model:%' THEN 'model'
                         WHEN decided_by LIKE 'fallback%' THEN 'fallback' ELSE decided_by END
             FROM tickets",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            let (p, c, d) = row?;
            stats.total += 1;
            *stats.by_priority.entry(p).or_default() += 1;
            *stats.by_category.entry(c).or_default() += 1;
            *stats.by_decider.entry(d).or_default() += 1;
        }
        Ok(stats)
    }
}
