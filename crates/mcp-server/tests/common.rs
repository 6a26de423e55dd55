//! Shared by the server's integration tests: a small server and a raw client.
#![allow(dead_code, missing_docs)]

use mcp_rpc::testing::RawPeer;
use mcp_server::{Args, Ctx, Sampling, Server, ServerConfig, ToolError};
use serde_json::{json, Value};

#[derive(serde::Deserialize, schemars::JsonSchema)]
pub struct Ask {
    pub q: String,
}

async fn ask(Args(a): Args<Ask>, ctx: Ctx) -> Result<String, ToolError> {
    let reply = ctx.sample(Sampling::user(a.q).max_tokens(10)).await?;
    Ok(format!("answer: {}", reply.text()))
}

async fn echo(Args(a): Args<Ask>, _ctx: Ctx) -> Result<String, ToolError> {
    Ok(a.q)
}

async fn ask_twice(Args(a): Args<Ask>, ctx: Ctx) -> Result<String, ToolError> {
    let first = ctx.sample(Sampling::user(format!("{} (1)", a.q)).max_tokens(10));
    let second = ctx.sample(Sampling::user(format!("{} (2)", a.q)).max_tokens(10));
    let (a1, a2) = tokio::join!(first, second);
    let third = ctx
        .sample(Sampling::user(format!("then: {} {}", a1?.text(), a2?.text())).max_tokens(10))
        .await?;
    Ok(third.text())
}

pub fn server(config: ServerConfig) -> Server {
    Server::builder("test")
        .tool("ask", "Samples once", ask)
        .tool(
            "ask_twice",
            "Samples twice together, then once more",
            ask_twice,
        )
        .tool("echo", "Returns q", echo)
        .config(config)
        .build()
}

/// A server on one end of a memory pair, a raw peer on the other.
pub fn start(config: ServerConfig) -> RawPeer {
    let (a, b) = mcp_rpc::memory();
    let s = server(config);
    tokio::spawn(async move { s.serve(a, std::future::pending()).await });
    RawPeer::new(b)
}

pub fn modern_meta(caps: Value) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": caps,
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"}
    })
}

pub async fn initialize(p: &mut RawPeer, caps: Value) {
    p.send(json!({"jsonrpc":"2.0","id":"init","method":"initialize","params":{
        "protocolVersion":"2025-11-25","capabilities":caps,"clientInfo":{"name":"raw","version":"1"}}}))
        .await;
    let r = p.recv().await;
    assert_eq!(r["result"]["protocolVersion"], "2025-11-25", "{r}");
    p.send(json!({"jsonrpc":"2.0","method":"notifications/initialized"}))
        .await;
}

pub fn call(id: Value, tool: &str, q: &str, meta: Option<Value>) -> Value {
    let mut params = json!({"name": tool, "arguments": {"q": q}});
    if let Some(m) = meta {
        params["_meta"] = m;
    }
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":params})
}

pub fn reply(text: &str) -> Value {
    json!({"role":"assistant","content":{"type":"text","text":text},"model":"m","stopReason":"endTurn"})
}
