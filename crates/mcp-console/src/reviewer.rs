//! [`ConsoleReviewer`]: the approval stage's [`Reviewer`] that asks on the page.

use crate::hub::{Answer, Hub, Kind};
use mcp_host::approval::{ReplyDecision, RequestDecision, Reviewer, Withdrawal};
use mcp_host::inspect::{self, reveal};
use mcp_proto::handler::SamplingRequest;
use mcp_proto::sampling::{CreateMessageParams, CreateMessageResult, Role};
use mcp_proto::{BoxFuture, Content, OneOrMany};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Asks the person at the console's page. Questions nobody answers wait (until the request
/// is cancelled); when the console closes they are rejected.
pub struct ConsoleReviewer {
    pub(crate) hub: Arc<Hub>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// What the page shows about where a request comes from.
fn origin(req: &SamplingRequest) -> Value {
    json!({
        "server": reveal(&req.server),
        "claims": req.claims.as_deref().map(reveal),
        "warnings": inspect::warnings(req),
        "era": req.era.to_string(),
        "protocolVersion": req.protocol_version,
        "toolCall": req.tool_call.as_ref().map(|t| {
            let mut call = json!({"name": t.name, "arguments": t.arguments, "depth": t.depth});
            inspect::reveal_all(&mut call);
            call
        }),
        "atMs": now_ms(),
    })
}

fn with(mut base: Value, more: Value) -> Value {
    if let (Value::Object(b), Value::Object(m)) = (&mut base, more) {
        b.extend(m);
    }
    base
}

/// The request with the last user message's text (and the system prompt when given)
/// replaced.
pub(crate) fn edited(
    p: &CreateMessageParams,
    text: String,
    system: Option<String>,
) -> CreateMessageParams {
    let mut p = p.clone();
    if let Some(m) = p.messages.iter_mut().rev().find(|m| m.role == Role::User) {
        m.content = OneOrMany::One(Content::text(text));
    }
    if let Some(s) = system {
        p.system_prompt = (!s.trim().is_empty()).then_some(s);
    }
    p
}

fn reason(r: Option<String>, what: &str) -> String {
    match r.map(|s| s.trim().to_owned()) {
        Some(s) if !s.is_empty() => s,
        _ => format!("the user rejected the {what} in the console"),
    }
}

/// The page's view of a request, with the model the router picked. Hidden characters are
/// revealed in every string ([`inspect::shown`]), so an edit starts from what was shown.
pub(crate) fn request_view(req: &SamplingRequest, model: &str) -> Value {
    with(
        origin(req),
        json!({"params": inspect::shown(&req.params), "model": model}),
    )
}

/// The page's view of a reply, hidden characters revealed.
pub(crate) fn reply_view(req: &SamplingRequest, reply: &CreateMessageResult) -> Value {
    let mut reply = serde_json::to_value(reply).unwrap_or(Value::Null);
    inspect::reveal_all(&mut reply);
    with(origin(req), json!({"reply": reply}))
}

/// The decision an answer to a request makes (`None`: nobody will answer, `closed` says why).
pub(crate) fn request_decision(
    answer: Option<Answer>,
    params: &CreateMessageParams,
    closed: &str,
) -> RequestDecision {
    match answer {
        Some(Answer::Approve) => RequestDecision::Approve(None),
        Some(Answer::Trust) => RequestDecision::TrustServer,
        Some(Answer::Edit { text, system }) => {
            RequestDecision::Approve(Some(Box::new(edited(params, text, system))))
        }
        Some(Answer::Reject { reason: r }) => RequestDecision::Reject(reason(r, "request")),
        Some(_) | None => RequestDecision::Reject(closed.to_owned()),
    }
}

/// The decision an answer to a reply makes.
pub(crate) fn reply_decision(answer: Option<Answer>, closed: &str) -> ReplyDecision {
    match answer {
        Some(Answer::Send) => ReplyDecision::Send,
        Some(Answer::Edit { text, .. }) => ReplyDecision::Edit(text),
        Some(Answer::Reject { reason: r }) => ReplyDecision::Reject(reason(r, "reply")),
        Some(_) | None => ReplyDecision::Reject(closed.to_owned()),
    }
}

const CLOSED: &str = "the console closed before an answer";

impl Reviewer for ConsoleReviewer {
    fn place(&self) -> &'static str {
        "the console"
    }

    fn review_request_in(
        &self,
        req: &SamplingRequest,
        model: &str,
        withdrawal: Withdrawal,
    ) -> BoxFuture<RequestDecision> {
        let (ticket, rx) = self.hub.ask(Kind::Request, request_view(req, model));
        let ticket = ticket.why(move || withdrawal.reason());
        let params = req.params.clone();
        Box::pin(async move {
            let answer = rx.await.ok();
            drop(ticket);
            request_decision(answer, &params, CLOSED)
        })
    }

    fn review_reply_in(
        &self,
        req: &SamplingRequest,
        reply: &CreateMessageResult,
        withdrawal: Withdrawal,
    ) -> BoxFuture<ReplyDecision> {
        let (ticket, rx) = self.hub.ask(Kind::Reply, reply_view(req, reply));
        let ticket = ticket.why(move || withdrawal.reason());
        Box::pin(async move {
            let answer = rx.await.ok();
            drop(ticket);
            reply_decision(answer, CLOSED)
        })
    }
}
