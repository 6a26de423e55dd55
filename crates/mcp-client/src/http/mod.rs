//! The Streamable HTTP client transport, both eras. It carries messages and does not read or
//! rewrite application traffic: what it knows of a message is its envelope (id, method) and,
//! for modern requests, the `_meta` protocol version and the params field that
//! `mcp_proto::methods::named_param` names.
//!
//! Every message our side sends is one POST (`MessageSink::send` queues it; one task takes the
//! queue in order). Requests are POSTed concurrently, each by its own task (`exchange`);
//! notifications are POSTed one at a time and waited for, so `notifications/initialized`
//! reaches the server before any request that follows it. Answers come back as
//! `application/json` (one message) or `text/event-stream` (parsed by [`sse`]), and each
//! message goes to the engine's [`Inbound`] as it came (`stream`).
//!
//! - Legacy (`2025-11-25` and earlier; `session`): the `Mcp-Session-Id` of the `initialize`
//!   answer goes on every later request, and so do the connection's hints
//!   ([`mcp_rpc::Peer::set_transport_hints`]: the client gives the negotiated
//!   `MCP-Protocol-Version` once `initialize` is answered). After `notifications/initialized`
//!   the standalone GET stream is opened and kept (405: none). A POST stream that ends before
//!   its answer is resumed with GET + `Last-Event-ID` after the `retry` delay (bounded
//!   attempts); events already seen (by id) are dropped. A 404 to a request that carried a
//!   session id starts a new session (the remembered `initialize` and
//!   `notifications/initialized` are replayed) and the message is sent again. Closing sends
//!   DELETE.
//! - Modern (a request whose `_meta` carries a protocol version): `MCP-Protocol-Version` from
//!   that `_meta`, `Mcp-Method`, `Mcp-Name`, and the request's hints as headers (the client
//!   computes the `Mcp-Param-*` headers of a `tools/call`, and retries one refused with
//!   `-32020`). `notifications/cancelled` for a modern request is not sent: its POST is
//!   dropped, which is the cancellation.
//!
//! An HTTP error answer that carries a JSON-RPC error for the request is the server's answer.
//! Any other failure (network, an HTTP error status, a stream cut beyond resumption) fails the
//! waiting request out of band with [`Inbound::fail`] (naming the status and an excerpt of the
//! body; 401: the `WWW-Authenticate` challenge), so it never hangs and no server message can
//! pass for it.

pub mod auth;
mod exchange;
pub mod headers;
mod session;
pub mod sse;
mod stream;

use auth::Authorizer;
use mcp_proto::methods::{Cancelled, Initialize, Initialized, Notification as _, Request as _};
use mcp_proto::RequestId;
use mcp_rpc::{Closed, Config, Connection, Handler, Hints, Inbound, MessageSink, Route};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use reqwest::Method;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

/// Settings of the HTTP transport.
#[derive(Clone)]
pub struct HttpOptions {
    /// Sent as `Authorization: Bearer …` on every request.
    pub bearer: Option<String>,
    /// Credentials got and renewed as the server asks (OAuth: [`crate::oauth::OAuth`]); they
    /// replace `bearer` when both are given.
    pub auth: Option<Arc<dyn Authorizer>>,
    /// Extra headers sent on every request.
    pub headers: Vec<(String, String)>,
    /// How long to wait for a TCP/TLS connection (default 10 s).
    pub connect_timeout: Duration,
    /// Longest silence on a response body before it counts as broken (default none: a
    /// server may wait minutes for our sampling answer without sending anything).
    pub read_timeout: Option<Duration>,
    /// Legacy: most reconnections of a dropped event stream in a row (default 5).
    pub max_reconnects: u32,
    /// Reconnection delay when the server set no `retry` (default 1 s; doubled per attempt).
    pub default_retry: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            bearer: None,
            auth: None,
            headers: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: None,
            max_reconnects: 5,
            default_retry: Duration::from_secs(1),
        }
    }
}

impl std::fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("HttpOptions")
            .field("bearer", &self.bearer.as_ref().map(|_| "<redacted>"))
            .field("auth", &self.auth.as_ref().map(|_| "<authorizer>"))
            .field("headers", &names)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("max_reconnects", &self.max_reconnects)
            .field("default_retry", &self.default_retry)
            .finish()
    }
}

