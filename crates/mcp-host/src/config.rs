//! The host's configuration file: TOML (see `examples/host.toml` for every key, commented), or
//! a Claude-Desktop-style JSON file whose `mcpServers` gives the server list. Read here (not
//! in the binary) so that the parsing is a library's, tested and fuzzed as such; the
//! `mcp-sampling` binary loads it and connects the servers it lists.

use crate::approval::{Mode, Rule};
use crate::policy::ServerPolicy;
use crate::routing::ModelEntry;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Why a configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the config {0}: {1}")]
    Read(String, #[source] std::io::Error),
    /// Not valid TOML for this configuration.
    #[error("invalid config {0}: {1}")]
    Toml(String, String),
    /// A JSON file without an `mcpServers` object.
    #[error("{0}: not a JSON file with an \"mcpServers\" object: {1}")]
    Json(String, String),
    /// `${` without its `}`.
    #[error("unclosed ${{ in {0:?}")]
    Unclosed(String),
    /// `${VAR}` names a variable that is not set.
    #[error("environment variable {0} is not set")]
    Unset(String),
}

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
pub fn expand(value: &str) -> Result<String, ConfigError> {
    expand_with(value, |var| std::env::var(var).ok())
}

/// `${VAR}` replaced by `lookup(VAR)` (`None` is an error).
pub fn expand_with(
    value: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    let mut out = String::new();
    let mut rest = value;
    while let Some((before, after)) = rest.split_once("${") {
        out.push_str(before);
        let (var, tail) = after
            .split_once('}')
            .ok_or_else(|| ConfigError::Unclosed(value.to_owned()))?;
        out.push_str(&lookup(var).ok_or_else(|| ConfigError::Unset(var.to_owned()))?);
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

impl Config {
    /// Reads a TOML config, or a JSON file with `mcpServers` (by its `.json` extension or
    /// its opening `{`).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| ConfigError::Read(shown.clone(), e))?;
        let json = path.extension().is_some_and(|e| e == "json");
        Config::parse(&text, json, &shown)
    }

    /// Parses a config's text: JSON with `mcpServers` when `json` is set or the text opens
    /// with `{`, else TOML; `origin` names it in errors.
    pub fn parse(text: &str, json: bool, origin: &str) -> Result<Config, ConfigError> {
        if json || text.trim_start().starts_with('{') {
            let d: DesktopJson = serde_json::from_str(text)
                .map_err(|e| ConfigError::Json(origin.to_owned(), e.to_string()))?;
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
        toml::from_str(text).map_err(|e| ConfigError::Toml(origin.to_owned(), e.to_string()))
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
        let json = r#"{"mcpServers": {"everything": {"command": "npx", "args": ["-y", "x"], "env": {"A": "1"}}}}"#;
        let c = Config::parse(json, true, "c.json").unwrap();
        assert_eq!(c.servers["everything"].args, ["-y", "x"]);
        let e = Config::parse(r#"{"servers": {}}"#, false, "c.json").unwrap_err();
        assert!(e.to_string().contains("mcpServers"), "{e}");
    }

    #[test]
    fn header_values_take_variables() {
        let env = |v: &str| (v == "TOKEN").then(|| "t0k".to_owned());
        assert_eq!(expand_with("Bearer ${TOKEN}!", env).unwrap(), "Bearer t0k!");
        assert_eq!(expand_with("plain", env).unwrap(), "plain");
        let e = expand_with("${UNSET_VAR}", env).unwrap_err().to_string();
        assert!(e.contains("UNSET_VAR"), "{e}");
        let e = expand_with("${oops", env).unwrap_err().to_string();
        assert!(e.contains("unclosed"), "{e}");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let text = "[policy.default]\nrequest_per_minute = 5\n";
        let e = Config::parse(text, false, "bad.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("request_per_minute") && e.contains("bad.toml"),
            "{e}"
        );
    }
}
