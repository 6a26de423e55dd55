//! The connection: one reader loop, one writer, and the maps that tie answers to questions.
//!
//! Either side may send requests. Our own requests get integer ids from a counter; their
//! pending slots live in one map, so an answer is one lookup. Incoming requests run
//! concurrently as tasks; a map from their ids to abort handles lets `notifications/cancelled`
//! stop them. Dropping a request future that is still waiting (because its caller was
//! cancelled or timed out) tells the peer with `notifications/cancelled`, so cancelling a tool
//! call also cancels the sampling request it was waiting on.

use crate::error::RpcError;
use crate::frame::{Frame, FrameReader, DEFAULT_MAX_FRAME};
use crate::outbox::{Hints, MessageSink, Out, Outbox, Route};
use mcp_proto::jsonrpc::{self, ParseFailure, Peek};
use mcp_proto::methods::{Cancelled, Notification as _, NotificationMethod, Ping, Request as _};
use mcp_proto::{ErrorObject, Message, RequestId};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::AbortHandle;
use tokio::time::Instant;

pub use mcp_proto::BoxFuture;

/// Limits and defaults of one connection.
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest frame accepted (default 8 MiB).
    pub max_frame: usize,
    /// Default wait for an answer to our requests, reset by progress (default 60 s).
    pub request_timeout: Duration,
    /// Hard limit on any wait, whatever the progress (default 30 min).
    pub max_request_timeout: Duration,
    /// Most incoming requests running at once; beyond it the peer gets `-32603` (default 1024).
    pub max_running: usize,
    /// Most bytes of output waiting for a peer that does not read them; beyond it the
    /// connection is closed (default 64 MiB; byte streams only).
    pub max_pending_output: usize,
    /// When the peer's input ends (stdio: it closed our stdin), how long the requests already
    /// read may take to be answered before they are stopped (default 5 s). Our own requests
    /// fail at once: their answers can no longer come.
    pub end_grace: Duration,
    /// The id of our first request; the next ones count up from it (default 1). Replicas
    /// sharing a session give each its own range, so that any of them can tell whose
    /// request a reply answers.
    pub first_request_id: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame: DEFAULT_MAX_FRAME,
            request_timeout: Duration::from_secs(60),
            max_request_timeout: Duration::from_secs(30 * 60),
            max_running: 1024,
            max_pending_output: 64 * 1024 * 1024,
            end_grace: Duration::from_secs(5),
            first_request_id: 1,
        }
    }
}

/// Options of one outgoing request.
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    /// Wait this long for an answer (reset by progress); default: the connection's.
    pub timeout: Option<Duration>,
    /// Receive the peer's progress notifications for this request here.
    pub progress: Option<mpsc::UnboundedSender<Value>>,
    /// The incoming request this one serves (a sampling request made by a tool call).
    pub related: Option<RequestId>,
    /// Handed to a message transport with this request, unread by the engine (see [`Hints`]).
    pub hints: Hints,
}

/// An incoming request, handed to the [`Handler`].
#[derive(Debug)]
pub struct Request {
    /// Its id.
    pub id: RequestId,
    /// Its method.
    pub method: String,
    /// Its params.
    pub params: Option<Value>,
    /// The connection it came on, to send requests back.
    pub peer: Peer,
}

/// An incoming request whose params are still JSON text, handed to
/// [`Handler::request_raw`].
#[derive(Debug)]
pub struct RawRequest {
    /// Its id.
    pub id: RequestId,
    /// Its method.
    pub method: String,
    /// Its params (an object or an array), unparsed.
    pub params: Option<Box<RawValue>>,
    /// The connection it came on, to send requests back.
    pub peer: Peer,
}

/// What a connection does with incoming messages.
pub trait Handler: Send + Sync + 'static {
    /// Answers a request. Runs as its own task; it is aborted if the peer cancels.
    fn request(&self, req: Request) -> BoxFuture<Result<Value, ErrorObject>>;
    /// Whether requests of `method` go to [`Handler::request_raw`] (default: none).
    fn wants_raw(&self, _method: &str) -> bool {
        false
    }
    /// Answers a request of a method [`Handler::wants_raw`] names, its params still JSON
    /// text and its result raw JSON: the fast path for hot requests, whose params are then
    /// parsed once, straight into their type, and whose result is written as it is. The
    /// default parses the params and calls [`Handler::request`].
    fn request_raw(&self, req: RawRequest) -> BoxFuture<Result<Box<RawValue>, ErrorObject>> {
        let params = match req
            .params
            .map(|p| serde_json::from_str(p.get()))
            .transpose()
        {
            Ok(p) => p,
            Err(e) => {
                let e = ErrorObject::invalid_params(format!("invalid params: {e}"));
                return Box::pin(std::future::ready(Err(e)));
            }
        };
        let answer = self.request(Request {
            id: req.id,
            method: req.method,
            params,
            peer: req.peer,
        });
        Box::pin(async move {
            let v = answer.await?;
            serde_json::value::to_raw_value(&v).map_err(|e| ErrorObject::internal(e.to_string()))
        })
    }
    /// Takes a notification (progress for our own requests is routed before this).
    fn notification(&self, _method: &str, _params: Option<Value>, _peer: &Peer) {}
}

