//! Legacy Streamable HTTP (`2025-03-26` .. `2025-11-25`): sessions, streams and resumption.
//!
//! A session is one engine connection. Each request POSTed opens a *stream* (numbered within
//! the session); the engine's output is routed to the stream of the request it answers or
//! serves, everything else to stream 0, the standalone stream a GET attaches to. Every event
//! is kept in its stream's bounded store with the id `STREAM-SEQ`, so a client whose stream
//! was cut resumes it with GET and `Last-Event-ID` and gets exactly what it missed; what is
//! sent while no client listens waits in the store.

use crate::checks::{self, Incoming};
use crate::sse::{self, Event, OnClose};
use crate::{AppState, HttpConfig};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mcp_proto::methods::{Initialize, Request as _};
use mcp_proto::version::LEGACY_VERSIONS;
use mcp_proto::RequestId;
use mcp_rpc::{Closed, Connection, Inbound, MessageSink, Route};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;
use tokio::time::Instant;

const STANDALONE: u64 = 0;
/// Finished streams kept for resumption, per session.
const KEEP_FINISHED: usize = 16;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Default)]
struct Stream {
    /// (seq, message, last) in order; seq 0 is the priming event and never stored.
    events: VecDeque<(u64, Arc<[u8]>, bool)>,
    next_seq: u64,
    /// The highest seq handed to a listening client.
    sent_upto: u64,
    live: Option<mpsc::Sender<Event>>,
    /// Which attachment `live` belongs to.
    generation: u64,
    done: bool,
}

struct Streams {
    cap: usize,
    by_request: HashMap<RequestId, u64>,
    list: HashMap<u64, Stream>,
    next: u64,
    finished: VecDeque<u64>,
}

enum AttachError {
    Unknown,
    Busy,
    Lost,
}

impl Streams {
    fn new(cap: usize) -> Streams {
        let mut list = HashMap::new();
        list.insert(
            STANDALONE,
            Stream {
                next_seq: 1,
                ..Default::default()
            },
        );
        Streams {
            cap,
            by_request: HashMap::new(),
            list,
            next: 1,
            finished: VecDeque::new(),
        }
    }

    /// A new stream for request `id`, listened to through `tx`.
    fn open(&mut self, id: RequestId, tx: mpsc::Sender<Event>) -> u64 {
        let sid = self.next;
        self.next += 1;
        self.by_request.insert(id, sid);
        let s = Stream {
            next_seq: 1,
            live: Some(tx),
            generation: 1,
            ..Default::default()
        };
        self.list.insert(sid, s);
        sid
    }

    fn push(&mut self, route: Route, data: Arc<[u8]>) {
        let (mut sid, last) = match route {
            Route::Response(id) => match self.by_request.remove(&id) {
                Some(s) => (s, true),
                None => (STANDALONE, false),
            },
            Route::Related(id) => (
                self.by_request.get(&id).copied().unwrap_or(STANDALONE),
                false,
            ),
            Route::Unrelated => (STANDALONE, false),
        };
        if !self.list.contains_key(&sid) {
            sid = STANDALONE;
        }
        let cap = self.cap;
        let Some(s) = self.list.get_mut(&sid) else {
            return;
        };
        let seq = s.next_seq;
        s.next_seq += 1;
        s.events.push_back((seq, data.clone(), last));
        if s.events.len() > cap {
            s.events.pop_front();
        }
        if let Some(tx) = &s.live {
            let ev = Event {
                id: Some(format!("{sid}-{seq}")),
                data,
                last,
            };
            match tx.try_send(ev) {
                Ok(()) => s.sent_upto = seq,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    // The client reads slower than we write: end its stream (it has what
                    // was queued) rather than buffer without bound; it resumes from the store.
                    tracing::debug!(
                        stream = sid,
                        "slow reader: stream cut, events kept for resumption"
                    );
                    s.live = None;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => s.live = None,
            }
        }
        if last {
            s.done = true;
            self.finished.push_back(sid);
            if self.finished.len() > KEEP_FINISHED {
                if let Some(old) = self.finished.pop_front() {
                    self.list.remove(&old);
                }
            }
        }
    }

