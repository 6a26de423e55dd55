//! Which server a command talks to (`call`, `bridge`): a command after `--`, `--url`, or
//! `--server NAME` from the config; and how to connect to it.

use crate::config::Connect as _;
use anyhow::{bail, Context};
use clap::Args;
use mcp_bridge::Connector;
use mcp_client::http::auth::Authorizer;
use mcp_client::{Client, ClientError, HttpOptions};
use mcp_rpc::ChildProcess;
use std::path::Path;
use std::sync::Arc;

const WHICH: &str =
    "say which server: a command after --, --server NAME from --config, or --url URL";

#[derive(Args, Clone)]
pub struct ServerArgs {
    /// A server from the config's server list, instead of a command after `--`.
    #[arg(long, conflicts_with = "command")]
    pub server: Option<String>,
    /// A Streamable HTTP endpoint (such as http://127.0.0.1:3000/mcp), instead of a command.
    #[arg(long, conflicts_with_all = ["command", "server"])]
    pub url: Option<String>,
    /// A bearer token sent with --url (`Authorization: Bearer TOKEN`). Without one, a server
    /// that asks for authorization gets OAuth: the tokens `auth login` kept, else the
    /// browser.
    #[arg(long, env = "MCP_BEARER_TOKEN", hide_env_values = true)]
    pub bearer: Option<String>,
    /// The server's name in policies, approval rules, trust and the audit log. Default: the
    /// config entry's name, else the command line (its program by file name), else the URL;
    /// never only what the server says it is.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// The server command and its arguments.
    #[arg(last = true, num_args = 1..)]
    pub command: Vec<String>,
}

impl ServerArgs {
    /// The server's name: `--name`, else [`ServerArgs::default_name`].
    pub fn name(&self) -> anyhow::Result<String> {
        match &self.name {
            Some(n) if n.trim().is_empty() => bail!("--name must not be empty"),
            Some(n) => Ok(n.clone()),
            None => self.default_name(),
        }
    }

    /// The server's name when none is configured: the config entry, the command line (its
    /// program by file name: `mcp-sampling serve kb`, not the whole path), the URL.
    pub fn default_name(&self) -> anyhow::Result<String> {
        if let Some(n) = &self.server {
            return Ok(n.clone());
        }
        if let Some((program, rest)) = self.command.split_first() {
            let program = Path::new(program)
                .file_name()
                .map_or_else(|| program.clone(), |f| f.to_string_lossy().into_owned());
            let words: Vec<String> = std::iter::once(program)
                .chain(rest.iter().cloned())
                .collect();
            return Ok(words.join(" "));
        }
        self.url.clone().context(WHICH)
    }

    /// Opens the server side each time it is called: a child of the command, the URL, or the
    /// config's entry (`config` is the `--config` file, which `--server` needs). The child, if
    /// any, comes back with the client, for the caller to shut down after closing it.
    pub fn connector(&self, config: Option<&Path>) -> anyhow::Result<Connector> {
        if let Some(url) = self.url.clone() {
            let bearer = self.bearer.clone();
            let auth = match &bearer {
                Some(_) => None,
                None => Some(crate::auth::authorizer(&url)? as Arc<dyn Authorizer>),
            };
            return Ok(Arc::new(move |h, o| {
                let (url, bearer, auth) = (url.clone(), bearer.clone(), auth.clone());
                Box::pin(async move {
                    let http = HttpOptions {
                        bearer,
                        auth,
                        ..Default::default()
                    };
                    Ok((Client::connect_http(&url, http, h, o).await?, None))
                })
            }));
        }
        if let Some((program, rest)) = self.command.split_first() {
            let (program, rest) = (program.clone(), rest.to_vec());
            return Ok(Arc::new(move |h, o| {
                let spawned = ChildProcess::spawn(&program, &rest).map_err(|e| {
                    ClientError::Transport(format!("cannot start the server {program:?}: {e}"))
                });
                Box::pin(async move {
                    let mut child = spawned?;
                    let transport = child.transport.take().ok_or_else(|| {
                        ClientError::Transport("the child has no transport".into())
                    })?;
                    match Client::connect(transport, h, o).await {
                        Ok(client) => Ok((client, Some(child))),
                        Err(e) => {
                            let _ = child.shutdown().await;
                            Err(e)
                        }
                    }
                })
            }));
        }
        let Some(name) = self.server.clone() else {
            bail!(WHICH);
        };
        let path = config.context("--server needs --config (the file that lists the servers)")?;
        let cfg = crate::config::Config::load(path)?;
        let entry = cfg.servers.get(&name).cloned().with_context(|| {
            let known: Vec<&String> = cfg.servers.keys().collect();
            format!(
                "no server {name:?} in {} (it has {known:?})",
                path.display()
            )
        })?;
        Ok(Arc::new(move |h, o| {
            let (entry, name) = (entry.clone(), name.clone());
            Box::pin(async move {
                entry
                    .connect(&name, h, o)
                    .await
                    .map_err(|e| ClientError::Transport(format!("{e:#}")))
            })
        }))
    }
}
