//! The host configuration file: TOML (see `examples/host.toml` for every key, commented), or
//! a Claude-Desktop-style JSON file whose `mcpServers` gives the server list.

use anyhow::Context;
use mcp_host::approval::{Mode, Rule};
use mcp_host::policy::ServerPolicy;
use mcp_host::routing::ModelEntry;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The provider spec used when `--provider` is not given (`local`, `openai:MODEL`, ...).
    pub provider: Option<String>,
    /// More providers whose models the router may also pick (specs).
    #[serde(default)]
    pub extra_providers: Vec<String>,
    /// The provider the interactive host chats with (a spec; default: `provider`). It is
    /// given the servers' tools, so it should be one that can call tools.
    pub chat_provider: Option<String>,
    /// Approval.
    #[serde(default)]
    pub approval: ApprovalConfig,
    /// Policies.
    #[serde(default)]
    pub policy: PolicyConfig,
    /// The audit log.
    #[serde(default)]
    pub audit: AuditConfig,
    /// Models added to (or replacing, by provider and id) the built-in catalog.
    #[serde(default)]
    pub models: Vec<ModelEntry>,
    /// Servers the interactive host connects to.
    #[serde(default)]
    pub servers: BTreeMap<String, ServerEntry>,
}

/// `[approval]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalConfig {
    /// The mode when no rule matches.
    pub mode: Option<Mode>,
    /// Rules, first match decides.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// `[policy]`: `[policy.default]` for all servers, `[policy.servers.NAME]` for one.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// For servers without their own.
    #[serde(default)]
    pub default: Option<ServerPolicy>,
    /// By server name (as the server reports it).
    #[serde(default)]
    pub servers: HashMap<String, ServerPolicy>,
}

/// `[audit]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// The database file.
    pub path: Option<PathBuf>,
    /// Keep full prompts (otherwise a hash and the size only).
    #[serde(default)]
    pub keep_prompts: bool,
}

/// A server of the config: a command to start as a child (stdio), or a Streamable HTTP `url`.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct ServerEntry {
    /// The program (stdio servers).
    #[serde(default)]
    pub command: Option<String>,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Extra environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The MCP endpoint of an HTTP server, instead of a command.
    #[serde(default)]
    pub url: Option<String>,
    /// Headers sent to an HTTP server; `${VAR}` is replaced by that environment variable
    /// (for example `Authorization = "Bearer ${MY_TOKEN}"`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// A server of a Claude-Desktop file (unknown keys such as `type` are ignored).
#[derive(Deserialize)]
struct DesktopJson {
    #[serde(rename = "mcpServers")]
    mcp_servers: BTreeMap<String, DesktopServer>,
}

#[derive(Deserialize)]
struct DesktopServer {
    command: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    url: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

/// `${VAR}` replaced by the environment variable VAR (an unset one is an error).
fn expand(value: &str) -> anyhow::Result<String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let end = rest[i..]
            .find('}')
            .with_context(|| format!("unclosed ${{ in {value:?}"))?;
        let var = &rest[i + 2..i + end];
        let v =
            std::env::var(var).with_context(|| format!("environment variable {var} is not set"))?;
        out.push_str(&v);
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

impl ServerEntry {
    /// Starts the server as a child process named `name`.
    pub fn spawn(&self, name: &str) -> anyhow::Result<mcp_rpc::ChildProcess> {
        let command = self
            .command
            .as_ref()
            .with_context(|| format!("the server {name:?} has no command"))?;
        let mut cmd = tokio::process::Command::new(command);
        cmd.args(&self.args).envs(&self.env);
        mcp_rpc::ChildProcess::spawn_command(cmd, name)
            .with_context(|| format!("cannot start the server {name:?} ({command})"))
    }

