//! [`Client`]: connects to a server of either era, calls tools, and answers the server's
//! sampling requests with a [`SamplingHandler`] (and its elicitation and roots requests,
//! when [`ClientOptions`] has a handler for them).
//!
//! The client also owns what the Streamable HTTP transport must not read from application
//! traffic: the tools' `x-mcp-header` annotations (learnt from its own `tools/list` calls,
//! which leave out tools whose annotations are invalid) become `Mcp-Param-*` hints on modern
//! `tools/call` requests, a `-32020` answer makes it list the tools and retry once, and the
//! version negotiated by `initialize` is handed to the transport for every later message.
//! Transports that do not use hints (stdio, a child) ignore them.

use crate::error::ClientError;
use crate::http::headers::{ToolHeaders, PROTOCOL_VERSION};
use crate::http::{HttpOptions, HttpTransport};
use crate::incoming::ClientHandler;
use crate::options::{ClientOptions, EraChoice};
use crate::state::ClientState;
use mcp_proto::handler::{SamplingHandler, ToolCall};
use mcp_proto::jsonrpc::{HEADER_MISMATCH, UNSUPPORTED_PROTOCOL_VERSION};
use mcp_proto::lifecycle::{self as lc, DiscoverResult, InitializeResult, RequestMeta};
use mcp_proto::methods::{
    CallTool, Discover, GetPrompt, Initialize, Initialized, ListTools, Notification as _,
    Request as _,
};
use mcp_proto::mrtr::{self, InputRequiredResult, InputResponses, COMPLETE, INPUT_REQUIRED};
use mcp_proto::tools::{CallToolResult, ListToolsResult};
use mcp_proto::version::{LATEST_LEGACY, LEGACY_VERSIONS, MODERN, MODERN_VERSIONS};
use mcp_proto::{Era, Implementation, ServerCapabilities};
use mcp_rpc::{Connection, Hints, Peer, RequestOptions, RpcError, Transport};
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinSet;
use tracing::Instrument;

mod task;

/// Where the server's progress notifications for one request go (their params).
pub type Progress = tokio::sync::mpsc::UnboundedSender<Value>;

/// How a `server/discover` attempt ended.
#[derive(PartialEq, Eq)]
enum Probe {
    Done,
    Retry,
}

/// A connection to one MCP server.
pub struct Client {
    peer: Peer,
    conn: Option<Connection>,
    state: Arc<ClientState>,
    opts: ClientOptions,
    era: Era,
    version: String,
    server_info: Option<Implementation>,
    server_caps: ServerCapabilities,
    next_call: std::sync::atomic::AtomicU64,
    /// Modern: the `x-mcp-header` annotations of the tools listed so far.
    tools: Mutex<ToolHeaders>,
}

impl Client {
    /// Connects over a transport and agrees on an era and version.
    pub async fn connect(
        transport: Transport,
        handler: Arc<dyn SamplingHandler>,
        opts: ClientOptions,
    ) -> Result<Client, ClientError> {
        Self::connect_with(|h, c| transport.connect(h, c), handler, opts).await
    }

    /// Connects to a Streamable HTTP endpoint and agrees on an era and version.
    pub async fn connect_http(
        url: &str,
        http: HttpOptions,
        handler: Arc<dyn SamplingHandler>,
        opts: ClientOptions,
    ) -> Result<Client, ClientError> {
        let transport = HttpTransport::new(url, http)?;
        Self::connect_with(|h, c| transport.start(h, c), handler, opts).await
    }

