//! The bad-input table of `docs/bad-input.md`, checked: each row's input is sent on each
//! transport (a stdio connection with a legacy session, an HTTP legacy session, a 2026-07-28
//! HTTP request), the answers are written as the table writes them, and the table in the
//! document must be exactly that. When it differs, the test prints the table it measured.

mod common;

use common::{start, Running, ACCEPT};
use mcp_http::HttpConfig;
use mcp_rpc::testing::RawPeer;
use serde_json::{json, Value};

const DOC: &str = include_str!("../../../docs/bad-input.md");

/// The `_meta` of a 2026-07-28 request.
fn meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "bad-input", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {"sampling": {}}
    })
}

/// A request; `modern` puts the 2026-07-28 `_meta` in its params.
fn request(method: &str, params: Value, modern: bool) -> Vec<u8> {
    let mut params = params;
    if modern {
        params["_meta"] = meta();
    }
    json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        .to_string()
        .into_bytes()
}

/// A `tasks/get` of `task` (modern: declaring the tasks extension when `ext`), with the
/// task id in `Mcp-Name` as the transport requires.
fn task_get(modern: bool, ext: bool, task: &str) -> Input {
    let mut body: Value =
        serde_json::from_slice(&request("tasks/get", json!({"taskId": task}), modern)).unwrap();
    if modern && ext {
        body["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"]["extensions"] =
            json!({"io.modelcontextprotocol/tasks": {}});
    }
    let mut i = Input::new(body.to_string().into_bytes());
    i.headers.push(("mcp-name", Some(task.into())));
    i
}

