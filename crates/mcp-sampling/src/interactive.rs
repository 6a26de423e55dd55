//! `mcp-sampling host`: the interactive host. It starts the servers of the config, lists and
//! calls their tools, and chats with a provider that may call those tools; every sampling
//! request the servers make goes through the pipeline (reviewed at the terminal in `ask` mode).

use crate::config::{Config, Connect as _};
use crate::console::{self, ConsoleArgs};
use crate::host::{self, HostArgs};
use anyhow::{bail, Context};
use clap::Args;
use mcp_client::{Client, ClientOptions, SamplingHandler};
use mcp_llm::Provider;
use mcp_proto::content::{Content, OneOrMany};
use mcp_proto::sampling::{CreateMessageParams, Role, SamplingMessage, SamplingTool, StopReason};
use mcp_proto::tools::{CallToolResult, Tool};
use mcp_rpc::ChildProcess;
use serde_json::{Map, Value};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

const HELP: &str = "\
commands:
  /servers                      the connected servers
  /tools [SERVER]               their tools
  /call SERVER TOOL [JSON]      call a tool yourself (arguments as a JSON object)
  /reset                        forget the conversation
  /help                         this text
  /quit                         leave (end of input too)
anything else is a message to the chat model, which may call the tools (if it can)";

const SYSTEM: &str = "You are a helpful assistant in an MCP host. You may call the tools \
you are given; their names are SERVER__TOOL. Answer briefly.";

/// The system prompt of a chat model that is offered no tools.
const SYSTEM_NO_TOOLS: &str = "You are a helpful assistant. Answer briefly.";

#[derive(Args)]
pub struct HostCmdArgs {
    #[command(flatten)]
    host: HostArgs,
    #[command(flatten)]
    console: ConsoleArgs,
    /// The provider to chat with (a spec like --provider; default: the config's
    /// chat_provider, else the sampling provider). A model that cannot call tools (the
    /// embedded one) chats without them.
    #[arg(long)]
    chat_provider: Option<String>,
    /// Most model steps (replies and rounds of tool calls) for one chat message.
    #[arg(long, default_value_t = 8)]
    max_steps: u32,
    /// maxTokens of each chat reply.
    #[arg(long, default_value_t = 1024)]
    max_tokens: u64,
    /// Longest wait for one tool call, in seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
}

/// A connected server.
struct Server {
    name: String,
    client: Client,
    /// A stdio server's process (none for HTTP servers).
    child: Option<ChildProcess>,
    tools: Vec<Tool>,
}

/// The chat side: a provider, its model, the conversation.
struct Chat {
    provider: Arc<dyn Provider>,
    model: String,
    /// Whether the model can call tools (else it is offered none).
    tools: bool,
    /// Each reply's figures on stderr.
    verbose: bool,
    history: Vec<SamplingMessage>,
    max_steps: u32,
    max_tokens: u64,
}

