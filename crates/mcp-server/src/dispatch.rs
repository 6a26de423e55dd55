//! The connection handler: decides the era of each request, reads its method once into
//! [`ClientMethod`], and serves it from the server's [`Registry`].
//!
//! A request whose `_meta` carries a protocol version is served statelessly (modern);
//! anything else needs the legacy session that `initialize` opened on this connection.

use crate::completion::Completers;
use crate::config::Env;
use crate::ctx::{Ctx, CtxInner, Era};
use crate::error::{as_error, call_outcome, missing_capability, ToolError};
use crate::modern::{self, Outcome, Retry};
use crate::prompts::Prompts;
use crate::resources::Resources;
use crate::session::{Session, SessionState};
use crate::tool::{CallParts, States, TaskStart, ToolEntry};
use crate::wire::{parse, to_value};
use mcp_proto::lifecycle::{DiscoverResult, InitializeParams, InitializeResult, RequestMeta};
use mcp_proto::logging::{level_from_params, LoggingLevel, SetLevelParams};
use mcp_proto::methods::{
    CallTool, ClientMethod, Empty, GetPrompt, NotificationMethod, Request as _,
};
use mcp_proto::prompts::GetPromptParams;
use mcp_proto::resources::{ReadResourceParams, SubscribeParams};
use mcp_proto::tasks::{TaskIdParams, TaskSupport, UpdateTaskParams};
use mcp_proto::tools::CallToolResult;
use mcp_proto::tools::{CallToolParams, ListToolsResult};
use mcp_proto::version::{self, LEGACY_VERSIONS, MODERN_VERSIONS};
use mcp_proto::{ErrorObject, RequestId, ServerCapabilities};
use mcp_rpc::{BoxFuture, Handler, Peer, Request};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use tracing::Instrument;

/// Everything a server offers, shared by all its connections.
pub(crate) struct Registry {
    pub env: Arc<Env>,
    pub instructions: Option<String>,
    /// Declared on legacy sessions (`initialize`).
    pub capabilities: ServerCapabilities,
    /// Declared on the modern era (`server/discover`): no resource subscriptions there.
    pub modern_capabilities: ServerCapabilities,
    pub tools: BTreeMap<String, ToolEntry>,
    pub resources: Resources,
    pub prompts: Prompts,
    pub completers: Completers,
    /// Legacy `resources/subscribe` is accepted.
    pub subscriptions: bool,
    pub states: Arc<States>,
    /// The tasks made by calls (the tasks extension).
    pub tasks: crate::task::Tasks,
}

/// Serves one connection (its own legacy session, if it opens one).
pub(crate) struct ConnHandler {
    pub server: Arc<Registry>,
    pub session: OnceLock<Session>,
}

/// How the request being served speaks.
enum Speaks {
    Legacy(String, mcp_proto::ClientCapabilities, Arc<SessionState>),
    /// The request's `_meta`, and the log level it asks for.
    Modern(RequestMeta, Option<LoggingLevel>),
}

impl Speaks {
    fn is_modern(&self) -> bool {
        matches!(self, Speaks::Modern(..))
    }
}

fn modern_speaks(params: Option<&Value>) -> Result<Speaks, ErrorObject> {
    let meta = RequestMeta::from_params(params)?;
    Ok(Speaks::Modern(meta, level_from_params(params)?))
}

impl Handler for ConnHandler {
    fn request(&self, req: Request) -> BoxFuture<Result<Value, ErrorObject>> {
        let server = self.server.clone();
        let method = ClientMethod::parse(&req.method);
        let modern = RequestMeta::is_modern(req.params.as_ref());
        // `initialize` opens a legacy session; with modern `_meta` it is a removed method.
        if method == Some(ClientMethod::Initialize) && !modern {
            return Box::pin(std::future::ready(self.initialize(req.params)));
        }
        let speaks = match self.session.get() {
            Some(s) if !modern => Ok(Speaks::Legacy(
                s.version.clone(),
                s.caps.clone(),
                s.state.clone(),
            )),
            _ => modern_speaks(req.params.as_ref()),
        };
        Box::pin(async move {
            let speaks = speaks?;
            let Some(method) = method else {
                return Err(ErrorObject::method_not_found(&req.method));
            };
            let modern = speaks.is_modern();
            let mut result = dispatch(&server, method, req, speaks).await?;
            if modern {
                mark_modern(&server, &mut result, method.cacheable());
            }
            Ok(result)
        })
    }

