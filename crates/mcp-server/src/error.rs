//! What can go wrong: [`ToolError`] (what a handler returns), and the errors of the input
//! requests it makes ([`SampleError`], [`ElicitError`], [`RootsError`]); how each reaches
//! the client.

use mcp_proto::elicitation::SchemaError;
use mcp_proto::lifecycle;
use mcp_proto::sampling::Invalid;
use mcp_proto::tools::CallToolResult;
use mcp_proto::ErrorObject;
use serde_json::json;
use std::time::Duration;

/// Why a tool failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ToolError {
    /// A failure the model should read: sent as a result with `isError: true`.
    #[error("{0}")]
    Failed(String),
    /// Sampling failed. A missing capability becomes `-32021` on the modern era; anything
    /// else a result with `isError: true`.
    #[error(transparent)]
    Sampling(#[from] SampleError),
    /// Elicitation failed (a missing capability becomes `-32021` on the modern era).
    #[error(transparent)]
    Elicitation(#[from] ElicitError),
    /// Listing roots failed (a missing capability becomes `-32021` on the modern era).
    #[error(transparent)]
    Roots(#[from] RootsError),
    /// A protocol error, sent as the JSON-RPC error.
    #[error("{0}")]
    Protocol(ErrorObject),
}

impl ToolError {
    /// A failure with this message.
    pub fn failed(msg: impl Into<String>) -> Self {
        ToolError::Failed(msg.into())
    }
}

/// Why a sampling request did not produce a reply.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SampleError {
    /// The client did not declare the `sampling` capability.
    #[error("this tool needs an LLM, but the client does not support MCP sampling (it did not declare the sampling capability)")]
    NotSupported,
    /// The request breaks a rule of sampling (or needs `sampling.tools` the client lacks).
    #[error("invalid sampling request: {0}")]
    Invalid(#[from] Invalid),
    /// The user (or the client's policy) declined.
    #[error("the client declined the sampling request: {0}")]
    Rejected(String),
    /// The client answered with another error.
    #[error("the client failed the sampling request: {0}")]
    Remote(ErrorObject),
    /// No reply in time.
    #[error("no sampling reply within {0:?}")]
    Timeout(Duration),
    /// The connection closed.
    #[error("the connection closed while waiting for a sampling reply")]
    Closed,
    /// The reply was not a valid `CreateMessageResult`.
    #[error("the client's sampling reply is malformed: {0}")]
    BadReply(String),
    /// The server's own (direct) model failed.
    #[error("the server's direct model failed: {0}")]
    Direct(String),
    /// A limit of this server (samplings per call, rounds).
    #[error("sampling limit reached: {0}")]
    Limit(String),
}

/// Why an elicitation (or a roots request) gave no answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ElicitError {
    /// The client did not declare form-mode elicitation.
    #[error("this tool asks the user for input, but the client does not support MCP elicitation in form mode (it did not declare the elicitation capability)")]
    NotSupported,
    /// The requested schema is outside the spec's primitive subset.
    #[error("invalid elicitation schema: {0}")]
    Schema(#[from] SchemaError),
    /// A Rust type that cannot be a form ([`Ctx::elicit_as`](crate::Ctx::elicit_as)).
    #[error("this type cannot be asked as a form: {0}")]
    Type(String),
    /// The reply was malformed or did not match the requested schema.
    #[error("the client's elicitation reply is invalid: {0}")]
    InvalidReply(String),
    /// The client answered with an error.
    #[error("the client failed the elicitation request: {0}")]
    Remote(ErrorObject),
    /// No reply in time.
    #[error("no elicitation reply within {0:?}")]
    Timeout(Duration),
    /// The connection closed.
    #[error("the connection closed while waiting for the user")]
    Closed,
    /// A limit of this server (input requests per call).
    #[error("input limit reached: {0}")]
    Limit(String),
}

/// Why `roots/list` gave no roots.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RootsError {
    /// The client did not declare `roots`.
    #[error("this tool needs the client's roots, but the client does not support MCP roots (it did not declare the roots capability)")]
    NotSupported,
    /// The reply was malformed (or a root is not a `file://` URI).
    #[error("the client's roots reply is invalid: {0}")]
    InvalidReply(String),
    /// The client answered with an error.
    #[error("the client failed the roots request: {0}")]
    Remote(ErrorObject),
    /// No reply in time, or the connection closed.
    #[error("no roots reply: {0}")]
    Transport(String),
    /// A limit of this server (input requests per call).
    #[error("input limit reached: {0}")]
    Limit(String),
}

/// Maps a handler's outcome to the tool result or the JSON-RPC error: a protocol error is
/// the error; a missing capability on the modern era is `-32021`; anything else is a result
/// with `isError: true` for the model to read.
pub(crate) fn call_outcome(
    outcome: Result<CallToolResult, ToolError>,
    modern: bool,
) -> Result<CallToolResult, ErrorObject> {
    match outcome {
        Ok(r) => Ok(r),
        Err(ToolError::Protocol(e)) => Err(e),
        Err(e) => match missing_capability(&e).filter(|_| modern) {
            Some(err) => Err(err),
            None => Ok(CallToolResult::error(e.to_string())),
        },
    }
}

/// A handler's failure where no tool result can carry it (resources, prompts,
/// completions): the protocol error, or an internal error with the message.
pub(crate) fn as_error(e: ToolError) -> ErrorObject {
    match e {
        ToolError::Protocol(e) => e,
        other => ErrorObject::internal(other.to_string()),
    }
}

/// The `-32021` error for a handler that needs a capability the request did not declare
/// (modern era).
pub(crate) fn missing_capability(e: &ToolError) -> Option<ErrorObject> {
    let (caps, why) = match e {
        ToolError::Sampling(SampleError::NotSupported) => (
            json!({"sampling": {}}),
            "this request samples, so it must declare sampling",
        ),
        ToolError::Elicitation(ElicitError::NotSupported) => (
            json!({"elicitation": {}}),
            "this request asks the user for input, so it must declare elicitation",
        ),
        ToolError::Roots(RootsError::NotSupported) => (
            json!({"roots": {}}),
            "this request reads the client's roots, so it must declare roots",
        ),
        _ => return None,
    };
    Some(lifecycle::missing_capability(caps, why))
}
