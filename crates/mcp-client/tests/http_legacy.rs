//! The HTTP client transport on the legacy era, against scripted servers: a POST stream cut
//! before its answer (resumed with GET + Last-Event-ID, nothing lost or answered twice), a
//! 404 that starts a new session, HTTP errors that fail the request clearly (out of band,
//! where a server's error that claims to come from the transport cannot follow), 401 with
//! its challenge, and the `auto` probe falling back on a legacy server's 400/404/405.

mod http_support;

use http_support::{event, Reply, Req, Scripted};
use mcp_client::{
    Client, ClientError, ClientOptions, EraChoice, HttpOptions, SamplingError, SamplingHandler,
    SamplingRequest,
};
use mcp_proto::sampling::CreateMessageResult;
use mcp_proto::Era;
use mcp_rpc::{BoxFuture, RpcError};
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// Answers every sampling request with "answer" and counts them.
#[derive(Default)]
struct Counting(AtomicUsize);

impl SamplingHandler for Counting {
    fn create_message(
        &self,
        _req: SamplingRequest,
    ) -> BoxFuture<Result<CreateMessageResult, SamplingError>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(std::future::ready(Ok(CreateMessageResult::from_text(
            "m", "answer",
        ))))
    }
}

fn init_result(req: &Req) -> Value {
    json!({"jsonrpc": "2.0", "id": req.json()["id"], "result": {
        "protocolVersion": "2025-11-25",
        "capabilities": {"tools": {}},
        "serverInfo": {"name": "scripted", "version": "1"}
    }})
}

fn legacy() -> ClientOptions {
    ClientOptions {
        era: EraChoice::Legacy,
        ..Default::default()
    }
}

fn fast() -> HttpOptions {
    HttpOptions {
        default_retry: Duration::from_millis(20),
        ..Default::default()
    }
}

fn sampling_request() -> Value {
    json!({"jsonrpc": "2.0", "id": "s-1", "method": "sampling/createMessage", "params": {
        "messages": [{"role": "user", "content": {"type": "text", "text": "hi"}}],
        "maxTokens": 10
    }})
}

/// Serves the handshake, the standalone GET (405) and DELETE; `other` gets the rest.
async fn handshake(req: &Req, session: &str) -> Option<Reply> {
    match (req.method.as_str(), req.rpc_method().as_deref()) {
        ("POST", Some("initialize")) => {
            Some(Reply::json(&init_result(req)).with_header("Mcp-Session-Id", session))
        }
        ("POST", Some("notifications/initialized")) => Some(Reply::accepted()),
        ("GET", _) if req.header("last-event-id").is_none() => Some(Reply::status(405, "")),
        ("DELETE", _) => Some(Reply::status(200, "")),
        _ => None,
    }
}

#[derive(Default)]
struct CutState {
    call_id: Mutex<Value>,
}

#[tokio::test]
async fn a_cut_stream_is_resumed_and_nothing_is_lost_or_answered_twice() {
    let st = Arc::new(CutState::default());
    let (reply_tx, reply_rx) = watch::channel::<Option<Value>>(None);
    let reply_tx = Arc::new(reply_tx);
    let server = Scripted::start(Arc::new(move |req: Req| {
        let st = st.clone();
        let reply_tx = reply_tx.clone();
        let mut reply_rx = reply_rx.clone();
        Box::pin(async move {
            if let Some(r) = handshake(&req, "s1").await {
                return r;
            }
            let body = req.json();
            match (req.method.as_str(), req.rpc_method().as_deref()) {
                ("POST", Some("tools/call")) => {
                    *st.call_id.lock().unwrap() = body["id"].clone();
                    let (reply, tx) = Reply::sse();
                    // A priming event, then the sampling request, then the connection drops.
                    tx.send(b"id: e1\nretry: 30\ndata:\n\n".to_vec()).unwrap();
                    tx.send(event(Some("e2"), &sampling_request())).unwrap();
                    reply
                }
                ("POST", None) => {
                    reply_tx.send_replace(Some(body));
                    Reply::accepted()
                }
                ("GET", _) => {
                    let (reply, tx) = Reply::sse();
                    let call_id = st.call_id.lock().unwrap().clone();
                    tokio::spawn(async move {
                        // The replay repeats e2 (already received), then the answer comes.
                        tx.send(event(Some("e2"), &sampling_request())).unwrap();
                        let answered = reply_rx.wait_for(Option::is_some).await.unwrap().clone();
                        let text = answered.unwrap()["result"]["content"]["text"].clone();
                        let done = json!({"jsonrpc": "2.0", "id": call_id, "result": {
                            "content": [{"type": "text", "text": format!("got: {}", text.as_str().unwrap_or("?"))}]
                        }});
                        let _ = tx.send(event(Some("e3"), &done));
                    });
                    reply
                }
                _ => Reply::status(400, "unexpected"),
            }
        })
    }))
    .await;
    let handler = Arc::new(Counting::default());
    let client = Client::connect_http(&server.url, fast(), handler.clone(), legacy())
        .await
        .expect("connect");
    assert_eq!(client.era(), Era::Legacy);
    let result = tokio::time::timeout(Duration::from_secs(20), client.call_tool("t", Map::new()))
        .await
        .expect("the call hung")
        .expect("the call failed");
    assert_eq!(result.content[0].as_text(), Some("got: answer"));
    assert_eq!(
        handler.0.load(Ordering::SeqCst),
        1,
        "sampling answered twice"
    );
    client.close().await;

    let reqs = server.requests();
    let resumed: Vec<&Req> = reqs
        .iter()
        .filter(|r| r.method == "GET" && r.header("last-event-id").is_some())
        .collect();
    assert_eq!(resumed.len(), 1, "{reqs:?}");
    assert_eq!(resumed[0].header("last-event-id"), Some("e2"));
    let answers: Vec<&Req> = reqs
        .iter()
        .filter(|r| r.method == "POST" && r.rpc_method().is_none())
        .collect();
    assert_eq!(answers.len(), 1, "the sampling request was answered twice");
    // Everything after initialize carries the session and the negotiated version.
    for r in reqs.iter().skip(1) {
        assert_eq!(r.header("mcp-session-id"), Some("s1"), "{r:?}");
        assert_eq!(
            r.header("mcp-protocol-version"),
            Some("2025-11-25"),
            "{r:?}"
        );
    }
    assert!(
        reqs.iter().any(|r| r.method == "DELETE"),
        "no DELETE at close"
    );
}

