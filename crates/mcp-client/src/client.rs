//! [`Client`]: connects to a server of either era, calls tools, and answers the server's
//! sampling requests with a [`SamplingHandler`] (and its elicitation and roots requests,
//! when [`ClientOptions`] has a handler for them).

use crate::elicitation::{ElicitationError, ElicitationHandler};
use crate::incoming::ClientHandler;
use crate::roots::Roots;
use mcp_proto::handler::{SamplingError, SamplingHandler, ToolCall};
use mcp_proto::jsonrpc::UNSUPPORTED_PROTOCOL_VERSION;
use mcp_proto::lifecycle::{self as lc, DiscoverResult, InitializeResult, RequestMeta};
use mcp_proto::methods::{Discover, Initialize, Initialized, Notification as _, Request as _};
use mcp_proto::mrtr::{self, InputRequiredResult, InputResponses, COMPLETE, INPUT_REQUIRED};
use mcp_proto::tools::{CallToolResult, ListToolsResult};
use mcp_proto::version::{LATEST_LEGACY, LEGACY_VERSIONS, MODERN, MODERN_VERSIONS};
use mcp_proto::{ClientCapabilities, Era, Implementation, ServerCapabilities};
use mcp_rpc::{Config, Connection, Peer, RequestOptions, RpcError, Transport};
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinSet;

