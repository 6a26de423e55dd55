//! The web console of a host or bridge: `--console [ADDR]` serves one in this process, next
//! to (or instead of) the terminal reviewer; else the user's standalone console
//! (`mcp-sampling console`, see `console_cmd`) is used when its discovery file names one
//! that answers.

use clap::Args;
use mcp_console::{Console, FormAsker, RemoteReviewer};
use mcp_host::approval::Reviewer;
use std::net::SocketAddr;
use std::sync::Arc;

/// The console flag, for `call`, `host` and `bridge`.
#[derive(Args, Debug, Clone, Default)]
pub struct ConsoleArgs {
    /// Review sampling requests in a web console too, served on ADDR (default 127.0.0.1:0:
    /// a free loopback port); its URL, with the token, goes to stderr. With a terminal,
    /// whichever answers first wins. Without --approve, approval becomes ask. Without this
    /// flag, a console started with `mcp-sampling console` is used when it runs.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:0")]
    pub console: Option<SocketAddr>,
}

/// Where this process's questions can go on the web.
pub enum Web {
    /// A console served by this process.
    Local(Console),
    /// The user's standalone console (`mcp-sampling console`).
    Remote(RemoteReviewer),
}

impl Web {
    /// The reviewer that asks there.
    pub fn reviewer(&self) -> Arc<dyn Reviewer> {
        match self {
            Web::Local(c) => c.reviewer(),
            Web::Remote(r) => Arc::new(r.clone()),
        }
    }

    /// The form asker that asks there (servers' elicitation forms).
    pub fn forms(&self) -> Arc<dyn FormAsker> {
        match self {
            Web::Local(c) => c.forms(),
            Web::Remote(r) => Arc::new(r.clone()),
        }
    }

    /// Stops a console of this process (its pages get what was queued for them).
    pub async fn shutdown(self) {
        if let Web::Local(c) = self {
            c.shutdown().await;
        }
    }
}

/// The web reviewer: a console of this process when the flag asks for one (its URL goes to
/// stderr), else the standalone console of the discovery file when it answers, else none.
/// Keep it while requests may come; give it to [`crate::host::build_with_console`].
pub async fn start(args: &ConsoleArgs) -> anyhow::Result<Option<Web>> {
    let Some(addr) = args.console else {
        return Ok(RemoteReviewer::discover().await.map(Web::Remote));
    };
    let console = Console::bind(addr).await?;
    if !console.addr().ip().is_loopback() {
        eprintln!(
            "warning: the console listens on {} (not loopback): anyone who can reach it and has the token can approve",
            console.addr()
        );
    }
    eprintln!("console: {}", console.url());
    Ok(Some(Web::Local(console)))
}