    /// Connects to the server: starts its command, or opens its URL. The child, if any,
    /// is for the caller to shut down after closing the client.
    pub async fn connect(
        &self,
        name: &str,
        handler: std::sync::Arc<dyn mcp_host::SamplingHandler>,
        mut opts: mcp_client::ClientOptions,
    ) -> anyhow::Result<(mcp_client::Client, Option<mcp_rpc::ChildProcess>)> {
        // Rules, budgets and the audit know the server by its entry's name, whatever it
        // calls itself.
        opts.name.get_or_insert_with(|| name.to_string());
        match (&self.command, &self.url) {
            (Some(_), None) => {
                let mut child = self.spawn(name)?;
                let transport = child
                    .transport
                    .take()
                    .context("the child has no transport")?;
                match mcp_client::Client::connect(transport, handler, opts).await {
                    Ok(c) => Ok((c, Some(child))),
                    Err(e) => {
                        let _ = child.shutdown().await;
                        Err(anyhow::Error::new(e).context(format!("cannot connect to {name:?}")))
                    }
                }
            }
            (None, Some(url)) => {
                let headers = self
                    .headers
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), expand(v)?)))
                    .collect::<anyhow::Result<Vec<_>>>()
                    .with_context(|| format!("the headers of the server {name:?}"))?;
                let http = mcp_client::HttpOptions {
                    headers,
                    ..Default::default()
                };
                let client = mcp_client::Client::connect_http(url, http, handler, opts)
                    .await
                    .with_context(|| format!("cannot connect to {name:?} at {url}"))?;
                Ok((client, None))
            }
            _ => anyhow::bail!("the server {name:?} needs either a command or a url (not both)"),
        }
    }
}

impl Config {
    /// Reads a TOML config, or a JSON file with `mcpServers`.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the config {}", path.display()))?;
        if path.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{') {
            let d: DesktopJson = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{}: not a JSON file with an \"mcpServers\" object",
                    path.display()
                )
            })?;
            let servers = d
                .mcp_servers
                .into_iter()
                .map(|(name, s)| {
                    (
                        name,
                        ServerEntry {
                            command: s.command,
                            args: s.args,
                            env: s.env,
                            url: s.url,
                            headers: s.headers,
                        },
                    )
                })
                .collect();
            return Ok(Config {
                servers,
                ..Default::default()
            });
        }
        toml::from_str(&text).with_context(|| format!("invalid config {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/host.toml");
        let c = Config::load(&path).unwrap();
        assert_eq!(c.approval.mode, Some(Mode::Ask));
        assert!(!c.approval.rules.is_empty());
        assert!(c.policy.servers.contains_key("summarize"));
        assert!(c.servers.contains_key("summarize"));
    }

    #[test]
    fn desktop_json_gives_servers() {
        let dir = std::env::temp_dir().join(format!("mcp-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("claude_desktop_config.json");
        std::fs::write(&p, r#"{"mcpServers": {"everything": {"command": "npx", "args": ["-y", "x"], "env": {"A": "1"}}}}"#).unwrap();
        let c = Config::load(&p).unwrap();
        assert_eq!(c.servers["everything"].args, ["-y", "x"]);
        std::fs::write(&p, r#"{"servers": {}}"#).unwrap();
        assert!(format!("{:#}", Config::load(&p).unwrap_err()).contains("mcpServers"));
    }

    #[test]
    fn header_values_take_environment_variables() {
        std::env::set_var("MCP_CFG_TEST_TOKEN", "t0k");
        assert_eq!(
            expand("Bearer ${MCP_CFG_TEST_TOKEN}!").unwrap(),
            "Bearer t0k!"
        );
        assert_eq!(expand("plain").unwrap(), "plain");
        let e = expand("${MCP_CFG_TEST_UNSET_VAR}").unwrap_err().to_string();
        assert!(e.contains("MCP_CFG_TEST_UNSET_VAR"), "{e}");
        assert!(expand("${oops")
            .unwrap_err()
            .to_string()
            .contains("unclosed"));
    }

    #[test]
    fn unknown_keys_are_errors() {
        let dir = std::env::temp_dir().join(format!("mcp-cfg2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("bad.toml");
        std::fs::write(&p, "[policy.default]\nrequest_per_minute = 5\n").unwrap();
        let e = format!("{:#}", Config::load(&p).unwrap_err());
        assert!(e.contains("request_per_minute"), "{e}");
    }
}
