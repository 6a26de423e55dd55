//! Streamable HTTP for an [`mcp_server::Server`] (or any [`Service`]), both eras on one endpoint.
//!
//! - Legacy (`2025-03-26` .. `2025-11-25`, `legacy.rs`): `initialize` opens a session
//!   (`Mcp-Session-Id`), one engine connection per session. A request's answer and everything
//!   the server sends while serving it (a tool call's sampling requests, its progress) ride that
//!   POST's response: JSON when the answer comes first, otherwise an SSE stream with event ids,
//!   a priming event and `retry`. A cut stream is resumed with GET and `Last-Event-ID` from a
//!   bounded per-stream store; the client's answers arrive as POSTs (202). GET without
//!   `Last-Event-ID` is the standalone stream; DELETE ends the session; idle sessions expire.
//! - Modern (`2026-07-28`, `modern.rs`): stateless; each POST is its own short connection; the
//!   headers must mirror the body (`HeaderMismatch`, 400); closing the stream cancels.
//! - `checks.rs`: `Origin`/`Host` (DNS rebinding), bearer token with the protected-resource
//!   metadata, media types, body size.
//! - [`auth`]: an OAuth 2.1 resource server instead of the fixed token (`HttpConfig::oauth`):
//!   JWTs against the issuers' keys or introspection, audience, scopes per request and per
//!   tool, RFC 6750 challenges, the RFC 9728 metadata.
//! - Replicas (feature `redis`, [`HttpServer::with_redis`]): legacy sessions, the client's
//!   answers and the streams shared through Redis, so that replicas behind a load balancer
//!   without stickiness serve any request of any session (`shared.rs`, `replicas/`).

// Refusals are whole HTTP responses, built on the cold path; boxing them gains nothing.
#![allow(clippy::result_large_err)]

#[cfg(feature = "oauth")]
pub mod auth;
mod checks;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod gate;
mod legacy;
mod metrics;
mod modern;
mod params;
#[cfg(feature = "redis")]
mod replicas;
#[cfg(feature = "redis")]
pub use replicas::{RedisConfig, RedisError};
mod serve;
pub use serve::serve_router;
// Without a store (feature `redis`) parts of the contract go unused.
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
mod shared;
mod sse;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use mcp_proto::methods::{Initialize, Request as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "oauth")]
pub use auth::{Identity, ResourceServer, TokenValidation};
pub use checks::is_loopback_host;

/// What an HTTP endpoint serves: a fresh engine handler for each connection (a legacy
/// session, a modern request). An [`mcp_server::Server`] is one; so is a bridge's host side.
pub trait Service: Send + Sync + 'static {
    /// The handler of a new connection.
    fn handler(&self) -> Arc<dyn mcp_rpc::Handler>;
    /// The engine settings of its connections.
    fn rpc_config(&self) -> mcp_rpc::Config;
    /// The definition of tool `name`, to check the arguments a modern request mirrors in
    /// headers (none: not checked).
    fn tool(&self, _name: &str) -> Option<&mcp_proto::tools::Tool> {
        None
    }
    /// Appends its own counters in Prometheus' text format to `/metrics` (default: none).
    fn metrics(&self, _out: &mut String) {}
    /// How long a modern `requestState` stays valid (default 30 minutes): a store shared by
    /// replicas remembers a used one this long.
    fn request_state_ttl(&self) -> Duration {
        Duration::from_secs(30 * 60)
    }
}

impl Service for mcp_server::Server {
    fn handler(&self) -> Arc<dyn mcp_rpc::Handler> {
        mcp_server::Server::handler(self)
    }
    fn rpc_config(&self) -> mcp_rpc::Config {
        mcp_server::Server::rpc_config(self)
    }
    fn tool(&self, name: &str) -> Option<&mcp_proto::tools::Tool> {
        mcp_server::Server::tool(self, name)
    }
    fn metrics(&self, out: &mut String) {
        mcp_server::Server::metrics(self).render(out);
    }
    fn request_state_ttl(&self) -> Duration {
        mcp_server::Server::request_state_ttl(self)
    }
}

