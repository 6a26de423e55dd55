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

#[derive(serde::Serialize, schemars::JsonSchema)]
struct Point {
    /// Across.
    x: i32,
    label: Option<String>,
}

async fn point() -> Result<mcp_server::Json<Point>, ToolError> {
    Ok(mcp_server::Json(Point { x: 3, label: None }))
}

async fn points() -> Result<mcp_server::Json<Vec<Point>>, ToolError> {
    Ok(mcp_server::Json(vec![Point { x: 1, label: None }]))
}

async fn anything() -> Result<mcp_server::Json<serde_json::Value>, ToolError> {
    Ok(mcp_server::Json(json!(7)))
}

#[tokio::test]
async fn typed_results_publish_an_output_schema_their_content_matches() {
    let (a, b) = mcp_rpc::memory();
    let s = Server::builder("x")
        .tool("point", "a point", point)
        .tool("points", "points", points)
        .tool("anything", "any value", anything)
        .tool("shout", "shouts", shout)
        .build();
    tokio::spawn(async move { s.serve(a, std::future::pending()).await });
    let mut p = mcp_rpc::testing::RawPeer::new(b);
    initialize(&mut p, json!({})).await;
    p.send(json!({"jsonrpc":"2.0","id":1,"method":"tools/list"}))
        .await;
    let r = p.recv().await;
    let tools = r["result"]["tools"].as_array().expect("tools").clone();
    let out = |name: &str| {
        tools
            .iter()
            .find(|t| t["name"] == name)
            .map(|t| t.get("outputSchema").cloned())
            .expect("listed")
    };
    let one = out("point").expect("a typed result has an output schema");
    assert_eq!(one["type"], "object");
    assert_eq!(one["properties"]["x"]["description"], "Across.");
    assert!(one.get("$schema").is_none());
    let many = out("points").expect("a list is wrapped");
    assert_eq!(many["type"], "object");
    assert_eq!(many["required"], json!(["result"]));
    assert_eq!(many["properties"]["result"]["type"], "array");
    let reference = many["properties"]["result"]["items"]["$ref"]
        .as_str()
        .expect("items refer to a definition");
    let def = reference.trim_start_matches("#/$defs/");
    assert!(
        many["$defs"][def].is_object(),
        "{reference} resolves at the root"
    );
    assert_eq!(out("anything"), None, "a value of any shape has none");
    assert_eq!(out("shout"), None, "text results have none");
    p.send(json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"points"}}))
        .await;
    let r = p.recv().await;
    assert_eq!(
        r["result"]["structuredContent"],
        json!({"result": [{"x": 1, "label": null}]})
    );
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
