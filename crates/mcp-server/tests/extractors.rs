//! Handlers take only the extractors they need (`Args`, `State`, `Ctx`, in any order), the
//! builder refuses what cannot work, and `serve` stops on its shutdown future.

mod common;

use common::*;
use mcp_server::{Args, Ctx, Sampling, Server, State, ToolError};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A counter shared by every call.
#[derive(Clone, Default)]
struct Hits(Arc<AtomicU64>);

async fn count(State(hits): State<Hits>) -> Result<String, ToolError> {
    Ok(format!("hit {}", hits.0.fetch_add(1, Ordering::SeqCst) + 1))
}

async fn shout(Args(a): Args<Ask>) -> Result<String, ToolError> {
    Ok(a.q.to_uppercase())
}

async fn tag(ctx: Ctx, State(hits): State<Hits>, Args(a): Args<Ask>) -> Result<String, ToolError> {
    let reply = ctx.sample(Sampling::user(a.q).max_tokens(5)).await?;
    Ok(format!(
        "{} #{}",
        reply.text(),
        hits.0.load(Ordering::SeqCst)
    ))
}

fn start_with(hits: Hits) -> mcp_rpc::testing::RawPeer {
    let (a, b) = mcp_rpc::memory();
    let s = Server::builder("x")
        .state(hits)
        .tool("count", "counts", count)
        .tool("shout", "shouts", shout)
        .tool("tag", "samples", tag)
        .build();
    tokio::spawn(async move { s.serve(a, std::future::pending()).await });
    mcp_rpc::testing::RawPeer::new(b)
}

#[tokio::test]
async fn handlers_take_only_what_they_need() {
    let hits = Hits::default();
    let mut p = start_with(hits.clone());
    initialize(&mut p, json!({"sampling": {}})).await;

    for n in 1..=2 {
        p.send(json!({"jsonrpc":"2.0","id":n,"method":"tools/call","params":{"name":"count"}}))
            .await;
        assert_eq!(
            p.recv().await["result"]["content"][0]["text"],
            format!("hit {n}")
        );
    }
    assert_eq!(
        hits.0.load(Ordering::SeqCst),
        2,
        "the state is shared, not copied"
    );

    p.send(call(json!(3), "shout", "hey", None)).await;
    assert_eq!(p.recv().await["result"]["content"][0]["text"], "HEY");

    // Extractors in any order; Ctx still samples.
    p.send(call(json!(4), "tag", "hi", None)).await;
    let sampling = p.recv().await;
    assert_eq!(sampling["method"], "sampling/createMessage", "{sampling}");
    p.send(json!({"jsonrpc":"2.0","id":sampling["id"],"result":reply("ok")}))
        .await;
    assert_eq!(p.recv().await["result"]["content"][0]["text"], "ok #2");
}

#[tokio::test]
async fn schemas_come_from_args_or_are_open_objects() {
    let mut p = start_with(Hits::default());
    initialize(&mut p, json!({})).await;
    p.send(json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}))
        .await;
    let r = p.recv().await;
    let tools = r["result"]["tools"].as_array().expect("tools");
    let schema = |name: &str| {
        tools
            .iter()
            .find(|t| t["name"] == name)
            .map(|t| t["inputSchema"].clone())
            .expect("listed")
    };
    assert_eq!(schema("count"), json!({"type": "object"}));
    assert_eq!(schema("shout")["properties"]["q"]["type"], "string");
    assert_eq!(schema("tag")["required"], json!(["q"]));
}

#[test]
#[should_panic(expected = "the tool \"count\" is added twice to the server \"x\"")]
fn a_duplicate_tool_name_is_refused() {
    let _ = Server::builder("x")
        .state(Hits::default())
        .tool("count", "counts", count)
        .tool("count", "counts again", shout);
}

#[test]
#[should_panic(expected = "takes State<extractors::Hits>, but the server \"x\" has no such state")]
fn a_tool_whose_state_is_missing_is_refused() {
    let _ = Server::builder("x").tool("count", "counts", count).build();
}

#[tokio::test]
async fn serve_returns_when_its_shutdown_future_completes() {
    let (a, _b) = mcp_rpc::memory();
    let s = Server::builder("x").tool("shout", "shouts", shout).build();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(async move {
        s.serve(a, async {
            let _ = stopped.await;
        })
        .await
    });
    stop.send(()).expect("the server is waiting");
    served
        .await
        .expect("the task ends")
        .expect("a shutdown is a clean end");
}

#[tokio::test]
async fn serve_returns_ok_when_the_client_leaves() {
    let (a, b) = mcp_rpc::memory();
    let s = Server::builder("x").tool("shout", "shouts", shout).build();
    let served = tokio::spawn(async move { s.serve(a, std::future::pending()).await });
    drop(b);
    served.await.expect("the task ends").expect("a clean end");
}
