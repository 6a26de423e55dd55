//! `agent`: `research {question}` answers a question about the outdoor shop of
//! `smart-search` with the tool-loop helper ([`ToolLoop`]): the client's model gets four
//! tools that the server runs itself against the shop's database (product search, order
//! status, policies, a price quote computed in code), iterates up to a cap, and is forced to
//! answer (`toolChoice: none`) on the last round.
//!
//! A client that cannot sample with tools still gets an answer: the server gathers the
//! facts in code (the products, policies and orders the question's words match) and asks
//! once, with those facts in the request.

use crate::smart_search::open_shop;
use mcp_server::{Args, Ctx, Json, Sampling, Server, State, ToolError, ToolLoop, ToolUseRecord};
use rusqlite::types::Value as SqlValue;
use rusqlite::Connection;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};

/// The longest question accepted, in characters.
pub const MAX_QUESTION_CHARS: usize = 2000;
/// The most sampling rounds a caller may ask for.
pub const MAX_ROUNDS: u32 = 8;

const SYSTEM: &str = "You answer questions about an outdoor shop. Use the tools to look up \
products, orders and policies, and to compute prices; never guess a price, a status or a \
policy. Answer in one or two sentences.";

#[derive(Deserialize, JsonSchema)]
struct Research {
    /// The question, in plain words.
    question: String,
    /// Most sampling rounds (1 to 8, default 4); the last one must answer without tools.
    max_rounds: Option<u32>,
}

/// What `research` returns.
#[derive(Serialize, Debug, JsonSchema)]
pub struct Researched {
    /// The model's answer.
    pub answer: String,
    /// The model that gave it.
    pub model: String,
    /// Sampling rounds taken.
    pub rounds: u32,
    /// Every tool use the server ran for the model, in order.
    pub tool_uses: Vec<ToolUseRecord>,
    /// Whether the cap forced the answer (`toolChoice: none` on the last round).
    pub forced_final: bool,
    /// The facts gathered in code when the client cannot sample with tools (empty otherwise).
    pub gathered: Vec<Value>,
}

/// The shop's database, shared by the tools (opening it may fail).
#[derive(Clone)]
struct Shop(Arc<Mutex<Result<Connection, String>>>);

impl Shop {
    /// Runs `f` on the database; its error is the tool error the model sees.
    fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T, String>) -> Result<T, String> {
        let guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            Ok(db) => f(db),
            Err(e) => Err(format!("the shop's database failed to open: {e}")),
        }
    }
}

/// Rows of `sql` with `params`, as JSON objects keyed by column name.
fn rows(db: &Connection, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Result<Vec<Value>, String> {
    let mut stmt = db.prepare(sql).map_err(|e| e.to_string())?;
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let found = stmt
        .query_map(params, |r| {
            let mut obj = Map::new();
            for (i, n) in names.iter().enumerate() {
                let v = match r.get::<_, SqlValue>(i)? {
                    SqlValue::Integer(n) => json!(n),
                    SqlValue::Real(f) => json!(f),
                    SqlValue::Text(t) => json!(t),
                    _ => Value::Null,
                };
                obj.insert(n.clone(), v);
            }
            Ok(Value::Object(obj))
        })
        .map_err(|e| e.to_string())?;
    found.collect::<Result<_, _>>().map_err(|e| e.to_string())
}

/// The words of `text` worth matching (three letters or more), as LIKE patterns.
fn patterns(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
        .map(|w| format!("%{}%", w.to_lowercase().trim_end_matches('s')))
        .take(8)
        .collect()
}

/// Rows of `table` whose `haystack` matches any word of `text`, best first.
fn matching(
    db: &Connection,
    table: &str,
    cols: &str,
    haystack: &str,
    text: &str,
) -> Result<Vec<Value>, String> {
    let words = patterns(text);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let score = words
        .iter()
        .map(|_| format!("(lower({haystack}) LIKE ?)"))
        .collect::<Vec<_>>()
        .join(" + ");
    let sql =
        format!("SELECT {cols} FROM {table} WHERE ({score}) > 0 ORDER BY ({score}) DESC LIMIT 5");
    let params: Vec<&dyn rusqlite::ToSql> = words
        .iter()
        .chain(words.iter())
        .map(|w| w as &dyn rusqlite::ToSql)
        .collect();
    rows(db, &sql, &params)
}

fn text_arg<'a>(input: &'a Map<String, Value>, name: &str) -> Result<&'a str, String> {
    input
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| format!("`{name}` must be a non-empty string"))
}

