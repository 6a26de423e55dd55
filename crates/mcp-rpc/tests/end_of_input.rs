//! The end of the peer's input (stdio: it closed our stdin, then waits for us to exit): the
//! requests already read are answered, within the grace period; our own requests to the
//! peer fail at once, since their answers cannot come; then our output ends.

use mcp_proto::ErrorObject;
use mcp_rpc::testing::RawPeer;
use mcp_rpc::{BoxFuture, Config, Handler, Request, RequestOptions};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// `sleep {secs}` answers after that long; `ask` asks the peer something and answers with
/// what came of it.
struct Slow;

impl Handler for Slow {
    fn request(&self, req: Request) -> BoxFuture<Result<Value, ErrorObject>> {
        Box::pin(async move {
            match req.method.as_str() {
                "sleep" => {
                    let secs = req
                        .params
                        .as_ref()
                        .and_then(|p| p["secs"].as_u64())
                        .unwrap_or(0);
                    tokio::time::sleep(Duration::from_secs(secs)).await;
                    Ok(json!({"slept": secs}))
                }
                "ask" => {
                    let asked = req
                        .peer
                        .request("question", None, RequestOptions::default());
                    match asked.await {
                        Ok(v) => Ok(json!({"answer": v})),
                        Err(e) => Ok(json!({"failed": e.to_string()})),
                    }
                }
                other => Err(ErrorObject::method_not_found(other)),
            }
        })
    }
}

fn request(id: i64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

#[tokio::test(start_paused = true)]
async fn requests_read_before_the_end_are_answered_within_the_grace() {
    let (a, b) = mcp_rpc::memory();
    let mut conn = a.connect(Arc::new(Slow), Config::default());
    let mut raw = RawPeer::new(b);
    raw.send(request(1, "sleep", json!({"secs": 2}))).await;
    raw.send(request(2, "ask", json!({}))).await;
    raw.send(request(3, "sleep", json!({"secs": 60}))).await;
    // `ask`'s question reaches us before we close.
    let q = raw.recv().await;
    assert_eq!(q["method"], "question");
    let start = Instant::now();
    raw.close().await;
    let mut answers = Vec::new();
    while let Some(m) = raw.try_recv(Duration::from_secs(30)).await {
        answers.push(m);
    }
    // Both answered: the question failed at once (its answer cannot come), the short sleep
    // ran to its end; the long one was stopped when the 5 s of grace ran out.
    assert_eq!(answers.len(), 2, "{answers:?}");
    let by_id = |id: i64| answers.iter().find(|m| m["id"] == id).cloned();
    assert_eq!(by_id(1).unwrap()["result"]["slept"], 2);
    let failed = by_id(2).unwrap()["result"]["failed"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!failed.is_empty(), "{answers:?}");
    assert!(by_id(3).is_none());
    conn.finished().await.unwrap();
    let took = start.elapsed();
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(6),
        "{took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn with_nothing_running_the_end_is_immediate() {
    let (a, b) = mcp_rpc::memory();
    let mut conn = a.connect(Arc::new(Slow), Config::default());
    let mut raw = RawPeer::new(b);
    raw.send(request(1, "sleep", json!({"secs": 0}))).await;
    assert_eq!(raw.recv().await["result"]["slept"], 0);
    let start = Instant::now();
    raw.close().await;
    conn.finished().await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO);
}
