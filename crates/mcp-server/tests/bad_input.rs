//! Every kind of bad input gets the right error, and the connection keeps serving.

mod common;

use common::*;
use mcp_proto::clock::ManualClock;
use mcp_rpc::Config;
use mcp_server::ServerConfig;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

async fn still_serves(p: &mut mcp_rpc::testing::RawPeer) {
    p.send(call(
        json!(999),
        "echo",
        "alive",
        Some(modern_meta(json!({}))),
    ))
    .await;
    let r = p.recv().await;
    assert_eq!(r["id"], 999, "{r}");
    assert_eq!(r["result"]["content"][0]["text"], "alive", "{r}");
}

/// Asserts an error answer with this code whose message mentions `needle`.
fn expect_error(r: &Value, want: i64, needle: &str) {
    assert_eq!(code(r), want, "{r}");
    let message = r["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "{needle:?} not in {r}");
}

fn code(v: &Value) -> i64 {
    v["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("expected an error: {v}"))
}

#[tokio::test]
async fn garbage_and_malformed_envelopes() {
    let config = ServerConfig {
        rpc: Config {
            max_frame: 4096,
            ..Config::default()
        },
        ..Default::default()
    };
    let mut p = start(config);
    let cases: Vec<(&[u8], i64, Value)> = vec![
        (b"this is not json\n", -32700, Value::Null),
        (
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/li\n",
            -32700,
            Value::Null,
        ),
        (
            b"{\"jsonrpc\":\"1.0\",\"id\":2,\"method\":\"ping\"}\n",
            -32600,
            json!(2),
        ),
        (b"{\"id\":3,\"method\":\"ping\"}\n", -32600, json!(3)),
        (
            b"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}\n",
            -32600,
            Value::Null,
        ),
        (
            b"{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"ping\"}\n",
            -32600,
            Value::Null,
        ),
        (b"[1,2,3]\n", -32600, Value::Null),
        (b"42\n", -32600, Value::Null),
        (
            b"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/list\",\"params\":\"x\"}\n",
            -32600,
            json!(4),
        ),
    ];
    for (line, want, id) in cases {
        p.write_raw(line).await;
        let r = p.recv().await;
        assert_eq!(
            code(&r),
            want,
            "for {:?}: {r}",
            String::from_utf8_lossy(line)
        );
        assert_eq!(r["id"], id, "for {:?}: {r}", String::from_utf8_lossy(line));
        assert!(r["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    still_serves(&mut p).await;
    // An oversized frame is skipped to its newline and refused; the next one is served.
    let mut big = br#"{"jsonrpc":"2.0","id":5,"method":"ping","params":{"pad":""#.to_vec();
    big.extend(std::iter::repeat_n(b'x', 10_000));
    big.extend(b"\"}}\n");
    p.write_raw(&big).await;
    let r = p.recv().await;
    expect_error(&r, -32600, "exceeds the limit of 4096 bytes");
    still_serves(&mut p).await;
}

#[tokio::test]
async fn unknown_methods_bad_params_and_stray_responses() {
    let mut p = start(ServerConfig::default());
    let meta = modern_meta(json!({}));
    p.send(json!({"jsonrpc":"2.0","id":1,"method":"no/such","params":{"_meta":meta}}))
        .await;
    let r = p.recv().await;
    assert_eq!(code(&r), -32601, "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("no/such"));
    p.send(json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"_meta":meta,"name":7}}))
        .await;
    assert_eq!(code(&p.recv().await), -32602);
    p.send(
        json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"_meta":meta,"name":"nope"}}),
    )
    .await;
    let r = p.recv().await;
    assert_eq!(code(&r), -32602, "{r}");
    assert!(r["error"]["message"]
        .as_str()
        .unwrap()
        .contains("unknown tool"));
    // Wrong argument types are a tool error the model can read.
    p.send(json!({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"_meta":meta,"name":"echo","arguments":{"q":5}}})).await;
    let r = p.recv().await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    // Responses to ids we never used, and unknown notifications, are ignored.
    p.send(json!({"jsonrpc":"2.0","id":12345,"result":{}}))
        .await;
    p.send(json!({"jsonrpc":"2.0","id":"x","error":{"code":1,"message":"m"}}))
        .await;
    p.send(json!({"jsonrpc":"2.0","method":"notifications/whatever"}))
        .await;
    assert_eq!(p.try_recv(Duration::from_millis(100)).await, None);
    still_serves(&mut p).await;
}

