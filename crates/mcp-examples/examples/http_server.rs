//! The same sampling server over Streamable HTTP (both eras on one endpoint), on loopback.
//! Run: `cargo run -p mcp-examples --example http_server [ADDR]` (default 127.0.0.1:8080),
//! then `mcp-sampling call --url http://127.0.0.1:8080/mcp --provider fixed:Short. --tool summarize --args '{"text":"..."}'`.
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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let server = Server::builder("summarizer")
        .tool("summarize", "Summarize text", summarize)
        .build();
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("listening on http://{}/mcp", listener.local_addr()?);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    mcp_http::HttpServer::new(server, mcp_http::HttpConfig::default())
        .serve(listener, shutdown)
        .await?;
    Ok(())
}