    /// Attaches a listener to stream `sid`, replaying what came after `after` (default: what
    /// no listener has had). Returns the attachment's generation.
    fn attach(
        &mut self,
        sid: u64,
        after: Option<u64>,
        tx: mpsc::Sender<Event>,
    ) -> Result<u64, AttachError> {
        let s = self.list.get_mut(&sid).ok_or(AttachError::Unknown)?;
        if s.live.as_ref().is_some_and(|l| !l.is_closed()) {
            return Err(AttachError::Busy);
        }
        let after = after.unwrap_or(s.sent_upto);
        // Events after `after` that the store no longer has: resuming would skip them.
        let oldest = s.events.front().map_or(s.next_seq, |e| e.0);
        if after + 1 < oldest {
            return Err(AttachError::Lost);
        }
        for (seq, data, last) in s.events.iter().filter(|e| e.0 > after) {
            let ev = Event {
                id: Some(format!("{sid}-{seq}")),
                data: data.clone(),
                last: *last,
            };
            // The channel holds twice the store: a replay always fits.
            let _ = tx.try_send(ev);
            s.sent_upto = s.sent_upto.max(*seq);
        }
        s.generation += 1;
        // A finished stream ends once replayed; a live one keeps the listener.
        s.live = (!s.done).then_some(tx);
        Ok(s.generation)
    }

    fn detach(&mut self, sid: u64, generation: u64) {
        if let Some(s) = self.list.get_mut(&sid) {
            if s.generation == generation {
                s.live = None;
            }
        }
    }

    /// The request was cancelled: its stream ends with no answer (and frees its slot).
    fn end_without_answer(&mut self, id: &RequestId) {
        let Some(sid) = self.by_request.remove(id) else {
            return;
        };
        if let Some(s) = self.list.get_mut(&sid) {
            s.done = true;
            s.live = None;
        }
        self.finished.push_back(sid);
        if self.finished.len() > KEEP_FINISHED {
            if let Some(old) = self.finished.pop_front() {
                self.list.remove(&old);
            }
        }
    }

    fn open_streams(&self) -> usize {
        self.by_request.len()
            + usize::from(self.list.get(&STANDALONE).is_some_and(|s| s.live.is_some()))
    }
}

struct SessionSink {
    streams: Arc<Mutex<Streams>>,
    closed: AtomicBool,
}

impl MessageSink for SessionSink {
    fn send(
        &self,
        message: Vec<u8>,
        route: Route,
        _hints: &[(String, String)],
    ) -> Result<(), Closed> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(Closed);
        }
        lock(&self.streams).push(route, message.into());
        Ok(())
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        for s in lock(&self.streams).list.values_mut() {
            s.live = None;
        }
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    fn request_ended(&self, id: &RequestId) {
        lock(&self.streams).end_without_answer(id);
    }
}

/// One legacy session.
pub(crate) struct Session {
    inbound: Inbound,
    streams: Arc<Mutex<Streams>>,
    last_active: Mutex<Instant>,
}

impl Session {
    fn touch(&self) {
        *lock(&self.last_active) = Instant::now();
    }

    fn end(&self) {
        self.inbound.end();
        for s in lock(&self.streams).list.values_mut() {
            s.live = None;
        }
    }
}

/// The sessions of a server.
pub(crate) struct Sessions {
    cfg: Arc<HttpConfig>,
    map: Mutex<HashMap<String, Arc<Session>>>,
}

impl Sessions {
    pub fn new(cfg: Arc<HttpConfig>) -> Sessions {
        Sessions {
            cfg,
            map: Mutex::new(HashMap::new()),
        }
    }

    pub fn len(&self) -> usize {
        lock(&self.map).len()
    }

    fn get(&self, id: &str) -> Option<Arc<Session>> {
        lock(&self.map).get(id).cloned()
    }

    /// Ends the standalone streams (at shutdown: they never finish on their own).
    pub fn stop_standalone_streams(&self) {
        for s in lock(&self.map).values() {
            if let Some(st) = lock(&s.streams).list.get_mut(&STANDALONE) {
                st.live = None;
            }
        }
    }

    pub fn end_all(&self) {
        for (_, s) in lock(&self.map).drain() {
            s.end();
        }
    }

    /// Removes sessions idle for longer than the limit (no request, no listener, nothing
    /// running).
    fn expire(&self) {
        let idle = self.cfg.session_idle;
        let mut map = lock(&self.map);
        let before = map.len();
        map.retain(|_, s| {
            let quiet = lock(&s.last_active).elapsed() >= idle
                && lock(&s.streams).list.values().all(|st| st.live.is_none())
                && s.inbound.peer().running_requests() == 0;
            if quiet {
                s.end();
            }
            !quiet
        });
        if map.len() < before {
            tracing::debug!(expired = before - map.len(), "idle sessions ended");
        }
    }
}

/// Ends idle sessions, forever.
pub(crate) async fn sweep(st: Arc<AppState>) {
    let every = (st.cfg.session_idle / 4).clamp(
        std::time::Duration::from_millis(10),
        std::time::Duration::from_secs(30),
    );
    loop {
        tokio::time::sleep(every).await;
        st.sessions.expire();
    }
}