    fn notification(&self, method: &str, _params: Option<Value>, _peer: &Peer) {
        match NotificationMethod::parse(method) {
            Some(NotificationMethod::Initialized) => tracing::debug!("client initialized"),
            _ => tracing::debug!(method, "ignored notification"),
        }
    }
}

impl ConnHandler {
    fn initialize(&self, params: Option<Value>) -> Result<Value, ErrorObject> {
        let p: InitializeParams = serde_json::from_value(params.unwrap_or(Value::Null))
            .map_err(|e| ErrorObject::invalid_params(format!("invalid initialize params: {e}")))?;
        let version = version::negotiate_legacy(&p.protocol_version);
        let session = Session {
            version: version.into(),
            caps: p.capabilities,
            state: Arc::default(),
        };
        if self.session.set(session).is_err() {
            return Err(ErrorObject::invalid_request(
                "this connection is already initialized",
            ));
        }
        tracing::debug!(client = %p.client_info.name, version, "legacy session opened");
        let s = &self.server;
        to_value(InitializeResult {
            protocol_version: version.into(),
            capabilities: s.capabilities.clone(),
            server_info: s.env.info.clone(),
            instructions: s.instructions.clone(),
        })
    }
}

fn mark_modern(server: &Registry, result: &mut Value, cacheable: bool) {
    // No caching promised: lists may change between releases of a server.
    mcp_proto::mrtr::fill_complete(result, cacheable);
    if let Some(obj) = result.as_object_mut() {
        let meta = obj.entry("_meta").or_insert_with(|| json!({}));
        if let Some(m) = meta.as_object_mut() {
            m.entry(mcp_proto::lifecycle::META_SERVER_INFO)
                .or_insert_with(|| json!(server.env.info));
        }
    }
}

async fn dispatch(
    server: &Arc<Registry>,
    method: ClientMethod,
    req: Request,
    speaks: Speaks,
) -> Result<Value, ErrorObject> {
    let Request {
        id, params, peer, ..
    } = req;
    let legacy_session = match &speaks {
        Speaks::Legacy(_, _, s) => Some(s.clone()),
        Speaks::Modern(..) => None,
    };
    let not_found = || Err(ErrorObject::method_not_found(method.name()));
    match method {
        ClientMethod::Discover => to_value(discover(server)),
        ClientMethod::ListTools => list_tools(server, speaks.is_modern()),
        ClientMethod::CallTool => {
            let p: CallToolParams = parse(params)?;
            let span = tool_call_span(&p.name, speaks.is_modern(), &id);
            mcp_proto::trace::follow(&span, p.meta.as_ref());
            let call = Call::new(server, speaks, peer, id, p.meta.as_ref());
            let result = call_tool(call, p).instrument(span.clone()).await;
            record_outcome(&span, &result);
            result
        }
        ClientMethod::GetPrompt => {
            let p: GetPromptParams = parse(params)?;
            let call = Call::new(server, speaks, peer, id, p.meta.as_ref());
            get_prompt(call, p).await
        }
        ClientMethod::ListPrompts => to_value(server.prompts.list()),
        ClientMethod::ListResources => to_value(server.resources.list()),
        ClientMethod::ListResourceTemplates => to_value(server.resources.list_templates()),
        ClientMethod::ReadResource => {
            let p: ReadResourceParams = parse(params)?;
            to_value(server.resources.read(&p.uri, speaks.is_modern()).await?)
        }
        ClientMethod::Complete if !server.completers.is_empty() => {
            let p = parse(params)?;
            let c = &server.completers;
            to_value(c.complete(&server.prompts, &server.resources, p).await?)
        }
        // Legacy only: removed in 2026-07-28 (404 there).
        ClientMethod::SetLevel => match legacy_session {
            Some(session) => {
                let p: SetLevelParams = parse(params)?;
                *session.log_level.lock().unwrap_or_else(|e| e.into_inner()) = Some(p.level);
                to_value(Empty::new())
            }
            None => not_found(),
        },
        ClientMethod::Subscribe | ClientMethod::Unsubscribe if server.subscriptions => {
            let Some(session) = legacy_session else {
                return not_found();
            };
            let p: SubscribeParams = parse(params)?;
            let on = method == ClientMethod::Subscribe;
            server.resources.subscribe(&session, p.uri, on)?;
            to_value(Empty::new())
        }
        // Offered for task status only (the tasks extension); else not at all.
        ClientMethod::SubscriptionsListen
            if mcp_proto::tasks::server_declares(&server.modern_capabilities) =>
        {
            match &speaks {
                Speaks::Modern(meta, _) => {
                    let caps = &meta.client_capabilities;
                    let tasks = &server.tasks;
                    crate::listen::serve(tasks, &server.env, caps, params, id, peer).await
                }
                Speaks::Legacy(..) => not_found(),
            }
        }
        ClientMethod::GetTask | ClientMethod::UpdateTask | ClientMethod::CancelTask => {
            match &speaks {
                Speaks::Modern(meta, _) => tasks_method(server, method, params, meta),
                Speaks::Legacy(..) => not_found(),
            }
        }
        _ => not_found(),
    }
}