#[tokio::test]
async fn a_404_starts_a_new_session_and_the_request_is_retried() {
    let sessions = Arc::new(AtomicUsize::new(0));
    let server = Scripted::start(Arc::new(move |req: Req| {
        let sessions = sessions.clone();
        Box::pin(async move {
            if req.rpc_method().as_deref() == Some("initialize") {
                let n = sessions.fetch_add(1, Ordering::SeqCst) + 1;
                return Reply::json(&init_result(&req))
                    .with_header("Mcp-Session-Id", &format!("s{n}"));
            }
            if let Some(r) = handshake(&req, "unused").await {
                return r;
            }
            if req.header("mcp-session-id") == Some("s1") {
                return Reply::status(404, "session not found");
            }
            let tools = json!({"jsonrpc": "2.0", "id": req.json()["id"], "result": {"tools": [
                {"name": "t", "inputSchema": {"type": "object"}}
            ]}});
            Reply::json(&tools)
        })
    }))
    .await;
    let client = Client::connect_http(&server.url, fast(), Arc::new(Counting::default()), legacy())
        .await
        .expect("connect");
    let tools = client.list_tools().await.expect("tools/list after renewal");
    assert_eq!(tools.tools.len(), 1);
    let inits = server.calls("initialize");
    assert_eq!(inits.len(), 2, "no new session");
    assert_eq!(inits[1].header("mcp-session-id"), None);
    assert_eq!(server.calls("notifications/initialized").len(), 2);
    let lists = server.calls("tools/list");
    assert_eq!(lists.len(), 2);
    assert_eq!(lists[1].header("mcp-session-id"), Some("s2"));
    client.close().await;
}

#[tokio::test]
async fn an_http_500_fails_the_call_clearly() {
    let server = Scripted::start(Arc::new(|req: Req| {
        Box::pin(async move {
            match handshake(&req, "s1").await {
                Some(r) => r,
                None => Reply::status(500, "boom: database on fire"),
            }
        })
    }))
    .await;
    let client = Client::connect_http(&server.url, fast(), Arc::new(Counting::default()), legacy())
        .await
        .expect("connect");
    let err = tokio::time::timeout(Duration::from_secs(10), client.call_tool("t", Map::new()))
        .await
        .expect("the call hung")
        .expect_err("a 500 must fail the call");
    let msg = err.to_string();
    assert!(
        msg.contains("500") && msg.contains("database on fire"),
        "{msg}"
    );
    client.close().await;
}

#[tokio::test]
async fn a_server_error_marked_as_from_the_transport_is_still_the_servers() {
    // Once with HTTP 200, once with an HTTP error status: a JSON-RPC error for the request
    // is the server's answer either way, whatever its `data` claims.
    for status in [200, 500] {
        let server = Scripted::start(Arc::new(move |req: Req| {
            Box::pin(async move {
                if let Some(r) = handshake(&req, "s1").await {
                    return r;
                }
                let forged = json!({"jsonrpc": "2.0", "id": req.json()["id"], "error": {
                    "code": -32603, "message": "HTTP 502 from the proxy",
                    "data": {"transport": "http"}}});
                Reply {
                    status,
                    ..Reply::json(&forged)
                }
            })
        }))
        .await;
        let client =
            Client::connect_http(&server.url, fast(), Arc::new(Counting::default()), legacy())
                .await
                .expect("connect");
        match client.call_tool("t", Map::new()).await {
            Err(ClientError::Rpc(RpcError::Remote(e))) => {
                assert_eq!(e.message, "HTTP 502 from the proxy");
                assert_eq!(e.data, Some(json!({"transport": "http"})));
            }
            other => panic!("status {status}: not the server's error: {other:?}"),
        }
        client.close().await;
    }
}

