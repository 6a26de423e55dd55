//! The host's side: `initialize` answered with the server's identity and capabilities, every
//! other request forwarded to the server (with progress mapped back to the host's token),
//! and the host's notifications passed on.

use crate::answer::{Host, HostSlot};
use crate::parked::Parked;
use mcp_client::{Client, ClientError, Roots};
use mcp_proto::handler::ToolCall;
use mcp_proto::lifecycle::{
    DiscoverResult, InitializeParams, InitializeResult, RequestMeta, META_CLIENT_CAPABILITIES,
    META_CLIENT_INFO, META_LOG_LEVEL, META_PROTOCOL_VERSION, META_SERVER_INFO,
};
use mcp_proto::methods::{
    CallTool, ClientMethod, Discover, GetPrompt, Initialize, Initialized, ListRoots,
    Notification as _, Progress, Request as _, RootsListChanged, SetLevel, Subscribe, Unsubscribe,
};
use mcp_proto::mrtr::fill_complete;
use mcp_proto::mrtr::InputResponses;
use mcp_proto::roots::ListRootsResult;
use mcp_proto::version::{negotiate_legacy, MODERN, MODERN_VERSIONS};
use mcp_proto::{BoxFuture, Era, ErrorObject, Implementation};
use mcp_rpc::{Handler, Peer, Request, RequestOptions, RpcError};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, OnceCell};

/// The server side of one host: connected already (stdio), or on the host's `initialize`
/// (each HTTP session has its own).
pub(crate) enum ServerSide {
    Ready(Arc<Client>),
    /// Connected on `initialize`; modern requests use `shared`, opened on first use.
    Lazy(
        Box<crate::BridgeOptions>,
        crate::Connector,
        Arc<OnceCell<Connected>>,
    ),
}

pub(crate) struct HostHandler {
    inner: Arc<Inner>,
}

struct Inner {
    /// The server side of this connection's legacy host.
    server: Arc<OnceCell<Connected>>,
    /// The server side of modern hosts' requests (stateless: shared by every request; the
    /// same as `server` on a single connection).
    shared: Arc<OnceCell<Connected>>,
    lazy: Option<(Box<crate::BridgeOptions>, crate::Connector)>,
    slot: Arc<HostSlot>,
    /// Modern hosts' calls waiting for their input (shared with the modern side's answers).
    parked: Arc<Parked>,
    roots: Roots,
    /// The log level the host set, sent in each request's `_meta` to a modern server (which
    /// keeps no session to remember it).
    log_level: Mutex<Option<Value>>,
    /// False while the host's roots are being listed after `initialize`: requests wait for
    /// them (a bounded time), so the server never sees the bridge's own roots instead.
    roots_ready: watch::Receiver<bool>,
    roots_done: Arc<watch::Sender<bool>>,
}

/// A connected server side: the client, and the child process to keep alive with it.
pub(crate) struct Connected {
    pub client: Arc<Client>,
    /// Killed when dropped (the session ended).
    pub _child: Mutex<Option<mcp_rpc::ChildProcess>>,
}

/// How long a request waits for the host's first roots.
const ROOTS_WAIT: Duration = Duration::from_secs(5);

impl HostHandler {
    pub(crate) fn new(
        server: ServerSide,
        slot: Arc<HostSlot>,
        parked: Arc<Parked>,
        roots: Roots,
    ) -> HostHandler {
        let (done, ready) = watch::channel(true);
        let (server, shared, lazy) = match server {
            ServerSide::Ready(client) => {
                let connected = Connected {
                    client,
                    _child: Mutex::new(None),
                };
                let cell = Arc::new(OnceCell::new_with(Some(connected)));
                (cell.clone(), cell, None)
            }
            ServerSide::Lazy(opts, connector, shared) => {
                (Arc::new(OnceCell::new()), shared, Some((opts, connector)))
            }
        };
        HostHandler {
            inner: Arc::new(Inner {
                server,
                shared,
                lazy,
                slot,
                parked,
                roots,
                log_level: Mutex::default(),
                roots_ready: ready,
                roots_done: Arc::new(done),
            }),
        }
    }
}

