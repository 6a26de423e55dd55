//! `mcp-conformance`: what the official MCP conformance suites drive, kept out of the
//! shipped `mcp-sampling` binary.
//!
//! - `mcp-conformance server --http ADDR`: the suites' fixtures (`server`, `input`) over
//!   Streamable HTTP, both eras (`tests/conformance/run-server.sh`).
//! - `mcp-conformance client URL`: the client under test of the suites' client scenarios
//!   (`client`; `tests/conformance/run-client.sh`).

mod client;
mod input;
mod server;
mod tasks;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mcp-conformance",
    about = "The server fixtures and the client of the MCP conformance suites"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the fixtures on Streamable HTTP; prints `listening on http://ADDR/mcp` on stderr.
    Server {
        /// The address (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:0")]
        http: std::net::SocketAddr,
    },
    /// The client under test (the suite runs this command with the mock server's URL).
    Client(client::ConformanceArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MCP_SAMPLING_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = rt.block_on(async move {
        match Cli::parse().cmd {
            Cmd::Server { http } => serve(http).await,
            Cmd::Client(a) => client::run(a).await,
        }
    });
    outcome.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::FAILURE
    })
}

async fn serve(addr: std::net::SocketAddr) -> anyhow::Result<ExitCode> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let cfg = mcp_http::HttpConfig::default();
    eprintln!("listening on http://{}{}", listener.local_addr()?, cfg.path);
    mcp_http::HttpServer::new(server::server(), cfg)
        .serve(listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(ExitCode::SUCCESS)
}