/// What one row sends: a body for each era's form, and HTTP headers to change.
struct Input {
    body: Vec<u8>,
    /// Headers set (a value) or removed (`None`) on HTTP, after the usual ones.
    headers: Vec<(&'static str, Option<String>)>,
    /// Not sent on stdio (an HTTP matter).
    http_only: bool,
    /// Only for this era's HTTP column (`Some(true)`: 2026-07-28 only; `Some(false)`:
    /// legacy only).
    only_modern: Option<bool>,
}

impl Input {
    fn new(body: Vec<u8>) -> Input {
        Input {
            body,
            headers: Vec::new(),
            http_only: false,
            only_modern: None,
        }
    }
}

/// A row: its class (the table's first column), and its input in each era's form
/// (`true`: 2026-07-28).
type Row = (&'static str, Box<dyn Fn(bool) -> Input>);

/// The rows.
fn rows() -> Vec<Row> {
    let big = "x".repeat(9 * 1024 * 1024);
    vec![
        (
            "Not JSON",
            Box::new(|_| Input::new(b"{\"jsonrpc\": \"2.0\", \"id\": 1,".to_vec())),
        ),
        (
            "A batch (JSON array)",
            Box::new(|m| {
                let one: Value =
                    serde_json::from_slice(&request("tools/list", json!({}), m)).unwrap();
                Input::new(json!([one]).to_string().into_bytes())
            }),
        ),
        (
            "`jsonrpc` not `\"2.0\"`",
            Box::new(|_| {
                Input::new(br#"{"jsonrpc": "1.0", "id": 1, "method": "tools/list"}"#.to_vec())
            }),
        ),
        (
            "Wrong types in the envelope",
            Box::new(|_| {
                Input::new(br#"{"jsonrpc": "2.0", "id": {"a": 1}, "method": 5}"#.to_vec())
            }),
        ),
        (
            "Unknown method",
            Box::new(|m| Input::new(request("no/such/method", json!({}), m))),
        ),
        (
            "Params of the wrong type",
            Box::new(|m| Input::new(request("tools/call", json!({"name": 5}), m))),
        ),
        (
            "Unknown tool",
            Box::new(|m| {
                Input::new(request(
                    "tools/call",
                    json!({"name": "nope", "arguments": {}}),
                    m,
                ))
            }),
        ),
        (
            "Arguments against the tool's schema",
            Box::new(|m| {
                Input::new(request(
                    "tools/call",
                    json!({"name": "ask", "arguments": {"q": 5}}),
                    m,
                ))
            }),
        ),
        (
            "Oversized (9 MiB)",
            Box::new(move |m| {
                Input::new(request(
                    "tools/call",
                    json!({"name": "locate", "arguments": {"region": big}}),
                    m,
                ))
            }),
        ),
        (
            "Unsupported version in `_meta`",
            Box::new(|_| {
                let mut v: Value =
                    serde_json::from_slice(&request("tools/list", json!({}), true)).unwrap();
                v["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] =
                    json!("2099-01-01");
                let mut i = Input::new(v.to_string().into_bytes());
                i.headers
                    .push(("mcp-protocol-version", Some("2099-01-01".into())));
                i.only_modern = Some(true);
                i
            }),
        ),
        (
            "`_meta` capabilities of the wrong type",
            Box::new(|_| {
                let mut v: Value =
                    serde_json::from_slice(&request("tools/list", json!({}), true)).unwrap();
                v["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"] = json!("all");
                let mut i = Input::new(v.to_string().into_bytes());
                i.only_modern = Some(true);
                i
            }),
        ),
        (
            "Tampered `requestState`",
            Box::new(|_| {
                let params = json!({"name": "ask", "arguments": {"q": "hi"},
                    "inputResponses": {}, "requestState": "eyJ0YW1wZXJlZCI6dHJ1ZX0.AAAA"});
                let mut i = Input::new(request("tools/call", params, true));
                i.only_modern = Some(true);
                i
            }),
        ),
        (
            "`Mcp-Method` header contradicting the body",
            Box::new(|m| {
                let mut i = Input::new(request("tools/list", json!({}), m));
                i.headers.push(("mcp-method", Some("tools/call".into())));
                i.http_only = true;
                i.only_modern = Some(true);
                i
            }),
        ),
        (
            "No `Mcp-Session-Id` (legacy)",
            Box::new(|m| {
                let mut i = Input::new(request("tools/list", json!({}), m));
                i.headers.push(("mcp-session-id", None));
                i.http_only = true;
                i.only_modern = Some(false);
                i
            }),
        ),
        (
            "Unknown `Mcp-Session-Id`",
            Box::new(|m| {
                let mut i = Input::new(request("tools/list", json!({}), m));
                i.headers
                    .push(("mcp-session-id", Some("no-such-session".into())));
                i.http_only = true;
                i.only_modern = Some(false);
                i
            }),
        ),
        (
            "`Content-Type: text/plain`",
            Box::new(|m| {
                let mut i = Input::new(request("tools/list", json!({}), m));
                i.headers.push(("content-type", Some("text/plain".into())));
                i.http_only = true;
                i
            }),
        ),
        (
            "`tasks/get` of an unknown task",
            Box::new(|m| task_get(m, true, "no-such-task")),
        ),
        (
            "`tasks/get` without the tasks extension",
            Box::new(|m| task_get(m, false, "no-such-task")),
        ),
        (
            "`Mcp-Name` header contradicting `taskId`",
            Box::new(|m| {
                let mut i = task_get(m, true, "no-such-task");
                i.headers.retain(|(n, _)| *n != "mcp-name");
                i.headers.push(("mcp-name", Some("another-task".into())));
                i.http_only = true;
                i.only_modern = Some(true);
                i
            }),
        ),
        (
            "A response to no request",
            Box::new(|_| Input::new(br#"{"jsonrpc": "2.0", "id": 99, "result": {}}"#.to_vec())),
        ),
    ]
}

/// A JSON-RPC answer as a cell: its error code, `isError` for a tool error, else `result`.
fn answer_cell(v: &Value) -> String {
    if let Some(code) = v["error"]["code"].as_i64() {
        return code.to_string();
    }
    if v["result"]["isError"] == json!(true) {
        return "result, `isError`".into();
    }
    "result".into()
}

/// The answer on a stdio connection (a legacy session is open): the input, then a
/// `tools/list` probe; whatever comes back first tells.
async fn stdio(input: &Input) -> String {
    if input.http_only {
        return "n/a".into();
    }
    let (a, b) = mcp_rpc::memory();
    let server = common::server();
    let task = tokio::spawn(async move { server.serve(a, std::future::pending()).await });
    let mut raw = RawPeer::new(b);
    raw.send(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bad-input", "version": "1"}}}))
        .await;
    let _ = raw.recv().await;
    raw.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;
    let mut line = input.body.clone();
    line.push(b'\n');
    raw.write_raw(&line).await;
    raw.send(json!({"jsonrpc": "2.0", "id": "probe", "method": "tools/list"}))
        .await;
    let first = raw.recv().await;
    task.abort();
    if first["id"] == json!("probe") {
        "no answer".into()
    } else {
        answer_cell(&first)
    }
}

/// The answer over HTTP: status, and the JSON-RPC code or `result` of a JSON body.
async fn http(s: &Running, sid: Option<&str>, input: &Input) -> String {
    let modern = sid.is_none();
    if input.only_modern.is_some_and(|m| m != modern) {
        return "n/a".into();
    }
    let parsed: Option<Value> = serde_json::from_slice(&input.body).ok();
    let mut headers: Vec<(&str, String)> = vec![
        ("content-type", "application/json".into()),
        ("accept", ACCEPT.into()),
    ];
    match sid {
        Some(sid) => {
            headers.push(("mcp-session-id", sid.into()));
            headers.push(("mcp-protocol-version", "2025-11-25".into()));
        }
        None => {
            headers.push(("mcp-protocol-version", "2026-07-28".into()));
            if let Some(m) = parsed.as_ref().and_then(|v| v["method"].as_str()) {
                headers.push(("mcp-method", m.into()));
            }
            if let Some(n) = parsed.as_ref().and_then(|v| v["params"]["name"].as_str()) {
                headers.push(("mcp-name", n.into()));
            }
        }
    }
    for (name, value) in &input.headers {
        headers.retain(|(n, _)| n != name);
        if let Some(v) = value {
            headers.push((name, v.clone()));
        }
    }
    let mut r = s.http.post(&s.url).body(input.body.clone());
    for (n, v) in headers {
        r = r.header(n, v);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let body = r.bytes().await.unwrap();
    match serde_json::from_slice::<Value>(&body) {
        Ok(v) => format!("{status} · {}", answer_cell(&v)),
        Err(_) if body.is_empty() => status.to_string(),
        Err(_) => format!("{status} · (not JSON)"),
    }
}

const HEADER: &str =
    "| Input | stdio | HTTP, legacy session | HTTP, 2026-07-28 |\n|---|---|---|---|\n";

/// The table of the document: from its header line to the first line that is not a row.
fn documented() -> String {
    let start = DOC
        .find("| Input |")
        .expect("the table's header in docs/bad-input.md");
    let mut out = String::new();
    for line in DOC[start..].lines() {
        if !line.starts_with('|') {
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[tokio::test]
async fn the_documented_bad_input_table_is_what_the_transports_answer() {
    let s = start(HttpConfig::default()).await;
    let sid = s.open_session().await;
    let mut measured = String::from(HEADER);
    for (class, input) in rows() {
        let legacy = input(false);
        let modern = input(true);
        let cells = [
            stdio(&legacy).await,
            http(&s, Some(&sid), &legacy).await,
            http(&s, None, &modern).await,
        ];
        measured.push_str(&format!("| {class} | {} |\n", cells.join(" | ")));
    }
    s.stop().await;
    assert!(
        documented() == measured,
        "docs/bad-input.md's table differs from what the transports answer; measured:\n\n{measured}"
    );
}
