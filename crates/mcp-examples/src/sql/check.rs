//! The gate between the model's SQL and the database: the text is parsed with `sqlparser`
//! (SQLite dialect) and accepted only if it is exactly one query (a `SELECT`, possibly
//! with `WITH`, joins, subqueries, set operations) that reads only known tables.

use sqlparser::ast::{ObjectName, SetExpr, Statement, TableFactor, Visit, Visitor};
use sqlparser::dialect::SQLiteDialect;
use sqlparser::parser::Parser;
use std::collections::BTreeSet;
use std::ops::ControlFlow;

/// Why a text may not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// It is not valid SQL (a repair round may fix it).
    #[error("it is not valid SQL: {0}")]
    Syntax(String),
    /// It is SQL that must never run: not one read-only query over known tables.
    #[error("{0}")]
    Refused(String),
}

/// Checks `sql` against the names of the tables (and views) that may be read, lower case.
/// `Ok` holds the statement's text without a trailing `;`, ready to run.
pub fn check(sql: &str, known: &BTreeSet<String>) -> Result<String, CheckError> {
    let text = sql.trim().trim_end_matches(';').trim_end();
    if text.is_empty() {
        return Err(CheckError::Syntax("the query is empty".into()));
    }
    let statements = Parser::parse_sql(&SQLiteDialect {}, text)
        .map_err(|e| CheckError::Syntax(e.to_string()))?;
    let statement = match statements.as_slice() {
        [one] => one,
        [] => return Err(CheckError::Syntax("the query is empty".into())),
        more => {
            return Err(CheckError::Refused(format!(
                "only one statement may run, and this text holds {}",
                more.len()
            )))
        }
    };
    if !matches!(statement, Statement::Query(_)) {
        return Err(CheckError::Refused(format!(
            "only a read-only SELECT may run, and this is {}",
            kind(statement)
        )));
    }
    let mut gate = Gate {
        known,
        ctes: BTreeSet::new(),
        relations: Vec::new(),
    };
    if let ControlFlow::Break(why) = statement.visit(&mut gate) {
        return Err(CheckError::Refused(why));
    }
    for name in &gate.relations {
        if !known.contains(name) && !gate.ctes.contains(name) {
            return Err(CheckError::Refused(format!(
                "the query reads {name:?}, which is not a table of this database"
            )));
        }
    }
    Ok(text.to_owned())
}

/// Whether `text` reads as SQL rather than a question in words: it parses, and starts with
/// a statement keyword.
pub fn is_sql(text: &str) -> bool {
    let first = text
        .trim_start()
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    const KEYWORDS: [&str; 16] = [
        "SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "DROP", "CREATE", "ALTER", "PRAGMA",
        "ATTACH", "DETACH", "REPLACE", "VACUUM", "REINDEX", "ANALYZE", "EXPLAIN",
    ];
    KEYWORDS.contains(&first.as_str())
        && Parser::parse_sql(&SQLiteDialect {}, text.trim().trim_end_matches(';')).is_ok()
}

/// The first words of a statement's SQL, to name what was refused (`DROP TABLE`).
fn kind(statement: &Statement) -> String {
    let text = statement.to_string();
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    let two = words.join(" ").to_ascii_uppercase();
    match words.first().map(|w| w.to_ascii_uppercase()) {
        Some(w) if ["DROP", "CREATE", "ALTER", "DELETE", "INSERT"].contains(&w.as_str()) => {
            format!("a {two} statement")
        }
        Some(w) => format!("a {w} statement"),
        None => "not a query".into(),
    }
}

/// Walks a query: refuses nested statements (`WITH ... INSERT`), `SELECT INTO` and
/// table-valued functions; collects the relations read and the CTE names defined.
struct Gate<'a> {
    known: &'a BTreeSet<String>,
    ctes: BTreeSet<String>,
    relations: Vec<String>,
}