impl Inner {
    /// The client towards the server for this connection's legacy host, connected now if it
    /// was not.
    async fn client(&self) -> Result<Arc<Client>, ErrorObject> {
        // A legacy host's own side: no modern host's calls are parked on it.
        self.open(&self.server, self.slot.clone(), Arc::default())
            .await
    }

    /// The client for modern requests: no host to ask (a modern host cannot be sent
    /// requests), so sampling is the bridge's own.
    async fn modern_client(&self) -> Result<Arc<Client>, ErrorObject> {
        self.open(&self.shared, Arc::default(), self.parked.clone())
            .await
    }

    async fn open(
        &self,
        cell: &OnceCell<Connected>,
        slot: Arc<HostSlot>,
        parked: Arc<Parked>,
    ) -> Result<Arc<Client>, ErrorObject> {
        let connected = cell
            .get_or_try_init(|| async {
                let Some((opts, connector)) = &self.lazy else {
                    return Err(ErrorObject::internal("the bridge has no server"));
                };
                let roots = Roots::new(opts.roots.clone()).unwrap_or_default();
                let (to_host, client_opts) = crate::client_side(opts, slot, parked, roots);
                let (client, child) = connector(Arc::new(to_host), client_opts)
                    .await
                    .map_err(|e| ErrorObject::internal(format!("cannot reach the server: {e}")))?;
                Ok(Connected {
                    client: Arc::new(client),
                    _child: Mutex::new(child),
                })
            })
            .await?;
        Ok(connected.client.clone())
    }

    /// `server/discover` from a modern host: the server's identity and capabilities.
    async fn discover(&self) -> Result<Value, ErrorObject> {
        let client = self.modern_client().await?;
        let info = client
            .server_info()
            .cloned()
            .unwrap_or_else(|| Implementation::new("server", "unknown"));
        let result = DiscoverResult {
            supported_versions: MODERN_VERSIONS.iter().map(|v| v.to_string()).collect(),
            capabilities: client.server_capabilities().clone(),
            instructions: None,
            meta: Some(json!({ META_SERVER_INFO: info })),
        };
        let v = serde_json::to_value(result).map_err(|e| ErrorObject::internal(e.to_string()))?;
        Ok(complete(Discover::METHOD, v))
    }

    /// A modern host's request: its protocol fields are the host's, not for the server (the
    /// client adds its own to a modern server); its log level goes on to a modern server only.
    async fn modern(&self, req: Request) -> Result<Value, ErrorObject> {
        let meta = RequestMeta::from_params(req.params.as_ref())?;
        let method = req.method.as_str();
        if [
            Initialize::METHOD,
            SetLevel::METHOD,
            Subscribe::METHOD,
            Unsubscribe::METHOD,
        ]
        .contains(&method)
        {
            return Err(ErrorObject::method_not_found(&format!(
                "{method} (not in {MODERN})"
            )));
        }
        let client = self.modern_client().await?;
        let mut params = req.params;
        if let Some(meta) = params
            .as_mut()
            .and_then(|p| p.get_mut("_meta"))
            .and_then(Value::as_object_mut)
        {
            meta.remove(META_PROTOCOL_VERSION);
            meta.remove(META_CLIENT_CAPABILITIES);
            meta.remove(META_CLIENT_INFO);
            if client.era() == Era::Legacy {
                meta.remove(META_LOG_LEVEL);
            }
        }
        let caps = meta.client_capabilities;
        let is_call = method == CallTool::METHOD || method == GetPrompt::METHOD;
        if !is_call || !(caps.can_sample() || caps.can_elicit_form()) {
            return forward(&client, &req.peer, method, params)
                .await
                .map(|v| complete(method, v));
        }
        // The host may answer the server's requests: park the call, and bring them to it.
        let mut params = params.unwrap_or_else(|| json!({}));
        let state = params
            .get("requestState")
            .and_then(Value::as_str)
            .map(String::from);
        if let Some(state) = state {
            let responses: InputResponses = match params.get("inputResponses") {
                Some(r) => serde_json::from_value(r.clone()).map_err(|e| {
                    ErrorObject::invalid_params(format!("invalid inputResponses: {e}"))
                })?,
                None => InputResponses::new(),
            };
            return self
                .parked
                .resume(&state, responses)
                .await
                .map(|v| complete(method, v));
        }
        if let Some(obj) = params.as_object_mut() {
            obj.remove("inputResponses");
        }
        let call = ToolCall::from_params(&params);
        let (peer, method_owned) = (req.peer.clone(), method.to_string());
        let run = async move { forward(&client, &peer, &method_owned, Some(params)).await };
        let key = self.parked.park(call, caps, run)?;
        self.parked.first(&key).await.map(|v| complete(method, v))
    }

