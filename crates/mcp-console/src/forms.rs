//! Servers' forms (elicitation, form mode) filled in on the page.

use crate::hub::{Answer, Kind};
use crate::remote::RemoteReviewer;
use crate::reviewer::ConsoleReviewer;
use mcp_proto::elicitation::ElicitRequestParams;
use mcp_proto::{BoxFuture, Era, ToolCall};
use serde_json::{json, Map, Value};

/// A person's answer to a form.
#[derive(Debug, Clone, PartialEq)]
pub enum FormAnswer {
    /// Sent with these values (not yet checked against the schema).
    Accept(Map<String, Value>),
    /// Refused.
    Decline,
    /// Dismissed.
    Cancel,
}

/// Asks a person to fill in forms: on this process's console, or on a remote one.
pub trait FormAsker: Send + Sync + 'static {
    /// Shows the form ([`form_view`]) and waits; `None` when nobody can answer (the console
    /// closed or cannot be reached).
    fn ask_form(&self, view: Value) -> BoxFuture<Option<FormAnswer>>;
}

/// What the page shows of a form: who asks, for which tool call, the message, the schema,
/// and what was wrong with the last answer.
pub fn form_view(
    server: &str,
    era: Era,
    protocol_version: &str,
    tool_call: Option<&ToolCall>,
    params: &ElicitRequestParams,
    error: Option<&str>,
) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    json!({
        "server": mcp_host::inspect::reveal(server),
        "era": era.to_string(),
        "protocolVersion": protocol_version,
        "toolCall": tool_call.map(|t| json!({"name": t.name, "arguments": t.arguments, "depth": t.depth})),
        "atMs": now,
        "message": mcp_host::inspect::reveal(&params.message),
        "requestedSchema": params.requested_schema,
        "error": error,
    })
}

fn form_answer(a: Option<Answer>) -> Option<FormAnswer> {
    match a? {
        Answer::Accept { content } => Some(FormAnswer::Accept(content)),
        Answer::Decline => Some(FormAnswer::Decline),
        Answer::Cancel => Some(FormAnswer::Cancel),
        _ => None,
    }
}

impl FormAsker for ConsoleReviewer {
    fn ask_form(&self, view: Value) -> BoxFuture<Option<FormAnswer>> {
        let (ticket, rx) = self.hub.ask(Kind::Form, view);
        Box::pin(async move {
            let answer = rx.await.ok();
            drop(ticket);
            form_answer(answer)
        })
    }
}

impl FormAsker for RemoteReviewer {
    fn ask_form(&self, view: Value) -> BoxFuture<Option<FormAnswer>> {
        let asked = self.ask("form", view, Default::default());
        Box::pin(async move { form_answer(asked.await) })
    }
}
