//! [`Server`]: the builder, and the connection handler that serves both eras.
//!
//! Each request is served in the era it speaks: a request whose `_meta` carries a protocol
//! version is served statelessly (modern); anything else needs the legacy session that
//! `initialize` opened on this connection.

use crate::ctx::{Ctx, CtxInner};
use crate::resources::{PromptEntry, ResourceEntry};
use crate::state::StateKey;
use crate::tool::{erase, input_schema, Args, IntoToolResult, ToolEntry, ToolError};
use crate::{modern, ServerShared};
use mcp_proto::lifecycle::{
    self as lc, DiscoverResult, InitializeParams, InitializeResult, RequestMeta,
};
use mcp_proto::tools::{CallToolParams, ListToolsResult, Tool};
use mcp_proto::version::{self, LEGACY_VERSIONS, MODERN_VERSIONS};
use mcp_proto::{ClientCapabilities, ErrorObject, Implementation, ServerCapabilities};
use mcp_rpc::{BoxFuture, Config, Connection, Handler, Peer, Request, Transport};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Server limits and defaults.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Legacy: how long `ctx.sample` waits for the client (default 5 minutes: a person may
    /// review the request).
    pub sampling_timeout: Duration,
    /// Modern: how long a `requestState` stays valid (default 30 minutes).
    pub state_ttl: Duration,
    /// Legacy: how long `ctx.elicit` waits for the user (default 10 minutes).
    pub elicitation_timeout: Duration,
    /// Most input requests (sampling, elicitation, roots) one tool call may make
    /// (default 64).
    pub max_samples_per_call: u32,
    /// Modern: most `input_required` rounds for one tool call (default 32).
    pub max_rounds: u32,
    /// The engine's limits (frame size, timeouts).
    pub rpc: Config,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            sampling_timeout: Duration::from_secs(300),
            state_ttl: Duration::from_secs(1800),
            elicitation_timeout: Duration::from_secs(600),
            max_samples_per_call: 64,
            max_rounds: 32,
            rpc: Config::default(),
        }
    }
}

/// An MCP server: tools, resources and prompts, served on any transport, both eras.
#[derive(Clone)]
pub struct Server {
    shared: Arc<ServerShared>,
}

/// Builds a [`Server`].
pub struct ServerBuilder {
    info: Implementation,
    instructions: Option<String>,
    tools: BTreeMap<String, ToolEntry>,
    resources: BTreeMap<String, ResourceEntry>,
    prompts: BTreeMap<String, PromptEntry>,
    key: Option<StateKey>,
    config: ServerConfig,
    direct: Option<Arc<dyn crate::DirectSampler>>,
}

impl Server {
    /// Starts building a server with this name.
    pub fn builder(name: impl Into<String>) -> ServerBuilder {
        ServerBuilder {
            info: Implementation::new(name, env!("CARGO_PKG_VERSION")),
            instructions: None,
            tools: BTreeMap::new(),
            resources: BTreeMap::new(),
            prompts: BTreeMap::new(),
            key: None,
            config: ServerConfig::default(),
            direct: None,
        }
    }

    /// Serves one connection until the peer's input ends.
    pub async fn serve(&self, transport: Transport) {
        self.connect(transport).wait().await;
    }

    /// Starts serving one connection and returns it.
    pub fn connect(&self, transport: Transport) -> Connection {
        transport.connect(self.handler(), self.shared.config.rpc.clone())
    }

    /// A handler for one new connection (its own legacy session, if it opens one); for
    /// transports that start connections themselves, such as HTTP.
    pub fn handler(&self) -> Arc<dyn mcp_rpc::Handler> {
        Arc::new(ConnHandler {
            server: self.shared.clone(),
            session: OnceLock::new(),
        })
    }

    /// The engine settings of this server's connections.
    pub fn rpc_config(&self) -> mcp_rpc::Config {
        self.shared.config.rpc.clone()
    }

    /// The definition of the tool `name` (for transports that check arguments mirrored in
    /// headers against its input schema).
    pub fn tool(&self, name: &str) -> Option<&Tool> {
        self.shared.tools.get(name).map(|t| &t.def)
    }

    /// The server's name and version.
    pub fn info(&self) -> &Implementation {
        &self.shared.info
    }
}

impl ServerBuilder {
    /// Sets the version reported to clients.
    pub fn version(mut self, v: impl Into<String>) -> Self {
        self.info.version = v.into();
        self
    }

    /// Sets the instructions reported to clients.
    pub fn instructions(mut self, text: impl Into<String>) -> Self {
        self.instructions = Some(text.into());
        self
    }