/// Settings of the HTTP endpoint. `Default` is safe for a local server.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The MCP endpoint's path (default `/mcp`).
    pub path: String,
    /// Host names (without port) accepted in `Host` and `Origin`; empty accepts any host
    /// (only behind something else that checks). Default: `localhost`, `127.0.0.1`, `[::1]`.
    pub allowed_hosts: Vec<String>,
    /// Further origins accepted exactly (`https://app.example.com`).
    pub allowed_origins: Vec<String>,
    /// When set, every request needs `Authorization: Bearer <token>`.
    pub bearer_token: Option<String>,
    /// An OAuth resource server instead: every request needs an access token from one of its
    /// authorization servers, meant for its resource, with its scopes (`bearer_token` is then
    /// not used). Feature `oauth`.
    #[cfg(feature = "oauth")]
    pub oauth: Option<ResourceServer>,
    /// The authorization servers named in the protected-resource metadata.
    pub authorization_servers: Vec<String>,
    /// Largest request body (default 4 MiB).
    pub max_body: usize,
    /// Most legacy sessions at once (default 1024).
    pub max_sessions: usize,
    /// Most 2026-07-28 requests in flight at once, all clients together (default 4096).
    pub max_requests_in_flight: usize,
    /// Most open streams (requests in flight and GET streams) per session (default 64).
    pub max_streams_per_session: usize,
    /// A session without requests for this long ends (default 30 minutes).
    pub session_idle: Duration,
    /// Events kept per stream for resumption (default 256).
    pub events_per_stream: usize,
    /// The `retry` hint sent on SSE streams (default 1 s).
    pub sse_retry: Duration,
    /// A comment line is sent on quiet SSE streams this often (default 15 s).
    pub keepalive: Duration,
    /// Longest wait for in-flight requests at shutdown (default 30 s).
    pub shutdown_grace: Duration,
    /// Time a client has to send a request's head, from when the server starts waiting for
    /// it; then the connection is closed (default 10 s). Idle keep-alive connections close
    /// after it too.
    pub header_timeout: Duration,
    /// Time a client has to send a request's whole body, from when the handler starts
    /// reading it; then it is answered `408` and the connection closed (default 30 s).
    pub body_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            path: "/mcp".into(),
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into()],
            allowed_origins: Vec::new(),
            bearer_token: None,
            #[cfg(feature = "oauth")]
            oauth: None,
            authorization_servers: Vec::new(),
            max_body: 4 * 1024 * 1024,
            max_sessions: 1024,
            max_requests_in_flight: 4096,
            max_streams_per_session: 64,
            session_idle: Duration::from_secs(30 * 60),
            events_per_stream: 256,
            sse_retry: Duration::from_secs(1),
            keepalive: Duration::from_secs(15),
            shutdown_grace: Duration::from_secs(30),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Binding or serving failed.
    #[error("HTTP server: {0}")]
    Io(#[from] std::io::Error),
}

pub(crate) struct AppState {
    pub server: Arc<dyn Service>,
    pub cfg: Arc<HttpConfig>,
    pub sessions: Arc<legacy::Sessions>,
    pub stopping: AtomicBool,
    /// Permits for modern requests in flight.
    pub modern_slots: Arc<tokio::sync::Semaphore>,
    /// Requests counted for `/metrics`.
    pub metrics: metrics::HttpMetrics,
    /// The OAuth resource server, when on.
    #[cfg(feature = "oauth")]
    pub auth: Option<auth::Auth>,
}

/// An MCP server on Streamable HTTP.
#[derive(Clone)]
pub struct HttpServer {
    state: Arc<AppState>,
}

impl HttpServer {
    /// Serves `server` with these settings.
    pub fn new(server: mcp_server::Server, cfg: HttpConfig) -> HttpServer {
        HttpServer::for_service(Arc::new(server), cfg)
    }

    /// Serves any [`Service`] with these settings.
    pub fn for_service(server: Arc<dyn Service>, cfg: HttpConfig) -> HttpServer {
        let slots = cfg.max_requests_in_flight;
        #[cfg(feature = "oauth")]
        let auth = cfg.oauth.clone().map(auth::Auth::new);
        let cfg = Arc::new(cfg);
        HttpServer {
            state: Arc::new(AppState {
                server,
                sessions: Arc::new(legacy::Sessions::new(cfg.clone())),
                cfg,
                stopping: AtomicBool::new(false),
                metrics: metrics::HttpMetrics::default(),
                modern_slots: Arc::new(tokio::sync::Semaphore::new(slots)),
                #[cfg(feature = "oauth")]
                auth,
            }),
        }
    }

    /// The axum router: the MCP endpoint, the protected-resource metadata and `/metrics`
    /// (left out when the endpoint itself is at `/metrics`).
    pub fn router(&self) -> axum::Router {
        let meta_path = format!(
            "/.well-known/oauth-protected-resource{}",
            self.state.cfg.path
        );
        let mut r = axum::Router::new()
            .route(&self.state.cfg.path, any(endpoint))
            .route(&meta_path, get(gate::resource_metadata));
        if self.state.cfg.path != "/metrics" {
            r = r.route("/metrics", get(metrics::endpoint));
        }
        // The resource's own path, when a proxy in front serves the endpoint elsewhere.
        #[cfg(feature = "oauth")]
        if let Some(p) = self
            .state
            .cfg
            .oauth
            .as_ref()
            .map(ResourceServer::metadata_path)
        {
            if p != meta_path && p != "/.well-known/oauth-protected-resource" {
                r = r.route(&p, get(gate::resource_metadata));
            }
        }
        r.route(
            "/.well-known/oauth-protected-resource",
            get(gate::resource_metadata),
        )
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(self.state.clone())
    }

