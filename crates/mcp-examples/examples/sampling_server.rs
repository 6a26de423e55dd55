//! A sampling server for both eras in a few lines, on stdio.
//! Run: `cargo run -p mcp-examples --example sampling_server` (a host starts it as a child),
//! or try it: `mcp-sampling call --provider fixed:Short. --tool summarize --args '{"text":"..."}' -- target/debug/examples/sampling_server`
use mcp_server::{Args, Ctx, Sampling, Server, ToolError};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Summarize {
    /// The text to summarise.
    text: String,
}

async fn summarize(Args(a): Args<Summarize>, ctx: Ctx) -> Result<String, ToolError> {
    let reply = ctx
        .sample(Sampling::user(format!("Summarize: {}", a.text)).max_tokens(200))
        .await?;
    Ok(reply.text())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), mcp_server::ServeError> {
    let server = Server::builder("summarizer").tool("summarize", "Summarize text", summarize);
    server
        .serve(mcp_rpc::stdio(), async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
