//! What a legacy session (opened by `initialize`) remembers between its requests.

use mcp_proto::logging::LoggingLevel;
use mcp_proto::ClientCapabilities;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// A legacy session: the revision and capabilities agreed, and its mutable state.
pub(crate) struct Session {
    pub version: String,
    pub caps: ClientCapabilities,
    pub state: Arc<SessionState>,
}

/// What a legacy session's requests change: the log level and the subscriptions.
#[derive(Default)]
pub(crate) struct SessionState {
    /// Set by `logging/setLevel`; until then every message is sent.
    pub log_level: Mutex<Option<LoggingLevel>>,
    pub subscriptions: Mutex<BTreeSet<String>>,
}

impl SessionState {
    /// Whether the client wants messages of `level`.
    pub(crate) fn logs(&self, level: LoggingLevel) -> bool {
        let min = *self.log_level.lock().unwrap_or_else(|p| p.into_inner());
        min.is_none_or(|min| level >= min)
    }

    /// Whether the client subscribed to `uri`.
    pub(crate) fn subscribed(&self, uri: &str) -> bool {
        self.subscriptions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(uri)
    }

    /// Subscribes (`on`) or unsubscribes.
    pub(crate) fn subscribe(&self, uri: String, on: bool) {
        let mut subs = self.subscriptions.lock().unwrap_or_else(|p| p.into_inner());
        if on {
            subs.insert(uri);
        } else {
            subs.remove(&uri);
        }
    }
}