fn new_session_id() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // No OS randomness: still unique, if guessable; sessions are not credentials.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        b[..16].copy_from_slice(&t.as_nanos().to_le_bytes());
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The session a request names: 400 without the header, 404 when unknown or ended.
fn session_of(st: &AppState, h: &HeaderMap) -> Result<(String, Arc<Session>), Response> {
    let Some(id) = h.get("mcp-session-id").and_then(|v| v.to_str().ok()) else {
        let msg = "missing Mcp-Session-Id header (send initialize first, or put protocol version metadata in _meta)";
        return Err(checks::error(StatusCode::BAD_REQUEST, None, -32600, msg));
    };
    match st.sessions.get(id) {
        Some(s) => {
            s.touch();
            Ok((id.to_owned(), s))
        }
        None => Err(checks::error(
            StatusCode::NOT_FOUND,
            None,
            -32600,
            "unknown or expired session; initialize again",
        )),
    }
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

pub(crate) async fn post(st: Arc<AppState>, h: HeaderMap, msg: Incoming, body: Bytes) -> Response {
    if let Err(r) = check_version_header(&h, msg.id.as_ref()) {
        return r;
    }
    let is_init = msg.method.as_deref() == Some(Initialize::METHOD);
    if is_init && msg.is_request() && !h.contains_key("mcp-session-id") {
        return initialize(st, msg, body).await;
    }
    let (_, session) = match session_of(&st, &h) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !msg.is_request() {
        session.inbound.receive(&body);
        return StatusCode::ACCEPTED.into_response();
    }
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
    session.inbound.receive(&body);
    answer(&st.cfg, &session, sid, rx).await
}

fn msg_id(id: &RequestId) -> Option<Value> {
    serde_json::to_value(id).ok()
}

/// The response to a POSTed request: JSON if its answer comes first, else an SSE stream.
async fn answer(
    cfg: &HttpConfig,
    session: &Arc<Session>,
    sid: u64,
    mut rx: mpsc::Receiver<Event>,
) -> Response {
    let Some(first) = rx.recv().await else {
        return checks::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            -32603,
            "the session ended before the answer",
        );
    };
    if first.last {
        lock(&session.streams).list.remove(&sid);
        return checks::json_response(StatusCode::OK, first.data.to_vec());
    }
    let mut head = sse::prime(&format!("{sid}-0"), cfg.sse_retry).to_vec();
    head.extend_from_slice(&sse::format(first.id.as_deref(), &first.data));
    let guard = Detach {
        streams: session.streams.clone(),
        sid,
        generation: 1,
    };
    sse::response(rx, Some(Bytes::from(head)), cfg.keepalive, guard)
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

async fn initialize(st: Arc<AppState>, msg: Incoming, body: Bytes) -> Response {
    if st.sessions.len() >= st.cfg.max_sessions {
        let m = format!(
            "too many sessions (limit {}); try again later",
            st.cfg.max_sessions
        );
        return checks::error(StatusCode::SERVICE_UNAVAILABLE, msg.id.as_ref(), -32603, &m);
    }
    let id = match request_id(&msg) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let streams = Arc::new(Mutex::new(Streams::new(st.cfg.events_per_stream)));
    let sink = Arc::new(SessionSink {
        streams: streams.clone(),
        closed: AtomicBool::new(false),
    });
    let (_conn, inbound) =
        Connection::start_messages(sink, st.server.handler(), st.server.rpc_config());
    let (tx, mut rx) = listener(st.cfg.events_per_stream);
    let sid = lock(&streams).open(id, tx);
    inbound.receive(&body);
    let Some(first) = rx.recv().await else {
        inbound.end();
        return checks::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            msg.id.as_ref(),
            -32603,
            "initialize got no answer",
        );
    };
    lock(&streams).list.remove(&sid);
    let ok = serde_json::from_slice::<Value>(&first.data)
        .ok()
        .is_some_and(|v| v.get("result").is_some());
    if !ok {
        inbound.end();
        return checks::json_response(StatusCode::BAD_REQUEST, first.data.to_vec());
    }
    let session_id = new_session_id();
    let session = Arc::new(Session {
        inbound,
        streams,
        last_active: Mutex::new(Instant::now()),
    });
    lock(&st.sessions.map).insert(session_id.clone(), session);
    tracing::debug!(session = %session_id, "session opened");
    let mut r = checks::json_response(StatusCode::OK, first.data.to_vec());
    if let Ok(v) = HeaderValue::from_str(&session_id) {
        r.headers_mut().insert("mcp-session-id", v);
    }
    r
}

