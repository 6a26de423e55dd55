//! Tools: a handler is an async function whose parameters are extractors ([`Args`] for the
//! typed arguments, [`State`] for shared state, [`Ctx`] for sampling and the rest), in any
//! order, any of them left out; it returns a result ([`IntoToolResult`]) or a [`ToolError`].
//!
//! ```
//! # use mcp_server::{Args, Ctx, State, ToolError};
//! # #[derive(serde::Deserialize, schemars::JsonSchema)] struct Query { q: String }
//! # #[derive(Clone)] struct Db;
//! async fn plain(Args(q): Args<Query>) -> Result<String, ToolError> { Ok(q.q) }
//! async fn with_state(Args(q): Args<Query>, State(db): State<Db>, ctx: Ctx) -> Result<String, ToolError> {
//!     Ok(q.q)
//! }
//! ```

use crate::ctx::Ctx;
use crate::error::ToolError;
use mcp_proto::tools::{CallToolResult, Tool};
use mcp_proto::{BoxFuture, Content};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

/// A tool's arguments, parsed from `arguments` (the input schema comes from `T`).
#[derive(Debug, Clone)]
pub struct Args<T>(pub T);

/// Shared state given to the server with `ServerBuilder::state` (a clone of it per call:
/// put an `Arc` or a pool in it).
#[derive(Debug, Clone)]
pub struct State<S>(pub S);

/// A structured result: sent as `structuredContent` and as its JSON text.
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

/// Turns what a handler returns into a `CallToolResult`.
pub trait IntoToolResult {
    /// The conversion.
    fn into_tool_result(self) -> CallToolResult;
    /// The tool's `outputSchema`, when the result is typed (see [`Json`]).
    fn output_schema() -> Option<Value> {
        None
    }
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

/// The `outputSchema` of `T`'s results: `T`'s schema when it is an object's, else the
/// `{"result": ...}` wrapper [`Json`] sends; none for a value of any shape
/// (`serde_json::Value`).
pub fn output_schema_of<T: JsonSchema>() -> Option<Value> {
    let mut v = serde_json::to_value(schemars::schema_for!(T)).ok()?;
    let obj = v.as_object_mut()?;
    obj.remove("$schema");
    if obj.get("type").and_then(Value::as_str) == Some("object") {
        return Some(v);
    }
    let defs = obj.remove("$defs");
    obj.remove("title");
    if obj.is_empty() {
        return None;
    }
    let mut wrapper = serde_json::json!({
        "type": "object",
        "properties": {"result": v},
        "required": ["result"],
    });
    if let (Some(defs), Some(w)) = (defs, wrapper.as_object_mut()) {
        w.insert("$defs".into(), defs);
    }
    Some(wrapper)
}

/// Sent as `structuredContent` (an object; anything else under `result`) and as its JSON
/// text; the tool's `outputSchema` comes from `T` ([`output_schema_of`]).
impl<T: Serialize + JsonSchema> IntoToolResult for Json<T> {
    fn output_schema() -> Option<Value> {
        output_schema_of::<T>()
    }

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

/// The states given to a server, by type.
#[derive(Default, Clone)]
pub(crate) struct States(HashMap<TypeId, Arc<dyn Any + Send + Sync>>);

impl States {
    pub(crate) fn insert<S: Clone + Send + Sync + 'static>(&mut self, s: S) {
        self.0.insert(TypeId::of::<S>(), Arc::new(s));
    }

    pub(crate) fn contains(&self, t: TypeId) -> bool {
        self.0.contains_key(&t)
    }

    fn get<S: Clone + 'static>(&self) -> Option<S> {
        self.0.get(&TypeId::of::<S>())?.downcast_ref::<S>().cloned()
    }
}

/// What a tool call's extractors read from: the context, the arguments, the states.
pub struct CallParts {
    ctx: Ctx,
    args: Option<Map<String, Value>>,
    states: Arc<States>,
}

impl CallParts {
    pub(crate) fn new(ctx: Ctx, args: Map<String, Value>, states: Arc<States>) -> CallParts {
        CallParts {
            ctx,
            args: Some(args),
            states,
        }
    }

    /// The request's context.
    pub fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    /// The call's arguments (the first extractor that takes them gets them; `{}` after).
    pub fn take_arguments(&mut self) -> Map<String, Value> {
        self.args.take().unwrap_or_default()
    }

    /// A clone of the state of type `S`, if the server has one.
    pub fn state<S: Clone + 'static>(&self) -> Option<S> {
        self.states.get::<S>()
    }
}

/// A type a tool handler can take as a parameter.
pub trait FromCall: Sized + Send + 'static {
    /// Extracts it; an error ends the call before the handler runs.
    fn from_call(parts: &mut CallParts) -> Result<Self, ToolError>;
    /// The tool's input schema, for the extractor that reads the arguments.
    fn input_schema() -> Option<Value> {
        None
    }
    /// The state type this extractor needs (checked when the server is built).
    fn needs_state() -> Option<(TypeId, &'static str)> {
        None
    }
}

