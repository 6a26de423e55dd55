//! `mcp-sampling call`: one tool call against a child server or a Streamable HTTP endpoint,
//! sampling answered by the host pipeline.

use crate::console::{self, ConsoleArgs};
use crate::host::{self, HostArgs};
use crate::target::ServerArgs;
use anyhow::{bail, Context};
use clap::Args;
use mcp_client::{Client, ClientOptions, SamplingError, SamplingHandler, SamplingRequest};
use mcp_proto::sampling::CreateMessageResult;
use mcp_proto::BoxFuture;
use serde_json::{Map, Value};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
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
    #[command(flatten)]
    target: ServerArgs,
    /// How deep in nested sampling this call is (sent in the call's `_meta`): 0 when a
    /// person runs it; a model that runs this command while answering a sampling request of
    /// depth n passes n + 1. Servers refuse calls past their maximum.
    #[arg(long, value_name = "N", default_value_t = 0)]
    depth: u32,
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
        name: Some(a.target.name()?),
        ..a.host.client_options_with(&host, console.as_ref())?
    };
    let watched = Arc::new(Watched {
        host: Arc::new(host),
        rejected: Arc::default(),
    });
    let connect = a.target.connector(a.host.config.as_deref())?;
    let (client, child) = connect(watched.clone(), opts)
        .await
        .context("cannot connect to the server")?;
    let outcome = call(client, &a.tool, args, a.depth).await;
    if let Some(mut child) = child {
        let status = child.shutdown().await;
        tracing::debug!(?status, "server exited");
    }
    if let Some(c) = console {
        c.shutdown().await;
    }
    let rejected = watched
        .rejected
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    // One report on both eras: a legacy server hears of the rejection and answers the call
    // (its answer is printed); a modern call ends there (the server is not asked again).
    if let Some(why) = rejected {
        if let Ok(result) = &outcome {
            println!("{}", serde_json::to_string(result)?);
        }
        eprintln!("the host rejected a sampling request of this call: {why}");
        return Ok(ExitCode::from(SAMPLING_REJECTED));
    }
    let result = outcome?;
    println!("{}", serde_json::to_string(&result)?);
    if result.is_error == Some(true) {
        eprintln!("note: the tool reported an error (isError: true)");
    }
    Ok(ExitCode::SUCCESS)
}

/// `call`'s exit status when the host rejected a sampling request of the call (by policy,
/// a rule, the approval mode or a person), on either era.
pub const SAMPLING_REJECTED: u8 = 3;

/// The host, and the reason of the last sampling request it rejected.
struct Watched {
    host: Arc<dyn SamplingHandler>,
    rejected: Arc<Mutex<Option<String>>>,
}

impl SamplingHandler for Watched {
    fn create_message(
        &self,
        req: SamplingRequest,
    ) -> BoxFuture<Result<CreateMessageResult, SamplingError>> {
        let asked = self.host.create_message(req);
        let rejected = self.rejected.clone();
        Box::pin(async move {
            let answer = asked.await;
            if let Err(SamplingError::Rejected(why)) = &answer {
                *rejected.lock().unwrap_or_else(|p| p.into_inner()) = Some(why.clone());
            }
            answer
        })
    }
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