pub async fn run(a: HostCmdArgs) -> anyhow::Result<ExitCode> {
    let path = a
        .host
        .config
        .clone()
        .context("`host` needs --config FILE (the servers to start; see examples/host.toml)")?;
    let cfg = Config::load(&path)?;
    // Kept to the end: the console serves while the host runs.
    let console = console::start(&a.console).await?;
    let (host, made) = host::build_with_console(&a.host, None, console.as_ref())?;
    let host_opts = a.host.client_options_with(&host, console.as_ref())?;
    let handler: Arc<dyn SamplingHandler> = Arc::new(host);
    // Not routed: the chat is the host's own use, not a server's request.
    let (spec, chosen_by) = [
        (&a.chat_provider, "--chat-provider"),
        (&cfg.chat_provider, "the config's chat_provider"),
        (&a.host.provider, "--provider"),
        (&cfg.provider, "the config's provider"),
    ]
    .into_iter()
    .find_map(|(spec, by)| spec.clone().map(|s| (s, by)))
    .unwrap_or_else(|| ("local".into(), "the default"));
    // The pipeline's own provider when it is the same (the embedded model loads once).
    let (provider, models) = match made.into_iter().find(|(s, _, _)| *s == spec) {
        Some((_, p, models)) => (p, models),
        None => host::provider(&spec)?,
    };
    let model = models.first().map(|m| m.id.clone()).unwrap_or_default();
    let tools = models.first().is_some_and(|m| m.tools);
    let opts = ClientOptions {
        call_timeout: Duration::from_secs(a.timeout),
        ..host_opts
    };
    let mut servers = Vec::new();
    for (name, entry) in &cfg.servers {
        match connect(name, entry, handler.clone(), opts.clone()).await {
            Ok(s) => {
                println!(
                    "connected to {name} ({} tools, {} {})",
                    s.tools.len(),
                    s.client.era(),
                    s.client.protocol_version()
                );
                servers.push(s);
            }
            Err(e) => println!("cannot use the server {name}: {e:#}"),
        }
    }
    if cfg.servers.is_empty() {
        println!("the config lists no servers; chatting without tools");
    } else if !tools {
        println!(
            "the chat model {}:{model} cannot call tools: it chats without them (call a tool \
             yourself with /call, or chat with a model that can: --chat-provider)",
            provider.name()
        );
    }
    println!(
        "chat model: {}:{model} ({chosen_by}). /help for commands.",
        provider.name()
    );
    let mut chat = Chat {
        provider,
        model,
        tools,
        verbose: a.host.verbose,
        history: Vec::new(),
        max_steps: a.max_steps,
        max_tokens: a.max_tokens,
    };
    let outcome = repl(&servers, &mut chat).await;
    for mut s in servers {
        s.client.close().await;
        if let Some(mut child) = s.child.take() {
            let status = child.shutdown().await;
            tracing::debug!(server = s.name, ?status, "server exited");
        }
    }
    if let Some(c) = console {
        c.shutdown().await;
    }
    outcome.map(|()| ExitCode::SUCCESS)
}

async fn connect(
    name: &str,
    entry: &crate::config::ServerEntry,
    handler: Arc<dyn SamplingHandler>,
    opts: ClientOptions,
) -> anyhow::Result<Server> {
    let (client, child) = entry.connect(name, handler, opts).await?;
    let tools = match client.list_tools().await {
        Ok(t) => t.tools,
        Err(e) => {
            println!("{name}: cannot list tools: {e}");
            Vec::new()
        }
    };
    Ok(Server {
        name: name.into(),
        client,
        child,
        tools,
    })
}

/// Reads lines until `/quit` or the end of input. Ctrl-C cancels the step under way.
async fn repl(servers: &[Server], chat: &mut Chat) -> anyhow::Result<()> {
    while let Some(line) = read_line().await? {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let step = async {
            match line.split_once(' ').unwrap_or((line, "")) {
                ("/quit" | "/exit", _) => Ok(false),
                ("/help", _) => {
                    println!("{HELP}");
                    Ok(true)
                }
                ("/servers", _) => {
                    list_servers(servers);
                    Ok(true)
                }
                ("/tools", rest) => {
                    list_tools(servers, rest.trim());
                    Ok(true)
                }
                ("/call", rest) => call(servers, rest).await.map(|()| true),
                ("/reset", _) => {
                    chat.history.clear();
                    println!("(conversation cleared)");
                    Ok(true)
                }
                (cmd, _) if cmd.starts_with('/') => {
                    bail!("unknown command {cmd}; /help lists them")
                }
                _ => chat.say(servers, line).await.map(|()| true),
            }
        };
        let outcome = tokio::select! {
            r = step => r,
            _ = tokio::signal::ctrl_c() => {
                println!("(cancelled)");
                Ok(true)
            }
        };
        match outcome {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => println!("error: {e:#}"),
        }
    }
    Ok(())
}

/// One line of standard input, read when asked (so the reviewer can use the terminal while
/// a call runs); `None` at the end of input.
async fn read_line() -> anyhow::Result<Option<String>> {
    print!("> ");
    std::io::stdout().flush()?;
    tokio::task::spawn_blocking(|| {
        let mut s = String::new();
        let n = std::io::stdin().read_line(&mut s)?;
        Ok::<_, std::io::Error>((n > 0).then_some(s))
    })
    .await?
    .context("cannot read standard input")
}