/// `tools/list`; on the modern era a tool that runs as a task shows it
/// (`execution.taskSupport`).
fn list_tools(server: &Registry, modern: bool) -> Result<Value, ErrorObject> {
    let tools = server.tools.values().map(|t| t.def.clone()).collect();
    let mut list = to_value(ListToolsResult {
        tools,
        next_cursor: None,
    })?;
    let listed = list.get_mut("tools").and_then(Value::as_array_mut);
    for tool in listed.into_iter().flatten().filter(|_| modern) {
        let support = tool
            .get("name")
            .and_then(Value::as_str)
            .and_then(|n| server.tools.get(n))
            .map(|t| t.task)
            .unwrap_or_default();
        if let (TaskSupport::Optional | TaskSupport::Required, Some(obj)) =
            (support, tool.as_object_mut())
        {
            obj.insert("execution".into(), json!({"taskSupport": support}));
        }
    }
    Ok(list)
}

/// `tasks/get`, `tasks/update`, `tasks/cancel` (modern): `-32601` from a server without
/// task tools, `-32021` for a request that does not declare the extension, `-32602` for
/// an unknown or expired task.
fn tasks_method(
    server: &Registry,
    method: ClientMethod,
    params: Option<Value>,
    meta: &RequestMeta,
) -> Result<Value, ErrorObject> {
    if !mcp_proto::tasks::server_declares(&server.modern_capabilities) {
        return Err(ErrorObject::method_not_found(method.name()));
    }
    if !mcp_proto::tasks::client_declares(&meta.client_capabilities) {
        return Err(mcp_proto::tasks::missing_extension(&format!(
            "{} needs the tasks extension ({}) declared in the request's clientCapabilities",
            method.name(),
            mcp_proto::tasks::EXTENSION_ID
        )));
    }
    let now = server.env.config.clock.now();
    let tasks = &server.tasks;
    match method {
        ClientMethod::GetTask => {
            let p: TaskIdParams = parse(params)?;
            to_value(tasks.get(&p.task_id, now)?)
        }
        ClientMethod::UpdateTask => {
            let p: UpdateTaskParams = parse(params)?;
            tasks.update(&p.task_id, p.input_responses, now)?;
            to_value(Empty::new())
        }
        _ => {
            let p: TaskIdParams = parse(params)?;
            tasks.cancel(&p.task_id, now)?;
            to_value(Empty::new())
        }
    }
}

/// The span of one `tools/call` request (on the modern era, one per round), named as
/// OpenTelemetry's MCP conventions name it (`tools/call NAME`). Its parent is the client's
/// span when the request's `_meta` carries a trace context ([`mcp_proto::trace`]); the
/// sampling requests the call makes are its children. Disabled (no cost beyond a check)
/// unless a subscriber wants `mcp_server` spans at INFO.
fn tool_call_span(name: &str, modern: bool, id: &RequestId) -> tracing::Span {
    tracing::info_span!(
        "mcp.tool_call",
        otel.name = %format_args!("{} {name}", CallTool::METHOD),
        otel.kind = "server",
        mcp.method.name = CallTool::METHOD,
        gen_ai.tool.name = name,
        mcp.era = if modern { "modern" } else { "legacy" },
        jsonrpc.request.id = %id,
        error.type = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    )
}

