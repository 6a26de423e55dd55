//! The HTTP client transport on the modern era, against scripted servers: the request
//! metadata headers (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`, `Mcp-Param-*` with the
//! base64 sentinel), tools with invalid `x-mcp-header` left out, a `-32020` answer that makes
//! the client list the tools and retry, and cancellation by closing the response stream.

mod http_support;

use http_support::{sse_watched, Reply, Req, Scripted};
use mcp_client::{Client, ClientError, ClientOptions, EraChoice, HttpOptions};
use mcp_host::testing::Fixed;
use mcp_proto::Era;
use mcp_rpc::RpcError;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;

fn modern() -> ClientOptions {
    ClientOptions {
        era: EraChoice::Modern,
        ..Default::default()
    }
}

fn answer(req: &Req, result: Value) -> Reply {
    Reply::json(&json!({"jsonrpc": "2.0", "id": req.json()["id"], "result": result}))
}

fn tools() -> Value {
    json!({"tools": [
        {"name": "café", "inputSchema": {"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "n": {"type": "integer", "x-mcp-header": "N"},
            "q": {"type": "string"}}}},
        {"name": "bad", "inputSchema": {"type": "object", "properties": {
            "x": {"type": "number", "x-mcp-header": "X"}}}}
    ]})
}

/// A modern server: discover, tools/list, and a tools/call that insists on the region header
/// (answering `-32020` without it).
async fn modern_server(req: Req) -> Reply {
    let body = req.json();
    match req.rpc_method().as_deref() {
        Some("server/discover") => answer(
            &req,
            json!({"supportedVersions": ["2026-07-28"], "capabilities": {"tools": {}}}),
        ),
        Some("tools/list") => answer(&req, tools()),
        Some("tools/call") if req.header("mcp-param-region").is_none() => Reply {
            status: 400,
            ..Reply::json(&json!({"jsonrpc": "2.0", "id": body["id"],
                "error": {"code": -32020, "message": "Header mismatch: Mcp-Param-Region missing"}}))
        },
        Some("tools/call") => answer(
            &req,
            json!({"content": [{"type": "text", "text": "ok"}], "resultType": "complete"}),
        ),
        _ => Reply::status(400, "unexpected"),
    }
}

fn call_args() -> Map<String, Value> {
    let Value::Object(m) = json!({"region": "Zürich", "n": 42, "q": "plain"}) else {
        unreachable!()
    };
    m
}

#[tokio::test]
async fn modern_requests_carry_the_metadata_headers() {
    let server = Scripted::start(Arc::new(|req| Box::pin(modern_server(req)))).await;
    let client = Client::connect_http(
        &server.url,
        HttpOptions::default(),
        Arc::new(Fixed("x".into())),
        modern(),
    )
    .await
    .expect("connect");
    assert_eq!(client.era(), Era::Modern);
    let listed = client.list_tools().await.expect("tools/list");
    let names: Vec<&str> = listed.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        ["café"],
        "the tool with an invalid x-mcp-header must be left out"
    );
    let result = client.call_tool("café", call_args()).await.expect("call");
    assert_eq!(result.content[0].as_text(), Some("ok"));

    let calls = server.calls("tools/call");
    assert_eq!(calls.len(), 1, "the call was refused: {calls:?}");
    let c = &calls[0];
    assert_eq!(c.header("mcp-protocol-version"), Some("2026-07-28"));
    assert_eq!(c.header("mcp-method"), Some("tools/call"));
    assert_eq!(c.header("mcp-name"), Some("=?base64?Y2Fmw6k=?="));
    assert_eq!(
        c.header("mcp-param-region"),
        Some("=?base64?WsO8cmljaA==?=")
    );
    assert_eq!(c.header("mcp-param-n"), Some("42"));
    assert_eq!(c.header("mcp-session-id"), None);
    let listing = &server.calls("tools/list")[0];
    assert_eq!(listing.header("mcp-name"), None);
    assert!(server.requests().iter().all(|r| r.method == "POST"));
    client.close().await;
}

#[tokio::test]
async fn a_header_mismatch_makes_the_client_learn_the_tools_and_retry_once() {
    let server = Scripted::start(Arc::new(|req| Box::pin(modern_server(req)))).await;
    let client = Client::connect_http(
        &server.url,
        HttpOptions::default(),
        Arc::new(Fixed("x".into())),
        modern(),
    )
    .await
    .expect("connect");
    // No tools/list first: the client does not know the tool's headers yet.
    let result = client.call_tool("café", call_args()).await.expect("call");
    assert_eq!(result.content[0].as_text(), Some("ok"));
    assert_eq!(server.calls("tools/list").len(), 1);
    let calls = server.calls("tools/call");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].header("mcp-param-region"), None);
    assert_eq!(
        calls[1].header("mcp-param-region"),
        Some("=?base64?WsO8cmljaA==?=")
    );
    client.close().await;
}