/// GET: the standalone stream, or a cut stream resumed with `Last-Event-ID`.
pub(crate) async fn get(st: Arc<AppState>, h: HeaderMap) -> Response {
    let accept = h.get("accept").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !accept.contains("text/event-stream") && !accept.contains("*/*") {
        return checks::error(
            StatusCode::NOT_ACCEPTABLE,
            None,
            -32600,
            "GET needs Accept: text/event-stream",
        );
    }
    let (_, session) = match session_of(&st, &h) {
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
    let (tx, rx) = listener(st.cfg.events_per_stream);
    let (sid, after) = resume.map_or((STANDALONE, None), |(s, q)| (s, Some(q)));
    let mut streams = lock(&session.streams);
    let prime_at = streams.list.get(&sid).map(|s| s.sent_upto);
    let generation = match streams.attach(sid, after, tx) {
        Ok(g) => g,
        Err(AttachError::Unknown) => {
            return checks::error(
                StatusCode::NOT_FOUND,
                None,
                -32600,
                "that stream is no longer kept; its events are lost",
            )
        }
        Err(AttachError::Lost) => {
            return checks::error(
                StatusCode::NOT_FOUND,
                None,
                -32600,
                "events after that id are no longer kept; the stream cannot be resumed",
            )
        }
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
        (None, Some(at)) => Some(sse::prime(&format!("{sid}-{at}"), st.cfg.sse_retry)),
        _ => None,
    };
    let guard = Detach {
        streams: session.streams.clone(),
        sid,
        generation,
    };
    sse::response(rx, head, st.cfg.keepalive, guard)
}

fn parse_event_id(s: &str) -> Option<(u64, u64)> {
    let (a, b) = s.split_once('-')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// DELETE: ends the session.
pub(crate) fn delete(st: Arc<AppState>, h: &HeaderMap) -> Response {
    let (id, session) = match session_of(&st, h) {
        Ok(s) => s,
        Err(r) => return r,
    };
    lock(&st.sessions.map).remove(&id);
    session.end();
    tracing::debug!(session = %id, "session ended by the client");
    StatusCode::OK.into_response()
}

/// A listener's channel: twice the store, so a replay fits with room to spare.
fn listener(events_per_stream: usize) -> (mpsc::Sender<Event>, mpsc::Receiver<Event>) {
    mpsc::channel(2 * events_per_stream.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(s: &str) -> Arc<[u8]> {
        s.as_bytes().into()
    }

    #[test]
    fn events_route_to_their_request_stream_and_replay_after_an_id() {
        let mut st = Streams::new(8);
        let (tx, mut rx) = listener(8);
        let sid = st.open(RequestId::Number(7), tx);
        st.push(Route::Related(RequestId::Number(7)), data("sampling"));
        st.push(Route::Unrelated, data("other"));
        assert_eq!(
            rx.try_recv().ok().and_then(|e| e.id),
            Some(format!("{sid}-1"))
        );
        // The client goes away; the answer is stored, then replayed after event 1.
        st.detach(sid, 1);
        st.push(Route::Response(RequestId::Number(7)), data("answer"));
        let (tx2, mut rx2) = listener(8);
        assert!(
            matches!(st.attach(sid, Some(1), tx2), Ok(2)),
            "a second attachment"
        );
        let ev = rx2.try_recv().ok().unwrap();
        assert!(ev.last && &*ev.data == b"answer");
        assert!(rx2.try_recv().is_err());
        // The standalone stream kept the unrelated message for the next GET.
        let (tx3, mut rx3) = listener(8);
        assert!(
            matches!(st.attach(STANDALONE, None, tx3), Ok(1)),
            "the first GET"
        );
        assert_eq!(&*rx3.try_recv().ok().unwrap().data, b"other");
        let (tx4, _rx4) = listener(8);
        assert!(matches!(
            st.attach(STANDALONE, None, tx4),
            Err(AttachError::Busy)
        ));
        let (tx5, _rx5) = listener(8);
        assert!(matches!(
            st.attach(99, None, tx5),
            Err(AttachError::Unknown)
        ));
    }

    #[test]
    fn stores_are_bounded() {
        let mut st = Streams::new(3);
        for i in 0..10 {
            st.push(Route::Unrelated, data(&i.to_string()));
        }
        assert_eq!(st.list[&STANDALONE].events.len(), 3);
        for i in 0..(KEEP_FINISHED as i64 + 5) {
            let (tx, _rx) = listener(8);
            st.open(RequestId::Number(i), tx);
            st.push(Route::Response(RequestId::Number(i)), data("a"));
        }
        assert_eq!(st.list.len(), KEEP_FINISHED + 1);
        assert_eq!(parse_event_id("3-14"), Some((3, 14)));
        assert_eq!(parse_event_id("x"), None);
    }
}