struct Pending {
    tx: oneshot::Sender<Result<Box<RawValue>, RpcError>>,
    progress: Option<mpsc::UnboundedSender<Value>>,
    /// The incoming request this one serves, if any.
    related: Option<RequestId>,
}

struct Shared {
    out: Out,
    pending: Mutex<HashMap<i64, Pending>>,
    running: Mutex<HashMap<RequestId, AbortHandle>>,
    /// Woken when the last running request ends.
    idle: tokio::sync::Notify,
    next_id: AtomicI64,
    config: Config,
    closed: watch::Sender<bool>,
}

/// A handle to a connection: send requests and notifications to the peer. Cheap to clone.
#[derive(Clone)]
pub struct Peer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Peer {
    /// The connection's limits.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// Sends a request and waits for its answer. Dropping the future before the answer
    /// cancels the request at the peer.
    pub async fn request(
        &self,
        method: &str,
        params: Option<Value>,
        opts: RequestOptions,
    ) -> Result<Value, RpcError> {
        let raw = self.request_raw(method, params.as_ref(), opts).await?;
        serde_json::from_str(raw.get())
            .map_err(|e| RpcError::Codec(format!("the answer to {method} is malformed: {e}")))
    }

    /// Sends a request with typed params and parses the answer straight into `R` (no
    /// intermediate `Value` either way: the fast path for hot requests such as sampling).
    pub async fn request_typed<P, R>(
        &self,
        method: &str,
        params: &P,
        opts: RequestOptions,
    ) -> Result<R, RpcError>
    where
        P: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let raw = self.request_raw(method, Some(params), opts).await?;
        serde_json::from_str(raw.get())
            .map_err(|e| RpcError::Codec(format!("the answer to {method} is malformed: {e}")))
    }

    async fn request_raw<P: Serialize + ?Sized>(
        &self,
        method: &str,
        params: Option<&P>,
        opts: RequestOptions,
    ) -> Result<Box<RawValue>, RpcError> {
        let shared = &self.shared;
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, mut rx) = oneshot::channel();
        // With progress, the params carry a token: only then do they go through a `Value`.
        let (ptx, mut prx, with_token) = match &opts.progress {
            Some(_) => {
                let (t, r) = mpsc::unbounded_channel();
                let mut v = match params.map(serde_json::to_value).transpose() {
                    Ok(v) => v,
                    Err(e) => {
                        return Err(RpcError::Codec(format!(
                            "cannot encode the params of {method}: {e}"
                        )))
                    }
                };
                set_progress_token(&mut v, id);
                (Some(t), Some(r), v)
            }
            None => (None, None, None),
        };
        let related = opts.related.clone();
        lock(&shared.pending).insert(
            id,
            Pending {
                tx,
                progress: ptx,
                related,
            },
        );
        let mut guard = PendingGuard {
            shared,
            id,
            armed: true,
            reason: None,
        };
        // Checked after inserting: the reader marks the end of input before it fails the
        // pending requests, so a request cannot slip between the two and wait in vain.
        if *shared.closed.borrow() {
            guard.armed = false;
            lock(&shared.pending).remove(&id);
            return Err(RpcError::Closed);
        }
        let rid = RequestId::Number(id);
        let route = match &opts.related {
            Some(r) => Route::Related(r.clone()),
            None => Route::Unrelated,
        };
        if shared
            .out
            .push_hinted(route, &opts.hints, |buf| match &with_token {
                Some(v) => jsonrpc::write_request(buf, &rid, method, Some(v)),
                None => jsonrpc::write_request(buf, &rid, method, params),
            })
            .is_err()
        {
            guard.armed = false;
            lock(&shared.pending).remove(&id);
            return Err(RpcError::Closed);
        }
        let timeout = opts.timeout.unwrap_or(shared.config.request_timeout);
        let hard = Instant::now() + shared.config.max_request_timeout.max(timeout);
        let mut deadline = (Instant::now() + timeout).min(hard);
        loop {
            tokio::select! {
                answer = &mut rx => {
                    guard.armed = false;
                    // Progress the peer sent before its answer is delivered before it.
                    if let (Some(prx), Some(user)) = (prx.as_mut(), &opts.progress) {
                        while let Ok(p) = prx.try_recv() {
                            let _ = user.send(p);
                        }
                    }
                    return match answer {
                        Ok(outcome) => outcome,
                        Err(_) => Err(RpcError::Closed),
                    };
                }
                Some(p) = recv_opt(&mut prx) => {
                    deadline = (Instant::now() + timeout).min(hard);
                    if let Some(user) = &opts.progress {
                        let _ = user.send(p);
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    guard.reason = Some("timed out");
                    return Err(RpcError::Timeout(timeout));
                }
            }
        }
    }

    /// Sends a notification.
    pub fn notify(&self, method: &str, params: Option<Value>) -> Result<(), RpcError> {
        self.notify_related(method, params, None)
    }

    /// Sends a notification about the incoming request `related` (progress, log messages of
    /// a tool call), so that message transports send it on that request's stream.
    pub fn notify_related(
        &self,
        method: &str,
        params: Option<Value>,
        related: Option<&RequestId>,
    ) -> Result<(), RpcError> {
        let route = related.map_or(Route::Unrelated, |r| Route::Related(r.clone()));
        self.shared
            .out
            .push(route, |buf| {
                jsonrpc::write_notification(buf, method, params.as_ref())
            })
            .map_err(|_| RpcError::Closed)
    }

    /// Gives a message transport name/value pairs to attach to every later message of the
    /// connection, replacing earlier ones (see [`Hints`]; byte streams ignore them).
    pub fn set_transport_hints(&self, hints: Hints) {
        self.shared.out.set_hints(hints)
    }

    /// Closes the connection: queued messages are written, then the output is shut (for a
    /// child process, its stdin closes). Waiting requests fail with [`RpcError::Closed`].
    pub fn close(&self) {
        self.shared.out.close();
        fail_pending(&self.shared);
    }

    /// Whether the connection is closed.
    pub fn is_closed(&self) -> bool {
        *self.shared.closed.borrow() || self.shared.out.is_closed()
    }

    /// Resolves when the peer's input has ended.
    pub async fn closed(&self) {
        let mut rx = self.shared.closed.subscribe();
        let _ = rx.wait_for(|c| *c).await;
    }

    /// Number of our requests still waiting for an answer.
    pub fn pending_requests(&self) -> usize {
        lock(&self.shared.pending).len()
    }

    /// The ids of our requests still waiting that serve the incoming request `id` (for
    /// example the sampling requests of a tool call).
    pub fn pending_for(&self, id: &RequestId) -> Vec<i64> {
        let pending = lock(&self.shared.pending);
        let mut ids: Vec<i64> = pending
            .iter()
            .filter(|(_, p)| p.related.as_ref() == Some(id))
            .map(|(k, _)| *k)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Number of incoming requests being handled.
    pub fn running_requests(&self) -> usize {
        lock(&self.shared.running).len()
    }

    fn respond(&self, id: Option<&RequestId>, outcome: &Result<Value, ErrorObject>) {
        self.respond_with(id, outcome)
    }

    fn respond_with<T: Serialize>(&self, id: Option<&RequestId>, outcome: &Result<T, ErrorObject>) {
        let route = id.map_or(Route::Unrelated, |i| Route::Response(i.clone()));
        let _ = self
            .shared
            .out
            .push(route, |buf| jsonrpc::write_response_of(buf, id, outcome));
    }
}

