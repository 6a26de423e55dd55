//! Built-in servers (`mcp-sampling serve NAME`).

mod bench;
mod conformance;
mod conformance_input;
mod elicit_demo;
pub mod smart_search;
mod summarize;

use clap::{Args, ValueEnum};
use mcp_server::Server;
use std::process::ExitCode;

#[derive(Args)]
pub struct ServeArgs {
    /// Which server.
    #[arg(value_enum)]
    name: ServerName,
    /// Serve Streamable HTTP (both eras) on this address instead of stdio; `--http` alone
    /// is 127.0.0.1:8080 (loopback only). Port 0: any free port. The endpoint is /mcp, and
    /// `listening on http://ADDR/mcp` is printed on stderr once it accepts connections.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:8080")]
    http: Option<std::net::SocketAddr>,
    /// Require `Authorization: Bearer TOKEN` on HTTP (also MCP_BEARER_TOKEN).
    #[arg(long, env = "MCP_BEARER_TOKEN", hide_env_values = true)]
    bearer: Option<String>,
    /// A host name accepted in Host and Origin headers besides the loopback names
    /// (repeatable). Binding a non-loopback address without one accepts any host.
    #[arg(long = "allow-host", value_name = "HOST")]
    allow_hosts: Vec<String>,
    /// An origin accepted exactly, e.g. https://app.example.com (repeatable).
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,
}

impl ServeArgs {
    /// Whether this serves stdio (one connection: a single-threaded runtime suits it).
    pub fn is_stdio(&self) -> bool {
        self.http.is_none()
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum ServerName {
    /// `summarize {text, sentences?}`: summarises long text by sampling; short text is returned as is.
    Summarize,
    /// `bench_sampling {n, concurrency}`: n sampling round trips, at most `concurrency` in flight.
    Bench,
    /// `intelligent_search {query}`: classify the query by sampling, then search an embedded database.
    SmartSearch,
    /// `book_table {restaurant}` asks the user for a booking (elicitation); `list_roots` reads the client's roots.
    ElicitDemo,
    /// The fixtures of the official MCP conformance suites (`test_*` tools, `test://`
    /// resources, prompts); meant for `--http`.
    Conformance,
}

/// Builds a built-in server by name.
pub fn build(name: &str) -> Option<Server> {
    match name {
        "summarize" => Some(summarize::server()),
        "bench" => Some(bench::server()),
        "smart-search" => Some(smart_search::server()),
        "elicit-demo" => Some(elicit_demo::server()),
        "conformance" => Some(conformance::server()),
        _ => None,
    }
}

pub async fn run(a: ServeArgs) -> anyhow::Result<ExitCode> {
    let name = match a.name {
        ServerName::Summarize => "summarize",
        ServerName::Bench => "bench",
        ServerName::SmartSearch => "smart-search",
        ServerName::ElicitDemo => "elicit-demo",
        ServerName::Conformance => "conformance",
    };
    let server = build(name).ok_or_else(|| anyhow::anyhow!("no built-in server {name:?}"))?;
    match a.http {
        None => server.serve(mcp_rpc::stdio()).await,
        Some(addr) => serve_http(server, addr, &a).await?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn serve_http(
    server: Server,
    addr: std::net::SocketAddr,
    a: &ServeArgs,
) -> anyhow::Result<()> {
    let mut cfg = mcp_http::HttpConfig {
        bearer_token: a.bearer.clone(),
        allowed_origins: a.allow_origins.clone(),
        ..Default::default()
    };
    if addr.ip().is_loopback() {
        cfg.allowed_hosts.extend(a.allow_hosts.iter().cloned());
    } else if a.allow_hosts.is_empty() {
        tracing::warn!("listening beyond loopback with no --allow-host: any Host is accepted; consider --bearer");
        cfg.allowed_hosts.clear();
    } else {
        cfg.allowed_hosts = a.allow_hosts.clone();
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr()?;
    eprintln!("listening on http://{local}{}", cfg.path);
    mcp_http::HttpServer::new(server, cfg)
        .serve(listener, stop_signal())
        .await?;
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
