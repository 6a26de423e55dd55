//! A server with its own model answers when the client cannot sample, on both eras.

mod common;

use common::*;
use mcp_proto::handler::{SamplingError, SamplingHandler, SamplingRequest};
use mcp_proto::{BoxFuture, CreateMessageResult, Era};
use mcp_server::{Args, Ctx, Sampling, Server, ToolError};
use serde_json::json;
use std::sync::Arc;

struct Echoer;
impl SamplingHandler for Echoer {
    fn create_message(
        &self,
        req: SamplingRequest,
    ) -> BoxFuture<Result<CreateMessageResult, SamplingError>> {
        assert_eq!(&*req.server, "d");
        let era = match req.era {
            Era::Legacy => "legacy",
            Era::Modern => "modern",
        };
        let text = req.params.messages[0].content.as_slice()[0]
            .as_text()
            .unwrap_or("")
            .to_owned();
        Box::pin(async move {
            Ok(CreateMessageResult::from_text(
                "direct",
                format!("direct ({era}): {text}"),
            ))
        })
    }
}

async fn ask(Args(a): Args<Ask>, ctx: Ctx) -> Result<String, ToolError> {
    Ok(ctx.sample(Sampling::user(a.q).max_tokens(5)).await?.text())
}

fn start_direct() -> mcp_rpc::testing::RawPeer {
    let (a, b) = mcp_rpc::memory();
    let s = Server::builder("d")
        .tool("ask", "asks", ask)
        .direct_sampler(Arc::new(Echoer))
        .build();
    tokio::spawn(async move { s.serve(a, std::future::pending()).await });
    mcp_rpc::testing::RawPeer::new(b)
}

#[tokio::test]
async fn direct_model_when_the_client_cannot_sample() {
    let mut p = start_direct();
    p.send(call(json!(1), "ask", "hi", Some(modern_meta(json!({})))))
        .await;
    let r = p.recv().await;
    assert_eq!(
        r["result"]["resultType"], "complete",
        "no input_required: {r}"
    );
    assert_eq!(r["result"]["content"][0]["text"], "direct (modern): hi");

    let mut p = start_direct();
    initialize(&mut p, json!({})).await;
    p.send(call(json!(2), "ask", "hey", None)).await;
    assert_eq!(
        p.recv().await["result"]["content"][0]["text"],
        "direct (legacy): hey"
    );
}

#[tokio::test]
async fn the_client_is_preferred_when_it_can_sample() {
    let mut p = start_direct();
    p.send(call(
        json!(1),
        "ask",
        "hi",
        Some(modern_meta(json!({"sampling": {}}))),
    ))
    .await;
    let r = p.recv().await;
    assert_eq!(r["result"]["resultType"], "input_required", "{r}");
}

/// Counts its calls.
#[derive(Default)]
struct Counting(std::sync::atomic::AtomicUsize);
impl SamplingHandler for Counting {
    fn create_message(
        &self,
        _req: SamplingRequest,
    ) -> BoxFuture<Result<CreateMessageResult, SamplingError>> {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async move {
            Ok(CreateMessageResult::from_text(
                "direct",
                format!("direct#{n}"),
            ))
        })
    }
}

async fn mixed(Args(a): Args<Ask>, ctx: Ctx) -> Result<String, ToolError> {
    let tool = mcp_proto::sampling::SamplingTool {
        name: "lookup".into(),
        description: None,
        input_schema: json!({"type": "object"}),
        extra: Default::default(),
    };
    // The client has no sampling.tools: this one goes to the server's own model...
    let first = ctx
        .sample(Sampling::user(a.q.clone()).tools(vec![tool], None))
        .await?;
    // ...and this one to the client, through an input_required round.
    let second = ctx
        .sample(Sampling::user(format!("after {}", first.text())))
        .await?;
    Ok(format!("{} / {}", first.text(), second.text()))
}

#[tokio::test]
async fn direct_replies_are_kept_across_modern_rounds() {
    let counting = Arc::new(Counting::default());
    let (a, b) = mcp_rpc::memory();
    let s = Server::builder("d")
        .tool("mixed", "mixed", mixed)
        .direct_sampler(counting.clone())
        .build();
    tokio::spawn(async move { s.serve(a, std::future::pending()).await });
    let mut p = mcp_rpc::testing::RawPeer::new(b);
    let meta = Some(modern_meta(json!({"sampling": {}})));
    p.send(call(json!(1), "mixed", "q", meta.clone())).await;
    let r1 = p.recv().await;
    let (key, req) = r1["result"]["inputRequests"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .unwrap();
    assert_eq!(
        req["params"]["messages"][0]["content"]["text"],
        "after direct#0"
    );
    let mut c = call(json!(2), "mixed", "q", meta);
    c["params"]["inputResponses"] = json!({ key.clone(): reply("client") });
    c["params"]["requestState"] = r1["result"]["requestState"].clone();
    p.send(c).await;
    let r2 = p.recv().await;
    assert_eq!(
        r2["result"]["content"][0]["text"], "direct#0 / client",
        "{r2}"
    );
    assert_eq!(
        counting.0.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the direct model was asked once"
    );
}