async fn recv_opt(rx: &mut Option<mpsc::UnboundedReceiver<Value>>) -> Option<Value> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn set_progress_token(params: &mut Option<Value>, id: i64) {
    let p = params.get_or_insert_with(|| json!({}));
    if let Some(obj) = p.as_object_mut() {
        let meta = obj.entry("_meta").or_insert_with(|| json!({}));
        if let Some(m) = meta.as_object_mut() {
            m.insert("progressToken".into(), Value::from(id));
        }
    }
}

/// Removes a pending slot whose future was dropped, and tells the peer.
struct PendingGuard<'a> {
    shared: &'a Shared,
    id: i64,
    armed: bool,
    reason: Option<&'static str>,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let slot = lock(&self.shared.pending).remove(&self.id);
        if let Some(p) = slot {
            let params = json!({"requestId": self.id, "reason": self.reason.unwrap_or("cancelled by the requester")});
            let route = p.related.map_or(Route::Unrelated, Route::Related);
            let _ = self.shared.out.push(route, |buf| {
                jsonrpc::write_notification(buf, Cancelled::METHOD, Some(&params))
            });
        }
    }
}

fn fail_pending(shared: &Shared) {
    // Dropping the senders wakes every waiter with `Closed`.
    lock(&shared.pending).clear();
}