#[tokio::test]
async fn modern_meta_is_checked() {
    let mut p = start(ServerConfig::default());
    // Neither _meta nor a legacy session.
    p.send(json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}))
        .await;
    let r = p.recv().await;
    expect_error(&r, -32602, "initialize");
    p.send(json!({"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"_meta":{
        "io.modelcontextprotocol/protocolVersion":"1900-01-01","io.modelcontextprotocol/clientCapabilities":{}}}}))
        .await;
    let r = p.recv().await;
    assert_eq!(code(&r), -32022, "{r}");
    assert_eq!(r["error"]["data"]["requested"], "1900-01-01");
    assert!(r["error"]["data"]["supported"]
        .as_array()
        .unwrap()
        .contains(&json!("2026-07-28")));
    p.send(
        json!({"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"_meta":{
        "io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}),
    )
    .await;
    let r = p.recv().await;
    expect_error(&r, -32602, "clientCapabilities");
    // A modern request that needs sampling from a client without it: -32021.
    p.send(call(json!(4), "ask", "hi", Some(modern_meta(json!({})))))
        .await;
    let r = p.recv().await;
    assert_eq!(code(&r), -32021, "{r}");
    assert_eq!(
        r["error"]["data"]["requiredCapabilities"],
        json!({"sampling": {}})
    );
    still_serves(&mut p).await;
}

#[tokio::test]
async fn legacy_handshake_rules() {
    let mut p = start(ServerConfig::default());
    p.send(json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":5}}))
        .await;
    assert_eq!(code(&p.recv().await), -32602);
    initialize(&mut p, json!({})).await;
    p.send(json!({"jsonrpc":"2.0","id":2,"method":"initialize","params":{
        "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}))
        .await;
    assert_eq!(code(&p.recv().await), -32600);
    // A legacy client without sampling: a clear tool error, not a hang.
    p.send(call(json!(3), "ask", "hi", None)).await;
    let r = p.recv().await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    assert!(
        r["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("does not support MCP sampling"),
        "{r}"
    );
}

async fn first_round(p: &mut mcp_rpc::testing::RawPeer, q: &str) -> (String, String) {
    p.send(call(
        json!("r1"),
        "ask",
        q,
        Some(modern_meta(json!({"sampling":{}}))),
    ))
    .await;
    let r = p.recv().await;
    assert_eq!(r["result"]["resultType"], "input_required", "{r}");
    let key = r["result"]["inputRequests"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    (
        key,
        r["result"]["requestState"].as_str().unwrap().to_owned(),
    )
}

fn retry(id: &str, q: &str, key: &str, state: &str) -> Value {
    let mut c = call(
        json!(id),
        "ask",
        q,
        Some(modern_meta(json!({"sampling":{}}))),
    );
    c["params"]["inputResponses"] = json!({ key: reply("ok") });
    c["params"]["requestState"] = json!(state);
    c
}

#[tokio::test]
async fn tampered_foreign_and_expired_request_state() {
    // The server's clock moves only when the test moves it.
    let clock = ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_787_356_800));
    let mut p = start(ServerConfig {
        state_ttl: Duration::from_secs(300),
        clock: Arc::new(clock.clone()),
        ..Default::default()
    });
    let (key, state) = first_round(&mut p, "hi").await;
    // One character changed.
    let mut t = state.clone().into_bytes();
    t[10] = if t[10] == b'a' { b'b' } else { b'a' };
    p.send(retry("t", "hi", &key, &String::from_utf8(t).unwrap()))
        .await;
    let r = p.recv().await;
    expect_error(&r, -32602, "failed verification");
    // The right state, but for other arguments.
    p.send(retry("o", "other question", &key, &state)).await;
    let r = p.recv().await;
    expect_error(&r, -32602, "different request");
    // inputResponses without the state: a numbered key is internal, so the reply answers
    // nothing and the request is asked again.
    let mut c = call(
        json!("n"),
        "ask",
        "hi",
        Some(modern_meta(json!({"sampling":{}}))),
    );
    c["params"]["inputResponses"] = json!({ key.clone(): reply("ok") });
    p.send(c).await;
    let r = p.recv().await;
    assert_eq!(r["result"]["resultType"], "input_required", "{r}");
    assert!(r["result"]["inputRequests"][&key].is_object(), "{r}");
    // inputResponses: null is malformed.
    let mut c = retry("z", "hi", &key, &state);
    c["params"]["inputResponses"] = Value::Null;
    p.send(c).await;
    expect_error(&p.recv().await, -32602, "not null");
    // A malformed reply inside inputResponses.
    let mut c = retry("m", "hi", &key, &state);
    c["params"]["inputResponses"][&key] = json!({"role": "assistant"});
    p.send(c).await;
    let r = p.recv().await;
    expect_error(&r, -32602, "not a valid sampling result");
    // The genuine retry works, up to the last moment of its 300 s...
    p.send(retry("g", "hi", &key, &state)).await;
    assert_eq!(p.recv().await["result"]["content"][0]["text"], "answer: ok");
    clock.advance(Duration::from_secs(300));
    p.send(retry("l", "hi", &key, &state)).await;
    assert_eq!(p.recv().await["result"]["content"][0]["text"], "answer: ok");
    // ...and not after: the state has expired.
    clock.advance(Duration::from_secs(7));
    p.send(retry("e", "hi", &key, &state)).await;
    let r = p.recv().await;
    expect_error(&r, -32602, "requestState expired 7 s ago");
    still_serves(&mut p).await;
}

#[tokio::test]
async fn a_state_from_another_server_key_is_refused() {
    let mut a = start(ServerConfig::default());
    let mut b = start(ServerConfig::default());
    let (key, state) = first_round(&mut a, "hi").await;
    b.send(retry("x", "hi", &key, &state)).await;
    let r = b.recv().await;
    assert_eq!(code(&r), -32602, "{r}");
}
