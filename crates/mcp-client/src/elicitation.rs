//! The interface a host implements to answer form-mode elicitation, on both eras, and what
//! the client does around it: URL mode refused, the reply completed with the schema's
//! defaults and checked against it before it is sent.

use mcp_proto::elicitation::{ElicitAction, ElicitRequestParams, ElicitResult, ParamsError};
use mcp_proto::handler::ToolCall;
use mcp_proto::jsonrpc::{INTERNAL_ERROR, INVALID_PARAMS};
use mcp_proto::{Era, ErrorObject};
use mcp_rpc::BoxFuture;
use serde_json::{Map, Value};
use std::sync::Arc;

/// An elicitation as the host sees it: the params and where they come from.
#[derive(Debug, Clone)]
pub struct ElicitationRequest {
    /// The request (form mode; the schema already checked).
    pub params: ElicitRequestParams,
    /// The server's name (from its `initialize` or `server/discover` answer).
    pub server: Arc<str>,
    /// The era of the connection.
    pub era: Era,
    /// The protocol revision spoken.
    pub protocol_version: String,
    /// The tool call this request serves: exact on modern; on legacy, known when only one
    /// tool call is in flight on the connection.
    pub tool_call: Option<ToolCall>,
}

/// Why the host did not answer an elicitation (declining is an answer, not an error).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ElicitationError {
    /// The request is malformed, in URL mode, or its schema is outside the spec's subset
    /// (`-32602`).
    #[error("invalid elicitation request: {0}")]
    Invalid(String),
    /// The handler failed, or its reply does not match the schema (`-32603`).
    #[error("elicitation failed: {0}")]
    Failed(String),
}

impl ElicitationError {
    /// The JSON-RPC error a legacy server receives.
    pub fn to_error_object(&self) -> ErrorObject {
        match self {
            ElicitationError::Invalid(why) => ErrorObject::new(INVALID_PARAMS, why.clone()),
            ElicitationError::Failed(why) => ErrorObject::new(INTERNAL_ERROR, self.to_string())
                .with_data(serde_json::json!({"reason": why})),
        }
    }
}

/// Answers elicitation requests (form mode). One implementation serves both eras. The
/// client fills in the schema's defaults and checks the content before sending it.
pub trait ElicitationHandler: Send + Sync + 'static {
    /// Asks the user (or decides without them).
    fn elicit(&self, req: ElicitationRequest) -> BoxFuture<Result<ElicitResult, ElicitationError>>;
}

impl std::fmt::Debug for dyn ElicitationHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ElicitationHandler(..)")
    }
}

impl<F> ElicitationHandler for F
where
    F: Fn(ElicitationRequest) -> BoxFuture<Result<ElicitResult, ElicitationError>>
        + Send
        + Sync
        + 'static,
{
    fn elicit(&self, req: ElicitationRequest) -> BoxFuture<Result<ElicitResult, ElicitationError>> {
        self(req)
    }
}

/// A handler that answers without asking anyone: decline, cancel, or accept with fixed
/// values (the defaults fill the rest). For scripts and tests.
#[derive(Debug, Clone, PartialEq)]
pub enum AutoElicit {
    /// Declines every request.
    Decline,
    /// Cancels every request.
    Cancel,
    /// Accepts with these values (those the schema does not have are left out).
    Accept(Map<String, Value>),
}

impl ElicitationHandler for AutoElicit {
    fn elicit(&self, req: ElicitationRequest) -> BoxFuture<Result<ElicitResult, ElicitationError>> {
        let r = match self {
            AutoElicit::Decline => ElicitResult::decline(),
            AutoElicit::Cancel => ElicitResult::cancel(),
            AutoElicit::Accept(values) => {
                let props = &req.params.requested_schema.properties;
                let content = values
                    .iter()
                    .filter(|(k, _)| props.contains_key(*k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                ElicitResult::accept(content)
            }
        };
        Box::pin(std::future::ready(Ok(r)))
    }
}

/// Where a request comes from, for [`answer`].
pub(crate) struct Origin {
    pub server: Arc<str>,
    pub era: Era,
    pub protocol_version: String,
    pub tool_call: Option<ToolCall>,
}

/// Answers one `elicitation/create`: the params read (URL mode refused), the handler asked,
/// and an accepted reply completed with defaults and checked against the schema.
pub(crate) async fn answer(
    handler: &dyn ElicitationHandler,
    params: Option<Value>,
    origin: Origin,
) -> Result<ElicitResult, ElicitationError> {
    // URL mode is refused here, with its own message (ParamsError::UrlMode).
    let params = ElicitRequestParams::parse(params)
        .map_err(|e: ParamsError| ElicitationError::Invalid(e.to_string()))?;
    let schema = params.requested_schema.clone();
    let req = ElicitationRequest {
        params,
        server: origin.server,
        era: origin.era,
        protocol_version: origin.protocol_version,
        tool_call: origin.tool_call,
    };
    let mut reply = handler.elicit(req).await?;
    match reply.action {
        ElicitAction::Accept => {
            let content = reply.content.get_or_insert_with(Map::new);
            schema.apply_defaults(content);
            schema
                .validate(content)
                .map_err(|e| ElicitationError::Failed(format!("refused to send the reply: {e}")))?;
        }
        ElicitAction::Decline | ElicitAction::Cancel => reply.content = None,
    }
    Ok(reply)
}
