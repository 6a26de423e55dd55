//! `sql`: questions in plain words answered from a SQLite database, the shipped sample (a
//! small bookshop: authors, books, customers, a year of orders) or the user's own file
//! (`--db FILE`, opened read-only).
//!
//! Code does what code can: it reads the schema, runs a question that is already a SQL
//! statement without asking anyone, and checks every statement before it runs (parsed with
//! `sqlparser`: exactly one read-only `SELECT` over the database's tables, subqueries, CTEs
//! and joins included). The model only translates: it is asked for typed output (the SQL and
//! a one-line explanation); a query the database rejects is shown to it with the error once
//! (one repair round). Rows come back with a row limit and a time limit. No write reaches
//! the database, whatever the model answers: the parser's gate, a read-only connection, an
//! authorizer and SQLite's own read-only test each stop it.

mod check;
mod db;

pub use check::{check, is_sql, CheckError};

use db::Db;
use mcp_proto::SamplingMessage;
use mcp_server::{Args, Ctx, DecidedBy, ExtractError, Json, Sampling, Server, State, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Most rows a result holds.
pub const ROW_LIMIT: usize = 200;
/// How long a query may run.
pub const TIME_LIMIT: Duration = Duration::from_secs(2);
/// The longest question taken, in characters.
const QUESTION_CHARS: usize = 2_000;
/// The URI of the schema resource.
pub const SCHEMA_URI: &str = "sql://schema";

#[derive(Deserialize, JsonSchema)]
struct Ask {
    /// A question about the data in plain words ("Which five customers spent the most in
    /// 2025?"), or one SELECT statement to run as it is.
    question: String,
}

/// What the model answers: the translation of a question.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone)]
pub struct Translation {
    /// One SQLite SELECT statement that answers the question.
    pub sql: String,
    /// One line saying what the query does.
    pub explanation: String,
}

/// What `ask_database` returns.
#[derive(Serialize, JsonSchema, Debug)]
pub struct Answer {
    /// The SQL that ran.
    pub sql: String,
    /// What the query does, in a line.
    pub explanation: String,
    /// The result's column names.
    pub columns: Vec<String>,
    /// The rows, each a list of values in column order.
    pub rows: Vec<Vec<serde_json::Value>>,
    /// How many rows are returned.
    pub row_count: usize,
    /// Whether more rows matched than the row limit (200) lets through.
    pub truncated: bool,
    /// `rule` when the question was a SELECT run as given, else `model:NAME`.
    pub decided_by: DecidedBy,
    /// Whether the first query failed and the model repaired it once.
    pub repaired: bool,
}

/// The database, shared by every call.
#[derive(Clone)]
struct Shared(Arc<Mutex<Db>>);

impl Shared {
    fn with<R>(&self, f: impl FnOnce(&Db) -> R) -> R {
        let guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&guard)
    }
}

/// The translation request: the schema and the rules as the system prompt, a worked
/// example as an earlier turn, the question.
fn request(schema: &str, first_table: &str, question: &str) -> Sampling {
    let system = format!(
        "You translate questions into SQL for a SQLite database with these tables \
         (column -> referenced table.column):\n{schema}\n\
         Write exactly one SELECT statement in SQLite's dialect, using only these tables and \
         columns, and a one-line explanation. Never write to the database."
    );
    let example = Translation {
        sql: format!("SELECT count(*) FROM {first_table}"),
        explanation: format!("Counts the rows of {first_table}."),
    };
    let example = serde_json::to_string(&example).unwrap_or_default();
    Sampling::messages(vec![
        SamplingMessage::user(format!("Question: How many rows does {first_table} have?")),
        SamplingMessage::assistant(example),
        SamplingMessage::user(format!("Question: {question}")),
    ])
    .system(system)
    .max_tokens(400)
    .temperature(0.0)
    .hint("sonnet")
}

/// Asks the model for a translation; a reply that never parses is a tool error.
async fn translate(ctx: &Ctx, req: Sampling) -> Result<(Translation, String), ToolError> {
    match ctx.extract::<Translation>(req).await {
        Ok(t) => Ok((t.value, t.model)),
        Err(ExtractError::Sample(e)) => Err(ToolError::Sampling(e)),
        Err(ExtractError::Invalid { error, .. }) => Err(ToolError::failed(format!(
            "the model did not answer with a query, even after a repair round: {error}"
        ))),
    }
}

