//! [`ClientOptions`] and [`EraChoice`]: how a [`crate::Client`] connects.

use crate::elicitation::ElicitationHandler;
use crate::roots::Roots;
use mcp_proto::{ClientCapabilities, Implementation};
use mcp_rpc::Config;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// Which era to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EraChoice {
    /// Probe with `server/discover` and fall back to `initialize` (the stdio spec's rule).
    #[default]
    Auto,
    /// `initialize` handshake.
    Legacy,
    /// Per-request `_meta`; no probe.
    Modern,
}

/// Client settings.
#[derive(Clone)]
pub struct ClientOptions {
    /// Era choice (default `Auto`).
    pub era: EraChoice,
    /// Our identity.
    pub info: Implementation,
    /// Our capabilities (default: sampling with tools).
    pub capabilities: ClientCapabilities,
    /// How long the `server/discover` probe waits before assuming a legacy server (5 s).
    pub probe_timeout: Duration,
    /// Modern: most `input_required` rounds per call (default 100: a tool call that samples
    /// one request at a time needs a round per request).
    pub max_rounds: u32,
    /// Modern: most input requests in one `input_required` round (default 256); a round with
    /// more is a protocol error, answered by none (their answers run at once: a server asking
    /// for thousands would have as many running).
    pub max_input_requests: usize,
    /// How long a tool call may take (default 10 minutes: sampling may wait for a person),
    /// a task it became included.
    pub call_timeout: Duration,
    /// Modern: declare the tasks extension (`io.modelcontextprotocol/tasks`) on every
    /// request (default true): a server may then answer a tool call with a task, which
    /// the client follows to its result (polling `tasks/get`, answering its input requests
    /// with `tasks/update`; dropping the call cancels the task).
    pub tasks: bool,
    /// Tasks: the polling interval when the server suggests none (default 500 ms); the
    /// server's `pollIntervalMs` is kept within [`ClientOptions::task_poll_bounds`].
    pub task_poll_interval: Duration,
    /// Tasks: the shortest and longest wait between two polls (default 20 ms and 30 s),
    /// whatever the server suggests.
    pub task_poll_bounds: (Duration, Duration),
    /// The engine's limits.
    pub rpc: Config,
    /// Answers form-mode elicitation; `elicitation` is declared only when set.
    pub elicitation: Option<Arc<dyn ElicitationHandler>>,
    /// The roots offered to servers; `roots` (with `listChanged`) is declared only when set.
    pub roots: Option<Roots>,
    /// The server's configured name (a config entry, `--name`): sampling requests name the
    /// server by it, whatever it calls itself. Default: the name it reports.
    pub name: Option<String>,
    /// Gets the server's notifications (log messages, `list_changed`, resource updates,
    /// progress that is not for a request made with [`crate::Client::forward`]), after the
    /// client's own handling.
    pub notifications: Option<NotificationSink>,
}

/// Where a client hands the server's notifications: method and params.
pub type NotificationSink = Arc<dyn Fn(&str, Option<Value>) + Send + Sync>;

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            era: EraChoice::Auto,
            info: Implementation::new("mcp-sampling", env!("CARGO_PKG_VERSION")),
            capabilities: ClientCapabilities::sampling(true),
            probe_timeout: Duration::from_secs(5),
            max_rounds: 100,
            max_input_requests: 256,
            call_timeout: Duration::from_secs(600),
            tasks: true,
            task_poll_interval: Duration::from_millis(500),
            task_poll_bounds: (Duration::from_millis(20), Duration::from_secs(30)),
            rpc: Config::default(),
            elicitation: None,
            roots: None,
            name: None,
            notifications: None,
        }
    }
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("era", &self.era)
            .field("info", &self.info)
            .field("capabilities", &self.capabilities)
            .field("max_input_requests", &self.max_input_requests)
            .field("call_timeout", &self.call_timeout)
            .field("tasks", &self.tasks)
            .field("elicitation", &self.elicitation.is_some())
            .field("roots", &self.roots)
            .field("name", &self.name)
            .field("notifications", &self.notifications.is_some())
            .finish_non_exhaustive()
    }
}

impl ClientOptions {
    /// The capabilities we declare: the configured ones, with `elicitation` and `roots`
    /// present exactly when a handler for them is set.
    pub(crate) fn advertised(&self) -> ClientCapabilities {
        let mut caps = self.capabilities.clone();
        caps.elicitation = None;
        caps.roots = None;
        if self.elicitation.is_some() {
            caps = caps.with_elicitation();
        }
        if self.roots.is_some() {
            caps = caps.with_roots(true);
        }
        caps
    }
}