/// Why the transport could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The endpoint URL is not a valid http(s) URL.
    #[error("invalid MCP endpoint URL {url:?}: {why}")]
    Url {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// A header name or value cannot be sent.
    #[error("invalid HTTP header {name:?}: {why}")]
    Header {
        /// The header's name.
        name: String,
        /// What is wrong with it.
        why: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
}

/// A Streamable HTTP endpoint, ready to start a connection.
pub struct HttpTransport {
    url: reqwest::Url,
    opts: HttpOptions,
    http: reqwest::Client,
    base: HeaderMap,
}

impl HttpTransport {
    /// Checks the URL and headers and builds the HTTP client.
    pub fn new(url: &str, opts: HttpOptions) -> Result<HttpTransport, HttpError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| HttpError::Url {
            url: url.into(),
            why: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(HttpError::Url {
                url: url.into(),
                why: "the scheme must be http or https".into(),
            });
        }
        let mut base = HeaderMap::new();
        for (name, value) in &opts.headers {
            let bad = |why: String| HttpError::Header {
                name: name.clone(),
                why,
            };
            let n = HeaderName::try_from(name.as_str()).map_err(|e| bad(e.to_string()))?;
            let v = HeaderValue::try_from(value.as_str()).map_err(|e| bad(e.to_string()))?;
            base.append(n, v);
        }
        if let Some(token) = &opts.bearer {
            let mut v = HeaderValue::try_from(format!("Bearer {token}")).map_err(|e| {
                HttpError::Header {
                    name: "Authorization".into(),
                    why: format!("the bearer token cannot be sent: {e}"),
                }
            })?;
            v.set_sensitive(true);
            base.insert(AUTHORIZATION, v);
        }
        let mut builder = reqwest::Client::builder().connect_timeout(opts.connect_timeout);
        if let Some(t) = opts.read_timeout {
            builder = builder.read_timeout(t);
        }
        let http = builder
            .build()
            .map_err(|e| HttpError::Client(e.to_string()))?;
        Ok(HttpTransport {
            url: parsed,
            opts,
            http,
            base,
        })
    }

    /// Starts the engine connection over this endpoint (for [`crate::Client::connect_with`];
    /// [`crate::Client::connect_http`] does both).
    pub fn start(self, handler: Arc<dyn Handler>, config: Config) -> Connection {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            http: self.http,
            url: self.url,
            base: self.base,
            opts: self.opts,
            max_event: config.max_frame,
            inbound: Mutex::new(None),
            queue: Mutex::new(Some(tx)),
            closed: AtomicBool::new(false),
            session: Mutex::new(Session::default()),
            hints: Mutex::new(Hints::new()),
            renewing: tokio::sync::Mutex::new(()),
            inflight: Mutex::new(HashMap::new()),
            tasks: Mutex::new(HashMap::new()),
            next_task: AtomicU64::new(0),
            seen: Mutex::new(Seen::default()),
        });
        let sink = Arc::new(Sink(shared.clone()));
        let (conn, inbound) = Connection::start_messages(sink, handler, config);
        *lock(&shared.inbound) = Some(inbound);
        tokio::spawn(run_queue(shared, rx));
        conn
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The legacy session, as far as the transport knows it.
#[derive(Default)]
pub(crate) struct Session {
    /// `Mcp-Session-Id`, if the server gave one.
    pub id: Option<String>,
    /// Bumped by every new session (a 404 retried by several requests renews once).
    pub generation: u64,
    /// The `initialize` request and `notifications/initialized`, replayed for a new session.
    pub init_request: Option<Vec<u8>>,
    pub initialized: Option<Vec<u8>>,
    /// The standalone GET stream's task.
    pub listener: Option<u64>,
}

/// Ids of the events already handed on (legacy), so a replay does not deliver them twice.
#[derive(Default)]
pub(crate) struct Seen {
    set: HashSet<String>,
    order: VecDeque<String>,
}

const SEEN_MAX: usize = 4096;