fn list_servers(servers: &[Server]) {
    if servers.is_empty() {
        println!("(no server is connected)");
    }
    for s in servers {
        let info = s.client.server_info();
        let name = info.map(|i| i.name.as_str()).unwrap_or("?");
        println!(
            "{}: {name} ({} {}), {} tools",
            s.name,
            s.client.era(),
            s.client.protocol_version(),
            s.tools.len()
        );
    }
}

fn list_tools(servers: &[Server], only: &str) {
    if !only.is_empty() && !servers.iter().any(|s| s.name == only) {
        println!("no server {only:?}; /servers lists them");
        return;
    }
    for s in servers.iter().filter(|s| only.is_empty() || s.name == only) {
        for t in &s.tools {
            let desc = t.description.as_deref().unwrap_or("");
            println!("{}/{}: {}", s.name, t.name, first_line(desc));
        }
    }
}

async fn call(servers: &[Server], rest: &str) -> anyhow::Result<()> {
    let mut parts = rest.trim().splitn(3, ' ');
    let (Some(server), Some(tool)) = (parts.next().filter(|s| !s.is_empty()), parts.next()) else {
        bail!("usage: /call SERVER TOOL [JSON]");
    };
    let args = match parts.next().map(str::trim).filter(|s| !s.is_empty()) {
        None => Map::new(),
        Some(j) => match serde_json::from_str(j).context("the arguments are not JSON")? {
            Value::Object(m) => m,
            _ => bail!("the arguments must be a JSON object"),
        },
    };
    let s = servers
        .iter()
        .find(|s| s.name == server)
        .with_context(|| format!("no server {server:?}; /servers lists them"))?;
    let result = s.client.call_tool(tool, args).await?;
    print_result(&result);
    Ok(())
}

fn print_result(r: &CallToolResult) {
    for line in result_lines(r) {
        println!("{line}");
    }
}

