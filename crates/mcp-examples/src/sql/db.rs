//! The database side of `sql`: opening (the shipped sample, or the user's file read-only),
//! reading the schema, and running one checked query under a row limit and a time limit.
//!
//! Four locks keep writes out, each enough on its own: the parser's gate (`check`), the
//! connection (`SQLITE_OPEN_READ_ONLY` for a user's file, `PRAGMA query_only` for both),
//! an authorizer that lets a statement only select, call functions and read known tables,
//! and a statement that SQLite does not call read-only is not stepped.

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

/// The sample database's seed script.
const SEED: &str = include_str!("../../data/sql/bookshop.sql");

/// Most characters of the schema put in a prompt.
const SCHEMA_CHARS: usize = 12_000;
/// Most characters of one text cell in a result.
const CELL_CHARS: usize = 500;

/// An open database and what the server knows of it.
pub(crate) struct Db {
    conn: Connection,
    /// The names of its tables and views, lower case: what a query may read.
    pub known: BTreeSet<String>,
    /// The schema as the model reads it: one line per table.
    pub schema: String,
    /// The first table's name, for the worked example.
    pub first_table: String,
}

/// What a query returned.
#[derive(Debug)]
pub(crate) struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
    pub truncated: bool,
}

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct OpenError(pub String);

impl Db {
    /// The shipped bookshop, built in memory from its seed script.
    pub fn sample() -> Result<Db, OpenError> {
        let conn = Connection::open_in_memory()
            .and_then(|c| c.execute_batch(SEED).map(|()| c))
            .map_err(|e| OpenError(format!("the sample database failed to build: {e}")))?;
        Db::new(conn, "the sample database")
    }

    /// The user's file, opened read-only (it must exist).
    pub fn file(path: &Path) -> Result<Db, OpenError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| OpenError(format!("cannot open the database {}: {e}", path.display())))?;
        Db::new(conn, &path.display().to_string())
    }

    fn new(conn: Connection, what: &str) -> Result<Db, OpenError> {
        let fail = |e: rusqlite::Error| OpenError(format!("cannot read {what}: {e}"));
        conn.execute_batch("PRAGMA query_only = ON").map_err(fail)?;
        let tables = tables(&conn).map_err(fail)?;
        if tables.is_empty() {
            return Err(OpenError(format!("{what} has no tables")));
        }
        let mut schema = String::new();
        for t in &tables {
            let line = describe(&conn, t).map_err(fail)?;
            if schema.chars().count() + line.chars().count() > SCHEMA_CHARS {
                schema.push_str("... (more tables not shown)\n");
                break;
            }
            schema.push_str(&line);
        }
        let known: BTreeSet<String> = tables.iter().map(|t| t.to_lowercase()).collect();
        let allowed = known.clone();
        conn.authorizer(Some(move |ctx: AuthContext<'_>| authorize(&allowed, ctx)));
        Ok(Db {
            conn,
            known,
            schema,
            first_table: tables[0].clone(),
        })
    }

    /// Runs a checked query: at most `limit` rows, stopped after `time`.
    pub fn run(&self, sql: &str, limit: usize, time: Duration) -> Result<Rows, String> {
        let deadline = Instant::now() + time;
        self.conn
            .progress_handler(1_000, Some(move || Instant::now() > deadline));
        let out = self.run_inner(sql, limit);
        self.conn.progress_handler(0, None::<fn() -> bool>);
        out.map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::OperationInterrupted =>
            {
                format!("the query ran longer than {time:?} and was stopped")
            }
            other => other.to_string(),
        })
    }

    fn run_inner(&self, sql: &str, limit: usize) -> rusqlite::Result<Rows> {
        let mut stmt = self.conn.prepare(sql)?;
        if !stmt.readonly() {
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_READONLY),
                Some("the statement would write".into()),
            ));
        }
        let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
        let mut rows = Vec::new();
        let mut truncated = false;
        let mut cursor = stmt.query([])?;
        while let Some(row) = cursor.next()? {
            if rows.len() == limit {
                truncated = true;
                break;
            }
            let mut out = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                out.push(cell(row.get_ref(i)?));
            }
            rows.push(out);
        }
        Ok(Rows {
            columns,
            rows,
            truncated,
        })
    }
}

