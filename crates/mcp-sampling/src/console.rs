//! `--console [ADDR]`: the web console in this process, next to (or instead of) the
//! terminal reviewer.

use clap::Args;
use mcp_console::Console;
use std::net::SocketAddr;

/// The console flag, for `call`, `host` and `bridge`.
#[derive(Args, Debug, Clone, Default)]
pub struct ConsoleArgs {
    /// Review sampling requests in a web console too, served on ADDR (default 127.0.0.1:0:
    /// a free loopback port); its URL, with the token, goes to stderr. With a terminal,
    /// whichever answers first wins. Without --approve, approval becomes ask.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:0")]
    pub console: Option<SocketAddr>,
}

/// Starts the console when the flag asks for one, and prints its URL on stderr. Keep it
/// while requests may come (dropping it stops the server); give it to
/// [`crate::host::build_with_console`].
pub async fn start(args: &ConsoleArgs) -> anyhow::Result<Option<Console>> {
    let Some(addr) = args.console else {
        return Ok(None);
    };
    let console = Console::bind(addr).await?;
    if !console.addr().ip().is_loopback() {
        eprintln!(
            "warning: the console listens on {} (not loopback): anyone who can reach it and has the token can approve",
            console.addr()
        );
    }
    eprintln!("console: {}", console.url());
    Ok(Some(console))
}