    /// Adds a tool. Its input schema is derived from `T`.
    pub fn tool<T, F, Fut, R>(mut self, name: &str, description: &str, f: F) -> Self
    where
        T: DeserializeOwned + JsonSchema + Send + 'static,
        F: Fn(Args<T>, Ctx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, ToolError>> + Send + 'static,
        R: IntoToolResult,
    {
        let def = Tool {
            name: name.into(),
            title: None,
            description: Some(description.into()),
            input_schema: input_schema::<T>(),
            output_schema: None,
            annotations: None,
        };
        self.tools.insert(
            name.into(),
            ToolEntry {
                def,
                call: erase(f),
            },
        );
        self
    }

    /// Adds a text resource whose contents come from `read`.
    pub fn resource<F, Fut>(mut self, uri: &str, name: &str, mime: &str, read: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, ToolError>> + Send + 'static,
    {
        self.resources
            .insert(uri.into(), ResourceEntry::new(uri, name, mime, read));
        self
    }

    /// Adds a prompt with named string arguments.
    pub fn prompt<F, Fut>(
        mut self,
        name: &str,
        description: &str,
        args: &[(&str, bool)],
        get: F,
    ) -> Self
    where
        F: Fn(Map<String, Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, ToolError>> + Send + 'static,
    {
        self.prompts
            .insert(name.into(), PromptEntry::new(name, description, args, get));
        self
    }

    /// Sets a model the server calls itself when a client cannot sample, instead of failing
    /// the tool call.
    pub fn direct_sampler(mut self, sampler: Arc<dyn crate::DirectSampler>) -> Self {
        self.direct = Some(sampler);
        self
    }

    /// Sets the key that seals modern `requestState` (replicas must share it; default: a
    /// random key per process).
    pub fn state_key(mut self, key: StateKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Sets limits and defaults.
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// Finishes the server.
    pub fn build(self) -> Server {
        let mut caps = ServerCapabilities::default();
        if !self.tools.is_empty() {
            caps.tools = Some(json!({"listChanged": false}));
        }
        if !self.resources.is_empty() {
            caps.resources = Some(json!({}));
        }
        if !self.prompts.is_empty() {
            caps.prompts = Some(json!({}));
        }
        Server {
            shared: Arc::new(ServerShared {
                info: self.info,
                instructions: self.instructions,
                capabilities: caps,
                tools: self.tools,
                resources: self.resources,
                prompts: self.prompts,
                key: self.key.unwrap_or_else(StateKey::random),
                config: self.config,
                direct: self.direct,
            }),
        }
    }

    /// Builds the server and serves one connection until it ends.
    pub async fn serve(self, transport: Transport) {
        self.build().serve(transport).await
    }
}

/// A legacy session opened by `initialize`.
pub(crate) struct Session {
    pub version: String,
    pub caps: ClientCapabilities,
}

struct ConnHandler {
    server: Arc<ServerShared>,
    session: OnceLock<Session>,
}

/// How the request being served speaks.
pub(crate) enum Speaks {
    Legacy {
        version: String,
        caps: ClientCapabilities,
    },
    Modern(RequestMeta),
}

impl Handler for ConnHandler {
    fn request(&self, req: Request) -> BoxFuture<Result<Value, ErrorObject>> {
        let server = self.server.clone();
        if req.method == lc::INITIALIZE {
            return Box::pin(std::future::ready(self.initialize(req.params)));
        }
        let speaks = if RequestMeta::is_modern(req.params.as_ref()) {
            RequestMeta::from_params(req.params.as_ref()).map(Speaks::Modern)
        } else if let Some(s) = self.session.get() {
            Ok(Speaks::Legacy {
                version: s.version.clone(),
                caps: s.caps.clone(),
            })
        } else {
            RequestMeta::from_params(req.params.as_ref()).map(Speaks::Modern)
        };
        Box::pin(async move {
            let speaks = speaks?;
            let modern = matches!(speaks, Speaks::Modern(_));
            let cacheable = CACHEABLE.contains(&req.method.as_str());
            let mut result = dispatch(&server, req, speaks).await?;
            if modern {
                mark_modern(&server, &mut result, cacheable);
            }
            Ok(result)
        })
    }

    fn notification(&self, method: &str, _params: Option<Value>, _peer: &Peer) {
        match method {
            lc::INITIALIZED => tracing::debug!("client initialized"),
            other => tracing::debug!(method = other, "ignored notification"),
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
        };
        if self.session.set(session).is_err() {
            return Err(ErrorObject::invalid_request(
                "this connection is already initialized",
            ));
        }
        tracing::debug!(client = %p.client_info.name, version, "legacy session opened");
        let s = &self.server;
        let r = InitializeResult {
            protocol_version: version.into(),
            capabilities: s.capabilities.clone(),
            server_info: s.info.clone(),
            instructions: s.instructions.clone(),
        };
        serde_json::to_value(r).map_err(|e| ErrorObject::internal(e.to_string()))
    }
}

/// Modern results of these methods carry caching hints (`ttlMs`, `cacheScope`).
const CACHEABLE: &[&str] = &[
    lc::DISCOVER,
    "tools/list",
    "resources/list",
    "resources/templates/list",
    "prompts/list",
    "resources/read",
];

fn mark_modern(server: &ServerShared, result: &mut Value, cacheable: bool) {
    if let Some(obj) = result.as_object_mut() {
        if cacheable {
            // No caching promised: lists may change between releases of a server.
            obj.entry("ttlMs").or_insert_with(|| Value::from(0));
            obj.entry("cacheScope")
                .or_insert_with(|| Value::from("private"));
        }
        obj.entry("resultType")
            .or_insert_with(|| Value::from(mcp_proto::mrtr::COMPLETE));
        let meta = obj.entry("_meta").or_insert_with(|| json!({}));
        if let Some(m) = meta.as_object_mut() {
            m.entry(lc::META_SERVER_INFO)
                .or_insert_with(|| json!(server.info));
        }
    }
}

async fn dispatch(
    server: &Arc<ServerShared>,
    req: Request,
    speaks: Speaks,
) -> Result<Value, ErrorObject> {
    let Request {
        id,
        method,
        params,
        peer,
    } = req;
    match method.as_str() {
        lc::DISCOVER => discover(server),
        "tools/list" => {
            let tools = server.tools.values().map(|t| t.def.clone()).collect();
            to_value(ListToolsResult {
                tools,
                next_cursor: None,
            })
        }
        "tools/call" => {
            let p: CallToolParams = parse(params)?;
            let entry = server
                .tools
                .get(&p.name)
                .ok_or_else(|| ErrorObject::invalid_params(format!("unknown tool: {:?}", p.name)))?
                .clone();
            let (caps, version, meta) = match speaks {
                Speaks::Legacy { version, caps } => (caps, version, None),
                Speaks::Modern(m) => (
                    m.client_capabilities.clone(),
                    m.protocol_version.clone(),
                    Some(m),
                ),
            };
            let progress_token = p
                .meta
                .as_ref()
                .and_then(|m| m.get("progressToken"))
                .cloned();
            let base = CtxInner {
                peer,
                request_id: id,
                caps,
                protocol_version: version,
                progress_token,
                server: server.clone(),
                round: None,
            };
            match meta {
                None => legacy_call(&entry, base, p).await,
                Some(_) => modern::call(server, &entry, base, p).await,
            }
        }
        "resources/list"
        | "resources/read"
        | "resources/templates/list"
        | "prompts/list"
        | "prompts/get" => {
            let modern = matches!(speaks, Speaks::Modern(_));
            crate::resources::dispatch(server, &method, params, modern).await
        }
        "logging/setLevel" if matches!(speaks, Speaks::Legacy { .. }) => Ok(json!({})),
        "completion/complete" => Ok(json!({"completion": {"values": [], "hasMore": false}})),
        _ => Err(ErrorObject::method_not_found(&method)),
    }
}

async fn legacy_call(
    entry: &ToolEntry,
    base: CtxInner,
    p: CallToolParams,
) -> Result<Value, ErrorObject> {
    let ctx = Ctx {
        inner: Arc::new(base),
    };
    let outcome = (entry.call)(ctx, p.arguments.unwrap_or_default()).await;
    to_value(tool_outcome(outcome, false)?)
}

/// Maps a handler's outcome to the tool result or the JSON-RPC error.
pub(crate) fn tool_outcome(
    outcome: Result<mcp_proto::tools::CallToolResult, ToolError>,
    modern: bool,
) -> Result<mcp_proto::tools::CallToolResult, ErrorObject> {
    use crate::sampling::SampleError;
    use crate::{ElicitError, RootsError};
    match outcome {
        Ok(r) => Ok(r),
        Err(ToolError::Protocol(e)) => Err(e),
        Err(ToolError::Sampling(SampleError::NotSupported)) if modern => {
            Err(lc::missing_capability(
                json!({"sampling": {}}),
                "this tool samples, so the request must declare sampling",
            ))
        }
        Err(ToolError::Elicitation(ElicitError::NotSupported)) if modern => {
            Err(lc::missing_capability(
                json!({"elicitation": {}}),
                "this tool asks the user for input, so the request must declare elicitation",
            ))
        }
        Err(ToolError::Roots(RootsError::NotSupported)) if modern => Err(lc::missing_capability(
            json!({"roots": {}}),
            "this tool reads the client's roots, so the request must declare roots",
        )),
        Err(e) => Ok(mcp_proto::tools::CallToolResult::error(e.to_string())),
    }
}

fn discover(server: &ServerShared) -> Result<Value, ErrorObject> {
    let mut versions: Vec<String> = MODERN_VERSIONS.iter().map(|v| v.to_string()).collect();
    versions.extend(LEGACY_VERSIONS.iter().map(|v| v.to_string()));
    to_value(DiscoverResult {
        supported_versions: versions,
        capabilities: server.capabilities.clone(),
        instructions: server.instructions.clone(),
        meta: None,
    })
}

pub(crate) fn parse<T: DeserializeOwned>(params: Option<Value>) -> Result<T, ErrorObject> {
    serde_json::from_value(params.unwrap_or_else(|| json!({})))
        .map_err(|e| ErrorObject::invalid_params(format!("invalid params: {e}")))
}

pub(crate) fn to_value<T: serde::Serialize>(v: T) -> Result<Value, ErrorObject> {
    serde_json::to_value(v)
        .map_err(|e| ErrorObject::internal(format!("could not encode the result: {e}")))
}
