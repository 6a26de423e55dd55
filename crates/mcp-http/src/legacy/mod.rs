//! Legacy Streamable HTTP (`2025-03-26` .. `2025-11-25`): sessions, streams and resumption.
//!
//! A session is one engine connection. Each request POSTed opens a *stream* (numbered within
//! the session); the engine's output is routed to the stream of the request it answers or
//! serves, everything else to stream 0, the standalone stream a GET attaches to. Every event
//! is kept in its stream's bounded store with the id `STREAM-SEQ`, so a client whose stream
//! was cut resumes it with GET and `Last-Event-ID` and gets exactly what it missed; what is
//! sent while no client listens waits in the store.

mod sessions;
mod streams;

pub(crate) use sessions::{sweep, Sessions};

use crate::checks::{self, Incoming};
use crate::shared::{replica_of, Change, ListenError, Record, Unavailable, REPLICA_SHIFT};
use crate::sse::{self, Event, OnClose};
use crate::{AppState, HttpConfig};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mcp_proto::methods::{Initialize, Request as _, SetLevel, Subscribe, Unsubscribe};
use mcp_proto::version::LEGACY_VERSIONS;
use mcp_proto::RequestId;
use mcp_rpc::Connection;
use serde_json::Value;
use sessions::{new_session_id, well_formed, Session, SessionSink};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};
use streams::{AttachError, Streams, STANDALONE};
use tokio::sync::mpsc;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn unknown_session() -> Response {
    checks::error(
        StatusCode::NOT_FOUND,
        None,
        -32600,
        "unknown or expired session; initialize again",
    )
}

fn unavailable(e: &Unavailable, id: Option<&Value>) -> Response {
    checks::error(StatusCode::SERVICE_UNAVAILABLE, id, -32603, &e.to_string())
}

/// The `Mcp-Session-Id` a request names: 400 without it.
fn session_header(h: &HeaderMap) -> Result<&str, Response> {
    h.get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            let msg = "missing Mcp-Session-Id header (send initialize first, or put protocol version metadata in _meta)";
            checks::error(StatusCode::BAD_REQUEST, None, -32600, msg)
        })
}

/// Whose a session is: the digest of the OAuth identity that opened it (`crate::gate::owner`),
/// `None` on a server without OAuth. Only its owner may use it; to anyone else it does not
/// exist (404), so a token of another user cannot ride on a session id it learned.
pub(crate) type Owner = Option<String>;

/// The session `id` on this replica: held here, or (with a shared store) opened here from
/// its record. 404 when unknown or ended, 503 when the store fails.
async fn open_session(st: &AppState, id: &str, owner: &Owner) -> Result<Arc<Session>, Response> {
    if let Some(s) = st.sessions.get(id) {
        if s.owner != *owner {
            return Err(unknown_session());
        }
        s.touch();
        if let Some(store) = st.sessions.shared() {
            store.touch(id);
        }
        return Ok(s);
    }
    let Some(store) = st.sessions.shared() else {
        return Err(unknown_session());
    };
    if !well_formed(id) {
        return Err(unknown_session());
    }
    let _opening = st.sessions.opening.lock().await;
    if let Some(s) = st.sessions.get(id) {
        return match s.owner == *owner {
            true => Ok(s),
            false => Err(unknown_session()),
        };
    }
    let record = match store.load(id).await {
        Ok(Some(r)) if r.owner == *owner => r,
        Ok(_) => return Err(unknown_session()),
        Err(e) => return Err(unavailable(&e, None)),
    };
    room_for_a_session(st, None)?;
    let session = Arc::new(connect(st, id, record.owner.clone()));
    if let Err(e) = session.restore(record).await {
        session.end();
        let msg = format!("the session could not be reopened on this replica: {e}");
        return Err(checks::error(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            -32603,
            &msg,
        ));
    }
    lock(&st.sessions.map).insert(id.to_owned(), session.clone());
    tracing::debug!(session = %id, "session reopened from the shared store");
    Ok(session)
}