impl Visitor for Gate<'_> {
    type Break = String;

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<String> {
        match statement {
            Statement::Query(_) => ControlFlow::Continue(()),
            other => ControlFlow::Break(format!(
                "only a read-only SELECT may run, and this query holds {}",
                kind(other)
            )),
        }
    }

    fn pre_visit_query(&mut self, query: &sqlparser::ast::Query) -> ControlFlow<String> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                let name = cte.alias.name.value.to_lowercase();
                if name.starts_with("sqlite_") || self.known.contains(&name) {
                    return ControlFlow::Break(format!(
                        "the query defines {name:?}, which hides a table of the database"
                    ));
                }
                self.ctes.insert(name);
            }
        }
        if selects_into(&query.body) {
            return ControlFlow::Break("SELECT INTO writes a table and may not run".into());
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<String> {
        match factor {
            TableFactor::Table { args: Some(_), .. }
            | TableFactor::Function { .. }
            | TableFactor::TableFunction { .. } => {
                ControlFlow::Break("table-valued functions may not be read".into())
            }
            _ => ControlFlow::Continue(()),
        }
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<String> {
        match table_name(relation) {
            Some(name) => {
                self.relations.push(name);
                ControlFlow::Continue(())
            }
            None => ControlFlow::Break(format!(
                "the query reads {relation}, which is not a table of this database"
            )),
        }
    }
}

/// A relation's table name, lower case: `t` or `main.t`; none for another schema.
fn table_name(relation: &ObjectName) -> Option<String> {
    let parts: Vec<String> = relation
        .0
        .iter()
        .map(|p| p.as_ident().map(|i| i.value.to_lowercase()))
        .collect::<Option<_>>()?;
    match parts.as_slice() {
        [t] => Some(t.clone()),
        [schema, t] if schema == "main" => Some(t.clone()),
        _ => None,
    }
}

fn selects_into(body: &SetExpr) -> bool {
    match body {
        SetExpr::Select(s) => s.into.is_some(),
        SetExpr::SetOperation { left, right, .. } => selects_into(left) || selects_into(right),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> BTreeSet<String> {
        ["books", "authors", "orders"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn refused(sql: &str) -> String {
        match check(sql, &known()) {
            Err(CheckError::Refused(why)) => why,
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn accepts_one_query_over_known_tables() {
        for sql in [
            "SELECT count(*) FROM books;",
            "select b.title, a.name from books b join authors a on a.id = b.author_id",
            "WITH top AS (SELECT author_id, count(*) AS n FROM books GROUP BY 1) SELECT * FROM top ORDER BY n DESC",
            "SELECT title FROM books WHERE author_id IN (SELECT id FROM authors WHERE country = 'France')",
            "SELECT 1 UNION SELECT id FROM main.orders",
            "SELECT strftime('%m', '2025-03-01') AS month",
        ] {
            assert!(check(sql, &known()).is_ok(), "{sql}: {:?}", check(sql, &known()));
        }
        assert_eq!(check(" SELECT 1 ; ", &known()).unwrap(), "SELECT 1");
    }

    #[test]
    fn refuses_writes_second_statements_and_unknown_tables() {
        assert!(refused("DROP TABLE books").contains("DROP TABLE"));
        assert!(refused("SELECT 1; DELETE FROM books").contains("one statement"));
        assert!(refused("DELETE FROM books").contains("DELETE"));
        assert!(refused("UPDATE books SET price = 0").contains("UPDATE"));
        assert!(refused("INSERT INTO books (id) VALUES (1)").contains("INSERT"));
        assert!(refused("PRAGMA writable_schema = 1").contains("PRAGMA"));
        assert!(refused("ATTACH DATABASE 'x.db' AS x").contains("ATTACH"));
        assert!(refused("CREATE TABLE t (a)").contains("CREATE"));
        assert!(refused("SELECT * FROM secrets").contains("secrets"));
        assert!(
            refused("SELECT * FROM books WHERE id IN (SELECT id FROM secrets)").contains("secrets")
        );
        assert!(refused("SELECT * FROM books JOIN sqlite_master ON 1").contains("sqlite_master"));
        assert!(refused("WITH x AS (SELECT 1) SELECT * FROM x JOIN other.t").contains("other.t"));
        assert!(refused("WITH books AS (SELECT 1) SELECT * FROM books").contains("hides"));
        assert!(refused("SELECT * FROM pragma_table_info('books')").contains("function"));
        assert!(matches!(
            check("SELEC 1", &known()),
            Err(CheckError::Syntax(_))
        ));
        assert!(matches!(check("  ", &known()), Err(CheckError::Syntax(_))));
    }

    #[test]
    fn tells_sql_from_questions() {
        assert!(is_sql("SELECT count(*) FROM books"));
        assert!(is_sql("drop table books;"));
        assert!(!is_sql("select the best books of 2025"));
        assert!(!is_sql("How many books are there?"));
    }
}
