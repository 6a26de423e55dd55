//! The one interface that answers a sampling request, on both eras and on both sides.
//!
//! A host's client answers the sampling requests of the servers it connects to with a
//! [`SamplingHandler`]; a server that has a model of its own answers its own requests with
//! one too (`mcp_server::ServerBuilder::direct_sampler`). A provider of the host SDK
//! becomes a handler with `mcp_host::answer_with`. The trait needs no async runtime: it
//! returns a boxed future.

use crate::jsonrpc::{INTERNAL_ERROR, INVALID_PARAMS, USER_REJECTED};
use crate::sampling::{CreateMessageParams, CreateMessageResult};
use crate::version::Era;
use crate::ErrorObject;
use serde_json::{Map, Value};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, sendable future: what the handler traits of the SDKs return.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The tool call a sampling request serves, when it is known.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// The tool's name.
    pub name: String,
    /// Its arguments.
    pub arguments: Map<String, Value>,
    /// How deep in nested sampling the call was made: 0 for a call a person (or the host's
    /// own chat) started, n + 1 for a call made while answering sampling at depth n.
    pub depth: u32,
}

impl ToolCall {
    /// The call named by `tools/call` (or `prompts/get`) params: `name`, `arguments` (none:
    /// empty), and the depth in `_meta` ([`crate::ext::DEPTH_KEY`]; none: 0).
    pub fn from_params(params: &Value) -> ToolCall {
        ToolCall {
            name: params
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .into(),
            arguments: match params.get("arguments") {
                Some(Value::Object(a)) => a.clone(),
                _ => Map::new(),
            },
            depth: params
                .get("_meta")
                .and_then(|m| m.get(crate::ext::DEPTH_KEY))
                .and_then(Value::as_u64)
                .and_then(|d| u32::try_from(d).ok())
                .unwrap_or(0),
        }
    }
}

/// A sampling request as the host sees it: the params and where they come from.
#[derive(Debug, Clone)]
pub struct SamplingRequest {
    /// The request.
    pub params: CreateMessageParams,
    /// The server's name: the one the host configured for it (a config entry, `--name`, the
    /// command line), else the name the server gave in its `initialize` or `server/discover`
    /// answer. Rules, trust, budgets and the audit key on it.
    pub server: Arc<str>,
    /// The name the server gives itself, when that differs from [`SamplingRequest::server`]
    /// (a reviewer shows both: a server may claim another's name).
    pub claims: Option<Arc<str>>,
    /// The era of the connection.
    pub era: Era,
    /// The protocol revision spoken.
    pub protocol_version: String,
    /// The tool call this request serves: exact on modern; on legacy, known when only one
    /// tool call is in flight on the connection.
    pub tool_call: Option<ToolCall>,
}

/// Why the host did not answer a sampling request with a message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SamplingError {
    /// A person or a policy declined (legacy wire: code `-1`).
    #[error("sampling request rejected: {0}")]
    Rejected(String),
    /// The request is malformed or breaks a rule (`-32602`).
    #[error("invalid sampling request: {0}")]
    Invalid(String),
    /// The model or provider failed (`-32603`).
    #[error("sampling failed: {0}")]
    Failed(String),
}

impl SamplingError {
    /// The JSON-RPC error a legacy server receives.
    pub fn to_error_object(&self) -> ErrorObject {
        match self {
            SamplingError::Rejected(why) => ErrorObject::new(
                USER_REJECTED,
                format!("User rejected sampling request: {why}"),
            ),
            SamplingError::Invalid(why) => ErrorObject::new(INVALID_PARAMS, why.clone()),
            SamplingError::Failed(why) => {
                ErrorObject::new(INTERNAL_ERROR, format!("sampling failed: {why}"))
            }
        }
    }
}

/// Answers sampling requests. One implementation serves both eras.
pub trait SamplingHandler: Send + Sync + 'static {
    /// Produces the model's reply (or refuses).
    fn create_message(
        &self,
        req: SamplingRequest,
    ) -> BoxFuture<Result<CreateMessageResult, SamplingError>>;
}

impl<F> SamplingHandler for F
where
    F: Fn(SamplingRequest) -> BoxFuture<Result<CreateMessageResult, SamplingError>>
        + Send
        + Sync
        + 'static,
{
    fn create_message(
        &self,
        req: SamplingRequest,
    ) -> BoxFuture<Result<CreateMessageResult, SamplingError>> {
        self(req)
    }
}

impl SamplingHandler for Arc<dyn SamplingHandler> {
    fn create_message(
        &self,
        req: SamplingRequest,
    ) -> BoxFuture<Result<CreateMessageResult, SamplingError>> {
        (**self).create_message(req)
    }
}
