//! Our own requests: timeouts reset by progress, the hard maximum, and closed connections.

use mcp_proto::ErrorObject;
use mcp_rpc::testing::RawPeer;
use mcp_rpc::{BoxFuture, Config, Connection, Handler, Peer, Request, RequestOptions, RpcError};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{sleep, Instant};

struct Nothing;
impl Handler for Nothing {
    fn request(&self, req: Request) -> BoxFuture<Result<Value, ErrorObject>> {
        Box::pin(std::future::ready(Err(ErrorObject::method_not_found(
            &req.method,
        ))))
    }
}

fn pair(config: Config) -> (Peer, RawPeer, Connection) {
    let (a, b) = mcp_rpc::memory();
    let conn = a.connect(Arc::new(Nothing), config);
    (conn.peer.clone(), RawPeer::new(b), conn)
}

fn progress(token: &Value, n: u64) -> Value {
    json!({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":token,"progress":n}})
}

#[tokio::test(start_paused = true)]
async fn progress_resets_the_timeout() {
    let (peer, mut raw, _c) = pair(Config::default());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let opts = RequestOptions {
        timeout: Some(Duration::from_secs(60)),
        progress: Some(tx),
        ..Default::default()
    };
    let task = tokio::spawn(async move { peer.request("slow", Some(json!({})), opts).await });
    let req = raw.recv().await;
    let token = req["params"]["_meta"]["progressToken"].clone();
    assert!(!token.is_null(), "{req}");
    for n in 1..=3 {
        sleep(Duration::from_secs(45)).await;
        raw.send(progress(&token, n)).await;
    }
    sleep(Duration::from_secs(45)).await;
    raw.send(json!({"jsonrpc":"2.0","id":req["id"],"result":{"ok":true}}))
        .await;
    let out = task
        .await
        .unwrap()
        .expect("answered after 180 s thanks to progress");
    assert_eq!(out, json!({"ok": true}));
    let seen: Vec<Value> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    assert_eq!(seen.len(), 3, "progress is forwarded to the caller");
}

#[tokio::test(start_paused = true)]
async fn silence_times_out_and_cancels_at_the_peer() {
    let (peer, mut raw, _c) = pair(Config::default());
    let start = Instant::now();
    let task = tokio::spawn(async move {
        peer.request(
            "slow",
            None,
            RequestOptions {
                timeout: Some(Duration::from_secs(60)),
                ..Default::default()
            },
        )
        .await
    });
    let req = raw.recv().await;
    let err = task.await.unwrap().unwrap_err();
    assert!(
        matches!(err, RpcError::Timeout(d) if d == Duration::from_secs(60)),
        "{err:?}"
    );
    assert_eq!(start.elapsed().as_secs(), 60);
    let n = raw.recv().await;
    assert_eq!(n["method"], "notifications/cancelled");
    assert_eq!(n["params"]["requestId"], req["id"]);
}

#[tokio::test(start_paused = true)]
async fn the_hard_maximum_holds_whatever_the_progress() {
    let config = Config {
        max_request_timeout: Duration::from_secs(100),
        ..Config::default()
    };
    let (peer, mut raw, _c) = pair(config);
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let start = Instant::now();
    let opts = RequestOptions {
        timeout: Some(Duration::from_secs(60)),
        progress: Some(tx),
        ..Default::default()
    };
    let task =
        tokio::spawn(async move { (peer.request("slow", None, opts).await, start.elapsed()) });
    let req = raw.recv().await;
    let token = req["params"]["_meta"]["progressToken"].clone();
    for n in 0..5 {
        sleep(Duration::from_secs(30)).await;
        raw.send(progress(&token, n)).await;
    }
    let (outcome, at) = task.await.unwrap();
    assert!(matches!(outcome, Err(RpcError::Timeout(_))), "{outcome:?}");
    assert_eq!(at.as_secs(), 100);
}

#[tokio::test]
async fn a_closed_connection_fails_waiting_requests() {
    let (peer, mut raw, conn) = pair(Config::default());
    let p2 = peer.clone();
    let task = tokio::spawn(async move { p2.request("x", None, RequestOptions::default()).await });
    let _req = raw.recv().await;
    raw.close().await;
    conn.wait().await;
    assert!(matches!(task.await.unwrap(), Err(RpcError::Closed)));
    // A request after the end of input fails at once, not after its timeout.
    let late = tokio::time::timeout(
        Duration::from_secs(1),
        peer.request("y", None, RequestOptions::default()),
    )
    .await;
    assert!(matches!(late, Ok(Err(RpcError::Closed))), "{late:?}");
}

#[tokio::test]
async fn dropping_a_request_future_cancels_it() {
    let (peer, mut raw, _c) = pair(Config::default());
    let mut fut = Box::pin(peer.request("x", None, RequestOptions::default()));
    // Dropped once the peer has the request.
    let req = tokio::select! {
        r = &mut fut => panic!("the request was answered: {r:?}"),
        req = raw.recv() => req,
    };
    drop(fut);
    let n = raw.recv().await;
    assert_eq!(n["method"], "notifications/cancelled");
    assert_eq!(n["params"]["requestId"], req["id"]);
    assert_eq!(peer.pending_requests(), 0);
}

#[tokio::test]
async fn requests_know_the_request_they_serve() {
    let (peer, mut raw, _c) = pair(Config::default());
    let call = mcp_proto::RequestId::String("tool-call-7".into());
    let opts = RequestOptions {
        related: Some(call.clone()),
        ..Default::default()
    };
    let p2 = peer.clone();
    let task = tokio::spawn(async move { p2.request("sampling/createMessage", None, opts).await });
    let req = raw.recv().await;
    assert_eq!(peer.pending_for(&call), vec![req["id"].as_i64().unwrap()]);
    assert!(peer
        .pending_for(&mcp_proto::RequestId::Number(1))
        .is_empty());
    raw.send(json!({"jsonrpc":"2.0","id":req["id"],"result":{}}))
        .await;
    task.await.unwrap().unwrap();
    assert!(peer.pending_for(&call).is_empty());
}

#[tokio::test]
async fn a_peer_that_never_reads_is_cut_off_at_the_output_limit() {
    let config = Config {
        max_pending_output: 4096,
        ..Config::default()
    };
    // The peer's end of the pipe is never read: after its 64-byte buffer, nothing drains.
    let (ours, _theirs) = tokio::io::duplex(64);
    let (read, write) = tokio::io::split(ours);
    let conn = Connection::start(read, write, Arc::new(Nothing), config);
    let payload = json!({"pad": "x".repeat(200)});
    let mut sent = 0usize;
    let outcome = loop {
        match conn
            .peer
            .notify("notifications/message", Some(payload.clone()))
        {
            Ok(()) => sent += 1,
            Err(e) => break e,
        }
        tokio::task::yield_now().await;
        assert!(sent < 10_000, "the output grew without bound");
    };
    assert!(matches!(outcome, RpcError::Closed), "{outcome:?}");
    assert!(
        sent >= 4096 / 260,
        "closed too early, after {sent} messages"
    );
    assert!(conn.peer.is_closed());
}
