//! `sql` in process, on both eras, with scripted model replies: translations that run, a
//! question that is already a SELECT (no model), everything the gate refuses (a DROP TABLE,
//! a second statement, an unknown table), garbage, the repair round, a client that cannot
//! sample, and a user's database file opened read-only.

mod common;

use common::{args, connect, Script, ERAS};
use mcp_client::{Client, ClientOptions, EraChoice};
use mcp_examples::Options;
use mcp_proto::methods::{ReadResource, Request as _};
use mcp_proto::{ClientCapabilities, Era};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;

fn translation(sql: &str) -> String {
    json!({"sql": sql, "explanation": "Scripted."}).to_string()
}

/// Asks a question; the structured answer, or the error text.
async fn ask(c: &Client, question: &str) -> Result<Value, String> {
    let r = c
        .call_tool("ask_database", args(json!({ "question": question })))
        .await
        .map_err(|e| format!("protocol error: {e}"))?;
    if r.is_error == Some(true) {
        return Err(r.text_content());
    }
    Ok(r.structured_content.expect("structured"))
}

async fn sample_server(era: Era, script: Arc<Script>) -> Client {
    connect("sql", &Options::default(), era, script, None).await
}

/// How many books the sample has, asked as SQL (no model needed).
async fn book_count(c: &Client) -> Value {
    ask(c, "SELECT count(*) FROM books").await.expect("counted")["rows"][0][0].clone()
}

#[tokio::test]
async fn a_question_is_translated_checked_and_run() {
    for era in ERAS {
        let sql = "SELECT a.name, count(*) AS titles FROM books b JOIN authors a ON a.id = b.author_id GROUP BY a.id ORDER BY titles DESC, a.name LIMIT 1";
        let script = Script::new(vec![(
            "Question: Who wrote the most books?",
            translation(sql),
        )]);
        let c = sample_server(era, script.clone()).await;
        let a = ask(&c, "Who wrote the most books?")
            .await
            .expect("answered");
        assert_eq!(a["rows"], json!([["Charles Dickens", 5]]), "{era:?}: {a}");
        assert_eq!(a["columns"], json!(["name", "titles"]));
        assert_eq!(
            (a["row_count"].clone(), a["truncated"].clone()),
            (json!(1), json!(false))
        );
        assert_eq!(a["decided_by"], "model:scripted");
        assert_eq!(
            (a["repaired"].clone(), a["explanation"].clone()),
            (json!(false), json!("Scripted."))
        );
        assert_eq!(a["sql"], sql);
        let req = &script.seen()[0];
        let system = req.params.system_prompt.clone().unwrap_or_default();
        assert!(
            system.contains(
                "books(id INTEGER PRIMARY KEY, title TEXT, author_id INTEGER -> authors.id"
            ),
            "{system}"
        );
        c.close().await;
    }
}

#[tokio::test]
async fn a_select_given_as_the_question_runs_without_the_model() {
    for era in ERAS {
        let script = Script::replies(Vec::<String>::new());
        let c = sample_server(era, script.clone()).await;
        let a = ask(&c, "select id, title from books order by id")
            .await
            .expect("ran");
        assert_eq!(a["decided_by"], "rule");
        assert_eq!(a["row_count"], 40);
        assert_eq!(a["rows"][0], json!([1, "Pride and Prejudice"]));
        let a = ask(&c, "SELECT * FROM order_items").await.expect("ran");
        assert_eq!(
            (a["row_count"].clone(), a["truncated"].clone()),
            (json!(200), json!(true)),
            "the row limit holds"
        );
        let e = ask(&c, "DELETE FROM orders").await.unwrap_err();
        assert!(e.contains("refused") && e.contains("DELETE"), "{e}");
        assert_eq!(script.requests(), 0, "{era:?}");
        let e = ask(&c, "   ").await.unwrap_err();
        assert_eq!(e, "the question is empty");
        c.close().await;
    }
}

#[tokio::test]
async fn writes_second_statements_and_unknown_tables_from_the_model_are_refused() {
    for era in ERAS {
        let script = Script::new(vec![
            ("Question: drop", translation("DROP TABLE books")),
            ("Question: a second", translation("SELECT 1; DELETE FROM orders")),
            ("Question: an unknown", translation("SELECT * FROM users")),
            ("Question: a hidden", translation("SELECT title FROM books WHERE id IN (SELECT book_id FROM wishlist)")),
            ("Question: a cte", translation("WITH x AS (INSERT INTO authors (name) VALUES ('x') RETURNING id) SELECT * FROM x")),
        ]);
        let c = sample_server(era, script.clone()).await;
        let e = ask(&c, "drop the books please").await.unwrap_err();
        assert!(
            e.contains("refused") && e.contains("DROP TABLE"),
            "{era:?}: {e}"
        );
        assert_eq!(book_count(&c).await, 40, "the table is still there");
        let e = ask(&c, "a second statement").await.unwrap_err();
        assert!(e.contains("only one statement"), "{e}");
        let e = ask(&c, "an unknown table").await.unwrap_err();
        assert!(e.contains("\"users\"") && e.contains("not a table"), "{e}");
        let e = ask(&c, "a hidden unknown table").await.unwrap_err();
        assert!(e.contains("\"wishlist\""), "{e}");
        let e = ask(&c, "a cte that writes").await.unwrap_err();
        assert!(e.contains("refused"), "{e}");
        assert_eq!(
            script.requests(),
            5,
            "a refusal has no repair round ({era:?})"
        );
        let orders = ask(&c, "SELECT count(*) FROM orders")
            .await
            .expect("counted");
        assert_eq!(orders["rows"][0][0], 300);
        c.close().await;
    }
}

