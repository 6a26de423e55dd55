//! Sessions: one engine connection each, its streams, idle expiry; with a shared store,
//! a session's record replayed into a connection opened on this replica, and the store's
//! calls back into the sessions held here.

use super::streams::{Pushed, Streams, STANDALONE};
use super::{lock, Owner};
use crate::shared::{Local, Record, Shared};
use crate::sse::Event;
use crate::HttpConfig;
use mcp_proto::methods::{Initialize, Initialized, Notification as _, Request as _};
use mcp_proto::methods::{SetLevel, Subscribe, Unsubscribe};
use mcp_proto::RequestId;
use mcp_rpc::{Closed, Inbound, MessageSink, Route};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::time::Instant;

/// The longest a replayed request of a session's record may take.
const REPLAY_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) struct SessionSink {
    pub(super) streams: Arc<Mutex<Streams>>,
    pub(super) closed: AtomicBool,
    /// With a shared store: the store and this session's id.
    pub(super) shared: Option<(Arc<dyn Shared>, String)>,
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
        let data: Arc<[u8]> = message.into();
        let Some((shared, id)) = &self.shared else {
            lock(&self.streams).push(route, data);
            return Ok(());
        };
        let request = match &route {
            Route::Related(id) | Route::Response(id) => Some(id.clone()),
            Route::Unrelated => None,
        };
        let mut streams = lock(&self.streams);
        // Under the lock: a stream's events reach the store in their order.
        match streams.push(route, data.clone()) {
            Pushed::Stored { sid, seq, last } => {
                shared.event(id, sid, seq, &data, last, request.as_ref());
            }
            Pushed::Standalone => shared.standalone(id, &data),
            Pushed::Dropped => {}
        }
        Ok(())
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        lock(&self.streams).silence();
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
    pub(super) inbound: Inbound,
    pub(super) streams: Arc<Mutex<Streams>>,
    last_active: Mutex<Instant>,
    /// With a shared store: the record as this connection has it.
    pub(super) record: Mutex<Option<Record>>,
    /// Whose session it is (`super::Owner`).
    pub(super) owner: Owner,
}

impl Session {
    pub(super) fn new(inbound: Inbound, streams: Arc<Mutex<Streams>>, owner: Owner) -> Session {
        Session {
            inbound,
            streams,
            last_active: Mutex::new(Instant::now()),
            record: Mutex::new(None),
            owner,
        }
    }

    pub(super) fn touch(&self) {
        *lock(&self.last_active) = Instant::now();
    }

    pub(super) fn end(&self) {
        self.inbound.end();
        lock(&self.streams).silence();
    }

    /// Sends `method` with `params` to this session's connection as the client would, and
    /// waits for the answer (a record replayed into a new connection).
    async fn replay(&self, method: &str, params: &Value) -> Result<(), String> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let id = RequestId::String(format!("mcp-http-replay-{n}").into());
        let (tx, mut rx) = super::listener(1);
        let sid = lock(&self.streams).open(id.clone(), tx);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.inbound.receive(body.to_string().as_bytes());
        let first = tokio::time::timeout(REPLAY_TIMEOUT, rx.recv()).await;
        lock(&self.streams).list.remove(&sid);
        let answer: Event = match first {
            Ok(Some(ev)) => ev,
            Ok(None) => return Err(format!("{method}: the session ended")),
            Err(_) => return Err(format!("{method}: no answer within {REPLAY_TIMEOUT:?}")),
        };
        let ok = serde_json::from_slice::<Value>(&answer.data)
            .ok()
            .is_some_and(|v| v.get("result").is_some());
        if ok {
            Ok(())
        } else {
            Err(format!("{method} was refused when replayed"))
        }
    }

    /// Brings a connection opened on this replica to the state `record` describes.
    pub(super) async fn restore(&self, record: Record) -> Result<(), String> {
        self.replay(Initialize::METHOD, &record.init).await?;
        let note = json!({"jsonrpc": "2.0", "method": Initialized::METHOD});
        self.inbound.receive(note.to_string().as_bytes());
        self.apply(&Record::default(), &record).await?;
        *lock(&self.record) = Some(record);
        Ok(())
    }

    /// Replays what differs from `old` to `new` (log level, subscriptions).
    async fn apply(&self, old: &Record, new: &Record) -> Result<(), String> {
        if new.level != old.level {
            if let Some(level) = &new.level {
                self.replay(SetLevel::METHOD, level).await?;
            }
        }
        for uri in new.subs.iter().filter(|u| !old.subs.contains(u)) {
            self.replay(Subscribe::METHOD, &json!({ "uri": uri }))
                .await?;
        }
        for uri in old.subs.iter().filter(|u| !new.subs.contains(u)) {
            self.replay(Unsubscribe::METHOD, &json!({ "uri": uri }))
                .await?;
        }
        Ok(())
    }
}

