//! The 2026-07-28 era over HTTP: stateless requests, MRTR for sampling, statuses the
//! transport spec assigns, header mirroring, and closing the stream as cancellation.

mod common;

use common::*;
use mcp_http::HttpConfig;
use serde_json::{json, Value};

fn meta(progress: Option<&str>) -> Value {
    let mut m = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {"sampling": {}}
    });
    if let Some(p) = progress {
        m["progressToken"] = json!(p);
    }
    m
}

fn modern_call(id: i64, tool: &str, args: Value, extra: Value) -> Value {
    let mut params = json!({"name": tool, "arguments": args, "_meta": meta(Some("p1"))});
    if let (Some(p), Value::Object(e)) = (params.as_object_mut(), extra) {
        p.extend(e);
    }
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params})
}

fn post(s: &Running, body: &Value) -> reqwest::RequestBuilder {
    let method = body["method"].as_str().unwrap_or("").to_owned();
    let mut r = s
        .http
        .post(&s.url)
        .header("content-type", "application/json")
        .header("accept", ACCEPT)
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", method)
        .body(body.to_string());
    if let Some(n) = body["params"]["name"].as_str() {
        r = r.header("mcp-name", n);
    }
    r
}

async fn json_of(r: reqwest::Response) -> (u16, Value) {
    let st = r.status().as_u16();
    (
        st,
        serde_json::from_slice(&r.bytes().await.unwrap()).unwrap(),
    )
}

#[tokio::test]
async fn sampling_travels_in_input_required_and_the_retry_completes() {
    let s = start(HttpConfig::default()).await;
    let first = modern_call(1, "ask", json!({"q": "modern?"}), json!({}));
    let r = post(&s, &first).send().await.unwrap();
    // The progress-free call answers first: plain JSON, no session minted.
    assert!(r.headers().get("mcp-session-id").is_none());
    let (st, body) = json_of(r).await;
    assert_eq!(st, 200);
    let result = &body["result"];
    assert_eq!(result["resultType"], "input_required", "{body}");
    let (key, req) = result["inputRequests"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .unwrap();
    assert_eq!(req["method"], "sampling/createMessage");
    let reply =
        json!({"role": "assistant", "model": "m", "content": {"type": "text", "text": "yes"}});
    let retry = modern_call(
        2,
        "ask",
        json!({"q": "modern?"}),
        json!({"inputResponses": {key.clone(): reply}, "requestState": result["requestState"]}),
    );
    let (st, body) = json_of(post(&s, &retry).send().await.unwrap()).await;
    assert_eq!(st, 200);
    assert_eq!(
        body["result"]["content"][0]["text"], "answer: yes",
        "{body}"
    );
    assert_eq!(body["result"]["resultType"], "complete");
    assert_eq!(s.server.sessions(), 0, "stateless");
}

#[tokio::test]
async fn statuses_and_header_mismatches() {
    let s = start(HttpConfig::default()).await;
    let unknown =
        json!({"jsonrpc": "2.0", "id": 1, "method": "nope/x", "params": {"_meta": meta(None)}});
    let (st, body) = json_of(post(&s, &unknown).send().await.unwrap()).await;
    assert_eq!((st, body["error"]["code"].as_i64()), (404, Some(-32601)));
    let mut old = unknown.clone();
    old["method"] = json!("tools/list");
    old["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("2099-01-01");
    let r = post(&s, &old)
        .header("mcp-protocol-version", "x")
        .send()
        .await
        .unwrap();
    let (st, body) = json_of(r).await;
    assert_eq!(
        (st, body["error"]["code"].as_i64()),
        (400, Some(-32020)),
        "{body}"
    );
    let r = s
        .http
        .post(&s.url)
        .header("content-type", "application/json")
        .header("accept", ACCEPT)
        .header("mcp-protocol-version", "2099-01-01")
        .header("mcp-method", "tools/list")
        .body(old.to_string())
        .send()
        .await
        .unwrap();
    let (st, body) = json_of(r).await;
    assert_eq!(
        (st, body["error"]["code"].as_i64()),
        (400, Some(-32022)),
        "{body}"
    );
    let data = &body["error"]["data"];
    assert_eq!(data["requested"], "2099-01-01", "{body}");
    let supported = data["supported"].as_array().expect("the versions we speak");
    for v in ["2026-07-28", "2025-11-25"] {
        assert!(supported.contains(&json!(v)), "{v} not in {body}");
    }
    // Mcp-Name must mirror params.name.
    let call = modern_call(3, "ask", json!({"q": "x"}), json!({}));
    let r = s
        .http
        .post(&s.url)
        .header("content-type", "application/json")
        .header("accept", ACCEPT)
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "other")
        .body(call.to_string())
        .send()
        .await
        .unwrap();
    let (st, body) = json_of(r).await;
    assert_eq!(
        (st, body["error"]["code"].as_i64(), body["id"].as_i64()),
        (400, Some(-32020), Some(3))
    );
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("\"other\""));
}