/// Whether the session `id` exists for `owner`, here or in the shared store (someone
/// else's session is as good as none: it is not theirs to use).
async fn session_exists(st: &AppState, id: &str, owner: &Owner) -> Result<bool, Response> {
    if let Some(s) = st.sessions.get(id) {
        return Ok(s.owner == *owner);
    }
    match st.sessions.shared() {
        Some(store) if well_formed(id) => match store.owner(id).await {
            Ok(found) => Ok(found.as_ref() == Some(owner)),
            Err(e) => Err(unavailable(&e, None)),
        },
        _ => Ok(false),
    }
}

fn room_for_a_session(st: &AppState, id: Option<&Value>) -> Result<(), Response> {
    if st.sessions.len() < st.cfg.max_sessions {
        return Ok(());
    }
    let m = format!(
        "too many sessions (limit {}); try again later",
        st.cfg.max_sessions
    );
    Err(checks::error(
        StatusCode::SERVICE_UNAVAILABLE,
        id,
        -32603,
        &m,
    ))
}

/// A new engine connection for session `id`; with a shared store, its request ids and
/// stream numbers come from this replica's range.
fn connect(st: &AppState, id: &str, owner: Owner) -> Session {
    let store = st.sessions.shared().cloned();
    let base = store
        .as_ref()
        .map_or(0, |s| u64::from(s.replica()) << REPLICA_SHIFT);
    let streams = Arc::new(Mutex::new(Streams::new(
        st.cfg.events_per_stream,
        base,
        store.is_none(),
    )));
    let sink = Arc::new(SessionSink {
        streams: streams.clone(),
        closed: AtomicBool::new(false),
        shared: store.map(|s| (s, id.to_owned())),
    });
    let mut config = st.server.rpc_config();
    if base != 0 {
        config.first_request_id = i64::try_from(base + 1).unwrap_or(1);
    }
    let (_conn, inbound) = Connection::start_messages(sink, st.server.handler(), config);
    Session::new(inbound, streams, owner)
}

fn check_version_header(h: &HeaderMap, id: Option<&Value>) -> Result<(), Response> {
    match h.get("mcp-protocol-version").map(|v| v.to_str()) {
        None => Ok(()),
        Some(Ok(v)) if LEGACY_VERSIONS.contains(&v) => Ok(()),
        Some(v) => {
            let msg = format!(
                "unsupported MCP-Protocol-Version {:?} for a session (supported: {})",
                v.unwrap_or("(not ASCII)"),
                LEGACY_VERSIONS.join(", ")
            );
            Err(checks::error(StatusCode::BAD_REQUEST, id, -32600, &msg))
        }
    }
}

fn request_id(msg: &Incoming) -> Result<RequestId, Response> {
    let id = msg.id.clone().unwrap_or(Value::Null);
    serde_json::from_value(id).map_err(|_| {
        checks::error(
            StatusCode::BAD_REQUEST,
            None,
            -32600,
            "the request id must be a string or an integer",
        )
    })
}

pub(crate) async fn post(
    st: Arc<AppState>,
    h: HeaderMap,
    msg: Incoming,
    body: Bytes,
    owner: Owner,
) -> Response {
    if let Err(r) = check_version_header(&h, msg.id.as_ref()) {
        return r;
    }
    let is_init = msg.method.as_deref() == Some(Initialize::METHOD);
    if is_init && msg.is_request() && !h.contains_key("mcp-session-id") {
        return initialize(st, msg, body, owner).await;
    }
    let session_id = match session_header(&h) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !msg.is_request() {
        return pass_on(&st, session_id, &msg, &body, &owner).await;
    }
    let session = match open_session(&st, session_id, &owner).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let id = match request_id(&msg) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let (tx, rx) = listener(st.cfg.events_per_stream);
    let sid = {
        let mut streams = lock(&session.streams);
        if streams.by_request.contains_key(&id) {
            let msg = format!("request id {id} is already in use by a request in progress");
            return checks::error(StatusCode::CONFLICT, msg_id(&id).as_ref(), -32600, &msg);
        }
        if streams.open_streams() >= st.cfg.max_streams_per_session {
            let msg = format!(
                "too many open streams in this session (limit {})",
                st.cfg.max_streams_per_session
            );
            return checks::error(
                StatusCode::TOO_MANY_REQUESTS,
                msg_id(&id).as_ref(),
                -32603,
                &msg,
            );
        }
        streams.open(id, tx)
    };
    let change = st.sessions.shared().and_then(|_| change_of(&msg, &body));
    session.inbound.receive(&body);
    let (r, succeeded) = answer(&st.cfg, &session, sid, rx, change.is_some()).await;
    match change {
        Some(c) if succeeded => record_change(&st, session_id, &session, c, r).await,
        _ => r,
    }
}