#[tokio::test]
async fn garbage_is_repaired_once_then_refused() {
    for era in ERAS {
        let script = Script::replies(["I think you should look at the books table.", "no idea"]);
        let c = sample_server(era, script.clone()).await;
        let e = ask(&c, "How many books are there?").await.unwrap_err();
        assert!(e.contains("did not answer with a query"), "{era:?}: {e}");
        assert_eq!(script.requests(), 2);
        c.close().await;
    }
}

#[tokio::test]
async fn a_database_error_gets_one_repair_round() {
    for era in ERAS {
        let script = Script::new(vec![
            (
                "Running that query failed",
                translation("SELECT name FROM authors WHERE country = 'France' ORDER BY name"),
            ),
            (
                "",
                translation("SELECT author_name FROM authors WHERE country = 'France'"),
            ),
        ]);
        let c = sample_server(era, script.clone()).await;
        let a = ask(&c, "Which authors are French?")
            .await
            .expect("repaired");
        assert_eq!(a["repaired"], true, "{era:?}: {a}");
        assert_eq!(
            a["rows"],
            json!([["Alexandre Dumas"], ["Jules Verne"], ["Victor Hugo"]])
        );
        let seen = script.seen();
        assert_eq!(seen.len(), 2);
        let repair = common::request_text(&seen[1]);
        assert!(repair.contains("no such column: author_name"), "{repair}");
        // A second failure ends the call: no third query.
        let script = Script::replies([
            translation("SELECT nope FROM books"),
            translation("SELECT still_nope FROM books"),
        ]);
        let c2 = sample_server(era, script.clone()).await;
        let e = ask(&c2, "Anything?").await.unwrap_err();
        assert!(
            e.contains("even after a repair round") && e.contains("still_nope"),
            "{e}"
        );
        assert_eq!(script.requests(), 2);
        c.close().await;
        c2.close().await;
    }
}

#[tokio::test]
async fn a_client_that_cannot_sample_gets_sql_run_and_a_clear_error() {
    for era in ERAS {
        let example = mcp_examples::find("sql").expect("registered");
        let server = (example.build)(&Options::default()).expect("builds");
        let (a, b) = mcp_rpc::memory();
        tokio::spawn(async move { server.serve(a, std::future::pending()).await });
        let opts = ClientOptions {
            era: if era == Era::Legacy {
                EraChoice::Legacy
            } else {
                EraChoice::Modern
            },
            capabilities: ClientCapabilities::default(),
            ..ClientOptions::default()
        };
        let c = Client::connect(b, Script::replies(Vec::<String>::new()), opts)
            .await
            .expect("connects");
        assert_eq!(book_count(&c).await, 40);
        let e = ask(&c, "How many books are there?").await.unwrap_err();
        assert!(e.contains("sampling"), "{era:?}: {e}");
        c.close().await;
    }
}

#[tokio::test]
async fn the_schema_is_a_resource() {
    let c = sample_server(Era::Legacy, Script::replies(Vec::<String>::new())).await;
    let r = c
        .request(
            ReadResource::METHOD,
            Some(json!({"uri": "sql://schema"})),
            None,
        )
        .await
        .expect("read");
    let text = r["contents"][0]["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("order_items(order_id INTEGER PRIMARY KEY -> orders.id"),
        "{text}"
    );
    c.close().await;
}

/// A user's database: a file in the temporary folder, removed on drop.
struct UserDb(PathBuf);

impl UserDb {
    fn new(name: &str) -> UserDb {
        let path =
            std::env::temp_dir().join(format!("mcp-sql-{}-{name}.sqlite", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let conn = rusqlite::Connection::open(&path).expect("created");
        conn.execute_batch(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT, done INTEGER);
             INSERT INTO notes (title, done) VALUES ('buy milk', 0), ('file taxes', 1), ('call mum', 0);",
        )
        .expect("seeded");
        UserDb(path)
    }

    fn count(&self) -> i64 {
        let conn = rusqlite::Connection::open(&self.0).expect("opened");
        conn.query_row("SELECT count(*) FROM notes", [], |r| r.get(0))
            .expect("counted")
    }
}

impl Drop for UserDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test]
async fn a_users_database_is_opened_read_only() {
    for era in ERAS {
        let db = UserDb::new(&format!("{era:?}"));
        let opts = Options {
            db: Some(db.0.clone()),
            ..Options::default()
        };
        let script = Script::new(vec![
            (
                "Question: Which open",
                translation("SELECT title FROM notes WHERE done = 0 ORDER BY id"),
            ),
            ("Question: delete", translation("DELETE FROM notes")),
            ("Question: the books", translation("SELECT * FROM books")),
        ]);
        let c = connect("sql", &opts, era, script.clone(), None).await;
        let a = ask(&c, "Which open notes are there?")
            .await
            .expect("answered");
        assert_eq!(a["rows"], json!([["buy milk"], ["call mum"]]), "{era:?}");
        assert!(script.seen()[0]
            .params
            .system_prompt
            .clone()
            .unwrap_or_default()
            .contains("notes(id INTEGER PRIMARY KEY, title TEXT, done INTEGER)"));
        let e = ask(&c, "delete everything").await.unwrap_err();
        assert!(e.contains("refused"), "{e}");
        let e = ask(&c, "the books of the sample").await.unwrap_err();
        assert!(
            e.contains("\"books\""),
            "the sample's tables are not this database's: {e}"
        );
        c.close().await;
        assert_eq!(db.count(), 3, "nothing was written");
    }
    let missing = Options {
        db: Some(std::env::temp_dir().join("mcp-sql-no-such-file.sqlite")),
        ..Options::default()
    };
    let err = (mcp_examples::find("sql").expect("registered").build)(&missing)
        .err()
        .expect("refused");
    assert!(err.0.contains("mcp-sql-no-such-file.sqlite"), "{}", err.0);
}
