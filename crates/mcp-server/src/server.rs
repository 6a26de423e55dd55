//! [`Server`]: the builder, and the connection handler that serves both eras.
//!
//! Each request is served in the era it speaks: a request whose `_meta` carries a protocol
//! version is served statelessly (modern); anything else needs the legacy session that
//! `initialize` opened on this connection.

use crate::builder::ServerBuilder;
use crate::ctx::{Ctx, CtxInner, LogGate};
use crate::modern::{self, Outcome, Retry};
use crate::tool::ToolError;
use crate::ServerShared;
use mcp_proto::lifecycle::{
    self as lc, DiscoverResult, InitializeParams, InitializeResult, RequestMeta,
};
use mcp_proto::logging::{level_from_params, LoggingLevel, SetLevelParams, SET_LEVEL};
use mcp_proto::prompts::GetPromptParams;
use mcp_proto::tools::{CallToolParams, ListToolsResult};
use mcp_proto::version::{self, LEGACY_VERSIONS, MODERN_VERSIONS};
use mcp_proto::{ClientCapabilities, ErrorObject, Implementation};
use mcp_rpc::{
    BoxFuture, Clock, Config, Connection, Handler, Peer, Request, SystemClock, Transport,
};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock};
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
    /// Where the time comes from for `requestState` expiry (default: the system clock; tests
    /// pass a [`mcp_rpc::testing::ManualClock`]).
    pub clock: Arc<dyn Clock>,
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
            clock: Arc::new(SystemClock),
        }
    }
}

/// An MCP server: tools, resources and prompts, served on any transport, both eras.
#[derive(Clone)]
pub struct Server {
    shared: Arc<ServerShared>,
}

impl Server {
    /// Starts building a server with this name.
    pub fn builder(name: impl Into<String>) -> ServerBuilder {
        ServerBuilder::new(name.into())
    }

    pub(crate) fn from_shared(shared: Arc<ServerShared>) -> Server {
        Server { shared }
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
    pub fn tool(&self, name: &str) -> Option<&mcp_proto::tools::Tool> {
        self.shared.tools.get(name).map(|t| &t.def)
    }

    /// The server's name and version.
    pub fn info(&self) -> &Implementation {
        &self.shared.info
    }
}

/// A legacy session opened by `initialize`.
pub(crate) struct Session {
    pub version: String,
    pub caps: ClientCapabilities,
    pub state: Arc<SessionState>,
}

/// What a legacy session's requests change: the log level and the subscriptions.
#[derive(Default)]
pub(crate) struct SessionState {
    /// Set by `logging/setLevel`; until then every message is sent.
    pub log_level: Mutex<Option<LoggingLevel>>,
    pub subscriptions: Mutex<BTreeSet<String>>,
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
        session: Arc<SessionState>,
    },
    /// The request's `_meta`, and the log level it asks for.
    Modern(RequestMeta, Option<LoggingLevel>),
}

fn modern_speaks(params: Option<&Value>) -> Result<Speaks, ErrorObject> {
    let meta = RequestMeta::from_params(params)?;
    Ok(Speaks::Modern(meta, level_from_params(params)?))
}