/// Marks a failed call on its span: `error.type` is the JSON-RPC error's code, or
/// `tool_error` for a result with `isError` (OpenTelemetry's MCP conventions).
fn record_outcome(span: &tracing::Span, result: &Result<Value, ErrorObject>) {
    if span.is_disabled() {
        return;
    }
    let kind = match result {
        Err(e) => e.code.to_string(),
        Ok(v) if v.get("isError").and_then(Value::as_bool) == Some(true) => "tool_error".into(),
        Ok(_) => return,
    };
    span.record("error.type", kind.as_str());
    span.record("otel.status_code", "ERROR");
}

/// A request that may ask for input (`tools/call`, `prompts/get`): what its context is made
/// of, and its era.
struct Call {
    server: Arc<Registry>,
    peer: Peer,
    id: RequestId,
    caps: mcp_proto::ClientCapabilities,
    version: String,
    progress_token: Option<Value>,
    /// How deep in nested sampling the call is (from its `_meta`; 0 if absent).
    depth: u32,
    /// Legacy: the session; modern: the log level of its `_meta`.
    era: Result<Arc<SessionState>, Option<LoggingLevel>>,
}

impl Call {
    fn new(
        server: &Arc<Registry>,
        speaks: Speaks,
        peer: Peer,
        id: RequestId,
        meta: Option<&Value>,
    ) -> Call {
        let (caps, version, era) = match speaks {
            Speaks::Legacy(version, caps, session) => (caps, version, Ok(session)),
            Speaks::Modern(m, level) => (m.client_capabilities, m.protocol_version, Err(level)),
        };
        Call {
            server: server.clone(),
            peer,
            id,
            caps,
            version,
            progress_token: meta.and_then(|m| m.get("progressToken")).cloned(),
            depth: mcp_proto::ext::depth_from_meta(meta).unwrap_or(0),
            era,
        }
    }

    fn modern(&self) -> bool {
        self.era.is_err()
    }

    fn ctx(&self, name: &str, args: &Arc<Map<String, Value>>, era: Era) -> Ctx {
        Ctx::new(CtxInner {
            peer: self.peer.clone(),
            request_id: self.id.clone(),
            caps: self.caps.clone(),
            protocol_version: self.version.clone(),
            progress_token: self.progress_token.clone(),
            env: self.server.env.clone(),
            call: Some((name.to_owned(), args.clone())),
            depth: self.depth,
            inputs: Default::default(),
            era,
        })
    }

    /// Runs `handler` in the request's era: once on legacy; on modern, as many passes as
    /// the sealed state allows, answering `input_required` while it waits for input.
    async fn run<T, F, Fut>(
        &self,
        method: &'static str,
        name: &str,
        args: &Arc<Map<String, Value>>,
        retry: (Option<&str>, Option<mcp_proto::mrtr::InputResponses>),
        may_become_task: bool,
        handler: F,
    ) -> Result<Outcome<T>, ErrorObject>
    where
        F: FnOnce(Ctx) -> Fut,
        Fut: Future<Output = Result<T, ToolError>> + Send + 'static,
    {
        let log_level = match &self.era {
            Ok(session) => {
                let ctx = self.ctx(name, args, Era::Legacy(session.clone()));
                return Ok(Outcome::Done(handler(ctx).await));
            }
            Err(level) => *level,
        };
        let (request_state, input_responses) = retry;
        let retry = Retry {
            method,
            name,
            args: args.as_ref(),
            request_state,
            input_responses,
        };
        let make_ctx = |round: Arc<crate::round::Round>| {
            if may_become_task {
                round.allow_task();
            }
            self.ctx(name, args, Era::Modern { round, log_level })
        };
        modern::run(&self.server.env, retry, make_ctx, handler).await
    }

    /// Whether this (modern) request declares the tasks extension.
    fn declares_tasks(&self) -> bool {
        self.modern() && mcp_proto::tasks::client_declares(&self.caps)
    }