#[tokio::test]
async fn a_401_names_the_challenge_and_the_bearer_token_is_sent() {
    let server = Scripted::start(Arc::new(|_req: Req| {
        Box::pin(async move {
            Reply::status(401, "no").with_header(
                "WWW-Authenticate",
                r#"Bearer realm="mcp", error="invalid_token""#,
            )
        })
    }))
    .await;
    let http = HttpOptions {
        bearer: Some("tok-123".into()),
        ..fast()
    };
    let err = match Client::connect_http(&server.url, http, Arc::new(Counting::default()), legacy())
        .await
    {
        Ok(_) => panic!("connected despite the 401"),
        Err(e) => e,
    };
    let msg = err.to_string();
    assert!(
        msg.contains(r#"WWW-Authenticate: Bearer realm="mcp", error="invalid_token""#)
            && msg.contains("401"),
        "{msg}"
    );
    let reqs = server.requests();
    assert_eq!(reqs[0].header("authorization"), Some("Bearer tok-123"));
}

#[tokio::test]
async fn auto_falls_back_to_initialize_on_a_legacy_servers_refusal() {
    for status in [400, 404, 405] {
        let server = Scripted::start(Arc::new(move |req: Req| {
            Box::pin(async move {
                if req.rpc_method().as_deref() == Some("server/discover") {
                    return Reply::status(status, "Bad Request: Server not initialized");
                }
                match handshake(&req, "s1").await {
                    Some(r) => r,
                    None => Reply::status(400, "unexpected"),
                }
            })
        }))
        .await;
        let opts = ClientOptions {
            era: EraChoice::Auto,
            ..Default::default()
        };
        let client = Client::connect_http(&server.url, fast(), Arc::new(Counting::default()), opts)
            .await
            .unwrap_or_else(|e| panic!("status {status}: {e}"));
        assert_eq!(client.era(), Era::Legacy, "status {status}");
        let probe = &server.calls("server/discover")[0];
        assert_eq!(probe.header("mcp-protocol-version"), Some("2026-07-28"));
        assert_eq!(probe.header("mcp-method"), Some("server/discover"));
        assert_eq!(server.calls("initialize").len(), 1);
        client.close().await;
    }
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_not_a_hang() {
    // A port nobody listens on: bind, note it, let go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let outcome = tokio::time::timeout(
        Duration::from_secs(10),
        Client::connect_http(&url, fast(), Arc::new(Counting::default()), legacy()),
    )
    .await
    .expect("connect hung");
    match outcome {
        Err(ClientError::Transport(e)) => {
            assert!(e.contains(&url), "{e}");
            let shown = ClientError::Transport(e).to_string();
            assert!(shown.starts_with("cannot reach the server"), "{shown}");
        }
        Err(e) => panic!("unexpected error: {e}"),
        Ok(_) => panic!("connected to nothing"),
    }
}

#[tokio::test]
async fn cancelling_a_legacy_request_posts_the_notification() {
    let server = Scripted::start(Arc::new(|req: Req| {
        Box::pin(async move {
            if let Some(r) = handshake(&req, "s1").await {
                return r;
            }
            match req.rpc_method().as_deref() {
                Some("notifications/cancelled") => Reply::accepted(),
                // The call's stream stays open, with nothing on it, until the test ends.
                _ => {
                    let (reply, tx) = Reply::sse();
                    tokio::spawn(async move {
                        let _open = tx;
                        std::future::pending::<()>().await
                    });
                    reply
                }
            }
        })
    }))
    .await;
    let client = Client::connect_http(&server.url, fast(), Arc::new(Counting::default()), legacy())
        .await
        .expect("connect");
    let params = json!({"name": "slow", "arguments": {}});
    let err = client
        .request("tools/call", Some(params), Some(Duration::from_millis(200)))
        .await
        .expect_err("the call must time out");
    assert!(err.to_string().contains("no answer"), "{err}");
    let call_id = server.calls("tools/call")[0].json()["id"].clone();
    let cancelled = server.wait_for("notifications/cancelled").await;
    assert_eq!(cancelled.json()["params"]["requestId"], call_id);
    assert_eq!(cancelled.header("mcp-session-id"), Some("s1"));
    client.close().await;
}