/// What `/call` shows of a result: each content block, the structured content unless a text
/// block already is its JSON (the spec's advice to tools with structured output), and an
/// error mark.
fn result_lines(r: &CallToolResult) -> Vec<String> {
    let mut lines: Vec<String> = r
        .content
        .iter()
        .map(|c| match c.as_text() {
            Some(t) => t.to_string(),
            None => format!("[{} block]", c.kind()),
        })
        .collect();
    let echoed = |s: &Value| {
        r.content
            .iter()
            .filter_map(|c| c.as_text())
            .any(|t| serde_json::from_str::<Value>(t).is_ok_and(|v| &v == s))
    };
    if let Some(s) = r.structured_content.as_ref().filter(|s| !echoed(s)) {
        lines.push(format!("structured: {s}"));
    }
    if r.is_error == Some(true) {
        lines.push("(the tool reported an error)".into());
    }
    lines
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// The name a tool has for the chat model: `SERVER__TOOL`, in the characters every provider
/// accepts.
fn qualified(server: &str, tool: &str) -> String {
    format!("{server}__{tool}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect()
}

impl Chat {
    /// One user message: the model replies, calling tools as often as it asks (up to
    /// `max_steps` replies).
    async fn say(&mut self, servers: &[Server], text: &str) -> anyhow::Result<()> {
        let servers = if self.tools { servers } else { &[] };
        let tools: Vec<(String, &Server, &Tool)> = servers
            .iter()
            .flat_map(|s| {
                s.tools
                    .iter()
                    .map(move |t| (qualified(&s.name, &t.name), s, t))
            })
            .collect();
        let offered: Vec<SamplingTool> = tools
            .iter()
            .map(|(q, _, t)| SamplingTool {
                name: q.clone(),
                description: t.description.clone(),
                input_schema: t.input_schema.clone(),
                extra: Map::new(),
            })
            .collect();
        let mark = self.history.len();
        self.history
            .push(message(Role::User, vec![Content::text(text)]));
        for _ in 0..self.max_steps {
            let system = if offered.is_empty() {
                SYSTEM_NO_TOOLS
            } else {
                SYSTEM
            };
            let params = CreateMessageParams {
                system_prompt: Some(system.into()),
                tools: (!offered.is_empty()).then(|| offered.clone()),
                ..CreateMessageParams::new(self.history.clone(), self.max_tokens)
            };
            let done = match self.complete(&params).await {
                Ok(c) => c,
                Err(e) => {
                    self.history.truncate(mark);
                    return Err(e).context("the chat model failed");
                }
            };
            let content = done.result.content.as_slice().to_vec();
            self.history.push(message(Role::Assistant, content.clone()));
            if done.result.stop_reason != Some(StopReason::ToolUse) {
                for t in content.iter().filter_map(Content::as_text) {
                    println!("{t}");
                }
                return Ok(());
            }
            let mut results = Vec::new();
            for c in &content {
                if let Content::ToolUse {
                    id, name, input, ..
                } = c
                {
                    results.push(use_tool(&tools, id, name, input.clone()).await);
                }
            }
            self.history.push(message(Role::User, results));
        }
        println!(
            "(stopped after {} steps; /reset to start over)",
            self.max_steps
        );
        Ok(())
    }
}

impl Chat {
    /// One reply of the chat model, with a spinner on stderr while it generates and, with
    /// `--verbose`, its figures.
    async fn complete(
        &self,
        params: &CreateMessageParams,
    ) -> Result<mcp_llm::Completion, mcp_llm::ProviderError> {
        let spinner = crate::progress::Spinner::start("the chat model is thinking");
        let started = std::time::Instant::now();
        let done = self.provider.complete_timed(&self.model, params).await;
        drop(spinner);
        let done = done?;
        if self.verbose {
            let u = done.completion.usage;
            eprintln!(
                "chat: {}",
                crate::progress::figures(
                    (u.input_tokens, u.output_tokens),
                    started.elapsed().as_millis() as u64,
                    done.timing.as_ref()
                )
            );
        }
        Ok(done.completion)
    }
}

async fn use_tool(
    tools: &[(String, &Server, &Tool)],
    id: &str,
    name: &str,
    input: Map<String, Value>,
) -> Content {
    let (result, is_error) = match tools.iter().find(|(q, _, _)| q == name) {
        None => (vec![Content::text(format!("no tool named {name}"))], true),
        Some((_, s, t)) => {
            println!("→ {}/{} {}", s.name, t.name, Value::Object(input.clone()));
            match s.client.call_tool(&t.name, input).await {
                Ok(r) => {
                    let chars: usize = r
                        .content
                        .iter()
                        .filter_map(|c| c.as_text())
                        .map(str::len)
                        .sum();
                    println!(
                        "← {chars} characters{}",
                        if r.is_error == Some(true) {
                            " (error)"
                        } else {
                            ""
                        }
                    );
                    (r.content, r.is_error == Some(true))
                }
                Err(e) => {
                    println!("← failed: {e}");
                    (vec![Content::text(format!("the call failed: {e}"))], true)
                }
            }
        }
    };
    Content::ToolResult {
        tool_use_id: id.into(),
        content: result,
        structured_content: None,
        is_error: is_error.then_some(true),
        meta: None,
    }
}

fn message(role: Role, content: Vec<Content>) -> SamplingMessage {
    SamplingMessage {
        role,
        content: OneOrMany::Many(content),
        meta: None,
    }
}

#[cfg(test)]
mod tests {
    use super::result_lines;
    use mcp_proto::tools::CallToolResult;
    use serde_json::json;

    #[test]
    fn structured_content_echoed_as_text_is_shown_once() {
        let r: CallToolResult = serde_json::from_value(json!({
            "content": [{"type": "text", "text": "{\"category\":\"docs\"}"}],
            "structuredContent": {"category": "docs"}
        }))
        .unwrap();
        assert_eq!(
            result_lines(&r),
            vec!["{\"category\":\"docs\"}".to_string()]
        );
        let r: CallToolResult = serde_json::from_value(json!({
            "content": [{"type": "text", "text": "found it"}],
            "structuredContent": {"category": "docs"}
        }))
        .unwrap();
        assert_eq!(result_lines(&r).len(), 2);
    }

    #[test]
    fn qualified_names_are_safe() {
        assert_eq!(
            super::qualified("smart-search", "intelligent_search"),
            "smart-search__intelligent_search"
        );
        assert_eq!(super::qualified("a.b", "c d"), "a_b__c_d");
        assert_eq!(super::qualified(&"x".repeat(40), &"y".repeat(40)).len(), 64);
    }
}