impl Seen {
    /// Records `id`; false if it was already there.
    pub fn insert(&mut self, id: &str) -> bool {
        if self.set.contains(id) {
            return false;
        }
        if self.order.len() >= SEEN_MAX {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.set.insert(id.to_owned());
        self.order.push_back(id.to_owned());
        true
    }

    pub fn clear(&mut self) {
        self.set.clear();
        self.order.clear();
    }
}

/// An outgoing message and its request's hints, in the send queue.
type Queued = (Vec<u8>, Hints);

/// One of our requests being POSTed.
struct Flight {
    task: u64,
    modern: bool,
}

pub(crate) struct Shared {
    pub http: reqwest::Client,
    pub url: reqwest::Url,
    pub base: HeaderMap,
    pub opts: HttpOptions,
    pub max_event: usize,
    inbound: Mutex<Option<Inbound>>,
    queue: Mutex<Option<mpsc::UnboundedSender<Queued>>>,
    closed: AtomicBool,
    pub session: Mutex<Session>,
    /// The connection's hints, sent as headers with every legacy message.
    pub hints: Mutex<Hints>,
    /// Held while a new session is being opened.
    pub renewing: tokio::sync::Mutex<()>,
    inflight: Mutex<HashMap<RequestId, Flight>>,
    tasks: Mutex<HashMap<u64, AbortHandle>>,
    next_task: AtomicU64,
    pub seen: Mutex<Seen>,
}

impl Shared {
    /// The base headers plus the authorizer's current credentials for a `method` request.
    pub fn base_headers(&self, method: &Method) -> HeaderMap {
        let mut h = self.base.clone();
        if let Some(auth) = &self.opts.auth {
            auth.credentials(method, &self.url, &mut h);
        }
        h
    }

    /// Hands one message from the server to the engine.
    pub fn deliver(&self, message: &[u8]) {
        let inbound = lock(&self.inbound).clone();
        match inbound {
            Some(i) => i.receive(message),
            None => tracing::debug!("dropped a message that arrived after the close"),
        }
    }

    /// Fails our request `id` out of band: no answer will come for it.
    pub fn fail(&self, id: &RequestId, why: String) {
        let inbound = lock(&self.inbound).clone();
        if let Some(i) = inbound {
            i.fail(id, why);
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Runs `fut` as a task that closing the transport aborts; returns its key.
    pub fn spawn<F>(self: &Arc<Self>, fut: F) -> u64
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let key = self.next_task.fetch_add(1, Ordering::Relaxed);
        let me = self.clone();
        let mut tasks = lock(&self.tasks);
        let handle = tokio::spawn(async move {
            fut.await;
            lock(&me.tasks).remove(&key);
        });
        tasks.insert(key, handle.abort_handle());
        key
    }

    pub fn abort(&self, key: u64) {
        if let Some(h) = lock(&self.tasks).remove(&key) {
            h.abort();
        }
    }
}

struct Sink(Arc<Shared>);

impl MessageSink for Sink {
    fn send(
        &self,
        message: Vec<u8>,
        _route: Route,
        hints: &[(String, String)],
    ) -> Result<(), Closed> {
        match lock(&self.0.queue).as_ref() {
            Some(q) => q.send((message, hints.to_vec())).map_err(|_| Closed),
            None => Err(Closed),
        }
    }

    fn set_hints(&self, hints: Hints) {
        *lock(&self.0.hints) = hints;
    }

    fn close(&self) {
        if self.0.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        // The queue task sends what is queued, then shuts the transport down.
        lock(&self.0.queue).take();
    }

    fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
}

/// What an outgoing message is, read from its envelope.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default)]
    id: Option<RequestId>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default, borrow)]
    params: Option<&'a RawValue>,
}

/// An outgoing request, as the POST task needs it.
pub(crate) struct OutRequest {
    pub id: RequestId,
    pub method: String,
    pub params: Option<Value>,
    /// The modern protocol version from `_meta`, if the request is modern.
    pub modern: Option<String>,
    pub body: Vec<u8>,
    /// Sent as headers with the request's POST.
    pub hints: Hints,
}

