//! `mcp-sampling bridge`: an MCP server on stdio for a host (a desktop app, an IDE) in front
//! of a real server (a command, a URL, or a config entry), which passes everything through
//! and gives the server sampling even when the host has none (see the `mcp-bridge` crate).

use crate::console::{self, ConsoleArgs};
use crate::host::{self, HostArgs};
use crate::target::ServerArgs;
use anyhow::Context;
use clap::Args;
use mcp_bridge::{Bridge, BridgeOptions, Connector, SamplingMode};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Args)]
pub struct BridgeArgs {
    /// Who answers the server's sampling requests: auto (the host when it declared sampling,
    /// else ours), host, local (ours: the pipeline with --provider), or a provider for ours
    /// (local, openai:MODEL, anthropic:MODEL, ...).
    #[arg(long, default_value = "auto", value_name = "auto|host|local|PROVIDER")]
    sampling: String,
    #[command(flatten)]
    host: HostArgs,
    #[command(flatten)]
    console: ConsoleArgs,
    #[command(flatten)]
    target: ServerArgs,
    /// Serve the host on Streamable HTTP at this address instead of stdio (`--http` alone is
    /// 127.0.0.1:8081, loopback only; port 0: any free port); each host session gets its own
    /// connection to the server (its own child process for a command).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:8081")]
    http: Option<std::net::SocketAddr>,
    /// With --http: require `Authorization: Bearer TOKEN` from the host.
    #[arg(long, env = "MCP_BRIDGE_BEARER_TOKEN", hide_env_values = true)]
    http_bearer: Option<String>,
    /// With --http: a host name accepted in Host and Origin headers besides the loopback
    /// names (repeatable).
    #[arg(long = "allow-host", value_name = "HOST")]
    allow_hosts: Vec<String>,
    /// With --http: an origin accepted exactly (repeatable).
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,
    /// Print the `mcpServers` entry NAME that runs this bridge (paste it into a desktop
    /// host's configuration), and exit.
    #[arg(long, value_name = "NAME")]
    print_config: Option<String>,
}

pub async fn run(mut a: BridgeArgs) -> anyhow::Result<ExitCode> {
    if let Some(name) = &a.print_config {
        println!("{}", print_config(name)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mode = match a.sampling.as_str() {
        "auto" => SamplingMode::Auto,
        "host" => SamplingMode::Host,
        "local" => SamplingMode::Local,
        provider => {
            a.host.provider = Some(provider.to_string());
            SamplingMode::Local
        }
    };
    // Kept to the end: the console serves while the bridge runs.
    let web = console::start(&a.console).await?;
    let (pipeline, _) = host::build_with_console(&a.host, None, web.as_ref())?;
    if web.is_none() {
        say_why_denied(&a.host);
    }
    let mut client = a.host.client_options_with(&pipeline, web.as_ref())?;
    client.name = Some(a.target.name()?);
    let opts = BridgeOptions {
        sampling: mode,
        local: Arc::new(pipeline),
        elicitation: client.elicitation.take(),
        roots: client.roots.take().map(|r| r.list()).unwrap_or_default(),
        client,
    };
    let connector = a.target.connector(a.host.config.as_deref())?;
    let outcome = match a.http {
        Some(addr) => serve_http(addr, &a, opts, connector).await,
        None => serve_stdio(opts, connector).await,
    };
    if let Some(web) = web {
        web.shutdown().await;
    }
    outcome
}

/// Serves one host on stdio.
async fn serve_stdio(opts: BridgeOptions, connector: Connector) -> anyhow::Result<ExitCode> {
    let child = Arc::new(std::sync::Mutex::new(None));
    let keep = child.clone();
    let bridge = Bridge::connect(opts, |h, o| async move {
        let (client, c) = connector(h, o).await?;
        *keep.lock().unwrap_or_else(|p| p.into_inner()) = c;
        Ok(client)
    })
    .await
    .context("cannot connect to the server");
    let outcome = match bridge {
        Ok(bridge) => {
            let served = bridge.serve(mcp_rpc::stdio()).await;
            bridge.close().await;
            served.context("the bridge stopped")
        }
        Err(e) => Err(e),
    };
    let child = child.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(mut child) = child {
        let status = child.shutdown().await;
        tracing::debug!(?status, "server exited");
    }
    outcome.map(|()| ExitCode::SUCCESS)
}

/// Most host sessions at once over HTTP (each has its own server connection).
const MAX_HTTP_SESSIONS: usize = 64;

/// Serves hosts on Streamable HTTP, one server connection per host session.
async fn serve_http(
    addr: std::net::SocketAddr,
    a: &BridgeArgs,
    opts: BridgeOptions,
    connector: Connector,
) -> anyhow::Result<ExitCode> {
    let mut cfg = crate::serve::http_config(
        addr,
        a.http_bearer.clone(),
        &a.allow_hosts,
        &a.allow_origins,
    );
    // Each legacy session runs its own server (a child process for a command).
    cfg.max_sessions = MAX_HTTP_SESSIONS;
    let service = Bridge::http_service(opts, connector)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    eprintln!("listening on http://{}{}", listener.local_addr()?, cfg.path);
    mcp_http::HttpServer::for_service(service, cfg)
        .serve(listener, crate::serve::stop_signal())
        .await?;
    Ok(ExitCode::SUCCESS)
}

/// Without a terminal or a console, `ask` cannot ask: requests the bridge answers itself are
/// denied unless the config or `--approve` says otherwise. Say so once, on stderr.
fn say_why_denied(args: &HostArgs) {
    let configured = args
        .config
        .as_ref()
        .and_then(|p| crate::config::Config::load(p).ok())
        .and_then(|c| c.approval.mode);
    if args.approve.is_none() && configured.is_none() && !std::io::stdin().is_terminal() {
        eprintln!(
            "mcp-sampling bridge: no terminal or console to ask on, so sampling requests the \
             bridge answers itself are denied (mode deny); run `mcp-sampling console`, or pass \
             --console or --approve auto, or set [approval] mode in a --config"
        );
    }
}

/// The `mcpServers` entry that runs this very command (without `--print-config`), named.
fn print_config(name: &str) -> anyhow::Result<String> {
    let exe = std::env::current_exe().context("cannot tell where this program is")?;
    let mut args: Vec<String> = Vec::new();
    let mut it = std::env::args().skip(1).peekable();
    let mut named = false;
    while let Some(arg) = it.next() {
        if arg == "--print-config" {
            it.next();
            continue;
        }
        if arg.starts_with("--print-config=") {
            continue;
        }
        if arg == "--" {
            if !named {
                args.extend(["--name".to_string(), name.to_string()]);
                named = true;
            }
            args.push(arg);
            // A desktop host starts the bridge from its own directory: a relative program
            // path is made absolute.
            if let Some(program) = it.next() {
                args.push(absolute_program(program));
            }
            args.extend(it.by_ref());
            break;
        }
        named |= arg == "--name" || arg.starts_with("--name=");
        args.push(arg);
    }
    if !named {
        args.extend(["--name".to_string(), name.to_string()]);
    }
    let entry = serde_json::json!({
        "mcpServers": { name: { "command": exe.to_string_lossy(), "args": args } }
    });
    Ok(serde_json::to_string_pretty(&entry)?)
}

/// `program` made absolute when it is a relative path (not a bare name found on PATH).
fn absolute_program(program: String) -> String {
    let path = std::path::Path::new(&program);
    if path.is_relative() && path.components().count() > 1 {
        if let Ok(abs) = std::fs::canonicalize(path) {
            return abs.to_string_lossy().into_owned();
        }
    }
    program
}
