//! `mcp-sampling call`: one tool call against a child server, sampling answered by the host.

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use mcp_host::providers::{Approval, Approved, Fixed, Script};
use mcp_host::{Client, ClientOptions, EraChoice, SamplingHandler};
use mcp_rpc::ChildProcess;
use serde_json::{Map, Value};
use std::path::PathBuf;
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
    /// Which era to speak: probe and fall back (auto), or force one.
    #[arg(long, value_enum, default_value_t = EraArg::Auto)]
    era: EraArg,
    /// How sampling requests are approved. (The interactive `ask` mode comes with the host
    /// pipeline; until then the default is `deny`: nothing is sampled unless you say so.)
    #[arg(long, value_enum, default_value_t = ApproveArg::Deny)]
    approve: ApproveArg,
    /// Who answers sampling: `fixed:TEXT` (always TEXT) or `script:FILE` (JSON lines of
    /// CreateMessageResult, in order).
    #[arg(long)]
    provider: String,
    /// Longest wait for the tool call, in seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// The server command and its arguments.
    #[arg(last = true, required = true, num_args = 1..)]
    server: Vec<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum EraArg {
    Auto,
    Legacy,
    Modern,
}

#[derive(Clone, Copy, ValueEnum)]
enum ApproveArg {
    Auto,
    Deny,
}

/// Parses a provider spec.
pub fn provider(spec: &str) -> anyhow::Result<Arc<dyn SamplingHandler>> {
    match spec.split_once(':') {
        Some(("fixed", text)) => Ok(Arc::new(Fixed(text.to_owned()))),
        Some(("script", path)) => Ok(Arc::new(Script::load(&PathBuf::from(path))?)),
        _ if spec == "local" || spec.starts_with("openai:") || spec.starts_with("anthropic:") => {
            bail!("the provider {spec:?} is not available in this build yet; use fixed:TEXT or script:FILE")
        }
        _ => bail!("unknown provider {spec:?}: expected fixed:TEXT or script:FILE"),
    }
}

pub async fn run(a: CallArgs) -> anyhow::Result<ExitCode> {
    let args: Value = serde_json::from_str(&a.args).context("--args is not valid JSON")?;
    let Value::Object(args) = args else {
        bail!("--args must be a JSON object, like '{{\"text\": \"...\"}}'")
    };
    let mode = match a.approve {
        ApproveArg::Auto => Approval::Auto,
        ApproveArg::Deny => Approval::Deny,
    };
    let handler: Arc<dyn SamplingHandler> = Arc::new(Approved {
        mode,
        provider: provider(&a.provider)?,
    });
    let opts = ClientOptions {
        era: match a.era {
            EraArg::Auto => EraChoice::Auto,
            EraArg::Legacy => EraChoice::Legacy,
            EraArg::Modern => EraChoice::Modern,
        },
        call_timeout: Duration::from_secs(a.timeout),
        ..Default::default()
    };
    let (program, rest) = a
        .server
        .split_first()
        .context("no server command given after --")?;
    let mut child = ChildProcess::spawn(program, rest)
        .with_context(|| format!("cannot start the server {program:?}"))?;
    let transport = child
        .transport
        .take()
        .context("the child has no transport")?;
    let outcome = call(transport, handler, opts, &a.tool, args).await;
    let status = child.shutdown().await;
    tracing::debug!(?status, "server exited");
    let result = outcome?;
    println!("{}", serde_json::to_string(&result)?);
    if result.is_error == Some(true) {
        eprintln!("note: the tool reported an error (isError: true)");
    }
    Ok(ExitCode::SUCCESS)
}

async fn call(
    transport: mcp_rpc::Transport,
    handler: Arc<dyn SamplingHandler>,
    opts: ClientOptions,
    tool: &str,
    args: Map<String, Value>,
) -> anyhow::Result<mcp_proto::tools::CallToolResult> {
    let client = Client::connect(transport, handler, opts)
        .await
        .context("cannot connect to the server")?;
    tracing::info!(era = %client.era(), version = client.protocol_version(), "connected");
    let result = client.call_tool(tool, args).await;
    client.close().await;
    result.with_context(|| format!("the call to {tool:?} failed"))
}