/// A running connection: its [`Peer`] handle and the task that reads the peer's input.
pub struct Connection {
    /// Sends to the peer.
    pub peer: Peer,
    reader: Option<tokio::task::JoinHandle<()>>,
}

fn new_peer(out: Out, config: Config) -> Peer {
    let (closed, _) = watch::channel(false);
    Peer {
        shared: Arc::new(Shared {
            out,
            pending: Mutex::new(HashMap::new()),
            running: Mutex::new(HashMap::new()),
            idle: tokio::sync::Notify::new(),
            next_id: AtomicI64::new(config.first_request_id),
            config,
            closed,
        }),
    }
}

impl Connection {
    /// Starts a connection over a byte stream pair: a reader task and a writer task.
    pub fn start<R, W>(read: R, write: W, handler: Arc<dyn Handler>, config: Config) -> Connection
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let peer = new_peer(Out::Stream(Outbox::new(config.max_pending_output)), config);
        let writer_peer = peer.clone();
        tokio::spawn(async move {
            if let Out::Stream(o) = &writer_peer.shared.out {
                o.run(write).await
            }
        });
        let reader_peer = peer.clone();
        let reader = tokio::spawn(async move { read_loop(reader_peer, read, handler).await });
        Connection {
            peer,
            reader: Some(reader),
        }
    }

    /// Starts a connection over a message transport: what we send goes to `sink` with its
    /// route; what the peer sends is handed to the returned [`Inbound`].
    pub fn start_messages(
        sink: Arc<dyn MessageSink>,
        handler: Arc<dyn Handler>,
        config: Config,
    ) -> (Connection, Inbound) {
        let peer = new_peer(Out::Messages(sink), config);
        let inbound = Inbound {
            peer: peer.clone(),
            handler,
        };
        let conn = Connection { peer, reader: None };
        (conn, inbound)
    }

    /// Waits until the peer's input ends and every handler has been stopped.
    pub async fn wait(mut self) {
        let _ = self.finished().await;
    }

    /// Waits until the peer's input ends and every handler has been stopped; an error says
    /// why the reader failed (a panic). Cancel-safe: call it again after a `select!`.
    pub async fn finished(&mut self) -> Result<(), String> {
        match &mut self.reader {
            Some(r) => {
                let outcome = r.await.map_err(|e| e.to_string());
                self.reader = None;
                outcome
            }
            None => {
                self.peer.closed().await;
                Ok(())
            }
        }
    }

    /// Stops the connection now: the peer's input is no longer read, running handlers are
    /// aborted, our waiting requests fail with [`RpcError::Closed`](crate::RpcError), and
    /// what is queued is written before our output closes.
    pub async fn stop(mut self) {
        if let Some(r) = self.reader.take() {
            r.abort();
            let _ = r.await;
        }
        input_ended(&self.peer);
    }
}

/// The input side of a message-transport connection.
#[derive(Clone)]
pub struct Inbound {
    peer: Peer,
    handler: Arc<dyn Handler>,
}

impl Inbound {
    /// Takes one message from the peer (a JSON text). Requests start running; answers wake
    /// their waiters.
    pub fn receive(&self, message: &[u8]) {
        if message.len() > self.peer.shared.config.max_frame {
            let max = self.peer.shared.config.max_frame;
            let e = ErrorObject::invalid_request(format!(
                "message of {} bytes exceeds the limit of {max} bytes",
                message.len()
            ));
            return self.peer.respond(None, &Err(e));
        }
        dispatch(&self.peer, &self.handler, message)
    }

    /// The peer's input has ended: running handlers stop, our waits fail, the sink closes.
    pub fn end(&self) {
        input_ended(&self.peer)
    }

    /// The connection's peer handle.
    pub fn peer(&self) -> &Peer {
        &self.peer
    }

