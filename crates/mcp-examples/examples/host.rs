//! A host that answers a server's sampling requests with a provider, with no pipeline:
//! `mcp_host::answer_with(provider, model)`. It starts the server given on the command line
//! as a child (default: the built-in `summarize` server, in process), calls one tool, and
//! prints the result.
//!
//! Run: `cargo run -p mcp-examples --example host` (OpenAI's `gpt-4.1-mini` when
//! `OPENAI_API_KEY` is set; otherwise the `fixed` testing provider answers), or with a
//! server of your own: `cargo run -p mcp-examples --example host -- mcp-sampling serve summarize`.
use mcp_client::{Client, ClientOptions};
use mcp_llm::Provider;
use serde_json::json;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (provider, model): (Arc<dyn Provider>, &str) = match std::env::var("OPENAI_API_KEY") {
        Ok(_) => (Arc::new(mcp_llm::OpenAi::from_env()), "gpt-4.1-mini"),
        Err(_) => {
            let fixed = mcp_host::testing::Fixed("(no OPENAI_API_KEY: a fixed reply)".into());
            (Arc::new(fixed), "fixed")
        }
    };
    let handler = mcp_host::answer_with(provider, model);
    let command: Vec<String> = std::env::args().skip(1).collect();
    let mut child = None;
    let transport = match command.split_first() {
        Some((program, args)) => {
            let mut c = mcp_rpc::ChildProcess::spawn(program, args)?;
            let t = c.transport.take().ok_or("the child has no stdio")?;
            child = Some(c);
            t
        }
        None => {
            let (ours, theirs) = mcp_rpc::memory();
            let server = mcp_examples::summarize::server();
            tokio::spawn(async move { server.serve(theirs, std::future::pending()).await });
            ours
        }
    };
    let client = Client::connect(transport, handler, ClientOptions::default()).await?;
    let text = "MCP sampling lets a server borrow the client's model. ".repeat(20);
    let args = json!({"text": text, "sentences": 1});
    let result = client
        .call_tool("summarize", args.as_object().cloned().unwrap_or_default())
        .await?;
    println!("{}", result.text_content());
    client.close().await;
    if let Some(mut c) = child {
        c.shutdown().await?;
    }
    Ok(())
}
