//! Shared by the HTTP benches: the tool that samples once, and sizes from the environment.

#![allow(dead_code)]

use mcp_server::{Args, Ctx, Sampling, ToolError};

#[derive(serde::Deserialize, schemars::JsonSchema)]
pub struct Ask {
    q: String,
}

/// Samples once (four tokens at most) and returns the reply.
pub async fn ask(Args(a): Args<Ask>, ctx: Ctx) -> Result<String, ToolError> {
    Ok(ctx.sample(Sampling::user(a.q).max_tokens(4)).await?.text())
}

/// `name` from the environment as a number, else `default`.
pub fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