    /// Whether an incoming request with this id is running.
    pub fn is_running(&self, id: &RequestId) -> bool {
        lock(&self.peer.shared.running).contains_key(id)
    }

    /// The transport could not deliver our request `id` or bring its answer: its waiter gets
    /// [`RpcError::Transport`] with `reason`, out of band, so that no message from the peer
    /// can pass for a transport failure. False if no request of ours waits under that id.
    pub fn fail(&self, id: &RequestId, reason: impl Into<String>) -> bool {
        let slot = match id {
            RequestId::Number(n) => lock(&self.peer.shared.pending).remove(n),
            RequestId::String(_) => None,
        };
        match slot {
            Some(p) => p.tx.send(Err(RpcError::Transport(reason.into()))).is_ok(),
            None => false,
        }
    }

    /// Stops the incoming request `id` if it runs (its stream was closed): it gets no answer.
    pub fn cancel(&self, id: &RequestId) {
        if let Some(h) = stop_running(&self.peer.shared, id) {
            h.abort();
            self.peer.shared.out.request_ended(id);
        }
    }
}

async fn read_loop<R: AsyncRead + Unpin>(peer: Peer, read: R, handler: Arc<dyn Handler>) {
    let mut frames = FrameReader::new(read, peer.shared.config.max_frame);
    loop {
        // Our output is closed (we closed it, or the peer stopped reading it and it passed
        // `max_pending_output`): nothing read now could be answered, so stop reading.
        if peer.shared.out.is_closed() {
            tracing::debug!("output closed; no more input is read");
            break;
        }
        match frames.next().await {
            Ok(Some(Frame::Line(line))) => dispatch(&peer, &handler, line),
            Ok(Some(Frame::Oversized(n))) => {
                let max = peer.shared.config.max_frame;
                tracing::warn!(bytes = n, max, "dropped an oversized frame");
                let e = ErrorObject::invalid_request(format!(
                    "message of {n} bytes exceeds the limit of {max} bytes"
                ));
                peer.respond(None, &Err(e));
            }
            Ok(None) => {
                // The peer closed its side (the stdio shutdown): answer what was read.
                answer_then_end(&peer).await;
                break;
            }
            Err(e) => {
                tracing::debug!(error = %e, "input stream failed");
                break;
            }
        }
    }
    input_ended(&peer);
}

/// After the end of input: our own requests fail (their answers cannot come), and the
/// peer's requests already read run to their answers, for [`Config::end_grace`] at most.
async fn answer_then_end(peer: &Peer) {
    peer.shared.closed.send_replace(true);
    fail_pending(&peer.shared);
    let deadline = Instant::now() + peer.shared.config.end_grace;
    loop {
        let idle = peer.shared.idle.notified();
        tokio::pin!(idle);
        idle.as_mut().enable();
        let left = lock(&peer.shared.running).len();
        if left == 0 {
            return;
        }
        if tokio::time::timeout_at(deadline, idle).await.is_err() {
            tracing::warn!(
                left,
                "requests still running when the input ended; stopping them"
            );
            return;
        }
    }
}

/// Takes request `id` off the running list; wakes [`answer_then_end`] when none is left.
fn stop_running(shared: &Shared, id: &RequestId) -> Option<AbortHandle> {
    let mut running = lock(&shared.running);
    let h = running.remove(id);
    if h.is_some() && running.is_empty() {
        shared.idle.notify_waiters();
    }
    h
}

fn input_ended(peer: &Peer) {
    // The peer is gone: stop handlers (nobody can read their answers) and fail our waits.
    peer.shared.closed.send_replace(true);
    for (_, h) in lock(&peer.shared.running).drain() {
        h.abort();
    }
    fail_pending(&peer.shared);
    // Nothing more will be asked of us: write what is queued, then end our output too.
    peer.shared.out.close();
}