/// A message that is no request (the client's answer to one of ours, or a notification):
/// to the session's connection here, or with a shared store to the replica whose call
/// waits for the answer (its id says which), a notification to every replica.
async fn pass_on(
    st: &AppState,
    session_id: &str,
    msg: &Incoming,
    body: &[u8],
    owner: &Owner,
) -> Response {
    let local = st.sessions.get(session_id).filter(|s| s.owner == *owner);
    let Some(store) = st.sessions.shared() else {
        return match local {
            Some(s) => {
                s.touch();
                s.inbound.receive(body);
                StatusCode::ACCEPTED.into_response()
            }
            None => unknown_session(),
        };
    };
    match session_exists(st, session_id, owner).await {
        Ok(true) => {}
        Ok(false) => return unknown_session(),
        Err(r) => return r,
    }
    store.touch(session_id);
    let to = msg
        .id
        .as_ref()
        .and_then(Value::as_u64)
        .map_or(0, replica_of);
    let sent = if msg.method.is_some() {
        if let Some(s) = &local {
            s.inbound.receive(body);
        }
        store.broadcast(session_id, body).await
    } else if to != 0 && to != store.replica() {
        store.route_reply(to, session_id, body).await
    } else {
        if let Some(s) = &local {
            s.inbound.receive(body);
        }
        Ok(())
    };
    match sent {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(e) => unavailable(&e, None),
    }
}

/// The change to the session's record a request makes if it succeeds.
fn change_of(msg: &Incoming, body: &[u8]) -> Option<Change> {
    match msg.method.as_deref()? {
        SetLevel::METHOD => {
            let v: Value = serde_json::from_slice(body).ok()?;
            Some(Change::Level(v.get("params")?.clone()))
        }
        Subscribe::METHOD => Some(Change::Subscribe(msg.name.clone()?)),
        Unsubscribe::METHOD => Some(Change::Unsubscribe(msg.name.clone()?)),
        _ => None,
    }
}

/// After a request that changed the session succeeded here: records the change in the
/// shared store (the other replicas replay it); 503 if the store fails.
async fn record_change(
    st: &AppState,
    session_id: &str,
    session: &Session,
    change: Change,
    answer: Response,
) -> Response {
    let Some(store) = st.sessions.shared() else {
        return answer;
    };
    if let Err(e) = store.change(session_id, change.clone()).await {
        return unavailable(&e, None);
    }
    if let Some(r) = lock(&session.record).as_mut() {
        r.apply(&change);
    }
    answer
}

fn msg_id(id: &RequestId) -> Option<Value> {
    serde_json::to_value(id).ok()
}

/// The response to a POSTed request: JSON if its answer comes first, else an SSE stream;
/// and (when `check`) whether it was answered at once with a result, not an error.
async fn answer(
    cfg: &HttpConfig,
    session: &Arc<Session>,
    sid: u64,
    mut rx: mpsc::Receiver<Event>,
    check: bool,
) -> (Response, bool) {
    let Some(first) = rx.recv().await else {
        let r = checks::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            -32603,
            "the session ended before the answer",
        );
        return (r, false);
    };
    if first.last {
        lock(&session.streams).list.remove(&sid);
        let ok = check && is_result(&first.data);
        return (
            checks::json_response(StatusCode::OK, first.data.to_vec()),
            ok,
        );
    }
    let mut head = sse::prime(&format!("{sid}-0"), cfg.sse_retry).to_vec();
    head.extend_from_slice(&sse::format(first.id.as_deref(), &first.data));
    let guard = Detach {
        streams: session.streams.clone(),
        sid,
        generation: 1,
    };
    let r = sse::response(rx, Some(Bytes::from(head)), cfg.keepalive, guard);
    (r, false)
}