    /// Connects over a transport that starts the engine connection itself (`start` gets
    /// the client's engine handler and settings), such as Streamable HTTP.
    pub async fn connect_with(
        start: impl FnOnce(Arc<dyn mcp_rpc::Handler>, mcp_rpc::Config) -> Connection,
        handler: Arc<dyn SamplingHandler>,
        mut opts: ClientOptions,
    ) -> Result<Client, ClientError> {
        opts.capabilities = opts.advertised();
        let state = Arc::new(ClientState {
            era: Mutex::new(None),
            server_name: Mutex::new("server".into()),
            claims: Mutex::default(),
            caps: opts.capabilities.clone(),
            handler,
            elicitation: opts.elicitation.clone(),
            roots: opts.roots.clone(),
            calls: Mutex::new(Vec::new()),
            notifications: opts.notifications.clone(),
        });
        let conn = start(
            Arc::new(ClientHandler {
                state: state.clone(),
            }),
            opts.rpc.clone(),
        );
        let peer = conn.peer.clone();
        let mut client = Client {
            peer,
            conn: Some(conn),
            state,
            opts,
            era: Era::Legacy,
            version: String::new(),
            server_info: None,
            server_caps: ServerCapabilities::default(),
            next_call: 0.into(),
            tools: Mutex::default(),
        };
        match client.opts.era {
            EraChoice::Legacy => client.initialize().await?,
            EraChoice::Modern => client.discover(false).await?,
            EraChoice::Auto => client.discover(true).await?,
        }
        client.state.set_era(client.era, &client.version);
        match (&client.opts.name, &client.server_info) {
            (Some(name), _) => client.state.set_server_name(name),
            (None, Some(info)) => client.state.set_server_name(&info.name),
            (None, None) => {}
        }
        if let Some(info) = &client.server_info {
            client.state.set_claims(&info.name);
        }
        if let (Era::Legacy, Some(roots)) = (client.era, &client.opts.roots) {
            roots.notify_changes(client.peer.clone());
        }
        Ok(client)
    }

    /// The era agreed.
    pub fn era(&self) -> Era {
        self.era
    }

    /// The protocol revision agreed.
    pub fn protocol_version(&self) -> &str {
        &self.version
    }

    /// The server's identity, if it gave one.
    pub fn server_info(&self) -> Option<&Implementation> {
        self.server_info.as_ref()
    }

    /// The server's capabilities.
    pub fn server_capabilities(&self) -> &ServerCapabilities {
        &self.server_caps
    }

    /// The connection handle.
    pub fn peer(&self) -> &Peer {
        &self.peer
    }

    fn meta(&self) -> Map<String, Value> {
        let mut client_capabilities = self.opts.capabilities.clone();
        if self.opts.tasks {
            mcp_proto::tasks::declare(&mut client_capabilities.extensions);
        }
        RequestMeta {
            protocol_version: self.version.clone(),
            client_capabilities,
            client_info: Some(self.opts.info.clone()),
            progress_token: None,
        }
        .to_meta()
    }

    async fn discover(&mut self, fallback: bool) -> Result<(), ClientError> {
        // Refused with a list that has our version after all (a server that rejects the first
        // request it sees, or one that changed its mind): ask once more.
        if self.discover_once(fallback, false).await? == Probe::Retry {
            self.discover_once(fallback, true).await?;
        }
        Ok(())
    }