/// Checks and runs `sql`; `Err(Ok(why))` is a failure worth one repair round (bad syntax,
/// a database error), `Err(Err(..))` a refusal. The query runs on a blocking thread (up to
/// its time limit), never on the async runtime.
async fn check_and_run(
    db: &Shared,
    sql: &str,
) -> Result<(String, db::Rows), Result<String, ToolError>> {
    let known = db.with(|d| d.known.clone());
    let sql = match check(sql, &known) {
        Ok(sql) => sql,
        Err(e @ CheckError::Syntax(_)) => return Err(Ok(e.to_string())),
        Err(CheckError::Refused(why)) => {
            return Err(Err(ToolError::failed(format!(
                "refused to run the query: {why}"
            ))))
        }
    };
    let (shared, query) = (db.clone(), sql.clone());
    let ran =
        tokio::task::spawn_blocking(move || shared.with(|d| d.run(&query, ROW_LIMIT, TIME_LIMIT)))
            .await
            .map_err(|e| Err(ToolError::failed(format!("the query could not run: {e}"))))?;
    match ran {
        Ok(rows) => Ok((sql, rows)),
        Err(e) => Err(Ok(format!("the database answered: {e}"))),
    }
}

async fn ask_database(
    Args(a): Args<Ask>,
    State(db): State<Shared>,
    ctx: Ctx,
) -> Result<Json<Answer>, ToolError> {
    let question = a.question.trim();
    if question.is_empty() {
        return Err(ToolError::failed("the question is empty"));
    }
    if question.chars().count() > QUESTION_CHARS {
        return Err(ToolError::failed(format!(
            "the question is longer than {QUESTION_CHARS} characters"
        )));
    }
    if is_sql(question) {
        return match check_and_run(&db, question).await {
            Ok((sql, rows)) => Ok(answer(
                sql,
                "The question is a SELECT, run as given.",
                rows,
                DecidedBy::Rule,
                false,
            )),
            Err(Ok(why)) | Err(Err(ToolError::Failed(why))) => Err(ToolError::failed(why)),
            Err(Err(e)) => Err(e),
        };
    }
    let (schema, first) = db.with(|d| (d.schema.clone(), d.first_table.clone()));
    let req = request(&schema, &first, question);
    let (first_try, model) = translate(&ctx, req.clone()).await?;
    let error = match check_and_run(&db, &first_try.sql).await {
        Ok((sql, rows)) => {
            return Ok(answer(
                sql,
                &first_try.explanation,
                rows,
                DecidedBy::Model(model),
                false,
            ))
        }
        Err(Ok(error)) => error,
        Err(Err(refusal)) => return Err(refusal),
    };
    // One repair round: the model sees its query and the error.
    let repair = req
        .message(SamplingMessage::assistant(
            serde_json::to_string(&first_try).unwrap_or_default(),
        ))
        .message(SamplingMessage::user(format!(
            "Running that query failed: {error}. Answer again with a corrected query."
        )));
    let (second, model) = translate(&ctx, repair).await?;
    match check_and_run(&db, &second.sql).await {
        Ok((sql, rows)) => Ok(answer(
            sql,
            &second.explanation,
            rows,
            DecidedBy::Model(model),
            true,
        )),
        Err(Ok(error)) => Err(ToolError::failed(format!(
            "the query failed even after a repair round: {error}"
        ))),
        Err(Err(refusal)) => Err(refusal),
    }
}

fn answer(
    sql: String,
    explanation: &str,
    rows: db::Rows,
    decided_by: DecidedBy,
    repaired: bool,
) -> Json<Answer> {
    Json(Answer {
        sql,
        explanation: explanation.trim().to_owned(),
        row_count: rows.rows.len(),
        columns: rows.columns,
        rows: rows.rows,
        truncated: rows.truncated,
        decided_by,
        repaired,
    })
}

/// The `sql` server over the shipped sample, or over `db` (opened read-only) when given.
pub fn server(db: Option<&Path>) -> Result<Server, crate::BuildError> {
    let opened = match db {
        Some(path) => Db::file(path),
        None => Db::sample(),
    }
    .map_err(|e| crate::BuildError(e.0))?;
    let schema = opened.schema.clone();
    let source = match db {
        Some(path) => format!("the SQLite database {} (read-only)", path.display()),
        None => {
            "a sample bookshop database (authors, books, customers, orders, order_items)".into()
        }
    };
    Ok(Server::builder("sql")
        .instructions(format!(
            "Answers questions about {source} in plain words: the client's LLM translates each \
             question into one SELECT, which is checked (read-only, known tables) and run with a \
             limit of {ROW_LIMIT} rows. The schema is the resource {SCHEMA_URI}."
        ))
        .state(Shared(Arc::new(Mutex::new(opened))))
        .tool(
            "ask_database",
            "Answer a question about the database: the question is translated into one read-only SELECT (checked before it runs; a SELECT given as the question runs as is), and the rows, columns, SQL and an explanation are returned (at most 200 rows)",
            ask_database,
        )
        .resource(SCHEMA_URI, "schema", "text/plain", move || {
            let schema = schema.clone();
            async move { Ok::<_, ToolError>(schema) }
        })
        .build())
}