#[tokio::test]
async fn a_second_header_mismatch_is_the_servers_answer() {
    let server = Scripted::start(Arc::new(|req| Box::pin(modern_server(req)))).await;
    let client = Client::connect_http(
        &server.url,
        HttpOptions::default(),
        Arc::new(Fixed("x".into())),
        modern(),
    )
    .await
    .expect("connect");
    // No region: no Mcp-Param-Region header, however well the tool is known.
    let err = client
        .call_tool("café", Map::new())
        .await
        .expect_err("the server refuses the call");
    match err {
        ClientError::Rpc(RpcError::Remote(e)) => assert_eq!(e.code, -32020),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.calls("tools/list").len(), 1, "listed once");
    assert_eq!(server.calls("tools/call").len(), 2, "retried once");
    client.close().await;
}

#[tokio::test]
async fn cancelling_a_modern_request_closes_its_stream_and_posts_nothing() {
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
    let closed_tx = Arc::new(std::sync::Mutex::new(Some(closed_tx)));
    let server = Scripted::start(Arc::new(move |req: Req| {
        let closed_tx = closed_tx.clone();
        Box::pin(async move {
            if req.rpc_method().as_deref() != Some("tools/call") {
                return modern_server(req).await;
            }
            let (reply, tx, seen_close) = sse_watched();
            tokio::spawn(async move {
                let _keep_open = tx;
                if seen_close.await.is_ok() {
                    if let Some(t) = closed_tx.lock().unwrap().take() {
                        let _ = t.send(());
                    }
                }
            });
            reply
        })
    }))
    .await;
    let client = Client::connect_http(
        &server.url,
        HttpOptions::default(),
        Arc::new(Fixed("x".into())),
        modern(),
    )
    .await
    .expect("connect");
    let params = json!({"name": "slow", "arguments": {}});
    let err = client
        .request("tools/call", Some(params), Some(Duration::from_millis(300)))
        .await
        .expect_err("the call must time out");
    assert!(
        matches!(err, ClientError::Rpc(RpcError::Timeout(_))),
        "{err}"
    );
    tokio::time::timeout(Duration::from_secs(5), closed_rx)
        .await
        .expect("the response stream was not closed")
        .expect("closed");
    // The transport sends in order: a cancellation POST would have been answered before the
    // request that follows.
    client
        .list_tools()
        .await
        .expect("tools/list after the cancellation");
    assert!(
        server.calls("notifications/cancelled").is_empty(),
        "modern cancellation must not be POSTed"
    );
    client.close().await;
}

/// A server that answers the call with a task: `tasks/get` must name the task in `Mcp-Name`
/// (and the method in `Mcp-Method`), else 400 with `-32020`; the second poll completes it.
async fn task_server(req: Req, polls: Arc<std::sync::atomic::AtomicUsize>) -> Reply {
    let body = req.json();
    let task = |status: &str| {
        json!({"taskId": "t1", "status": status, "createdAt": "2026-12-07T00:00:00Z",
            "lastUpdatedAt": "2026-12-07T00:00:00Z", "ttlMs": 60000, "pollIntervalMs": 1})
    };
    let declared = body["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"]
        ["extensions"]["io.modelcontextprotocol/tasks"]
        .is_object();
    match req.rpc_method().as_deref() {
        Some("server/discover") => answer(
            &req,
            json!({"supportedVersions": ["2026-07-28"], "capabilities": {"tools": {},
                "extensions": {"io.modelcontextprotocol/tasks": {}}}}),
        ),
        Some("tools/call") if declared => {
            let mut t = task("working");
            t["resultType"] = json!("task");
            answer(&req, t)
        }
        Some("tasks/get")
            if declared
                && req.header("mcp-name") == Some("t1")
                && req.header("mcp-method") == Some("tasks/get") =>
        {
            let n = polls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut t = task(if n == 0 { "working" } else { "completed" });
            t["resultType"] = json!("complete");
            if n > 0 {
                t["result"] = json!({"content": [{"type": "text", "text": "from the task"}]});
            }
            answer(&req, t)
        }
        _ => Reply {
            status: 400,
            ..Reply::json(&json!({"jsonrpc": "2.0", "id": body["id"],
                "error": {"code": -32020, "message": "Header mismatch or undeclared extension"}}))
        },
    }
}

#[tokio::test]
async fn a_task_is_polled_with_its_id_in_mcp_name() {
    let polls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let p = polls.clone();
    let server = Scripted::start(Arc::new(move |req| Box::pin(task_server(req, p.clone())))).await;
    let client = Client::connect_http(
        &server.url,
        HttpOptions::default(),
        Arc::new(Fixed("x".into())),
        modern(),
    )
    .await
    .expect("connect");
    let r = client
        .call_tool("slow", Map::new())
        .await
        .expect("the task's result");
    assert_eq!(r.text_content(), "from the task");
    assert_eq!(polls.load(std::sync::atomic::Ordering::SeqCst), 2);
}