/// Adds hints to a request's headers (a hint that is no valid header is left out).
pub(crate) fn put_hints(h: &mut HeaderMap, hints: &[(String, String)]) {
    for (name, value) in hints {
        match (
            HeaderName::try_from(name.as_str()),
            HeaderValue::from_str(value),
        ) {
            (Ok(n), Ok(v)) => {
                h.insert(n, v);
            }
            _ => tracing::warn!(header = name, "cannot send a header value; left out"),
        }
    }
}

/// The modern protocol version a request's `_meta` names, if any.
fn modern_version(params: Option<&Value>) -> Option<String> {
    params?
        .get("_meta")?
        .get(mcp_proto::lifecycle::META_PROTOCOL_VERSION)?
        .as_str()
        .map(str::to_owned)
}

async fn run_queue(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Queued>) {
    while let Some((message, hints)) = rx.recv().await {
        let env: Envelope<'_> = match serde_json::from_slice(&message) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!("not sending a malformed message: {e}");
                continue;
            }
        };
        let params: Option<Value> = env.params.and_then(|p| serde_json::from_str(p.get()).ok());
        match (env.id, env.method) {
            (Some(id), Some(method)) => {
                let modern = modern_version(params.as_ref());
                if method == Initialize::METHOD {
                    lock(&shared.session).init_request = Some(message.clone());
                }
                let req = OutRequest {
                    id: id.clone(),
                    method,
                    params,
                    modern,
                    body: message,
                    hints,
                };
                start_request(&shared, req);
            }
            (None, Some(method)) => send_notification(&shared, &method, params, message).await,
            (Some(_), None) => {
                let s = shared.clone();
                shared.spawn(async move {
                    session::post_other(&s, message, "response").await;
                });
            }
            (None, None) => tracing::warn!("not sending a message that has neither id nor method"),
        }
    }
    shutdown(&shared).await;
}

fn start_request(shared: &Arc<Shared>, req: OutRequest) {
    let id = req.id.clone();
    let modern = req.modern.is_some();
    let s = shared.clone();
    // The entry is made under the lock, before the task can remove it.
    let mut inflight = lock(&shared.inflight);
    let task = shared.spawn(async move {
        let id = req.id.clone();
        exchange::post_request(&s, req).await;
        lock(&s.inflight).remove(&id);
    });
    inflight.insert(id, Flight { task, modern });
}

async fn send_notification(
    shared: &Arc<Shared>,
    method: &str,
    params: Option<Value>,
    body: Vec<u8>,
) {
    if method == Cancelled::METHOD {
        let target = params
            .as_ref()
            .and_then(|p| p.get("requestId"))
            .and_then(|v| serde_json::from_value::<RequestId>(v.clone()).ok());
        let flight = target.and_then(|t| lock(&shared.inflight).remove(&t));
        let modern = match flight {
            Some(f) => {
                // Our waiter is gone either way: stop reading the answer.
                shared.abort(f.task);
                f.modern
            }
            // Already answered: only a legacy session has any use for the notification.
            None => lock(&shared.session).init_request.is_none(),
        };
        if modern {
            // Modern: dropping the response stream is the cancellation; nothing is POSTed.
            return;
        }
    }
    let initialized = method == Initialized::METHOD;
    if initialized {
        lock(&shared.session).initialized = Some(body.clone());
    }
    let ok = session::post_other(shared, body, method).await;
    if initialized && ok {
        let opened = session::listen(shared);
        // Later messages wait (briefly) for the stream's answer: a server may deliver what
        // belongs to a request on whichever stream it sees open.
        let _ = tokio::time::timeout(LISTEN_WAIT, opened).await;
    }
}

/// Longest wait for the standalone stream to open before later messages go out.
pub(crate) const LISTEN_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Stops every task, ends the session (DELETE), and tells the engine the input is over.
async fn shutdown(shared: &Arc<Shared>) {
    let tasks: Vec<AbortHandle> = lock(&shared.tasks).drain().map(|(_, h)| h).collect();
    for t in tasks {
        t.abort();
    }
    session::delete(shared).await;
    let inbound = lock(&shared.inbound).take();
    if let Some(i) = inbound {
        i.end();
    }
}