/// Which era to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EraChoice {
    /// Probe with `server/discover` and fall back to `initialize` (the stdio spec's rule).
    #[default]
    Auto,
    /// `initialize` handshake.
    Legacy,
    /// Per-request `_meta`; no probe.
    Modern,
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Era choice (default `Auto`).
    pub era: EraChoice,
    /// Our identity.
    pub info: Implementation,
    /// Our capabilities (default: sampling with tools).
    pub capabilities: ClientCapabilities,
    /// How long the `server/discover` probe waits before assuming a legacy server (5 s).
    pub probe_timeout: Duration,
    /// Modern: most `input_required` rounds per call (default 10).
    pub max_rounds: u32,
    /// How long a tool call may take (default 10 minutes: sampling may wait for a person).
    pub call_timeout: Duration,
    /// The engine's limits.
    pub rpc: Config,
    /// Answers form-mode elicitation; `elicitation` is declared only when set.
    pub elicitation: Option<Arc<dyn ElicitationHandler>>,
    /// The roots offered to servers; `roots` (with `listChanged`) is declared only when set.
    pub roots: Option<Roots>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            era: EraChoice::Auto,
            info: Implementation::new("mcp-sampling", env!("CARGO_PKG_VERSION")),
            capabilities: ClientCapabilities::sampling(true),
            probe_timeout: Duration::from_secs(5),
            max_rounds: 10,
            call_timeout: Duration::from_secs(600),
            rpc: Config::default(),
            elicitation: None,
            roots: None,
        }
    }
}

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The request failed on the wire (error answer, timeout, closed).
    #[error(transparent)]
    Rpc(RpcError),
    /// The transport could not get the request to the server or its answer back (HTTP:
    /// connection refused, an HTTP error status, a stream cut beyond resumption).
    #[error("cannot reach the server: {0}")]
    Transport(String),
    /// The server broke the protocol.
    #[error("protocol violation by the server: {0}")]
    Protocol(String),
    /// No protocol revision both sides speak.
    #[error("no protocol version in common: the server speaks {0:?}")]
    NoCommonVersion(Vec<String>),
    /// Our sampling handler declined or failed (modern: the call is not retried).
    #[error(transparent)]
    Sampling(#[from] SamplingError),
    /// Our elicitation handler failed (modern: the call is not retried).
    #[error(transparent)]
    Elicitation(#[from] ElicitationError),
    /// Modern: the server kept asking for input.
    #[error("the server asked for input more than {0} times; giving up on the call")]
    TooManyRounds(u32),
    /// The HTTP transport could not be set up.
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
}

impl From<RpcError> for ClientError {
    fn from(e: RpcError) -> Self {
        match e {
            RpcError::Remote(o) if crate::http::is_local_error(&o) => {
                ClientError::Transport(o.message)
            }
            e => ClientError::Rpc(e),
        }
    }
}

/// How a `server/discover` attempt ended.
#[derive(PartialEq, Eq)]
enum Probe {
    Done,
    Retry,
}

/// What the client knows about the connection, shared with its incoming-request handler.
pub(crate) struct ClientState {
    pub era: Mutex<Option<(Era, String)>>,
    pub server_name: Mutex<Arc<str>>,
    pub caps: ClientCapabilities,
    pub handler: Arc<dyn SamplingHandler>,
    pub elicitation: Option<Arc<dyn ElicitationHandler>>,
    pub roots: Option<Roots>,
    pub calls: Mutex<Vec<(u64, ToolCall)>>,
}

impl ClientState {
    pub(crate) fn era(&self) -> Option<(Era, String)> {
        self.era.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    pub(crate) fn server_name(&self) -> Arc<str> {
        self.server_name
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
    /// The tool call in flight, when there is exactly one (legacy requests name none).
    pub(crate) fn only_call(&self) -> Option<ToolCall> {
        let calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        (calls.len() == 1).then(|| calls[0].1.clone())
    }
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

    /// Connects over a transport that starts the engine connection itself (`start` gets
    /// the client's engine handler and settings), such as Streamable HTTP.
    pub async fn connect_with(
        start: impl FnOnce(Arc<dyn mcp_rpc::Handler>, mcp_rpc::Config) -> Connection,
        handler: Arc<dyn SamplingHandler>,
        mut opts: ClientOptions,
    ) -> Result<Client, ClientError> {
        opts.capabilities = crate::inputs::advertised(&opts);
        let state = Arc::new(ClientState {
            era: Mutex::new(None),
            server_name: Mutex::new("server".into()),
            caps: opts.capabilities.clone(),
            handler,
            elicitation: opts.elicitation.clone(),
            roots: opts.roots.clone(),
            calls: Mutex::new(Vec::new()),
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
        };
        match client.opts.era {
            EraChoice::Legacy => client.initialize().await?,
            EraChoice::Modern => client.discover(false).await?,
            EraChoice::Auto => client.discover(true).await?,
        }
        *client.state.era.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((client.era, client.version.clone()));
        if let Some(info) = &client.server_info {
            *client
                .state
                .server_name
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = info.name.as_str().into();
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
        RequestMeta {
            protocol_version: self.version.clone(),
            client_capabilities: self.opts.capabilities.clone(),
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
        // Set before `initialized`, so sampling requests that follow see the version.
        *self.state.era.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((self.era, self.version.clone()));
        self.peer.notify(Initialized::METHOD, None)?;
        Ok(())
    }

    /// Sends a request in the agreed era (modern: with `_meta`).
    pub async fn request(
        &self,
        method: &str,
        params: Option<Value>,
        timeout: Option<Duration>,
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
            ..Default::default()
        };
        Ok(self.peer.request(method, Some(params), opts).await?)
    }

    /// Lists the server's tools (all pages).
    pub async fn list_tools(&self) -> Result<ListToolsResult, ClientError> {
        let mut all = ListToolsResult {
            tools: Vec::new(),
            next_cursor: None,
        };
        let mut cursor: Option<String> = None;
        for _ in 0..100 {
            let params = cursor.as_ref().map(|c| json!({"cursor": c}));
            let v = self.request("tools/list", params, None).await?;
            let page: ListToolsResult = serde_json::from_value(v)
                .map_err(|e| ClientError::Protocol(format!("malformed tools/list result: {e}")))?;
            all.tools.extend(page.tools);
            match page.next_cursor {
                Some(c) if Some(&c) != cursor.as_ref() => cursor = Some(c),
                _ => return Ok(all),
            }
        }
        Err(ClientError::Protocol(
            "tools/list returned more than 100 pages".into(),
        ))
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
    /// policy's nesting limit counts from here).
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
        match self.era {
            Era::Legacy => self.call_legacy(call).await,
            Era::Modern => self.call_modern(call).await,
        }
    }

    async fn call_legacy(&self, call: ToolCall) -> Result<CallToolResult, ClientError> {
        let n = self
            .next_call
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.state
            .calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((n, call.clone()));
        let params = json!({"name": call.name, "arguments": call.arguments});
        let outcome = self
            .request("tools/call", Some(params), Some(self.opts.call_timeout))
            .await;
        self.state
            .calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(m, _)| *m != n);
        parse_result(outcome?)
    }

    async fn call_modern(&self, call: ToolCall) -> Result<CallToolResult, ClientError> {
        let params = json!({"name": call.name, "arguments": call.arguments});
        parse_result(self.rounds("tools/call", params, &call).await?)
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
                self.request("prompts/get", Some(params), Some(self.opts.call_timeout))
                    .await
            }
            Era::Modern => {
                let call = ToolCall {
                    name: name.into(),
                    arguments,
                    depth: 0,
                };
                self.rounds("prompts/get", params, &call).await
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
                .request(method, Some(params), Some(self.opts.call_timeout))
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
                other => {
                    return Err(ClientError::Protocol(format!(
                        "unknown resultType {other:?}"
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
        let mut tasks = JoinSet::new();
        for (key, req) in requests {
            let fut = crate::inputs::modern(&self.state, call, &self.version, &key, req)?;
            tasks.spawn(async move { (key, fut.await) });
        }
        let mut out = InputResponses::new();
        while let Some(joined) = tasks.join_next().await {
            let (key, reply) =
                joined.map_err(|e| ClientError::Protocol(format!("input task failed: {e}")))?;
            out.insert(key, reply?);
        }
        Ok(out)
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
        .map_err(|e| ClientError::Protocol(format!("malformed tools/call result: {e}")))
}