/// Whether a JSON-RPC answer is a result.
fn is_result(answer: &[u8]) -> bool {
    serde_json::from_slice::<Value>(answer)
        .ok()
        .is_some_and(|v| v.get("result").is_some())
}

/// Marks a stream as unheard when its client goes away (the request goes on; its events
/// wait for a resumption).
struct Detach {
    streams: Arc<Mutex<Streams>>,
    sid: u64,
    generation: u64,
}

impl OnClose for Detach {
    fn closed(&mut self, finished: bool) {
        if !finished {
            tracing::debug!(
                stream = self.sid,
                "the client left a stream; its events wait for resumption"
            );
        }
        lock(&self.streams).detach(self.sid, self.generation);
    }
}

/// A stream fed from the shared store: its feeder notices on its own when the client left.
struct FromStore;

impl OnClose for FromStore {
    fn closed(&mut self, _finished: bool) {}
}

async fn initialize(st: Arc<AppState>, msg: Incoming, body: Bytes, owner: Owner) -> Response {
    if let Err(r) = room_for_a_session(&st, msg.id.as_ref()) {
        return r;
    }
    let id = match request_id(&msg) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let session_id = new_session_id();
    let session = Arc::new(connect(&st, &session_id, owner.clone()));
    let (tx, mut rx) = listener(st.cfg.events_per_stream);
    let sid = lock(&session.streams).open(id, tx);
    session.inbound.receive(&body);
    let Some(first) = rx.recv().await else {
        session.end();
        return checks::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            msg.id.as_ref(),
            -32603,
            "initialize got no answer",
        );
    };
    lock(&session.streams).list.remove(&sid);
    if !is_result(&first.data) {
        session.end();
        return checks::json_response(StatusCode::BAD_REQUEST, first.data.to_vec());
    }
    if let Some(store) = st.sessions.shared() {
        let params = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|mut v| v.get_mut("params").map(Value::take))
            .unwrap_or(Value::Null);
        let record = Record {
            init: params,
            owner,
            ..Record::default()
        };
        if let Err(e) = store.create(&session_id, &record).await {
            session.end();
            return unavailable(&e, msg.id.as_ref());
        }
        *lock(&session.record) = Some(record);
    }
    lock(&st.sessions.map).insert(session_id.clone(), session);
    tracing::debug!(session = %session_id, "session opened");
    let mut r = checks::json_response(StatusCode::OK, first.data.to_vec());
    if let Ok(v) = HeaderValue::from_str(&session_id) {
        r.headers_mut().insert("mcp-session-id", v);
    }
    r
}