    async fn discover_once(&mut self, fallback: bool, retried: bool) -> Result<Probe, ClientError> {
        let meta = RequestMeta {
            protocol_version: MODERN.into(),
            client_capabilities: self.opts.capabilities.clone(),
            client_info: Some(self.opts.info.clone()),
            progress_token: None,
        };
        let params = json!({"_meta": meta.to_meta()});
        let timeout = if fallback {
            self.opts.probe_timeout
        } else {
            self.opts.rpc.request_timeout
        };
        let opts = RequestOptions {
            timeout: Some(timeout),
            ..Default::default()
        };
        match self
            .peer
            .request(Discover::METHOD, Some(params), opts)
            .await
        {
            Ok(v) => {
                let d: DiscoverResult = serde_json::from_value(v).map_err(|e| {
                    ClientError::Protocol(format!("malformed server/discover result: {e}"))
                })?;
                match d
                    .supported_versions
                    .iter()
                    .find(|v| MODERN_VERSIONS.contains(&v.as_str()))
                {
                    Some(v) => {
                        self.era = Era::Modern;
                        self.version = v.clone();
                        self.server_caps = d.capabilities;
                        self.server_info = d
                            .meta
                            .as_ref()
                            .and_then(|m| m.get(lc::META_SERVER_INFO))
                            .and_then(|i| serde_json::from_value(i.clone()).ok());
                        Ok(Probe::Done)
                    }
                    None if fallback => self.initialize().await.map(|()| Probe::Done),
                    None => Err(ClientError::NoCommonVersion(d.supported_versions)),
                }
            }
            Err(RpcError::Remote(e)) if e.code == UNSUPPORTED_PROTOCOL_VERSION => {
                let supported: Vec<String> = e
                    .data
                    .as_ref()
                    .and_then(|d| d.get("supported"))
                    .and_then(|s| serde_json::from_value(s.clone()).ok())
                    .unwrap_or_default();
                if !retried && supported.iter().any(|v| v == MODERN) {
                    return Ok(Probe::Retry);
                }
                if fallback
                    && supported
                        .iter()
                        .any(|v| LEGACY_VERSIONS.contains(&v.as_str()))
                {
                    return self.initialize().await.map(|()| Probe::Done);
                }
                Err(ClientError::NoCommonVersion(supported))
            }
            Err(RpcError::Remote(e)) if fallback => {
                tracing::debug!(
                    code = e.code,
                    "server/discover refused; the server is legacy"
                );
                self.initialize().await.map(|()| Probe::Done)
            }
            Err(RpcError::Timeout(_)) if fallback => {
                tracing::debug!("server/discover unanswered; the server is legacy");
                self.initialize().await.map(|()| Probe::Done)
            }
            Err(RpcError::Transport(why)) if fallback => {
                // A legacy server over HTTP may refuse the probe with a bare 400/404/405.
                tracing::debug!("server/discover failed ({why}); trying the legacy handshake");
                self.initialize().await.map(|()| Probe::Done)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn initialize(&mut self) -> Result<(), ClientError> {
        let params = json!({
            "protocolVersion": LATEST_LEGACY,
            "capabilities": self.opts.capabilities,
            "clientInfo": self.opts.info,
        });
        let v = self
            .peer
            .request(Initialize::METHOD, Some(params), RequestOptions::default())
            .await?;
        let r: InitializeResult = serde_json::from_value(v)
            .map_err(|e| ClientError::Protocol(format!("malformed initialize result: {e}")))?;
        if !LEGACY_VERSIONS.contains(&r.protocol_version.as_str()) {
            return Err(ClientError::NoCommonVersion(vec![r.protocol_version]));
        }
        self.era = Era::Legacy;
        self.version = r.protocol_version;
        self.server_caps = r.capabilities;
        self.server_info = Some(r.server_info);
        // Set before `initialized`, so sampling requests that follow see the version, and
        // every later message (`initialized` too) carries it over HTTP.
        self.state.set_era(self.era, &self.version);
        self.peer
            .set_transport_hints(vec![(PROTOCOL_VERSION.into(), self.version.clone())]);
        self.peer.notify(Initialized::METHOD, None)?;
        Ok(())
    }

    /// Sends a request in the agreed era (modern: with `_meta`). A modern `tools/call`
    /// carries the `Mcp-Param-*` hints of the tool's `x-mcp-header` annotations; refused with
    /// `-32020` (header mismatch), the tools are listed again and the call retried once.
    pub async fn request(
        &self,
        method: &str,
        params: Option<Value>,
        timeout: Option<Duration>,
    ) -> Result<Value, ClientError> {
        self.request_with(method, params, timeout, None).await
    }

    /// [`Client::request`], with the server's progress for it sent to `progress`.
    async fn request_with(
        &self,
        method: &str,
        params: Option<Value>,
        timeout: Option<Duration>,
        progress: Option<Progress>,
    ) -> Result<Value, ClientError> {
        if self.era != Era::Modern || method != CallTool::METHOD {
            return self
                .send_with(method, params, timeout, Hints::new(), progress)
                .await;
        }
        let params = params.unwrap_or_else(|| json!({}));
        let hints = self.param_hints(&params);
        match self
            .send_with(
                method,
                Some(params.clone()),
                timeout,
                hints,
                progress.clone(),
            )
            .await
        {
            Err(ClientError::Rpc(RpcError::Remote(e))) if e.code == HEADER_MISMATCH => {
                // The tool's annotations are unknown to us (not listed yet) or have changed.
                tracing::debug!("{method} refused for its headers; listing the tools again");
                if let Err(relist) = self.list_tools().await {
                    tracing::debug!("cannot list the tools: {relist}");
                    return Err(ClientError::Rpc(RpcError::Remote(e)));
                }
                let hints = self.param_hints(&params);
                self.send_with(method, Some(params), timeout, hints, progress)
                    .await
            }
            outcome => outcome,
        }
    }

    /// Sends a request on behalf of another client (a bridge), its params kept as they are
    /// (their `_meta` too; the modern era adds ours). `tools/call` and `prompts/get` run as
    /// calls: on the legacy era the server's sampling requests meanwhile are tied to the
    /// call; on the modern era its `input_required` rounds are answered by this client's
    /// handlers. With `progress`, the server's progress for the request comes there (the
    /// request carries this client's own progress token).
    pub async fn forward(
        &self,
        method: &str,
        params: Option<Value>,
        progress: Option<Progress>,
    ) -> Result<Value, ClientError> {
        if method != CallTool::METHOD && method != GetPrompt::METHOD {
            return self.request_with(method, params, None, progress).await;
        }
        let params = params.unwrap_or_else(|| json!({}));
        let call = ToolCall::from_params(&params);
        let timeout = Some(self.opts.call_timeout);
        match self.era {
            Era::Legacy => {
                let n = self
                    .next_call
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.state.start_call(n, call);
                let outcome = self
                    .request_with(method, Some(params), timeout, progress)
                    .await;
                self.state.end_call(n);
                outcome
            }
            Era::Modern => self.rounds_with(method, params, &call, progress).await,
        }
    }

    /// The `Mcp-Param-*` hints of a `tools/call` with these params.
    fn param_hints(&self, params: &Value) -> Hints {
        let Some(tool) = params.get("name").and_then(Value::as_str) else {
            return Hints::new();
        };
        lock(&self.tools).headers_for(tool, params.get("arguments"))
    }

    /// Sends one request (modern: with `_meta`) with these transport hints.
    async fn send(
        &self,
        method: &str,
        params: Option<Value>,
        timeout: Option<Duration>,
        hints: Hints,
    ) -> Result<Value, ClientError> {
        self.send_with(method, params, timeout, hints, None).await
    }

    /// [`Client::send`], with the server's progress for it sent to `progress`.
    async fn send_with(
        &self,
        method: &str,
        params: Option<Value>,
        timeout: Option<Duration>,
        hints: Hints,
        progress: Option<Progress>,
    ) -> Result<Value, ClientError> {
        let mut params = params.unwrap_or_else(|| json!({}));
        if self.era == Era::Modern {
            if let Some(obj) = params.as_object_mut() {
                let meta = obj.entry("_meta").or_insert_with(|| json!({}));
                if let Some(m) = meta.as_object_mut() {
                    m.extend(self.meta());
                }
            }
        }
        let opts = RequestOptions {
            timeout,
            hints,
            progress,
            ..Default::default()
        };
        Ok(self.peer.request(method, Some(params), opts).await?)
    }

    /// Lists the server's tools (all pages). Modern: remembers their `x-mcp-header`
    /// annotations and leaves out the tools whose annotations are invalid (the spec says
    /// such tools must not be offered).
    pub async fn list_tools(&self) -> Result<ListToolsResult, ClientError> {
        let mut all = ListToolsResult {
            tools: Vec::new(),
            next_cursor: None,
        };
        let mut cursor: Option<String> = None;
        for _ in 0..100 {
            let params = cursor.as_ref().map(|c| json!({"cursor": c}));
            let mut v = self
                .send(ListTools::METHOD, params, None, Hints::new())
                .await?;
            if self.era == Era::Modern {
                lock(&self.tools).learn(&mut v);
            }
            let page: ListToolsResult = serde_json::from_value(v).map_err(|e| {
                ClientError::Protocol(format!("malformed {} result: {e}", ListTools::METHOD))
            })?;
            all.tools.extend(page.tools);
            match page.next_cursor {
                Some(c) if Some(&c) != cursor.as_ref() => cursor = Some(c),
                _ => return Ok(all),
            }
        }
        Err(ClientError::Protocol(format!(
            "{} returned more than 100 pages",
            ListTools::METHOD
        )))
    }

    /// Calls a tool, answering its sampling requests, and returns its result.
    pub async fn call_tool(
        &self,
        name: &str,
        arguments: Map<String, Value>,
    ) -> Result<CallToolResult, ClientError> {
        self.call_tool_at_depth(name, arguments, 0).await
    }

    /// Calls a tool on behalf of a model that is answering sampling at `depth - 1` (the
    /// policy's nesting limit counts from here). The depth travels in the call's `_meta`
    /// ([`mcp_proto::ext::DEPTH_KEY`]), so that servers can refuse calls nested too deep.
    pub async fn call_tool_at_depth(
        &self,
        name: &str,
        arguments: Map<String, Value>,
        depth: u32,
    ) -> Result<CallToolResult, ClientError> {
        let call = ToolCall {
            name: name.into(),
            arguments,
            depth,
        };
        // The call's span: its context goes in the request's `_meta` (`call_params`), the
        // server's span takes it as parent (`mcp_proto::trace`).
        let span = tracing::info_span!(
            "mcp.client.tool_call",
            otel.name = %format_args!("{} {name}", CallTool::METHOD),
            otel.kind = "client",
            mcp.method.name = CallTool::METHOD,
            gen_ai.tool.name = name,
            mcp.era = %self.era,
            error.type = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        let result = match self.era {
            Era::Legacy => self.call_legacy(call).instrument(span.clone()).await,
            Era::Modern => self.call_modern(call).instrument(span.clone()).await,
        };
        if !span.is_disabled() {
            let failed = match &result {
                Ok(r) if r.is_error == Some(true) => Some("tool_error"),
                Ok(_) => None,
                Err(_) => Some("client_error"),
            };
            if let Some(kind) = failed {
                span.record("error.type", kind);
                span.record("otel.status_code", "ERROR");
            }
        }
        result
    }

    async fn call_legacy(&self, call: ToolCall) -> Result<CallToolResult, ClientError> {
        let n = self
            .next_call
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.state.start_call(n, call.clone());
        let params = call_params(&call);
        let outcome = self
            .request(CallTool::METHOD, Some(params), Some(self.opts.call_timeout))
            .await;
        self.state.end_call(n);
        parse_result(outcome?)
    }

    async fn call_modern(&self, call: ToolCall) -> Result<CallToolResult, ClientError> {
        let params = call_params(&call);
        parse_result(self.rounds(CallTool::METHOD, params, &call).await?)
    }

    /// Gets a prompt, answering the input requests (sampling, elicitation, roots) its server
    /// makes while building it, on either era; returns the `GetPromptResult`.
    pub async fn get_prompt(
        &self,
        name: &str,
        arguments: Map<String, Value>,
    ) -> Result<Value, ClientError> {
        let params = json!({"name": name, "arguments": arguments});
        match self.era {
            Era::Legacy => {
                self.request(
                    GetPrompt::METHOD,
                    Some(params),
                    Some(self.opts.call_timeout),
                )
                .await
            }
            Era::Modern => {
                let call = ToolCall {
                    name: name.into(),
                    arguments,
                    depth: 0,
                };
                self.rounds(GetPrompt::METHOD, params, &call).await
            }
        }
    }

    /// Modern: sends `method` and retries it with the replies to its input requests until it
    /// completes (at most `max_rounds`); returns the complete result.
    async fn rounds(
        &self,
        method: &str,
        base: Value,
        call: &ToolCall,
    ) -> Result<Value, ClientError> {
        self.rounds_with(method, base, call, None).await
    }

    /// [`Client::rounds`], with the server's progress for each round sent to `progress`.
    async fn rounds_with(
        &self,
        method: &str,
        base: Value,
        call: &ToolCall,
        progress: Option<Progress>,
    ) -> Result<Value, ClientError> {
        let mut responses: Option<InputResponses> = None;
        let mut state: Option<String> = None;
        for round in 0..=self.opts.max_rounds {
            let mut params = base.clone();
            if let Some(r) = responses.take() {
                params["inputResponses"] = json!(r);
            }
            if let Some(s) = state.take() {
                params["requestState"] = Value::String(s);
            }
            let v = self
                .request_with(
                    method,
                    Some(params),
                    Some(self.opts.call_timeout),
                    progress.clone(),
                )
                .await?;
            match mrtr::result_type(&v) {
                COMPLETE => return Ok(v),
                INPUT_REQUIRED if round == self.opts.max_rounds => break,
                INPUT_REQUIRED => {
                    let ir: InputRequiredResult = serde_json::from_value(v).map_err(|e| {
                        ClientError::Protocol(format!("malformed input_required result: {e}"))
                    })?;
                    if ir.input_requests.is_none() && ir.request_state.is_none() {
                        return Err(ClientError::Protocol(
                            "input_required result with neither inputRequests nor requestState"
                                .into(),
                        ));
                    }
                    responses = Some(
                        self.fulfil(call, ir.input_requests.unwrap_or_default())
                            .await?,
                    );
                    state = ir.request_state;
                }
                mcp_proto::tasks::TASK if method == CallTool::METHOD && self.opts.tasks => {
                    return self.follow_task(v, call).await;
                }
                other => {
                    return Err(ClientError::Protocol(format!(
                        "unexpected resultType {other:?} for {method}"
                    )))
                }
            }
        }
        Err(ClientError::TooManyRounds(self.opts.max_rounds))
    }

    /// Answers the input requests of one round, concurrently.
    async fn fulfil(
        &self,
        call: &ToolCall,
        requests: std::collections::BTreeMap<String, mrtr::InputRequest>,
    ) -> Result<InputResponses, ClientError> {
        if requests.len() > self.opts.max_input_requests {
            return Err(ClientError::Protocol(format!(
                "the server asked for {} inputs in one round (at most {} are answered)",
                requests.len(),
                self.opts.max_input_requests
            )));
        }
        let mut tasks = JoinSet::new();
        for (key, req) in requests {
            let fut = crate::inputs::modern(&self.state, call, &self.version, &key, req)?;
            tasks.spawn(async move { (key, fut.await) });
        }
        let mut out = InputResponses::new();
        loop {
            // A server gone while its inputs are answered (its process exited: its input
            // ended) gets no answers: the inputs are dropped (the JoinSet aborts them).
            let joined = tokio::select! {
                j = tasks.join_next() => j,
                () = self.peer.closed() => {
                    return Err(ClientError::Transport(
                        "the server closed the connection while its input requests were answered".into(),
                    ))
                }
            };
            let Some(joined) = joined else {
                return Ok(out);
            };
            let (key, reply) =
                joined.map_err(|e| ClientError::Protocol(format!("input task failed: {e}")))?;
            out.insert(key, reply?);
        }
    }

    /// Closes the connection (a child server's stdin closes) and waits for the reader.
    pub async fn close(mut self) {
        self.peer.close();
        if let Some(conn) = self.conn.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), conn.wait()).await;
        }
    }
}

impl Drop for Client {
    /// A client dropped without [`Client::close`] still ends its connection (a child's stdin
    /// closes, an HTTP session is deleted), so nothing it started is left running.
    fn drop(&mut self) {
        if self.conn.is_some() {
            self.peer.close();
        }
    }
}

fn parse_result(v: Value) -> Result<CallToolResult, ClientError> {
    serde_json::from_value(v)
        .map_err(|e| ClientError::Protocol(format!("malformed {} result: {e}", CallTool::METHOD)))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The params of a `tools/call`: name, arguments, and in `_meta` the call's depth and the
/// trace context of the current span (the call's).
fn call_params(call: &ToolCall) -> Value {
    let mut meta = None;
    mcp_proto::ext::write_depth(&mut meta, call.depth);
    mcp_proto::trace::inject(&tracing::Span::current(), &mut meta);
    json!({"name": call.name, "arguments": call.arguments, "_meta": meta})
}