impl<T: DeserializeOwned + JsonSchema + Send + 'static> FromCall for Args<T> {
    fn from_call(parts: &mut CallParts) -> Result<Self, ToolError> {
        serde_json::from_value(Value::Object(parts.take_arguments()))
            .map(Args)
            .map_err(|e| ToolError::Failed(format!("invalid arguments: {e}")))
    }
    fn input_schema() -> Option<Value> {
        Some(input_schema::<T>())
    }
}

impl<S: Clone + Send + Sync + 'static> FromCall for State<S> {
    fn from_call(parts: &mut CallParts) -> Result<Self, ToolError> {
        parts.state::<S>().map(State).ok_or_else(|| {
            let e = format!("no state of type {}", std::any::type_name::<S>());
            ToolError::Protocol(mcp_proto::ErrorObject::internal(e))
        })
    }
    fn needs_state() -> Option<(TypeId, &'static str)> {
        Some((TypeId::of::<S>(), std::any::type_name::<S>()))
    }
}

impl FromCall for Ctx {
    fn from_call(parts: &mut CallParts) -> Result<Self, ToolError> {
        Ok(parts.ctx.clone())
    }
}

/// An async function usable as a tool: its parameters are [`FromCall`] extractors (at most
/// four), it returns `Result<impl IntoToolResult, ToolError>`. `M` tells the impls apart.
#[diagnostic::on_unimplemented(
    message = "this function cannot be a tool handler",
    note = "a tool handler is an async fn whose parameters are extractors (Args<T>, State<S>, Ctx; at most four) and which returns Result<R, ToolError> where R: IntoToolResult"
)]
pub trait ToolHandler<M>: Send + Sync + 'static {
    /// Runs the handler for one call.
    fn call(&self, parts: CallParts) -> BoxFuture<Result<CallToolResult, ToolError>>;
    /// The input schema (from its `Args<T>`; an open object without one).
    fn input_schema() -> Value;
    /// The output schema (from a [`Json<T>`] result; none for other results).
    fn output_schema() -> Option<Value>;
    /// The state types it needs.
    fn states() -> Vec<(TypeId, &'static str)>;
}

macro_rules! tool_handler {
    ($($a:ident),*) => {
        impl<F, Fut, R, $($a,)*> ToolHandler<($($a,)*)> for F
        where
            F: Fn($($a),*) -> Fut + Send + Sync + 'static,
            Fut: Future<Output = Result<R, ToolError>> + Send + 'static,
            R: IntoToolResult,
            $($a: FromCall,)*
        {
            #[allow(non_snake_case, unused_mut, unused_variables)]
            fn call(&self, mut parts: CallParts) -> BoxFuture<Result<CallToolResult, ToolError>> {
                $(
                    let $a = match $a::from_call(&mut parts) {
                        Ok(v) => v,
                        Err(e) => return Box::pin(std::future::ready(Err(e))),
                    };
                )*
                let fut = self($($a),*);
                Box::pin(async move { fut.await.map(IntoToolResult::into_tool_result) })
            }
            fn input_schema() -> Value {
                let schema: Option<Value> = None;
                $(let schema = schema.or_else($a::input_schema);)*
                schema.unwrap_or_else(|| serde_json::json!({"type": "object"}))
            }
            fn output_schema() -> Option<Value> {
                R::output_schema()
            }
            fn states() -> Vec<(TypeId, &'static str)> {
                let needs: Vec<Option<(TypeId, &'static str)>> = vec![$($a::needs_state(),)*];
                needs.into_iter().flatten().collect()
            }
        }
    };
}

tool_handler!();
tool_handler!(A1);
tool_handler!(A1, A2);
tool_handler!(A1, A2, A3);
tool_handler!(A1, A2, A3, A4);

pub(crate) type ErasedTool =
    dyn Fn(CallParts) -> BoxFuture<Result<CallToolResult, ToolError>> + Send + Sync;

/// When a tool that runs as a task (the tasks extension) becomes one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TaskStart {
    /// As soon as it is called: the call is answered with the task handle, and every input
    /// request of the handler waits in the task.
    #[default]
    AtCall,
    /// When the handler calls [`Ctx::run_as_task`]: input asked before goes through the
    /// call's own `input_required` rounds; if it never calls it, the call ends as usual.
    WhenHandlerAsks,
}

/// A registered tool: its definition, its handler, the states it needs, and whether it
/// runs as a task.
#[derive(Clone)]
pub(crate) struct ToolEntry {
    pub def: Tool,
    pub call: Arc<ErasedTool>,
    pub states: Vec<(TypeId, &'static str)>,
    pub task: mcp_proto::tasks::TaskSupport,
    pub task_start: TaskStart,
}

impl ToolEntry {
    /// Erases a handler.
    pub(crate) fn new<M, H: ToolHandler<M>>(def: Tool, h: H) -> Self {
        let h = Arc::new(h);
        let call: Arc<ErasedTool> = Arc::new(move |parts| h.call(parts));
        ToolEntry {
            def,
            call,
            states: H::states(),
            task: Default::default(),
            task_start: TaskStart::default(),
        }
    }
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
