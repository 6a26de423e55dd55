//! The host configuration file: parsed by [`mcp_host::config`]; here, starting or opening
//! the servers it lists.

use anyhow::Context;
use mcp_host::config::expand;
pub use mcp_host::config::{Config, ServerEntry};

/// Starting or opening the server of a config entry.
pub(crate) trait Connect {
    /// Starts the server as a child process named `name`.
    fn spawn(&self, name: &str) -> anyhow::Result<mcp_rpc::ChildProcess>;

    /// Connects to the server: starts its command, or opens its URL. The child, if any,
    /// is for the caller to shut down after closing the client.
    fn connect(
        &self,
        name: &str,
        handler: std::sync::Arc<dyn mcp_host::SamplingHandler>,
        opts: mcp_client::ClientOptions,
    ) -> impl std::future::Future<
        Output = anyhow::Result<(mcp_client::Client, Option<mcp_rpc::ChildProcess>)>,
    > + Send;
}

impl Connect for ServerEntry {
    /// Starts the server as a child process named `name`.
    fn spawn(&self, name: &str) -> anyhow::Result<mcp_rpc::ChildProcess> {
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
    async fn connect(
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
                // Without an Authorization header of the user's, OAuth as the server asks.
                let has_auth = headers
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case("authorization"));
                let auth = match has_auth {
                    true => None,
                    false => Some(crate::auth::authorizer(url)? as _),
                };
                let http = mcp_client::HttpOptions {
                    headers,
                    auth,
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