    /// Makes a task of `handler` from its first step; the answer is the task handle.
    fn start_task<F>(
        &self,
        name: &str,
        args: &Arc<Map<String, Value>>,
        handler: F,
    ) -> Result<Value, ErrorObject>
    where
        F: FnOnce(Ctx) -> BoxFuture<Result<CallToolResult, ToolError>>,
    {
        let log_level = self.era.as_ref().err().copied().flatten();
        let make_ctx = |round| self.ctx(name, args, Era::Modern { round, log_level });
        let paused = modern::start_paused(make_ctx, handler);
        to_value(self.server.tasks.create(&self.server.env, paused)?)
    }
}

async fn call_tool(call: Call, p: CallToolParams) -> Result<Value, ErrorObject> {
    let entry = call
        .server
        .tools
        .get(&p.name)
        .ok_or_else(|| ErrorObject::invalid_params(format!("unknown tool: {:?}", p.name)))?
        .clone();
    let max = call.server.env.config.max_depth;
    if call.depth > max {
        return to_value(CallToolResult::error(format!(
            "max reasoning depth exceeded: this call is at depth {} of nested sampling, and {:?} serves at most depth {max}",
            call.depth, call.server.env.info.name
        )));
    }
    // Shared with the context (read only if a direct sampler needs the tool call); the
    // handler gets its own copy once per pass.
    let args = Arc::new(p.arguments.unwrap_or_default());
    let states = call.server.states.clone();
    let retry = (p.request_state.as_deref(), p.input_responses);
    let handler = |ctx| (entry.call)(CallParts::new(ctx, (*args).clone(), states));
    let as_task = match (entry.task, call.declares_tasks()) {
        (TaskSupport::Forbidden, _) => false,
        (TaskSupport::Required, false) => {
            return Err(mcp_proto::tasks::missing_extension(&format!(
                "the tool {:?} runs only as a task, so the call must declare the tasks extension ({})",
                p.name,
                mcp_proto::tasks::EXTENSION_ID
            )))
        }
        (_, declared) => declared,
    };
    if as_task && entry.task_start == TaskStart::AtCall {
        return call.start_task(&p.name, &args, handler);
    }
    match call
        .run(CallTool::METHOD, &p.name, &args, retry, as_task, handler)
        .await?
    {
        Outcome::Done(outcome) => to_value(call_outcome(outcome, call.modern())?),
        Outcome::InputRequired(v) => Ok(v),
        Outcome::Task(paused) => to_value(call.server.tasks.create(&call.server.env, paused)?),
    }
}

async fn get_prompt(call: Call, p: GetPromptParams) -> Result<Value, ErrorObject> {
    let server = call.server.clone();
    let entry = server
        .prompts
        .get(&p.name)
        .ok_or_else(|| ErrorObject::invalid_params(format!("unknown prompt: {:?}", p.name)))?;
    let args = Arc::new(p.arguments.unwrap_or_default());
    entry.check_args(&args)?;
    let retry = (p.request_state.as_deref(), p.input_responses);
    let handler = |ctx| entry.run((*args).clone(), ctx);
    let outcome = match call
        .run(GetPrompt::METHOD, &p.name, &args, retry, false, handler)
        .await?
    {
        Outcome::Done(outcome) => outcome,
        Outcome::InputRequired(v) => return Ok(v),
        // Prompts never become tasks (`may_become_task` is false).
        Outcome::Task(_) => return Err(ErrorObject::internal("a prompt cannot run as a task")),
    };
    let modern = call.modern();
    let result = outcome.map_err(|e| match missing_capability(&e).filter(|_| modern) {
        Some(err) => err,
        None => as_error(e),
    })?;
    to_value(result)
}

fn discover(server: &Registry) -> DiscoverResult {
    let mut versions: Vec<String> = MODERN_VERSIONS.iter().map(|v| v.to_string()).collect();
    versions.extend(LEGACY_VERSIONS.iter().map(|v| v.to_string()));
    DiscoverResult {
        supported_versions: versions,
        capabilities: server.modern_capabilities.clone(),
        instructions: server.instructions.clone(),
        meta: None,
    }
}
