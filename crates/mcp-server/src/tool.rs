//! Tools: typed arguments in, a result (or a [`ToolError`]) out.

use crate::ctx::Ctx;
use crate::sampling::SampleError;
use mcp_proto::tools::{CallToolResult, Tool};
use mcp_proto::{Content, ErrorObject};
use mcp_rpc::BoxFuture;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use std::future::Future;
use std::sync::Arc;

/// A tool's arguments, parsed from `arguments` (the input schema comes from `T`).
#[derive(Debug, Clone)]
pub struct Args<T>(pub T);

/// A structured result: sent as `structuredContent` and as its JSON text.
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

/// Turns what a handler returns into a `CallToolResult`.
pub trait IntoToolResult {
    /// The conversion.
    fn into_tool_result(self) -> CallToolResult;
}

impl IntoToolResult for CallToolResult {
    fn into_tool_result(self) -> CallToolResult {
        self
    }
}

impl IntoToolResult for String {
    fn into_tool_result(self) -> CallToolResult {
        CallToolResult::text(self)
    }
}

/// Content blocks of any kind (text, image, audio, embedded resources, links).
impl IntoToolResult for Vec<Content> {
    fn into_tool_result(self) -> CallToolResult {
        CallToolResult {
            content: self,
            ..Default::default()
        }
    }
}

impl IntoToolResult for &'static str {
    fn into_tool_result(self) -> CallToolResult {
        CallToolResult::text(self)
    }
}

impl<T: Serialize> IntoToolResult for Json<T> {
    fn into_tool_result(self) -> CallToolResult {
        match serde_json::to_value(&self.0) {
            Ok(v) => {
                let text = v.to_string();
                // `structuredContent` must be an object (2025-11-25); wrap anything else.
                let structured = match v {
                    Value::Object(_) => v,
                    other => serde_json::json!({ "result": other }),
                };
                CallToolResult {
                    content: vec![Content::text(text)],
                    structured_content: Some(structured),
                    ..Default::default()
                }
            }
            Err(e) => CallToolResult::error(format!("the tool's result could not be encoded: {e}")),
        }
    }
}

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
    Elicitation(#[from] crate::ElicitError),
    /// Listing roots failed (a missing capability becomes `-32021` on the modern era).
    #[error(transparent)]
    Roots(#[from] crate::RootsError),
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

pub(crate) type ErasedTool =
    dyn Fn(Ctx, Map<String, Value>) -> BoxFuture<Result<CallToolResult, ToolError>> + Send + Sync;

/// A registered tool: its definition and its handler.
#[derive(Clone)]
pub(crate) struct ToolEntry {
    pub def: Tool,
    pub call: Arc<ErasedTool>,
}

/// The JSON Schema of `T`, as a tool's `inputSchema` (always an object schema).
pub fn input_schema<T: JsonSchema>() -> Value {
    let mut v =
        serde_json::to_value(schemars::schema_for!(T)).unwrap_or_else(|_| serde_json::json!({}));
    if let Some(obj) = v.as_object_mut() {
        obj.entry("type").or_insert_with(|| Value::from("object"));
    }
    v
}

pub(crate) fn erase<T, F, Fut, R>(f: F) -> Arc<ErasedTool>
where
    T: DeserializeOwned + Send + 'static,
    F: Fn(Args<T>, Ctx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, ToolError>> + Send + 'static,
    R: IntoToolResult,
{
    let f = Arc::new(f);
    Arc::new(move |ctx: Ctx, args: Map<String, Value>| {
        let f = f.clone();
        Box::pin(async move {
            let args: T = serde_json::from_value(Value::Object(args))
                .map_err(|e| ToolError::Failed(format!("invalid arguments: {e}")))?;
            f(Args(args), ctx)
                .await
                .map(IntoToolResult::into_tool_result)
        })
    })
}