    async fn initialize(&self, params: Option<Value>, peer: Peer) -> Result<Value, ErrorObject> {
        let p: InitializeParams = serde_json::from_value(params.unwrap_or(Value::Null))
            .map_err(|e| ErrorObject::invalid_params(format!("invalid initialize params: {e}")))?;
        tracing::info!(host = %p.client_info.name, version = %p.protocol_version, "host connected");
        let host = Host {
            peer: peer.clone(),
            caps: p.capabilities,
        };
        let list_roots = host.caps.can_list_roots();
        self.slot.set(host);
        let client = self.client().await?;
        if list_roots {
            self.roots_done.send_replace(false);
            refresh_roots(peer, self.roots.clone(), Some(self.roots_done.clone()));
        }
        let server_info = client
            .server_info()
            .cloned()
            .unwrap_or_else(|| Implementation::new("server", "unknown"));
        let result = InitializeResult {
            protocol_version: negotiate_legacy(&p.protocol_version).to_string(),
            capabilities: client.server_capabilities().clone(),
            server_info,
            instructions: None,
        };
        serde_json::to_value(result).map_err(|e| ErrorObject::internal(e.to_string()))
    }

    async fn request(&self, req: Request) -> Result<Value, ErrorObject> {
        let method = req.method.as_str();
        if method == Initialize::METHOD {
            return self.initialize(req.params, req.peer).await;
        }
        if method == Discover::METHOD {
            return self.discover().await;
        }
        if RequestMeta::is_modern(req.params.as_ref()) {
            return self.modern(req).await;
        }
        let (Some(_), Some(connected)) = (self.slot.get(), self.server.get()) else {
            return Err(ErrorObject::invalid_request(
                "the bridge's host must send initialize first",
            ));
        };
        let client = connected.client.clone();
        let modern = client.era() == Era::Modern;
        if modern && method == SetLevel::METHOD {
            let level = req.params.as_ref().and_then(|p| p.get("level")).cloned();
            *self.log_level.lock().unwrap_or_else(|p| p.into_inner()) = level;
            return Ok(json!({}));
        }
        if modern && (method == Subscribe::METHOD || method == Unsubscribe::METHOD) {
            return Err(ErrorObject::method_not_found(&format!(
                "{method}: the server speaks {}, which has no resource subscriptions",
                client.protocol_version()
            )));
        }
        let mut params = req.params;
        if modern {
            let level = self
                .log_level
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            let obj = params.get_or_insert_with(|| json!({})).as_object_mut();
            if let (Some(level), Some(obj)) = (level, obj) {
                let meta = obj.entry("_meta").or_insert_with(|| json!({}));
                if let Some(m) = meta.as_object_mut() {
                    m.insert(META_LOG_LEVEL.into(), level);
                }
            }
        }
        let mut roots_ready = self.roots_ready.clone();
        if tokio::time::timeout(ROOTS_WAIT, roots_ready.wait_for(|r| *r))
            .await
            .is_err()
        {
            // Once: later requests do not wait for a host that does not answer.
            self.roots_done.send_replace(true);
            tracing::warn!("the host has not listed its roots yet; going on without them");
        }
        let call = self.slot.call_started(&req.id, method);
        let outcome = forward(&client, &req.peer, method, params).await;
        if call {
            self.slot.call_ended(&req.id);
        }
        outcome
    }
}