/// GET: the standalone stream, or a cut stream resumed with `Last-Event-ID`.
pub(crate) async fn get(st: Arc<AppState>, h: HeaderMap, owner: Owner) -> Response {
    let accept = h.get("accept").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !accept.contains("text/event-stream") && !accept.contains("*/*") {
        return checks::error(
            StatusCode::NOT_ACCEPTABLE,
            None,
            -32600,
            "GET needs Accept: text/event-stream",
        );
    }
    let session_id = match session_header(&h) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let last = h.get("last-event-id").and_then(|v| v.to_str().ok());
    let resume = match last.map(parse_event_id) {
        None => None,
        Some(Some(r)) => Some(r),
        Some(None) => {
            return checks::error(
                StatusCode::BAD_REQUEST,
                None,
                -32600,
                "Last-Event-ID is not an event id of this server",
            )
        }
    };
    let (sid, after) = resume.map_or((STANDALONE, None), |(s, q)| (s, Some(q)));
    let local = st.sessions.get(session_id).filter(|s| s.owner == owner);
    if let Some(session) = &local {
        session.touch();
    }
    let Some(store) = st.sessions.shared() else {
        return match local {
            Some(session) => attach_here(&st.cfg, &session, sid, after),
            None => unknown_session(),
        };
    };
    let held_here = local.filter(|s| lock(&s.streams).list.contains_key(&sid));
    if let (Some(session), true) = (&held_here, sid != STANDALONE) {
        return attach_here(&st.cfg, session, sid, after);
    }
    match session_exists(&st, session_id, &owner).await {
        Ok(true) => {}
        Ok(false) => return unknown_session(),
        Err(r) => return r,
    }
    store.touch(session_id);
    match store.listen(session_id, sid, after).await {
        Ok((at, rx)) => {
            let head = after
                .is_none()
                .then(|| sse::prime(&format!("{sid}-{at}"), st.cfg.sse_retry));
            sse::response(rx, head, st.cfg.keepalive, FromStore)
        }
        Err(ListenError::Unknown) => stream_not_kept(),
        Err(ListenError::Lost) => events_lost(),
        Err(ListenError::Ahead) => id_ahead(),
        Err(ListenError::Unavailable(e)) => unavailable(&e, None),
    }
}

fn stream_not_kept() -> Response {
    checks::error(
        StatusCode::NOT_FOUND,
        None,
        -32600,
        "that stream is no longer kept; its events are lost",
    )
}

fn id_ahead() -> Response {
    checks::error(
        StatusCode::BAD_REQUEST,
        None,
        -32600,
        "Last-Event-ID is past anything that stream sent",
    )
}

fn events_lost() -> Response {
    checks::error(
        StatusCode::NOT_FOUND,
        None,
        -32600,
        "events after that id are no longer kept; the stream cannot be resumed",
    )
}

/// Attaches a GET to a stream this replica keeps.
fn attach_here(cfg: &HttpConfig, session: &Session, sid: u64, after: Option<u64>) -> Response {
    let (tx, rx) = listener(cfg.events_per_stream);
    let mut streams = lock(&session.streams);
    let prime_at = streams.list.get(&sid).map(|s| s.sent_upto);
    let generation = match streams.attach(sid, after, tx) {
        Ok(g) => g,
        Err(AttachError::Unknown) => return stream_not_kept(),
        Err(AttachError::Lost) => return events_lost(),
        Err(AttachError::Ahead) => return id_ahead(),
        Err(AttachError::Busy) => {
            return checks::error(
                StatusCode::CONFLICT,
                None,
                -32600,
                "a client is already listening to that stream",
            )
        }
    };
    drop(streams);
    let head = match (after, prime_at) {
        (None, Some(at)) => Some(sse::prime(&format!("{sid}-{at}"), cfg.sse_retry)),
        _ => None,
    };
    let guard = Detach {
        streams: session.streams.clone(),
        sid,
        generation,
    };
    sse::response(rx, head, cfg.keepalive, guard)
}

fn parse_event_id(s: &str) -> Option<(u64, u64)> {
    let (a, b) = s.split_once('-')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// DELETE: ends the session (on every replica, with a shared store).
pub(crate) async fn delete(st: Arc<AppState>, h: &HeaderMap, owner: Owner) -> Response {
    let session_id = match session_header(h) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match session_exists(&st, session_id, &owner).await {
        Ok(true) => {}
        Ok(false) => return unknown_session(),
        Err(r) => return r,
    }
    if let Some(store) = st.sessions.shared() {
        if let Err(e) = store.end(session_id).await {
            return unavailable(&e, None);
        }
    }
    let local = lock(&st.sessions.map).remove(session_id);
    if let Some(session) = local {
        session.end();
    }
    tracing::debug!(session = %session_id, "session ended by the client");
    StatusCode::OK.into_response()
}

/// A listener's channel: twice the store, so a replay fits with room to spare.
fn listener(events_per_stream: usize) -> (mpsc::Sender<Event>, mpsc::Receiver<Event>) {
    mpsc::channel(2 * events_per_stream.max(1))
}
