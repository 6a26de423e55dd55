//! Sampling on both eras through a raw client: MRTR rounds, cancellation, timeouts.

mod common;

use common::*;
use mcp_server::ServerConfig;
use serde_json::{json, Value};
use std::time::Duration;

fn sampling_meta() -> Option<Value> {
    Some(modern_meta(json!({"sampling": {}})))
}

fn texts_of(r: &Value) -> Vec<(String, String)> {
    let reqs = r["result"]["inputRequests"]
        .as_object()
        .unwrap_or_else(|| panic!("no inputRequests: {r}"));
    reqs.iter()
        .map(|(k, v)| {
            assert_eq!(v["method"], "sampling/createMessage");
            (
                k.clone(),
                v["params"]["messages"][0]["content"]["text"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn modern_rounds_batch_concurrent_samplings_and_replay() {
    let mut p = start(ServerConfig::default());
    p.send(call(json!(1), "ask_twice", "q", sampling_meta()))
        .await;
    let r1 = p.recv().await;
    assert_eq!(r1["result"]["resultType"], "input_required", "{r1}");
    let asked = texts_of(&r1);
    assert_eq!(
        asked.iter().map(|a| a.1.as_str()).collect::<Vec<_>>(),
        ["q (1)", "q (2)"],
        "both in one round"
    );
    let state = r1["result"]["requestState"].clone();

    // Answer only the first: the second is asked again, the first is not.
    let mut c = call(json!(2), "ask_twice", "q", sampling_meta());
    c["params"]["inputResponses"] = json!({ asked[0].0.clone(): reply("A") });
    c["params"]["requestState"] = state;
    p.send(c).await;
    let r2 = p.recv().await;
    let again = texts_of(&r2);
    assert_eq!(again.len(), 1, "{r2}");
    assert_eq!(again[0].1, "q (2)");

    let mut c = call(json!(3), "ask_twice", "q", sampling_meta());
    c["params"]["inputResponses"] = json!({ again[0].0.clone(): reply("B") });
    c["params"]["requestState"] = r2["result"]["requestState"].clone();
    p.send(c).await;
    let r3 = p.recv().await;
    let last = texts_of(&r3);
    assert_eq!(last[0].1, "then: A B", "{r3}");

    let mut c = call(json!(4), "ask_twice", "q", sampling_meta());
    c["params"]["inputResponses"] = json!({ last[0].0.clone(): reply("done") });
    c["params"]["requestState"] = r3["result"]["requestState"].clone();
    p.send(c).await;
    let r4 = p.recv().await;
    assert_eq!(r4["result"]["resultType"], "complete", "{r4}");
    assert_eq!(r4["result"]["content"][0]["text"], "done");
    assert_eq!(
        r4["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "test"
    );
}

#[tokio::test]
async fn modern_round_limit() {
    let mut p = start(ServerConfig {
        max_rounds: 1,
        ..Default::default()
    });
    p.send(call(json!(1), "ask_twice", "q", sampling_meta()))
        .await;
    let r1 = p.recv().await;
    let asked = texts_of(&r1);
    let mut c = call(json!(2), "ask_twice", "q", sampling_meta());
    c["params"]["inputResponses"] =
        json!({ asked[0].0.clone(): reply("A"), asked[1].0.clone(): reply("B") });
    c["params"]["requestState"] = r1["result"]["requestState"].clone();
    p.send(c).await;
    let r2 = p.recv().await;
    assert_eq!(r2["result"]["isError"], true, "{r2}");
    assert!(
        r2["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("gave up after 1 rounds"),
        "{r2}"
    );
}

#[tokio::test]
async fn legacy_sampling_round_trip_with_concurrency() {
    let mut p = start(ServerConfig::default());
    initialize(&mut p, json!({"sampling": {}})).await;
    p.send(call(json!("c"), "ask_twice", "q", None)).await;
    // Both first requests arrive before either is answered.
    let a = p.recv().await;
    let b = p.recv().await;
    assert_eq!(a["method"], "sampling/createMessage", "{a}");
    assert_eq!(b["method"], "sampling/createMessage", "{b}");
    for m in [&a, &b] {
        let text = m["params"]["messages"][0]["content"]["text"]
            .as_str()
            .unwrap();
        let answer = if text.ends_with("(1)") { "A" } else { "B" };
        p.send(json!({"jsonrpc":"2.0","id":m["id"],"result":reply(answer)}))
            .await;
    }
    let c = p.recv().await;
    assert_eq!(
        c["params"]["messages"][0]["content"]["text"], "then: A B",
        "{c}"
    );
    p.send(json!({"jsonrpc":"2.0","id":c["id"],"result":reply("fin")}))
        .await;
    let done = p.recv().await;
    assert_eq!(done["id"], "c");
    assert_eq!(done["result"]["content"][0]["text"], "fin", "{done}");
    assert!(
        done["result"].get("resultType").is_none(),
        "legacy results carry no resultType: {done}"
    );
}

#[tokio::test]
async fn legacy_user_rejection_reaches_the_tool() {
    let mut p = start(ServerConfig::default());
    initialize(&mut p, json!({"sampling": {}})).await;
    p.send(call(json!("c"), "ask", "q", None)).await;
    let s = p.recv().await;
    p.send(json!({"jsonrpc":"2.0","id":s["id"],"error":{"code":-1,"message":"User rejected sampling request"}})).await;
    let r = p.recv().await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    assert!(
        r["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("declined"),
        "{r}"
    );
}

#[tokio::test]
async fn cancelling_the_tool_call_cancels_its_sampling() {
    let mut p = start(ServerConfig::default());
    initialize(&mut p, json!({"sampling": {}})).await;
    p.send(call(json!("c1"), "ask", "q", None)).await;
    let s = p.recv().await;
    assert_eq!(s["method"], "sampling/createMessage");
    p.send(json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"c1","reason":"user"}})).await;
    let n = p.recv().await;
    assert_eq!(n["method"], "notifications/cancelled", "{n}");
    assert_eq!(n["params"]["requestId"], s["id"], "{n}");
    // No answer to the cancelled call; a late sampling reply is ignored.
    p.send(json!({"jsonrpc":"2.0","id":s["id"],"result":reply("late")}))
        .await;
    assert_eq!(p.try_recv(Duration::from_millis(200)).await, None);
    // The connection goes on.
    p.send(call(json!("c2"), "echo", "still here", None)).await;
    assert_eq!(p.recv().await["result"]["content"][0]["text"], "still here");
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_sampling_request_times_out_and_is_cancelled() {
    let mut p = start(ServerConfig {
        sampling_timeout: Duration::from_secs(300),
        ..Default::default()
    });
    initialize(&mut p, json!({"sampling": {}})).await;
    let started = tokio::time::Instant::now();
    p.send(call(json!("c"), "ask", "q", None)).await;
    let s = p.recv().await;
    let n = p
        .try_recv(Duration::from_secs(3600))
        .await
        .expect("a cancellation");
    assert_eq!(n["method"], "notifications/cancelled", "{n}");
    assert_eq!(n["params"]["requestId"], s["id"]);
    assert_eq!(n["params"]["reason"], "timed out");
    let r = p.recv().await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    assert!(
        r["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("no sampling reply within 300s"),
        "{r}"
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(300) && waited < Duration::from_secs(301),
        "{waited:?}"
    );
}

#[tokio::test]
async fn closing_the_input_answers_what_was_read_then_ends() {
    let mut p = start(ServerConfig::default());
    initialize(&mut p, json!({"sampling": {}})).await;
    p.send(call(json!("c"), "ask", "q", None)).await;
    let _sampling = p.recv().await;
    p.close().await;
    // Its sampling request cannot be answered any more: the call ends with a tool error,
    // which is written before the server ends its output.
    let r = p.recv().await;
    assert_eq!(r["id"], "c", "{r}");
    assert_eq!(r["result"]["isError"], true, "{r}");
    assert_eq!(p.try_recv(Duration::from_secs(2)).await, None);
}