/// Lets a statement select, call functions, recurse and read known tables or its own CTEs
/// (every table of the database but SQLite's own `sqlite_*` is known); nothing else.
fn authorize(known: &BTreeSet<String>, ctx: AuthContext<'_>) -> Authorization {
    match ctx.action {
        AuthAction::Select | AuthAction::Function { .. } | AuthAction::Recursive => {
            Authorization::Allow
        }
        AuthAction::Read { table_name, .. } => {
            let name = table_name.to_lowercase();
            if known.contains(&name) || !name.starts_with("sqlite_") {
                Authorization::Allow
            } else {
                Authorization::Deny
            }
        }
        _ => Authorization::Deny,
    }
}

/// The tables and views, in the order they were created.
fn tables(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid",
    )?;
    let names = stmt.query_map([], |r| r.get::<_, String>(0))?;
    names.collect()
}

/// One line: `books(id INTEGER PRIMARY KEY, author_id INTEGER -> authors.id, ...)`.
fn describe(conn: &Connection, table: &str) -> rusqlite::Result<String> {
    let mut refs = std::collections::HashMap::new();
    let mut fk =
        conn.prepare("SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list(?1)")?;
    let found = fk.query_map([table], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
        ))
    })?;
    for f in found {
        let (from, to_table, to_col) = f?;
        refs.insert(
            from,
            format!("{to_table}.{}", to_col.unwrap_or_else(|| "id".into())),
        );
    }
    let mut cols = conn.prepare("SELECT name, type, pk FROM pragma_table_info(?1)")?;
    let found = cols.query_map([table], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut parts = Vec::new();
    for c in found {
        let (name, ty, pk) = c?;
        let mut part = if ty.is_empty() {
            name.clone()
        } else {
            format!("{name} {ty}")
        };
        if pk > 0 {
            part.push_str(" PRIMARY KEY");
        }
        if let Some(to) = refs.get(&name) {
            let _ = write!(part, " -> {to}");
        }
        parts.push(part);
    }
    Ok(format!("{table}({})\n", parts.join(", ")))
}

/// A cell as JSON: numbers, text (at most 500 characters), null; a blob by its size.
fn cell(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => Value::from(n),
        ValueRef::Real(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        ValueRef::Text(t) => {
            let s = String::from_utf8_lossy(t);
            if s.chars().count() > CELL_CHARS {
                let mut clipped: String = s.chars().take(CELL_CHARS).collect();
                clipped.push('…');
                Value::String(clipped)
            } else {
                Value::String(s.into_owned())
            }
        }
        ValueRef::Blob(b) => Value::String(format!("<{} bytes>", b.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_has_its_tables_and_refuses_writes_at_every_layer() {
        let db = Db::sample().unwrap();
        let names: Vec<&str> = db.known.iter().map(String::as_str).collect();
        assert_eq!(
            names,
            ["authors", "books", "customers", "order_items", "orders"]
        );
        assert!(
            db.schema.contains("author_id INTEGER -> authors.id"),
            "{}",
            db.schema
        );
        let r = db
            .run("SELECT count(*) FROM orders", 10, Duration::from_secs(2))
            .unwrap();
        assert_eq!(r.rows, [[Value::from(300)]]);
        let r = db
            .run("SELECT id FROM books", 5, Duration::from_secs(2))
            .unwrap();
        assert_eq!((r.rows.len(), r.truncated), (5, true));
        for write in [
            "DELETE FROM books",
            "DROP TABLE books",
            "PRAGMA query_only = OFF",
        ] {
            assert!(db.run(write, 5, Duration::from_secs(2)).is_err(), "{write}");
        }
        assert!(db
            .run("SELECT * FROM sqlite_master", 5, Duration::from_secs(2))
            .is_err());
        let r = db
            .run("SELECT count(*) FROM books", 5, Duration::from_secs(2))
            .unwrap();
        assert_eq!(r.rows, [[Value::from(40)]]);
    }

    #[test]
    fn a_long_query_is_stopped() {
        let db = Db::sample().unwrap();
        let slow = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) \
                    SELECT count(*) FROM n";
        let e = db.run(slow, 5, Duration::from_millis(50)).unwrap_err();
        assert!(e.contains("was stopped"), "{e}");
    }
}