/// The sessions of a server.
pub(crate) struct Sessions {
    pub(super) cfg: Arc<HttpConfig>,
    pub(super) map: Mutex<HashMap<String, Arc<Session>>>,
    /// The store replicas share, when there is one.
    pub(super) shared: OnceLock<Arc<dyn Shared>>,
    /// Held while a session of the store is opened here (so it is opened once).
    pub(super) opening: tokio::sync::Mutex<()>,
}

impl Sessions {
    pub fn new(cfg: Arc<HttpConfig>) -> Sessions {
        Sessions {
            cfg,
            map: Mutex::new(HashMap::new()),
            shared: OnceLock::new(),
            opening: tokio::sync::Mutex::new(()),
        }
    }

    /// Shares sessions through `store` from now on.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub fn share(&self, store: Arc<dyn Shared>) {
        let _ = self.shared.set(store);
    }

    pub fn shared(&self) -> Option<&Arc<dyn Shared>> {
        self.shared.get()
    }

    pub fn len(&self) -> usize {
        lock(&self.map).len()
    }

    pub(super) fn get(&self, id: &str) -> Option<Arc<Session>> {
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
    /// running). With a store, the session goes on in the store; only this replica's
    /// connection ends.
    fn expire(&self) {
        let idle = self.cfg.session_idle;
        let mut map = lock(&self.map);
        let before = map.len();
        map.retain(|_, s| {
            let quiet = lock(&s.last_active).elapsed() >= idle
                && !lock(&s.streams).heard()
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

impl Local for Sessions {
    fn deliver(&self, session: &str, body: &[u8]) {
        match self.get(session) {
            Some(s) => s.inbound.receive(body),
            None => tracing::debug!(session, "a routed answer for a session not held here"),
        }
    }

    fn notify(&self, session: &str, body: &[u8]) {
        if let Some(s) = self.get(session) {
            s.inbound.receive(body);
        }
    }

    fn end(&self, session: &str) {
        let s = lock(&self.map).remove(session);
        if let Some(s) = s {
            s.end();
            tracing::debug!(session, "session ended on another replica");
        }
    }

    fn changed(&self, session: &str) {
        let (Some(s), Some(store)) = (self.get(session), self.shared().cloned()) else {
            return;
        };
        let id = session.to_owned();
        tokio::spawn(async move {
            let new = match store.load(&id).await {
                Ok(Some(r)) => r,
                Ok(None) => return,
                Err(e) => return tracing::warn!(session = %id, "{e}"),
            };
            let old = lock(&s.record).clone().unwrap_or_default();
            match s.apply(&old, &new).await {
                Ok(()) => *lock(&s.record) = Some(new),
                Err(e) => tracing::warn!(session = %id, "a change could not be applied: {e}"),
            }
        });
    }

    fn drop_listener(&self, session: &str, sid: u64) {
        if let Some(s) = self.get(session) {
            lock(&s.streams).drop_listener(sid);
        }
    }

    fn records(&self) -> Vec<(String, Record)> {
        lock(&self.map)
            .iter()
            .filter_map(|(id, s)| Some((id.clone(), lock(&s.record).clone()?)))
            .collect()
    }
}

/// Ends idle sessions, forever.
pub(crate) async fn sweep(sessions: Arc<Sessions>) {
    let every = (sessions.cfg.session_idle / 4).clamp(
        std::time::Duration::from_millis(10),
        std::time::Duration::from_secs(30),
    );
    loop {
        tokio::time::sleep(every).await;
        sessions.expire();
    }
}

/// A new session id: 32 hex digits from the OS's randomness.
pub(super) fn new_session_id() -> String {
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

/// Whether `id` has the form of our session ids (so it is safe in a store's key).
pub(super) fn well_formed(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}