fn search_products(shop: &Shop, input: &Map<String, Value>) -> Result<Value, String> {
    let text = text_arg(input, "text")?;
    let max = input
        .get("max_price")
        .and_then(Value::as_f64)
        .unwrap_or(f64::MAX);
    let found = shop.with(|db| {
        matching(
            db,
            "products",
            "name, category, price",
            "name || ' ' || category",
            text,
        )
    })?;
    let found: Vec<Value> = found
        .into_iter()
        .filter(|r| r["price"].as_f64().is_some_and(|p| p <= max))
        .collect();
    Ok(json!({ "products": found }))
}

fn order_status(shop: &Shop, input: &Map<String, Value>) -> Result<Value, String> {
    let number = text_arg(input, "number")?.trim().trim_start_matches('#');
    let found = shop.with(|db| {
        rows(
            db,
            "SELECT number, customer, product, status, total FROM orders WHERE number = ?",
            &[&number],
        )
    })?;
    found
        .into_iter()
        .next()
        .ok_or_else(|| format!("there is no order {number}"))
}

fn read_policy(shop: &Shop, input: &Map<String, Value>) -> Result<Value, String> {
    let topic = text_arg(input, "topic")?;
    let found =
        shop.with(|db| matching(db, "docs", "title, body", "title || ' ' || body", topic))?;
    if found.is_empty() {
        return Err(format!("no policy matches {topic:?}; the policies are about returns, shipping, sizing and warranty"));
    }
    Ok(json!({ "policies": found }))
}

/// Prices an order in code: every item's product must exist (matched by name, case
/// insensitively), quantities are 1 to 100.
fn quote(shop: &Shop, input: &Map<String, Value>) -> Result<Value, String> {
    let items = input
        .get("items")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty() && a.len() <= 20);
    let items = items.ok_or("`items` must be a list of 1 to 20 {product, quantity}")?;
    let mut lines = Vec::new();
    let mut total = 0.0;
    for item in items {
        let name = item
            .get("product")
            .and_then(Value::as_str)
            .ok_or("each item needs a `product` name")?;
        let qty = item.get("quantity").and_then(Value::as_u64).unwrap_or(1);
        if !(1..=100).contains(&qty) {
            return Err(format!("the quantity of {name:?} must be 1 to 100"));
        }
        let found = shop.with(|db| {
            rows(
                db,
                "SELECT name, price FROM products WHERE lower(name) = lower(?)",
                &[&name],
            )
        })?;
        let row = found.into_iter().next().ok_or_else(|| {
            format!("the shop sells no product named {name:?}; search_products finds names")
        })?;
        let price = row["price"].as_f64().unwrap_or_default();
        let line = (price * qty as f64 * 100.0).round() / 100.0;
        total += line;
        lines.push(json!({"product": row["name"], "quantity": qty, "unit_price": price, "line_total": line}));
    }
    Ok(json!({"lines": lines, "total": (total * 100.0).round() / 100.0}))
}

/// The tools offered to the model, each run by the server against the shop.
fn with_tools(mut lp: ToolLoop, shop: &Shop) -> ToolLoop {
    type Run = fn(&Shop, &Map<String, Value>) -> Result<Value, String>;
    let tools: [(&str, &str, Value, Run); 4] = [
        (
            "search_products",
            "Find products by words of their name or category, optionally under a price",
            json!({"type": "object", "properties": {"text": {"type": "string"}, "max_price": {"type": "number"}}, "required": ["text"]}),
            search_products,
        ),
        (
            "order_status",
            "An order's customer, product, status and total, by its number",
            json!({"type": "object", "properties": {"number": {"type": "string"}}, "required": ["number"]}),
            order_status,
        ),
        (
            "read_policy",
            "The shop's policies (returns, shipping, sizing, warranty) matching a topic",
            json!({"type": "object", "properties": {"topic": {"type": "string"}}, "required": ["topic"]}),
            read_policy,
        ),
        (
            "quote",
            "The exact price of products in quantities, computed by the shop",
            json!({"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object", "properties": {"product": {"type": "string"}, "quantity": {"type": "integer", "minimum": 1}}, "required": ["product"]}}}, "required": ["items"]}),
            quote,
        ),
    ];
    for (name, about, schema, run) in tools {
        let shop = shop.clone();
        lp = lp.tool(name, about, schema, move |input| {
            std::future::ready(run(&shop, &input))
        });
    }
    lp
}

/// Facts for a client that cannot sample with tools: what the question's words match.
fn gather(shop: &Shop, question: &str) -> Vec<Value> {
    let mut facts = Vec::new();
    let ask = |tool: &str, input: Value| {
        let input = input.as_object().cloned().unwrap_or_default();
        let out = match tool {
            "search_products" => search_products(shop, &input),
            "read_policy" => read_policy(shop, &input),
            _ => order_status(shop, &input),
        };
        out.ok()
            .map(|o| json!({"tool": tool, "input": input, "output": o}))
    };
    facts.extend(ask("search_products", json!({"text": question})));
    facts.extend(ask("read_policy", json!({"topic": question})));
    let numbers = question
        .split(|c: char| !c.is_ascii_digit())
        .filter(|d| d.len() >= 5);
    for n in numbers.take(3) {
        facts.extend(ask("order_status", json!({"number": n})));
    }
    facts
}