    /// The same server with its legacy sessions, the client's answers and the streams
    /// shared through Redis, so that replicas behind a load balancer without stickiness
    /// serve any request of any session; modern `requestState`s are accepted once only.
    /// Connects to Redis first (and fails when it cannot); call before serving.
    #[cfg(feature = "redis")]
    pub async fn with_redis(self, redis: RedisConfig) -> Result<HttpServer, RedisError> {
        let store =
            replicas::Replicas::start(redis, self.state.cfg.clone(), self.state.sessions.clone())
                .await?;
        self.state.sessions.share(store);
        Ok(self)
    }

    /// Number of open legacy sessions.
    pub fn sessions(&self) -> usize {
        self.state.sessions.len()
    }

    /// Serves on `listener` until `shutdown` resolves; then refuses new requests, ends the
    /// standalone streams and waits (up to the grace period) for requests in flight.
    ///
    /// Each connection is HTTP/1 with a deadline for the request head
    /// ([`HttpConfig::header_timeout`]: a client sending its headers byte by byte is cut
    /// off) and one for the body ([`HttpConfig::body_timeout`]).
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), HttpError> {
        let sweeper = tokio::spawn(legacy::sweep(self.state.sessions.clone()));
        let connections = serve::accept_until(
            listener,
            self.router(),
            self.state.cfg.header_timeout,
            shutdown,
        )
        .await;
        self.state.stopping.store(true, Ordering::SeqCst);
        self.state.sessions.stop_standalone_streams();
        if let Some(store) = self.state.sessions.shared() {
            store.stop();
        }
        let grace = self.state.cfg.shutdown_grace;
        if tokio::time::timeout(grace, connections.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("requests still in flight after the shutdown grace period; stopping");
        }
        sweeper.abort();
        self.state.sessions.end_all();
        Ok(())
    }
}

/// The MCP endpoint: checks common to every method, then by method and era.
async fn endpoint(
    State(st): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    if let Err(r) = checks::common(&st.cfg, &headers) {
        return r;
    }
    let caller = match gate::authenticate(&st, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if st.stopping.load(Ordering::SeqCst) {
        return checks::error(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            -32603,
            "the server is shutting down",
        );
    }
    match method {
        Method::POST => post(st, headers, body, caller).await,
        Method::GET => legacy::get(st, headers, gate::owner(&caller)).await,
        Method::DELETE => legacy::delete(st, &headers, gate::owner(&caller)).await,
        _ => {
            let mut r = StatusCode::METHOD_NOT_ALLOWED.into_response();
            r.headers_mut().insert(
                "allow",
                axum::http::HeaderValue::from_static("GET, POST, DELETE"),
            );
            r
        }
    }
}

async fn post(
    st: Arc<AppState>,
    headers: HeaderMap,
    body: axum::body::Body,
    caller: gate::Caller,
) -> Response {
    if let Err(r) = checks::post_media(&headers) {
        return r;
    }
    let read = axum::body::to_bytes(body, st.cfg.max_body);
    let body: Bytes = match tokio::time::timeout(st.cfg.body_timeout, read).await {
        Ok(Ok(b)) => b,
        Err(_) => {
            let msg = format!("the body did not arrive within {:?}", st.cfg.body_timeout);
            let mut r = checks::error(StatusCode::REQUEST_TIMEOUT, None, -32600, &msg);
            r.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
            return r;
        }
        Ok(Err(_)) => {
            let msg = format!(
                "the body exceeds the limit of {} bytes (or could not be read)",
                st.cfg.max_body
            );
            return checks::error(StatusCode::PAYLOAD_TOO_LARGE, None, -32600, &msg);
        }
    };
    let msg = match checks::Incoming::parse(&body) {
        Ok(m) => m,
        Err(r) => return r,
    };
    if let Err(r) = gate::authorize(&st, &caller, &msg) {
        return r;
    }
    let method = msg.method.clone();
    let (era, r) = if msg.modern_version.is_some() || modern_by_header(&headers, &msg) {
        ("modern", modern::post(st.clone(), headers, msg, body).await)
    } else {
        let owner = gate::owner(&caller);
        (
            "legacy",
            legacy::post(st.clone(), headers, msg, body, owner).await,
        )
    };
    st.metrics.count(era, method.as_deref(), r.status());
    r
}

/// A request without `_meta` version but with a modern `MCP-Protocol-Version` header and no
/// session is a malformed modern request (answered `-32602`), not a legacy one without a
/// session. `initialize` always opens a legacy session.
fn modern_by_header(h: &HeaderMap, msg: &checks::Incoming) -> bool {
    let modern_header = h
        .get("mcp-protocol-version")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| mcp_proto::version::MODERN_VERSIONS.contains(&v));
    modern_header
        && !h.contains_key("mcp-session-id")
        && msg.method.as_deref() != Some(Initialize::METHOD)
}
