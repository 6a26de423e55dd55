//! A server with its own model answers when the client cannot sample, on both eras.

mod common;

use common::*;
use mcp_proto::sampling::CreateMessageParams;
use mcp_proto::CreateMessageResult;
use mcp_rpc::BoxFuture;
use mcp_server::{Args, Ctx, DirectSampler, Sampling, Server, ToolError};
use serde_json::json;
use std::sync::Arc;

struct Echoer;
impl DirectSampler for Echoer {
    fn create_message(
        &self,
        p: CreateMessageParams,
    ) -> BoxFuture<Result<CreateMessageResult, String>> {
        let text = p.messages[0].content.as_slice()[0]
            .as_text()
            .unwrap_or("")
            .to_owned();
        Box::pin(async move {
            Ok(CreateMessageResult::from_text(
                "direct",
                format!("direct: {text}"),
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
    tokio::spawn(async move { s.serve(a).await });
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
    assert_eq!(r["result"]["content"][0]["text"], "direct: hi");

    let mut p = start_direct();
    initialize(&mut p, json!({})).await;
    p.send(call(json!(2), "ask", "hey", None)).await;
    assert_eq!(
        p.recv().await["result"]["content"][0]["text"],
        "direct: hey"
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