async fn research(
    Args(a): Args<Research>,
    State(shop): State<Shop>,
    ctx: Ctx,
) -> Result<Json<Researched>, ToolError> {
    let question = a.question.trim();
    if question.is_empty() {
        return Err(ToolError::failed("the question is empty"));
    }
    if question.chars().count() > MAX_QUESTION_CHARS {
        return Err(ToolError::failed(format!(
            "the question is longer than {MAX_QUESTION_CHARS} characters"
        )));
    }
    let rounds = a.max_rounds.unwrap_or(4);
    if !(1..=MAX_ROUNDS).contains(&rounds) {
        return Err(ToolError::failed(format!(
            "max_rounds must be 1 to {MAX_ROUNDS}"
        )));
    }
    let req = Sampling::user(question)
        .system(SYSTEM)
        .max_tokens(300)
        .hint("sonnet");
    if !ctx.can_sample_with_tools() && !ctx.has_direct_sampler() {
        let gathered = gather(&shop, question);
        let facts: Vec<String> = gathered.iter().map(Value::to_string).collect();
        let system = format!(
            "{SYSTEM}\nThe shop looked these up for you (tool, input, output), one a line:\n{}",
            facts.join("\n")
        );
        let reply = ctx.sample(req.system(system)).await?;
        return Ok(Json(Researched {
            answer: reply.text(),
            model: reply.model,
            rounds: 1,
            tool_uses: Vec::new(),
            forced_final: false,
            gathered,
        }));
    }
    let out = with_tools(ToolLoop::new(req), &shop)
        .max_rounds(rounds)
        .run(&ctx)
        .await?;
    Ok(Json(Researched {
        answer: out.text,
        model: out.model,
        rounds: out.rounds,
        tool_uses: out.tool_uses,
        forced_final: out.forced_final,
        gathered: Vec::new(),
    }))
}

/// The `agent` server.
pub fn server() -> Server {
    let shop = Shop(Arc::new(Mutex::new(open_shop().map_err(|e| e.to_string()))));
    Server::builder("agent")
        .instructions("Answers questions about an outdoor shop: the client's model calls the server's lookup tools (products, orders, policies, quotes) through sampling with tools.")
        .state(shop)
        .tool("research", "Answer a question about the shop's products, orders and policies; the client's model looks things up with tools the server runs", research)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> Shop {
        Shop(Arc::new(Mutex::new(open_shop().map_err(|e| e.to_string()))))
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn the_tools_answer_from_the_database() {
        let s = shop();
        let found =
            search_products(&s, &obj(json!({"text": "running shoes", "max_price": 80}))).unwrap();
        assert_eq!(
            found["products"],
            json!([{"name": "Red running shoes", "category": "shoes", "price": 75.5}])
        );
        assert_eq!(
            order_status(&s, &obj(json!({"number": "#10422"}))).unwrap()["status"],
            "processing"
        );
        assert_eq!(
            order_status(&s, &obj(json!({"number": "99999"}))).unwrap_err(),
            "there is no order 99999"
        );
        assert!(
            read_policy(&s, &obj(json!({"topic": "warranty"}))).unwrap()["policies"][0]["body"]
                .as_str()
                .unwrap()
                .contains("two year")
        );
        let q = quote(&s, &obj(json!({"items": [{"product": "merino wool socks", "quantity": 3}, {"product": "Ultralight tent"}]}))).unwrap();
        assert_eq!(q["total"], 364.7);
        assert!(quote(&s, &obj(json!({"items": [{"product": "kayak"}]})))
            .unwrap_err()
            .contains("no product named"));
        assert!(quote(
            &s,
            &obj(json!({"items": [{"product": "Ultralight tent", "quantity": 0}]}))
        )
        .is_err());
        assert!(search_products(&s, &obj(json!({}))).is_err());
    }

    #[test]
    fn facts_are_gathered_for_clients_without_tools() {
        let facts = gather(
            &shop(),
            "Is order 10421 shipped, and what is the return policy?",
        );
        let tools: Vec<&str> = facts.iter().filter_map(|f| f["tool"].as_str()).collect();
        assert!(tools.contains(&"order_status"), "{facts:?}");
        assert!(tools.contains(&"read_policy"), "{facts:?}");
    }
}
