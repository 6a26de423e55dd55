//! The rmcp peer of the benchmark (the official Rust SDK, crates.io `rmcp`): the tool
//! `bench_sampling {n, concurrency}` makes n sampling requests through the request's peer,
//! at most `concurrency` in flight, and says how many completed.
//!
//! `mcp-bench-rmcp` serves stdio; `mcp-bench-rmcp --http PORT` serves Streamable HTTP
//! (rmcp's `StreamableHttpService`, sessions and SSE as configured by default) at
//! `127.0.0.1:PORT/mcp` under axum, with `TCP_NODELAY` on accepted connections as ours has.

// rmcp marks server-to-client sampling deprecated (it belongs to the 2025-11-25 era measured here).
#![allow(deprecated)]

use futures::stream::{self, StreamExt};
use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::model::{
    CallToolResult, ContentBlock, CreateMessageRequestParams, SamplingMessage, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_handler, tool_router, ErrorData, RoleServer, ServerHandler, ServiceExt};

/// The same prompt as the other servers send.
const PROMPT: &str = "Benchmark sampling round trip: please reply with the single word ok. This text pads to 100 bytes.";

/// The tool's arguments.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Job {
    /// Round trips.
    n: u64,
    /// Most in flight.
    concurrency: u64,
}

#[derive(Clone)]
struct Peer {
    #[allow(dead_code)] // read by the code `#[tool_handler]` generates
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Peer {
    fn new() -> Self {
        Self {
            tool_router: Self::tool_router(),
        }
    }

    #[tool(description = "Performs n sampling round trips, at most `concurrency` in flight")]
    async fn bench_sampling(
        &self,
        Parameters(job): Parameters<Job>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let in_flight = usize::try_from(job.concurrency.max(1)).unwrap_or(usize::MAX);
        let mut replies = stream::iter(0..job.n)
            .map(|_| {
                ctx.peer.create_message(CreateMessageRequestParams::new(
                    vec![SamplingMessage::user_text(PROMPT)],
                    16,
                ))
            })
            .buffer_unordered(in_flight);
        let mut completed = 0u64;
        while let Some(reply) = replies.next().await {
            if let Err(e) = reply {
                return Err(ErrorData::internal_error(
                    format!("sampling failed: {e}"),
                    None,
                ));
            }
            completed += 1;
        }
        let text = format!("completed {completed} sampling round trips");
        Ok(CallToolResult::success(vec![ContentBlock::text(text)]))
    }
}

#[tool_handler]
impl ServerHandler for Peer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "--http") {
        Some(i) => {
            let port: u16 = args.get(i + 1).ok_or("--http needs a port")?.parse()?;
            http(port).await
        }
        None => {
            Peer::new()
                .serve(rmcp::transport::stdio())
                .await?
                .waiting()
                .await?;
            Ok(())
        }
    }
}

async fn http(port: u16) -> Result<(), BoxError> {
    use axum::serve::ListenerExt;
    use rmcp::transport::streamable_http_server::{
        session::local::LocalSessionManager, StreamableHttpServerConfig, StreamableHttpService,
    };
    let service = StreamableHttpService::new(
        || Ok(Peer::new()),
        std::sync::Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let app = axum::Router::new().nest_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await?
        .tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
    axum::serve(listener, app).await?;
    Ok(())
}