impl Handler for ConnHandler {
    fn request(&self, req: Request) -> BoxFuture<Result<Value, ErrorObject>> {
        let server = self.server.clone();
        // `initialize` opens a legacy session; with modern `_meta` it is a removed method.
        if req.method == lc::INITIALIZE && !RequestMeta::is_modern(req.params.as_ref()) {
            return Box::pin(std::future::ready(self.initialize(req.params)));
        }
        let speaks = if RequestMeta::is_modern(req.params.as_ref()) {
            modern_speaks(req.params.as_ref())
        } else if let Some(s) = self.session.get() {
            Ok(Speaks::Legacy {
                version: s.version.clone(),
                caps: s.caps.clone(),
                session: s.state.clone(),
            })
        } else {
            modern_speaks(req.params.as_ref())
        };
        Box::pin(async move {
            let speaks = speaks?;
            let modern = matches!(speaks, Speaks::Modern(..));
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
            state: Arc::default(),
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
            let (base, modern) = request_ctx(server, speaks, peer, id, p.meta.as_ref());
            let args = p.arguments.unwrap_or_default();
            if !modern {
                let ctx = Ctx {
                    inner: Arc::new(base),
                };
                return to_value(tool_outcome((entry.call)(ctx, args).await, false)?);
            }
            let retry = Retry {
                method: "tools/call",
                name: &p.name,
                args: &args,
                request_state: p.request_state.as_deref(),
                input_responses: p.input_responses,
            };
            match modern::run(server, base, retry, |ctx| (entry.call)(ctx, args.clone())).await? {
                Outcome::Done(outcome) => to_value(tool_outcome(outcome, true)?),
                Outcome::InputRequired(v) => Ok(v),
            }
        }
        "prompts/get" => {
            let p: GetPromptParams = parse(params)?;
            let (base, modern) = request_ctx(server, speaks, peer, id, p.meta.as_ref());
            crate::prompts::get(server, base, modern, p).await
        }
        "resources/list" | "resources/read" | "resources/templates/list" => {
            let modern = matches!(speaks, Speaks::Modern(..));
            crate::resources::dispatch(server, &method, params, modern).await
        }
        "prompts/list" => crate::prompts::list(server),
        "completion/complete" if !server.completers.is_empty() => {
            crate::completion::complete(server, params).await
        }
        // Legacy only: removed in 2026-07-28 (404 there).
        SET_LEVEL => match speaks {
            Speaks::Legacy { session, .. } => {
                let p: SetLevelParams = parse(params)?;
                *session.log_level.lock().unwrap_or_else(|e| e.into_inner()) = Some(p.level);
                Ok(json!({}))
            }
            Speaks::Modern(..) => Err(ErrorObject::method_not_found(&method)),
        },
        "resources/subscribe" | "resources/unsubscribe" if server.subscriptions => match speaks {
            Speaks::Legacy { session, .. } => {
                crate::resources::subscription(server, &session, &method, params)
            }
            Speaks::Modern(..) => Err(ErrorObject::method_not_found(&method)),
        },
        _ => Err(ErrorObject::method_not_found(&method)),
    }
}

/// The context of a request that may ask for input (`tools/call`, `prompts/get`), and
/// whether it is modern.
fn request_ctx(
    server: &Arc<ServerShared>,
    speaks: Speaks,
    peer: Peer,
    id: mcp_proto::RequestId,
    meta: Option<&Value>,
) -> (CtxInner, bool) {
    let (caps, version, log, modern) = match speaks {
        Speaks::Legacy {
            version,
            caps,
            session,
        } => (caps, version, LogGate::Session(session), false),
        Speaks::Modern(m, level) => (
            m.client_capabilities,
            m.protocol_version,
            LogGate::Request(level),
            true,
        ),
    };
    let progress_token = meta.and_then(|m| m.get("progressToken")).cloned();
    let base = CtxInner {
        peer,
        request_id: id,
        caps,
        protocol_version: version,
        progress_token,
        server: server.clone(),
        round: None,
        log,
    };
    (base, modern)
}

/// Maps a handler's outcome to the tool result or the JSON-RPC error.
pub(crate) fn tool_outcome(
    outcome: Result<mcp_proto::tools::CallToolResult, ToolError>,
    modern: bool,
) -> Result<mcp_proto::tools::CallToolResult, ErrorObject> {
    match outcome {
        Ok(r) => Ok(r),
        Err(ToolError::Protocol(e)) => Err(e),
        Err(e) => match missing_capability(&e).filter(|_| modern) {
            Some(err) => Err(err),
            None => Ok(mcp_proto::tools::CallToolResult::error(e.to_string())),
        },
    }
}

/// The `-32021` error for a handler that needs a capability the request did not declare
/// (modern era).
pub(crate) fn missing_capability(e: &ToolError) -> Option<ErrorObject> {
    use crate::sampling::SampleError;
    use crate::{ElicitError, RootsError};
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
    Some(lc::missing_capability(caps, why))
}

fn discover(server: &ServerShared) -> Result<Value, ErrorObject> {
    let mut versions: Vec<String> = MODERN_VERSIONS.iter().map(|v| v.to_string()).collect();
    versions.extend(LEGACY_VERSIONS.iter().map(|v| v.to_string()));
    to_value(DiscoverResult {
        supported_versions: versions,
        capabilities: server.modern_capabilities.clone(),
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
