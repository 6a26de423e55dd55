//! `mcp-sampling call`: one tool call against a child server or a Streamable HTTP endpoint,
//! sampling answered by the host pipeline.

use crate::console::{self, ConsoleArgs};
use crate::host::{self, HostArgs};
use anyhow::{bail, Context};
use clap::Args;
use mcp_client::{Client, ClientOptions, HttpOptions, SamplingHandler};
use mcp_rpc::ChildProcess;
use serde_json::{Map, Value};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args)]
pub struct CallArgs {
    /// The tool to call.
    #[arg(long)]
    tool: String,
    /// The tool's arguments, a JSON object.
    #[arg(long, default_value = "{}")]
    args: String,
    #[command(flatten)]
    host: HostArgs,
    #[command(flatten)]
    console: ConsoleArgs,
    /// Longest wait for the tool call, in seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// A server from the config's server list, instead of a command after `--`.
    #[arg(long, conflicts_with = "command")]
    server: Option<String>,
    /// A Streamable HTTP endpoint (such as http://127.0.0.1:3000/mcp), instead of a command.
    #[arg(long, conflicts_with_all = ["command", "server"])]
    url: Option<String>,
    /// A bearer token sent with --url (`Authorization: Bearer TOKEN`).
    #[arg(long, env = "MCP_BEARER_TOKEN", hide_env_values = true)]
    bearer: Option<String>,
    /// How deep in nested sampling this call is (sent in the call's `_meta`): 0 when a
    /// person runs it; a model that runs this command while answering a sampling request of
    /// depth n passes n + 1. Servers refuse calls past their maximum.
    #[arg(long, value_name = "N", default_value_t = 0)]
    depth: u32,
    /// The server command and its arguments.
    #[arg(last = true, num_args = 1..)]
    command: Vec<String>,
}

pub async fn run(a: CallArgs) -> anyhow::Result<ExitCode> {
    let args: Value = serde_json::from_str(&a.args).context("--args is not valid JSON")?;
    let Value::Object(args) = args else {
        bail!("--args must be a JSON object, like '{{\"text\": \"...\"}}'")
    };
    // Kept to the end: the console serves while the call runs.
    let console = console::start(&a.console).await?;
    let (host, _) = host::build_with_console(&a.host, None, console.as_ref())?;
    let opts = ClientOptions {
        call_timeout: Duration::from_secs(a.timeout),
        ..a.host.client_options_with(&host, console.as_ref())?
    };
    let handler: Arc<dyn SamplingHandler> = Arc::new(host);
    let result = match &a.url {
        Some(url) => {
            let http = HttpOptions {
                bearer: a.bearer.clone(),
                ..Default::default()
            };
            let client = Client::connect_http(url, http, handler, opts)
                .await
                .with_context(|| format!("cannot connect to {url}"))?;
            call(client, &a.tool, args, a.depth).await?
        }
        None => {
            let (client, child) = open(&a, handler, opts).await?;
            let outcome = call(client, &a.tool, args, a.depth).await;
            if let Some(mut child) = child {
                let status = child.shutdown().await;
                tracing::debug!(?status, "server exited");
            }
            outcome?
        }
    };
    if let Some(c) = console {
        c.shutdown().await;
    }
    println!("{}", serde_json::to_string(&result)?);
    if result.is_error == Some(true) {
        eprintln!("note: the tool reported an error (isError: true)");
    }
    Ok(ExitCode::SUCCESS)
}

async fn call(
    client: Client,
    tool: &str,
    args: Map<String, Value>,
    depth: u32,
) -> anyhow::Result<mcp_proto::tools::CallToolResult> {
    tracing::info!(era = %client.era(), version = client.protocol_version(), "connected");
    let result = client.call_tool_at_depth(tool, args, depth).await;
    client.close().await;
    result.with_context(|| format!("the call to {tool:?} failed"))
}

/// Connects to the server: the command after `--`, or `--server NAME` from the config (a
/// command or a URL). Returns the child to shut down, if one was started.
async fn open(
    a: &CallArgs,
    handler: Arc<dyn SamplingHandler>,
    opts: ClientOptions,
) -> anyhow::Result<(Client, Option<ChildProcess>)> {
    if let Some((program, rest)) = a.command.split_first() {
        let mut child = ChildProcess::spawn(program, rest)
            .with_context(|| format!("cannot start the server {program:?}"))?;
        let transport = child
            .transport
            .take()
            .context("the child has no transport")?;
        return match Client::connect(transport, handler, opts).await {
            Ok(client) => Ok((client, Some(child))),
            Err(e) => {
                let _ = child.shutdown().await;
                Err(anyhow::Error::new(e).context("cannot connect to the server"))
            }
        };
    }
    let Some(name) = &a.server else {
        bail!("say which server: a command after --, --server NAME from --config, or --url URL");
    };
    let path = a
        .host
        .config
        .as_ref()
        .context("--server needs --config (the file that lists the servers)")?;
    let cfg = crate::config::Config::load(path)?;
    let entry = cfg.servers.get(name).with_context(|| {
        let known: Vec<&String> = cfg.servers.keys().collect();
        format!(
            "no server {name:?} in {} (it has {known:?})",
            path.display()
        )
    })?;
    entry.connect(name, handler, opts).await
}
