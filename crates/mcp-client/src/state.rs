//! [`ClientState`]: what the client knows about its connection, shared between the
//! [`crate::Client`] and the handler of the server's requests (`incoming`, `inputs`).

use crate::elicitation::ElicitationHandler;
use crate::roots::Roots;
use mcp_proto::handler::{SamplingHandler, ToolCall};
use mcp_proto::{ClientCapabilities, Era};
use std::sync::{Arc, Mutex};

/// What the client knows about the connection, shared with its incoming-request handler.
pub(crate) struct ClientState {
    pub era: Mutex<Option<(Era, String)>>,
    pub server_name: Mutex<Arc<str>>,
    /// What the server calls itself, when that is not `server_name`.
    pub claims: Mutex<Option<Arc<str>>>,
    pub caps: ClientCapabilities,
    pub handler: Arc<dyn SamplingHandler>,
    pub elicitation: Option<Arc<dyn ElicitationHandler>>,
    pub roots: Option<Roots>,
    /// The legacy tool calls in flight, numbered.
    pub calls: Mutex<Vec<(u64, ToolCall)>>,
    /// Where the server's notifications go too.
    pub notifications: Option<crate::options::NotificationSink>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ClientState {
    pub(crate) fn era(&self) -> Option<(Era, String)> {
        lock(&self.era).clone()
    }
    pub(crate) fn set_era(&self, era: Era, version: &str) {
        *lock(&self.era) = Some((era, version.to_owned()));
    }
    pub(crate) fn server_name(&self) -> Arc<str> {
        lock(&self.server_name).clone()
    }
    pub(crate) fn set_server_name(&self, name: &str) {
        *lock(&self.server_name) = name.into();
    }
    pub(crate) fn claims(&self) -> Option<Arc<str>> {
        lock(&self.claims).clone()
    }
    /// Notes the name the server gave itself (kept only when it differs from the configured one).
    pub(crate) fn set_claims(&self, claimed: &str) {
        let differs = *lock(&self.server_name).as_ref() != *claimed;
        *lock(&self.claims) = differs.then(|| claimed.into());
    }
    /// The tool call in flight, when there is exactly one (legacy requests name none).
    pub(crate) fn only_call(&self) -> Option<ToolCall> {
        let calls = lock(&self.calls);
        (calls.len() == 1).then(|| calls[0].1.clone())
    }
    /// Notes a legacy tool call in flight (until [`ClientState::end_call`]).
    pub(crate) fn start_call(&self, n: u64, call: ToolCall) {
        lock(&self.calls).push((n, call));
    }
    pub(crate) fn end_call(&self, n: u64) {
        lock(&self.calls).retain(|(m, _)| *m != n);
    }
}