impl Handler for HostHandler {
    fn request(&self, req: Request) -> BoxFuture<Result<Value, ErrorObject>> {
        let inner = self.inner.clone();
        Box::pin(async move { inner.request(req).await })
    }

    fn notification(&self, method: &str, params: Option<Value>, peer: &Peer) {
        let inner = &self.inner;
        if method == Initialized::METHOD {
            return;
        }
        if method == RootsListChanged::METHOD {
            refresh_roots(peer.clone(), inner.roots.clone(), None);
            return;
        }
        // A modern server takes no notifications from its client.
        if let Some(connected) = inner.server.get() {
            let client = &connected.client;
            if client.era() == Era::Legacy {
                if let Err(e) = client.peer().notify(method, params) {
                    tracing::debug!(method, "cannot pass a notification to the server: {e}");
                }
            }
        }
    }
}

/// A result as 2026-07-28 has it (a legacy server's results lack `resultType` and the
/// caching hints; the client already ran any `input_required` rounds, so what comes back is
/// complete).
fn complete(method: &str, mut v: Value) -> Value {
    let cacheable = ClientMethod::parse(method).is_some_and(ClientMethod::cacheable);
    fill_complete(&mut v, cacheable);
    v
}

/// Forwards one request; the server's progress for it reaches the host under the host's
/// own token.
async fn forward(
    client: &Client,
    host: &Peer,
    method: &str,
    params: Option<Value>,
) -> Result<Value, ErrorObject> {
    let token = params
        .as_ref()
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get("progressToken"))
        .cloned();
    let (progress, relay) = match token {
        Some(token) => {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
            let host = host.clone();
            let relay = tokio::spawn(async move {
                while let Some(mut p) = rx.recv().await {
                    tracing::trace!(?p, "progress relayed to the host");
                    if let Some(obj) = p.as_object_mut() {
                        obj.insert("progressToken".into(), token.clone());
                    }
                    if host.notify(Progress::METHOD, Some(p)).is_err() {
                        return;
                    }
                }
            });
            (Some(tx), Some(relay))
        }
        None => (None, None),
    };
    let outcome = client.forward(method, params, progress).await;
    // The request is over, so its progress channel is closed: the relay ends once it has
    // passed on what came before the answer, which thus reaches the host first.
    if let Some(relay) = relay {
        let _ = relay.await;
    }
    outcome.map_err(error_object)
}

/// The server's error as the host sees it: the server's own answer as it was, else one
/// sentence naming what failed.
fn error_object(e: ClientError) -> ErrorObject {
    match e {
        ClientError::Rpc(RpcError::Remote(e)) => e,
        other => ErrorObject::internal(format!("the bridged server failed: {other}")),
    }
}

/// Asks the host for its roots and offers them to the server (roots that are not `file://`
/// URIs are left out, with a warning); says so on `done` when finished, either way.
fn refresh_roots(host: Peer, roots: Roots, done: Option<Arc<watch::Sender<bool>>>) {
    tokio::spawn(async move {
        let listed = host
            .request(ListRoots::METHOD, None, RequestOptions::default())
            .await;
        match listed.map(serde_json::from_value::<ListRootsResult>) {
            Ok(Ok(list)) => {
                let (good, bad): (Vec<_>, Vec<_>) =
                    list.roots.into_iter().partition(|r| r.check().is_ok());
                if !bad.is_empty() {
                    tracing::warn!(
                        left_out = bad.len(),
                        "the host offered roots that are not file:// URIs"
                    );
                }
                if let Err(e) = roots.set(good) {
                    tracing::warn!("cannot offer the host's roots: {e}");
                }
            }
            Ok(Err(e)) => tracing::warn!("the host's roots/list answer is malformed: {e}"),
            Err(e) => tracing::warn!("the host did not list its roots: {e}"),
        }
        if let Some(done) = done {
            done.send_replace(true);
        }
    });
}