#[tokio::test]
async fn progress_streams_and_closing_the_stream_cancels() {
    let s = start(HttpConfig::default()).await;
    let r = post(&s, &modern_call(1, "hang", json!({"ms": 5000}), json!({})))
        .send()
        .await
        .unwrap();
    let mut ev = Events::new(r);
    let (id, progress) = ev.next_message().await.unwrap();
    assert!(
        id.is_none(),
        "no event ids: nothing to resume on 2026-07-28"
    );
    assert_eq!(progress["method"], "notifications/progress");
    assert_eq!(progress["params"]["progressToken"], "p1");
    drop(ev);
    assert_eq!(
        hang_ended(5000).await,
        Hang::Stopped,
        "the tool call went on after its stream closed"
    );
}

#[tokio::test]
async fn arguments_marked_x_mcp_header_must_be_mirrored() {
    let s = start(HttpConfig::default()).await;
    let call = modern_call(1, "locate", json!({"region": "us-west1"}), json!({}));
    let (st, body) = json_of(post(&s, &call).send().await.unwrap()).await;
    assert_eq!(
        (st, body["error"]["code"].as_i64()),
        (400, Some(-32020)),
        "{body}"
    );
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Mcp-Param-Region"));
    let r = post(&s, &call)
        .header("mcp-param-region", "eu-west1")
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(r).await.0, 400);
    let r = post(&s, &call)
        .header("mcp-param-region", "=?base64?dXMtd2VzdDE=?=")
        .send()
        .await
        .unwrap();
    let (st, body) = json_of(r).await;
    assert_eq!(st, 200);
    assert_eq!(
        body["result"]["content"][0]["text"], "in us-west1",
        "{body}"
    );
}

#[tokio::test]
async fn leaving_before_any_answer_cancels_and_the_in_flight_limit_holds() {
    let cfg = HttpConfig {
        max_requests_in_flight: 1,
        ..Default::default()
    };
    let s = start(cfg).await;
    // No progress token: nothing is sent before the answer, so the response is pending JSON.
    let mut quiet = modern_call(1, "hang", json!({"ms": 5001}), json!({}));
    quiet["params"]["_meta"]
        .as_object_mut()
        .unwrap()
        .remove("progressToken");
    let pending = tokio::spawn(post(&s, &quiet).send());
    hang_started(5001).await;
    let (st, body) = json_of(post(&s, &quiet).send().await.unwrap()).await;
    assert_eq!(st, 503, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("limit 1"));
    pending.abort();
    assert_eq!(
        hang_ended(5001).await,
        Hang::Stopped,
        "the call went on after its client left"
    );
    // And the slot is free again.
    let list =
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list", "params": {"_meta": meta(None)}});
    assert_eq!(post(&s, &list).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_burst_of_notifications_never_costs_the_answer() {
    let cfg = HttpConfig {
        events_per_stream: 8,
        ..Default::default()
    };
    let s = start(cfg).await;
    let r = post(&s, &modern_call(1, "flood", json!({"n": 500}), json!({})))
        .send()
        .await
        .unwrap();
    let mut ev = Events::new(r);
    let (mut progress, mut answer) = (Vec::new(), None);
    while let Some((_, m)) = ev.next_message().await {
        assert!(answer.is_none(), "a message after the answer: {m}");
        if m["method"] == "notifications/progress" {
            assert_eq!(m["params"]["progressToken"], "p1", "{m}");
            assert_eq!(m["params"]["total"], 500.0, "{m}");
            progress.push(m["params"]["progress"].as_f64().expect("a progress value"));
        } else {
            answer = Some(m);
        }
    }
    let answer = answer.expect("the answer arrives");
    assert_eq!(
        answer["result"]["content"][0]["text"], "flooded 500",
        "{answer}"
    );
    // Delivered: the first ones, while the stream had room, in order; the rest dropped.
    assert_eq!(
        progress.first(),
        Some(&0.0),
        "the first notification is delivered: {progress:?}"
    );
    assert!(
        progress.windows(2).all(|w| w[0] < w[1]),
        "in the order sent: {progress:?}"
    );
    assert!(
        progress.len() < 500,
        "notifications beyond the channel are dropped, not buffered: {}",
        progress.len()
    );
}
