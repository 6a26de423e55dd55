//! What replicas share: the contract between the legacy sessions (`legacy`) and a store
//! that several processes use at once (Redis, `replicas`, feature `redis`).
//!
//! Without a store (the default) a session lives in the process that opened it and none of
//! this runs. With one:
//! - the session's record (the client's `initialize` params, its log level, its resource
//!   subscriptions) is in the store, so any replica serves any request of the session: the
//!   first request a replica gets for it opens a local engine connection and replays the
//!   record into it;
//! - our requests to the client (sampling, elicitation, roots) carry ids from the replica's
//!   own range (`replica << 32`); the client's answer, POSTed to any replica, is routed to
//!   the replica whose call waits for it, and a client's notifications reach every replica
//!   that holds the session;
//! - every event of a request's stream is appended to the store, so a stream cut anywhere is
//!   resumed anywhere; the standalone stream is kept in the store only.

use crate::sse::Event;
use mcp_proto::{BoxFuture, RequestId};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Bits of a request id or stream number below the replica's number.
pub(crate) const REPLICA_SHIFT: u32 = 32;

/// The replica whose range holds `n` (a request id or stream number), 0 for none.
pub(crate) fn replica_of(n: u64) -> u32 {
    u32::try_from(n >> REPLICA_SHIFT).unwrap_or(0)
}

/// What a replica knows of a session from the store.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Record {
    /// The params of the client's `initialize`.
    pub init: Value,
    /// The params of the client's last `logging/setLevel`.
    pub level: Option<Value>,
    /// The resources it subscribed to.
    pub subs: Vec<String>,
    /// Whose session it is: the digest of the OAuth identity that opened it
    /// (`crate::gate::owner`); `None` on a server without OAuth.
    pub owner: Option<String>,
}

impl Record {
    /// The record after `change`.
    pub fn apply(&mut self, change: &Change) {
        match change {
            Change::Level(v) => self.level = Some(v.clone()),
            Change::Subscribe(uri) => {
                if !self.subs.contains(uri) {
                    self.subs.push(uri.clone());
                }
            }
            Change::Unsubscribe(uri) => self.subs.retain(|u| u != uri),
        }
    }
}

/// A change the client made to its session.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    /// `logging/setLevel` with these params.
    Level(Value),
    /// `resources/subscribe` to this URI.
    Subscribe(String),
    /// `resources/unsubscribe` from it.
    Unsubscribe(String),
}

/// The store could not be used: the request gets 503 with this reason.
#[derive(Debug, Clone, thiserror::Error)]
#[error("shared session store unavailable: {0}")]
pub(crate) struct Unavailable(pub String);

/// Why a stream cannot be listened to.
pub(crate) enum ListenError {
    /// The store has no such stream (never was, or expired).
    Unknown,
    /// Events after the given id are no longer kept.
    Lost,
    /// The given id is past anything the stream sent.
    Ahead,
    /// The store failed.
    Unavailable(Unavailable),
}

/// The store, as the sessions use it.
pub(crate) trait Shared: Send + Sync + 'static {
    /// This replica's number (1..2^20): the high bits of its request ids and stream numbers.
    fn replica(&self) -> u32;
    /// Records a new session.
    fn create(&self, session: &str, record: &Record) -> BoxFuture<Result<(), Unavailable>>;
    /// The record of `session` (and refreshes its expiry), `None` when there is none.
    fn load(&self, session: &str) -> BoxFuture<Result<Option<Record>, Unavailable>>;
    /// Whose `session` is (and refreshes its expiry): `None` when there is no such session,
    /// `Some(None)` for one opened without OAuth.
    fn owner(&self, session: &str) -> BoxFuture<Result<Option<Option<String>>, Unavailable>>;
    /// Records a change and tells the other replicas.
    fn change(&self, session: &str, change: Change) -> BoxFuture<Result<(), Unavailable>>;
    /// Ends the session everywhere.
    fn end(&self, session: &str) -> BoxFuture<Result<(), Unavailable>>;
    /// Refreshes the session's expiry (in the background; at most every few seconds).
    fn touch(&self, session: &str);
    /// Sends the client's answer `body` to the replica `to` that waits for it.
    fn route_reply(
        &self,
        to: u32,
        session: &str,
        body: &[u8],
    ) -> BoxFuture<Result<(), Unavailable>>;
    /// Passes the client's notification to every other replica holding the session.
    fn broadcast(&self, session: &str, body: &[u8]) -> BoxFuture<Result<(), Unavailable>>;
    /// Appends event `seq` of this replica's stream `sid` (in the background, in order);
    /// `request` is the client's request the stream answers (kept with the stream, so that
    /// another replica can end it with an error if this one dies).
    fn event(
        &self,
        session: &str,
        sid: u64,
        seq: u64,
        data: &Arc<[u8]>,
        last: bool,
        request: Option<&RequestId>,
    );
    /// Appends a message to the session's standalone stream (in the background).
    fn standalone(&self, session: &str, data: &Arc<[u8]>);
    /// Listens to stream `sid` of `session` from the store: what came after `after` (the
    /// standalone stream without `after`: what no listener has had), then what comes. The
    /// replica running the stream stops sending to its own listener, if any.
    fn listen(
        &self,
        session: &str,
        sid: u64,
        after: Option<u64>,
    ) -> BoxFuture<Result<(u64, mpsc::Receiver<Event>), ListenError>>;
    /// Whether a modern `requestState` is used for the first time (a replay answers
    /// `false`); remembered for `ttl`.
    fn first_use(&self, state: &str, ttl: Duration) -> BoxFuture<Result<bool, Unavailable>>;
    /// Ends the streams fed from the store (at shutdown).
    fn stop(&self);
    /// Appends the store's counters to `/metrics`.
    fn metrics(&self, out: &mut String);
}

/// What the store calls back on this replica's sessions.
pub(crate) trait Local: Send + Sync + 'static {
    /// The client's answer to one of our requests in `session`, routed here.
    fn deliver(&self, session: &str, body: &[u8]);
    /// A client's notification to `session`, POSTed to another replica.
    fn notify(&self, session: &str, body: &[u8]);
    /// `session` was ended by its client (DELETE on some replica).
    fn end(&self, session: &str);
    /// The client changed `session` on another replica.
    fn changed(&self, session: &str);
    /// Another replica took over the listener of this replica's stream `sid`.
    fn drop_listener(&self, session: &str, sid: u64);
    /// The records of the sessions open here (to restore them into a store that lost them).
    fn records(&self) -> Vec<(String, Record)>;
}
