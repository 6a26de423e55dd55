//! A local web console for the MCP sampling host: a person approves, edits or rejects
//! servers' sampling requests (and then the model's replies) live in a browser, and reads
//! the audit log with a chart of tokens and cost per server per day.
//!
//! ```no_run
//! # async fn run() -> Result<(), mcp_console::ConsoleError> {
//! let console = mcp_console::Console::bind("127.0.0.1:0".parse().unwrap()).await?;
//! eprintln!("console: {}", console.url());
//! let reviewer = console.reviewer(); // give it to mcp_host::approval::Approval
//! # let _ = reviewer; Ok(()) }
//! ```
//!
//! Safety: it listens where it is told (loopback unless told otherwise); every request
//! needs the console's random 128-bit token (in the page's URL, or the
//! [`TOKEN_HEADER`] header); a `Host` that is not the console's and an `Origin` of another
//! site are refused (403); nothing changes on GET: answers are POSTed JSON.

mod forms;
mod http;
mod hub;
mod remote;
mod reviewer;
pub mod testing;

pub use forms::{form_view, FormAnswer, FormAsker};
pub use http::TOKEN_HEADER;
pub use remote::{Discovery, RemoteError, RemoteReviewer};
pub use reviewer::ConsoleReviewer;

use hub::Hub;
use mcp_host::approval::Reviewer;
use mcp_host::audit::AuditLog;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Why the console could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// The address could not be listened on.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// No randomness for the token.
    #[error("no randomness for the console's token: {0}")]
    Random(String),
}

/// A running console. Dropping it (or [`Console::shutdown`]) stops the server; questions
/// still waiting are then rejected.
pub struct Console {
    shared: Arc<http::Shared>,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Console {
    /// Listens on `addr` (port 0 picks one) and serves the console in the background.
    pub async fn bind(addr: SocketAddr) -> Result<Console, ConsoleError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| ConsoleError::Random(e.to_string()))?;
        let token = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ConsoleError::Bind { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| ConsoleError::Bind { addr, source })?;
        let (closing, mut closed) = tokio::sync::watch::channel(false);
        let shared = Arc::new(http::Shared {
            hub: Arc::new(Hub::new()),
            token,
            bound,
            audit: RwLock::new(None),
            closing,
        });
        let app = http::router(shared.clone());
        let server = tokio::spawn(async move {
            let stop = async move {
                let _ = closed.wait_for(|c| *c).await;
            };
            // Each request head within 10 s (a slowloris client is cut off); at shutdown the
            // streams end (`closing`) and open connections get 5 s.
            let (head, grace) = (Duration::from_secs(10), Duration::from_secs(5));
            mcp_http::serve_router(listener, app, head, stop, grace).await;
        });
        Ok(Console {
            shared,
            addr: bound,
            server,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The secret every request needs.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// What the discovery file of a standalone console holds about this one.
    pub fn discovery(&self) -> Discovery {
        Discovery {
            addr: self.addr,
            token: self.shared.token.clone(),
            url: self.url(),
            pid: std::process::id(),
        }
    }

    /// The page's URL, with the token: what a person opens.
    pub fn url(&self) -> String {
        let mut shown = self.addr;
        if shown.ip().is_unspecified() {
            shown.set_ip(Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{shown}/?token={}", self.shared.token)
    }

    /// The reviewer that asks on the page (an [`Arc`] of a [`ConsoleReviewer`]).
    pub fn reviewer(&self) -> Arc<dyn Reviewer> {
        Arc::new(ConsoleReviewer {
            hub: self.shared.hub.clone(),
        })
    }

    /// The form asker that asks on the page (servers' elicitation forms).
    pub fn forms(&self) -> Arc<dyn FormAsker> {
        Arc::new(ConsoleReviewer {
            hub: self.shared.hub.clone(),
        })
    }

    /// Shows this audit log on the audit page (the pipeline's own, or the same file opened
    /// again).
    pub fn show_audit(&self, log: Arc<AuditLog>) {
        *self.shared.audit.write().unwrap_or_else(|p| p.into_inner()) = Some(log);
    }

    /// Stops serving: the questions still waiting are rejected, the open pages get what was
    /// queued for them (a question answered elsewhere at the last moment) and their streams
    /// end; waits for that (a few seconds at most).
    pub async fn shutdown(mut self) {
        self.shared.hub.close_all();
        self.shared.closing.send_replace(true);
        let server = &mut self.server;
        let _ = tokio::time::timeout(std::time::Duration::from_secs(3), server).await;
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.server.abort();
        self.shared.hub.close_all();
    }
}