fn dispatch(peer: &Peer, handler: &Arc<dyn Handler>, line: &[u8]) {
    match jsonrpc::peek(line) {
        Some(Peek::Result(id, result)) => {
            return on_response(peer, RequestId::Number(id), Ok(result.to_owned()));
        }
        Some(Peek::Request { id, method, params }) if handler.wants_raw(method) => {
            let (method, params) = (method.to_owned(), params.map(ToOwned::to_owned));
            let h = handler.clone();
            return start_request(peer, id, move |id, peer| {
                h.request_raw(RawRequest {
                    id,
                    method,
                    params,
                    peer,
                })
            });
        }
        _ => {}
    }
    match Message::parse(line) {
        Ok(Message::Response { id, outcome }) => {
            let outcome = outcome.and_then(|v| {
                serde_json::value::to_raw_value(&v)
                    .map_err(|e| ErrorObject::internal(e.to_string()))
            });
            on_response(peer, id, outcome)
        }
        Ok(Message::Request { id, method, params }) => {
            on_request(peer, handler, id, method, params)
        }
        Ok(Message::Notification { method, params }) => {
            on_notification(peer, handler, &method, params)
        }
        Err(ParseFailure::Reply { id, error }) => {
            tracing::debug!(code = error.code, message = %error.message, "refused a frame");
            peer.respond(id.as_ref(), &Err(error));
        }
        Err(ParseFailure::Ignore(why)) => tracing::warn!("ignored a malformed response: {why}"),
    }
}

fn on_response(peer: &Peer, id: RequestId, outcome: Result<Box<RawValue>, ErrorObject>) {
    let slot = match id {
        RequestId::Number(n) => lock(&peer.shared.pending).remove(&n),
        RequestId::String(_) => None,
    };
    match slot {
        Some(p) => {
            let _ = p.tx.send(outcome.map_err(RpcError::Remote));
        }
        None => tracing::warn!(%id, "ignored a response to an unknown or finished request"),
    }
}

fn on_request(
    peer: &Peer,
    handler: &Arc<dyn Handler>,
    id: RequestId,
    method: String,
    params: Option<Value>,
) {
    if method == Ping::METHOD {
        peer.respond(Some(&id), &Ok(json!({})));
        return;
    }
    let h = handler.clone();
    start_request(peer, id, move |id, peer| {
        h.request(Request {
            id,
            method,
            params,
            peer,
        })
    })
}

/// Runs a request's answer as a task the peer can cancel, within the connection's limit of
/// requests in progress.
fn start_request<T: Serialize + Send + 'static>(
    peer: &Peer,
    id: RequestId,
    answer: impl FnOnce(RequestId, Peer) -> BoxFuture<Result<T, ErrorObject>>,
) {
    let mut running = lock(&peer.shared.running);
    if running.contains_key(&id) {
        drop(running);
        let e = ErrorObject::invalid_request(format!(
            "request id {id} is already in use by a request in progress"
        ));
        peer.respond(Some(&id), &Err(e));
        return;
    }
    if running.len() >= peer.shared.config.max_running {
        drop(running);
        let e =
            ErrorObject::internal("too many requests in progress on this connection; retry later");
        peer.respond(Some(&id), &Err(e));
        return;
    }
    let fut = answer(id.clone(), peer.clone());
    let task_peer = peer.clone();
    let task_id = id.clone();
    // The lock is held across spawn so the task cannot remove its entry before it exists.
    let task = tokio::spawn(async move {
        let outcome = fut.await;
        if stop_running(&task_peer.shared, &task_id).is_some() {
            task_peer.respond_with(Some(&task_id), &outcome);
        }
    });
    running.insert(id, task.abort_handle());
}

fn on_notification(peer: &Peer, handler: &Arc<dyn Handler>, method: &str, params: Option<Value>) {
    match NotificationMethod::parse(method) {
        Some(NotificationMethod::Cancelled) => {
            let id = params
                .as_ref()
                .and_then(|p| p.get("requestId"))
                .and_then(|v| serde_json::from_value::<RequestId>(v.clone()).ok());
            let Some(id) = id else {
                tracing::debug!("ignored a malformed cancellation");
                return;
            };
            let task = stop_running(&peer.shared, &id);
            match task {
                Some(h) => {
                    let reason = params
                        .as_ref()
                        .and_then(|p| p.get("reason"))
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    tracing::debug!(%id, reason, "request cancelled by the peer");
                    h.abort();
                    peer.shared.out.request_ended(&id);
                }
                None => tracing::debug!(%id, "cancellation for a request not in progress"),
            }
        }
        Some(NotificationMethod::Progress) => {
            let token = params
                .as_ref()
                .and_then(|p| p.get("progressToken"))
                .and_then(Value::as_i64);
            let routed = token.and_then(|t| {
                let pending = lock(&peer.shared.pending);
                pending.get(&t).and_then(|p| p.progress.clone())
            });
            match (routed, params) {
                (Some(tx), Some(p)) => {
                    let _ = tx.send(p);
                }
                (_, params) => handler.notification(method, params, peer),
            }
        }
        _ => handler.notification(method, params, peer),
    }
}
