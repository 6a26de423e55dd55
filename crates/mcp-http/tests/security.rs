//! Refusals: DNS rebinding (Origin, Host), bearer token, media types, protocol version and
//! session headers, body size, stream limits. Each names the problem.

mod common;

use common::*;
use mcp_http::HttpConfig;
use serde_json::{json, Value};

async fn error_of(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let body: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap_or(Value::Null);
    (status, body)
}

fn init() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
}

#[tokio::test]
async fn dns_rebinding_is_refused_with_403() {
    let s = start(HttpConfig::default()).await;
    let port = s
        .url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let evil = s
        .post(None, &init())
        .header("origin", "http://evil.example.com")
        .send()
        .await
        .unwrap();
    let (st, body) = error_of(evil).await;
    assert_eq!(st, 403);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("evil.example.com"));
    let host = s
        .post(None, &init())
        .header("host", "evil.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(host.status(), 403);
    let ok = s
        .post(None, &init())
        .header("host", format!("localhost:{port}"))
        .header("origin", format!("http://localhost:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn a_bearer_token_is_required_when_configured() {
    let cfg = HttpConfig {
        bearer_token: Some("s3cret".into()),
        authorization_servers: vec!["https://auth.example.com".into()],
        ..Default::default()
    };
    let s = start(cfg).await;
    let r = s.post(None, &init()).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.starts_with("Bearer ") && challenge.contains("resource_metadata=\"http://"),
        "{challenge}"
    );
    let wrong = s
        .post(None, &init())
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = s
        .post(None, &init())
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    let meta_url = s
        .url
        .replace("/mcp", "/.well-known/oauth-protected-resource/mcp");
    let meta: Value = serde_json::from_slice(
        &s.http
            .get(meta_url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(meta["resource"].as_str().unwrap().ends_with("/mcp"));
    assert_eq!(meta["authorization_servers"][0], "https://auth.example.com");
}

#[tokio::test]
async fn media_types_and_message_shapes_are_checked() {
    let s = start(HttpConfig::default()).await;
    let r = s
        .http
        .post(&s.url)
        .header("content-type", "text/plain")
        .header("accept", ACCEPT)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let r = s
        .http
        .post(&s.url)
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .body(init().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 406);
    let (st, body) = error_of(s.post(None, &json!([init()])).send().await.unwrap()).await;
    assert_eq!((st, body["error"]["code"].as_i64()), (400, Some(-32600)));
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("batches"));
    let r = s
        .http
        .post(&s.url)
        .header("content-type", "application/json")
        .header("accept", ACCEPT)
        .body("{nope")
        .send()
        .await
        .unwrap();
    let (st, body) = error_of(r).await;
    assert_eq!((st, body["error"]["code"].as_i64()), (400, Some(-32700)));
    assert!(body.get("id").is_none(), "no null id: {body}");
    let put = s.http.put(&s.url).send().await.unwrap();
    assert_eq!(put.status(), 405);
}

#[tokio::test]
async fn session_and_version_headers_are_checked() {
    let s = start(HttpConfig::default()).await;
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let (st, body) = error_of(s.post(None, &list).send().await.unwrap()).await;
    assert_eq!(st, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Mcp-Session-Id"));
    assert_eq!(
        s.post(Some("no-such-session"), &list)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let sid = s.open_session().await;
    let r = s
        .http
        .post(&s.url)
        .header("content-type", "application/json")
        .header("accept", ACCEPT)
        .header("mcp-session-id", &sid)
        .header("mcp-protocol-version", "1999-01-01")
        .body(list.to_string())
        .send()
        .await
        .unwrap();
    let (st, body) = error_of(r).await;
    assert_eq!(st, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("1999-01-01"));
    // Older clients send no version header: taken as an older revision, accepted.
    let r = s
        .http
        .post(&s.url)
        .header("content-type", "application/json")
        .header("accept", ACCEPT)
        .header("mcp-session-id", &sid)
        .body(list.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A request id already in flight in the session.
    let slow = slow_call(7, 300);
    let mut first = started(s.post(Some(&sid), &slow).send().await.unwrap()).await;
    assert_eq!(
        s.post(Some(&sid), &slow).send().await.unwrap().status(),
        409
    );
    let (_, done) = first.next_message().await.expect("the first call's answer");
    assert_eq!(
        done["result"]["content"][0]["text"], "slept 300 ms",
        "{done}"
    );
}

#[tokio::test]
async fn oversized_bodies_get_413_and_the_server_goes_on() {
    let cfg = HttpConfig {
        max_body: 1024,
        ..Default::default()
    };
    let s = start(cfg).await;
    let big = call(1, "ask", json!({"q": "x".repeat(4096)}));
    let (st, body) = error_of(s.post(None, &big).send().await.unwrap()).await;
    assert_eq!(st, 413);
    assert!(body["error"]["message"].as_str().unwrap().contains("1024"));
    s.open_session().await;
}

#[tokio::test]
async fn sessions_and_streams_are_limited() {
    let cfg = HttpConfig {
        max_sessions: 2,
        max_streams_per_session: 1,
        ..Default::default()
    };
    let s = start(cfg).await;
    let sid = s.open_session().await;
    s.open_session().await;
    let (st, body) = error_of(s.post(None, &init()).send().await.unwrap()).await;
    assert_eq!(st, 503);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("too many sessions"));
    let mut first = started(s.post(Some(&sid), &slow_call(1, 300)).send().await.unwrap()).await;
    let r = s
        .post(Some(&sid), &call(2, "slow", json!({"ms": 1})))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let (_, done) = first.next_message().await.expect("the first call's answer");
    assert_eq!(
        done["result"]["content"][0]["text"], "slept 300 ms",
        "{done}"
    );
}
