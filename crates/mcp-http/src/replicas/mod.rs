//! Redis as the store replicas share (feature `redis`): the implementation of
//! [`crate::shared::Shared`].
//!
//! Keys (all under the configured prefix `P`, `mcp` by default):
//! - `P:s:ID` (hash: `init`, `level`) and `P:s:ID:subs` (set): a session's record, expiring
//!   after the idle time, refreshed by use;
//! - `P:e:ID:STREAM`: a stream's events (a Redis stream, entry id `0-SEQ`, fields `d` data and
//!   `l` last), at most `events_per_stream`, expiring with the session; the standalone stream
//!   (0) numbers its events with `P:e:ID:0:n` and remembers what a listener had in
//!   `P:e:ID:0:sent`;
//! - `P:rs:SHA256`: a modern `requestState` already used, until it expires;
//! - `P:replicas`: the counter that numbers replicas;
//! - `P:q:N`: replica N's inbox, the client's answers for its calls (a Redis stream read with
//!   a blocking `XREAD`, so that none is lost while its connection is down; `inbox.rs`);
//! - `P:alive:N`: present while replica N runs (its heartbeat).
//!
//! Channels: `P:r:N` (to replica N: a listener taken over, `D ID STREAM`), `P:all` (to
//! every replica: `E`nded, `C`hanged, a client's `N`otification, each with its origin),
//! `P:ev:ID:STREAM` (an event appended: `SEQ LAST\nDATA`).
//!
//! A tool call that samples once costs the replicas about ten Redis commands, all but two
//! round trips pipelined in the background: the POST that opens the call sends none while its
//! session is held here; each of its two events is an `XADD`, a `PEXPIRE` and a `PUBLISH`
//! (and the first stores the request id); the answer POSTed to another replica is a
//! `PEXPIRE` (does the session exist), then an `XADD` to the inbox, a `PEXPIRE` and an
//! `EXISTS` of the heartbeat in one pipeline.

mod bus;
mod inbox;
mod writer;

use crate::shared::{Change, ListenError, Local, Record, Shared, Unavailable};
use crate::sse::Event;
use crate::HttpConfig;
use bus::Bus;
use mcp_proto::{BoxFuture, RequestId};
use redis::aio::ConnectionManager;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use writer::{Op, Writer};

/// Where the replicas' shared state lives.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://[:password@]host:port[/db]` or `redis+unix:///path`. TLS (`rediss://`) is not
    /// built in: reach a TLS-only Redis through a local tunnel.
    pub url: String,
    /// Prefix of every key and channel (default `mcp`): servers sharing one Redis use
    /// different prefixes.
    pub prefix: String,
    /// Longest wait for a Redis answer before the request gets 503 (default 2 s).
    pub timeout: Duration,
}

impl RedisConfig {
    /// Redis at `url`, with the default prefix and timeout.
    pub fn new(url: impl Into<String>) -> RedisConfig {
        RedisConfig {
            url: url.into(),
            prefix: "mcp".into(),
            timeout: Duration::from_secs(2),
        }
    }
}

/// Why the server could not start with Redis.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    /// The URL is not a Redis URL.
    #[error("invalid Redis URL {url:?}: {why}")]
    Url {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// Redis could not be reached or refused us.
    #[error("cannot use Redis at {url}: {why}")]
    Connect {
        /// The URL given.
        url: String,
        /// What failed.
        why: String,
    },
}

/// The URL without its password (for messages and logs).
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}"),
        None => url.to_owned(),
    }
}

/// Counters for `/metrics`.
#[derive(Default)]
pub(crate) struct Counters {
    pub replies_forwarded: AtomicU64,
    pub replies_received: AtomicU64,
    pub replies_unheard: AtomicU64,
    pub notifications: AtomicU64,
    pub sessions_loaded: AtomicU64,
    pub listens: AtomicU64,
    pub events_written: AtomicU64,
    pub events_dropped: AtomicU64,
    pub errors: AtomicU64,
    pub replays_refused: AtomicU64,
}

fn add(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Key and channel names.
#[derive(Clone)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    fn record(&self, id: &str) -> String {
        format!("{}:s:{id}", self.prefix)
    }
    fn subs(&self, id: &str) -> String {
        format!("{}:s:{id}:subs", self.prefix)
    }
    pub fn stream(&self, id: &str, sid: u64) -> String {
        format!("{}:e:{id}:{sid}", self.prefix)
    }
    pub fn events(&self, id: &str, sid: u64) -> String {
        format!("{}:ev:{id}:{sid}", self.prefix)
    }
    pub fn replica(&self, n: u32) -> String {
        format!("{}:r:{n}", self.prefix)
    }
    pub fn all(&self) -> String {
        format!("{}:all", self.prefix)
    }
    /// Replica `n`'s inbox: the client's answers for its calls.
    pub fn inbox(&self, n: u32) -> String {
        format!("{}:q:{n}", self.prefix)
    }
    /// Present while replica `n` runs.
    pub fn alive(&self, n: u32) -> String {
        format!("{}:alive:{n}", self.prefix)
    }
    fn spent(&self, state: &str) -> String {
        let d = Sha256::digest(state.as_bytes());
        let mut k = format!("{}:rs:", self.prefix);
        for b in d {
            let _ = write!(k, "{b:02x}");
        }
        k
    }
}

/// This replica's view of the shared store.
pub(crate) struct Replicas {
    me: u32,
    keys: Keys,
    conn: ConnectionManager,
    ttl_ms: u64,
    writer: Writer,
    bus: Arc<Bus>,
    touched: Mutex<HashMap<String, Instant>>,
    counters: Arc<Counters>,
}

impl Replicas {
    /// Connects, takes a replica number, and starts the writer and the subscriber.
    pub(crate) async fn start(
        cfg: RedisConfig,
        http: Arc<HttpConfig>,
        local: Arc<dyn Local>,
    ) -> Result<Arc<Replicas>, RedisError> {
        let connect_err = |e: redis::RedisError| RedisError::Connect {
            url: redacted(&cfg.url),
            why: e.to_string(),
        };
        let client = redis::Client::open(cfg.url.as_str()).map_err(|e| RedisError::Url {
            url: redacted(&cfg.url),
            why: e.to_string(),
        })?;
        let manager = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(cfg.timeout))
            .set_response_timeout(Some(cfg.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let mut conn = client
            .get_connection_manager_with_config(manager)
            .await
            .map_err(connect_err)?;
        let keys = Keys {
            prefix: cfg.prefix.clone(),
        };
        let me = take_number(&mut conn, &keys).await.map_err(connect_err)?;
        let counters = Arc::new(Counters::default());
        let ttl_ms = u64::try_from(http.session_idle.as_millis()).unwrap_or(u64::MAX);
        let writer = writer::start(
            conn.clone(),
            http.events_per_stream,
            ttl_ms,
            counters.clone(),
        );
        let local_weak = Arc::downgrade(&local);
        inbox::start(client.clone(), &keys, me, local_weak, counters.clone())
            .await
            .map_err(connect_err)?;
        let bus = Bus::start(
            client,
            keys.clone(),
            me,
            Arc::downgrade(&local),
            counters.clone(),
            // Each session's standalone stream and a few resumptions.
            (
                http.events_per_stream,
                ttl_ms,
                http.max_sessions.max(64) * 4,
            ),
        )
        .await
        .map_err(connect_err)?;
        tokio::spawn(heartbeat(conn.clone(), keys.alive(me), counters.clone()));
        tracing::info!(replica = me, "sharing sessions through Redis");
        Ok(Arc::new(Replicas {
            me,
            keys,
            conn,
            ttl_ms,
            writer,
            bus,
            touched: Mutex::new(HashMap::new()),
            counters,
        }))
    }

    /// Counts a failed command and names it for the client.
    fn on_error(&self) -> impl Fn(redis::RedisError) -> Unavailable + Send + Sync + 'static {
        let counters = self.counters.clone();
        move |e| {
            add(&counters.errors);
            Unavailable(e.to_string())
        }
    }

    fn enqueue(&self, op: Op) {
        if !self.writer.send(op) {
            add(&self.counters.events_dropped);
        }
    }

    fn publish_all(&self, pipe: &mut redis::Pipeline, kind: char, id: &str, body: &[u8]) {
        let mut msg = format!("{kind} {} {id}", self.me).into_bytes();
        if !body.is_empty() {
            msg.push(b'\n');
            msg.extend_from_slice(body);
        }
        pipe.cmd("PUBLISH").arg(self.keys.all()).arg(msg).ignore();
    }
}

/// A number no running replica has: the counter's next, unless that one's heartbeat is
/// present (the counter restarted with an empty Redis while replicas ran).
async fn take_number(conn: &mut ConnectionManager, keys: &Keys) -> redis::RedisResult<u32> {
    for _ in 0..64 {
        let n: u64 = redis::cmd("INCR")
            .arg(format!("{}:replicas", keys.prefix))
            .query_async(conn)
            .await?;
        // 1..2^20: the high bits of its request ids, below 2^53 for JavaScript clients.
        let me = u32::try_from(n.saturating_sub(1) % 0xF_FFFF + 1).unwrap_or(1);
        let claimed: Option<String> = redis::cmd("SET")
            .arg(keys.alive(me))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(ALIVE_FOR_MS)
            .query_async(conn)
            .await?;
        if claimed.is_some() {
            return Ok(me);
        }
    }
    Err(redis::RedisError::from((
        redis::ErrorKind::Client,
        "no free replica number after 64 tries",
    )))
}

/// How often a replica says it is alive, and how long that lasts.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(1);
const ALIVE_FOR_MS: u64 = 3_000;

/// Keeps `P:alive:N` present while this replica runs (so others can tell when it died).
async fn heartbeat(mut conn: ConnectionManager, key: String, counters: Arc<Counters>) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    loop {
        tick.tick().await;
        let set: redis::RedisResult<()> = redis::cmd("SET")
            .arg(&key)
            .arg(1)
            .arg("PX")
            .arg(ALIVE_FOR_MS)
            .query_async(&mut conn)
            .await;
        if set.is_err() {
            add(&counters.errors);
        }
    }
}

/// Whether a failure means the connection dropped (Redis restarted or went away): the
/// manager reconnects, and the command is worth one more try.
fn dropped(e: &redis::RedisError) -> bool {
    e.is_connection_dropped() || e.is_io_error() || e.is_connection_refusal()
}

/// Runs a pipeline (once more if the connection had dropped; what we send twice is
/// idempotent, or a duplicate answer the engine ignores).
async fn query_pipe<T: redis::FromRedisValue>(
    conn: &ConnectionManager,
    pipe: &redis::Pipeline,
) -> redis::RedisResult<T> {
    match pipe.query_async(&mut conn.clone()).await {
        Err(e) if dropped(&e) => pipe.query_async(&mut conn.clone()).await,
        r => r,
    }
}

fn parse_record(
    fields: HashMap<String, String>,
    subs: Vec<String>,
) -> Result<Option<Record>, Unavailable> {
    let Some(init) = fields.get("init") else {
        return Ok(None);
    };
    let bad = |e: serde_json::Error| Unavailable(format!("a session record is corrupt: {e}"));
    let init: Value = serde_json::from_str(init).map_err(bad)?;
    let level = match fields.get("level") {
        Some(l) => Some(serde_json::from_str(l).map_err(bad)?),
        None => None,
    };
    let owner = fields.get("owner").cloned();
    Ok(Some(Record {
        init,
        level,
        subs,
        owner,
    }))
}

impl Shared for Replicas {
    fn replica(&self) -> u32 {
        self.me
    }

    fn create(&self, session: &str, record: &Record) -> BoxFuture<Result<(), Unavailable>> {
        let conn = self.conn.clone();
        let err = self.on_error();
        let (rec, subs) = (self.keys.record(session), self.keys.subs(session));
        let init = record.init.to_string();
        let owner = record.owner.clone();
        let (ttl, me) = (self.ttl_ms, self.me);
        Box::pin(async move {
            let mut pipe = redis::pipe();
            pipe.cmd("DEL").arg(&subs).ignore();
            let hset = pipe.cmd("HSET");
            hset.arg(&rec).arg("init").arg(init).arg("by").arg(me);
            if let Some(o) = owner {
                hset.arg("owner").arg(o);
            }
            hset.ignore();
            pipe.cmd("PEXPIRE").arg(&rec).arg(ttl).ignore();
            query_pipe::<()>(&conn, &pipe).await.map_err(err)
        })
    }

    fn load(&self, session: &str) -> BoxFuture<Result<Option<Record>, Unavailable>> {
        let conn = self.conn.clone();
        let err = self.on_error();
        let (rec, subs) = (self.keys.record(session), self.keys.subs(session));
        let ttl = self.ttl_ms;
        add(&self.counters.sessions_loaded);
        Box::pin(async move {
            let mut pipe = redis::pipe();
            pipe.cmd("HGETALL").arg(&rec);
            pipe.cmd("SMEMBERS").arg(&subs);
            pipe.cmd("PEXPIRE").arg(&rec).arg(ttl).ignore();
            pipe.cmd("PEXPIRE").arg(&subs).arg(ttl).ignore();
            let (fields, members): (HashMap<String, String>, Vec<String>) =
                query_pipe(&conn, &pipe).await.map_err(err)?;
            parse_record(fields, members)
        })
    }

    fn owner(&self, session: &str) -> BoxFuture<Result<Option<Option<String>>, Unavailable>> {
        let conn = self.conn.clone();
        let err = self.on_error();
        let rec = self.keys.record(session);
        let ttl = self.ttl_ms;
        Box::pin(async move {
            let mut pipe = redis::pipe();
            pipe.cmd("PEXPIRE").arg(&rec).arg(ttl);
            pipe.cmd("HGET").arg(&rec).arg("owner");
            let (n, owner): (i64, Option<String>) = query_pipe(&conn, &pipe).await.map_err(err)?;
            Ok((n == 1).then_some(owner))
        })
    }

    fn change(&self, session: &str, change: Change) -> BoxFuture<Result<(), Unavailable>> {
        let conn = self.conn.clone();
        let err = self.on_error();
        let (rec, subs) = (self.keys.record(session), self.keys.subs(session));
        let mut pipe = redis::pipe();
        match &change {
            Change::Level(v) => pipe.cmd("HSET").arg(&rec).arg("level").arg(v.to_string()),
            Change::Subscribe(uri) => pipe.cmd("SADD").arg(&subs).arg(uri),
            Change::Unsubscribe(uri) => pipe.cmd("SREM").arg(&subs).arg(uri),
        }
        .ignore();
        pipe.cmd("PEXPIRE").arg(&rec).arg(self.ttl_ms).ignore();
        pipe.cmd("PEXPIRE").arg(&subs).arg(self.ttl_ms).ignore();
        self.publish_all(&mut pipe, 'C', session, b"");
        Box::pin(async move { query_pipe::<()>(&conn, &pipe).await.map_err(err) })
    }

    fn end(&self, session: &str) -> BoxFuture<Result<(), Unavailable>> {
        let conn = self.conn.clone();
        let err = self.on_error();
        let mut pipe = redis::pipe();
        pipe.cmd("DEL")
            .arg(self.keys.record(session))
            .arg(self.keys.subs(session))
            .ignore();
        self.publish_all(&mut pipe, 'E', session, b"");
        Box::pin(async move { query_pipe::<()>(&conn, &pipe).await.map_err(err) })
    }

    fn touch(&self, session: &str) {
        let every = Duration::from_millis(self.ttl_ms / 8).max(Duration::from_secs(1));
        {
            let mut t = self.touched.lock().unwrap_or_else(|p| p.into_inner());
            if t.get(session).is_some_and(|at| at.elapsed() < every) {
                return;
            }
            if t.len() > 65_536 {
                t.retain(|_, at| at.elapsed() < every);
            }
            t.insert(session.to_owned(), Instant::now());
        }
        self.enqueue(Op::Touch {
            record: self.keys.record(session),
            subs: self.keys.subs(session),
        });
    }

    fn route_reply(
        &self,
        to: u32,
        session: &str,
        body: &[u8],
    ) -> BoxFuture<Result<(), Unavailable>> {
        let conn = self.conn.clone();
        let err = self.on_error();
        let mut pipe = redis::pipe();
        let inbox = self.keys.inbox(to);
        pipe.cmd("XADD")
            .arg(&inbox)
            .arg("MAXLEN")
            .arg("~")
            .arg(inbox::KEEP)
            .arg("*")
            .arg("s")
            .arg(session)
            .arg("b")
            .arg(body)
            .ignore();
        pipe.cmd("PEXPIRE").arg(&inbox).arg(self.ttl_ms).ignore();
        pipe.cmd("EXISTS").arg(self.keys.alive(to));
        let counters = self.counters.clone();
        Box::pin(async move {
            let (alive,): (i64,) = query_pipe(&conn, &pipe).await.map_err(err)?;
            if alive == 0 {
                // The replica is gone, and the call that waited with it.
                add(&counters.replies_unheard);
                tracing::debug!(replica = to, "an answer for a replica that is gone");
            } else {
                add(&counters.replies_forwarded);
            }
            Ok(())
        })
    }

    fn broadcast(&self, session: &str, body: &[u8]) -> BoxFuture<Result<(), Unavailable>> {
        let conn = self.conn.clone();
        let err = self.on_error();
        let mut pipe = redis::pipe();
        self.publish_all(&mut pipe, 'N', session, body);
        add(&self.counters.notifications);
        Box::pin(async move { query_pipe::<()>(&conn, &pipe).await.map_err(err) })
    }

    fn event(
        &self,
        session: &str,
        sid: u64,
        seq: u64,
        data: &Arc<[u8]>,
        last: bool,
        request: Option<&RequestId>,
    ) {
        // A stream that does not end with its first event may be ended by another replica.
        let request = (seq == 1 && !last)
            .then(|| request.and_then(|r| serde_json::to_string(r).ok()))
            .flatten();
        self.enqueue(Op::Event {
            stream: self.keys.stream(session, sid),
            channel: self.keys.events(session, sid),
            seq,
            data: data.clone(),
            last,
            request,
        });
    }

    fn standalone(&self, session: &str, data: &Arc<[u8]>) {
        self.enqueue(Op::Standalone {
            stream: self.keys.stream(session, 0),
            channel: self.keys.events(session, 0),
            data: data.clone(),
        });
    }

    fn listen(
        &self,
        session: &str,
        sid: u64,
        after: Option<u64>,
    ) -> BoxFuture<Result<(u64, mpsc::Receiver<Event>), ListenError>> {
        add(&self.counters.listens);
        let bus = self.bus.clone();
        let conn = self.conn.clone();
        let session = session.to_owned();
        let writer = self.writer.clone();
        Box::pin(async move { bus.listen(conn, writer, &session, sid, after).await })
    }

    fn first_use(&self, state: &str, ttl: Duration) -> BoxFuture<Result<bool, Unavailable>> {
        let mut conn = self.conn.clone();
        let err = self.on_error();
        let key = self.keys.spent(state);
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let counters = self.counters.clone();
        Box::pin(async move {
            let set: Option<String> = redis::cmd("SET")
                .arg(key)
                .arg(1)
                .arg("NX")
                .arg("PX")
                .arg(ms)
                .query_async(&mut conn)
                .await
                .map_err(err)?;
            if set.is_none() {
                add(&counters.replays_refused);
            }
            Ok(set.is_some())
        })
    }

    fn stop(&self) {
        self.bus.stop();
    }

    fn metrics(&self, out: &mut String) {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let rows: [(&str, &str, &str, u64); 10] = [
            ("mcp_replica_replies_total", "direction=\"forwarded\"", "Client answers POSTed here for a call waiting on another replica, and those received from other replicas.", get(&c.replies_forwarded)),
            ("mcp_replica_replies_total", "direction=\"received\"", "", get(&c.replies_received)),
            ("mcp_replica_replies_total", "direction=\"unheard\"", "", get(&c.replies_unheard)),
            ("mcp_replica_notifications_total", "", "Client notifications passed to the other replicas.", get(&c.notifications)),
            ("mcp_replica_sessions_loaded_total", "", "Sessions opened here from their record in Redis.", get(&c.sessions_loaded)),
            ("mcp_replica_stream_listens_total", "", "Streams served here from Redis (standalone streams, resumptions).", get(&c.listens)),
            ("mcp_replica_events_written_total", "", "Stream events written to Redis.", get(&c.events_written)),
            ("mcp_replica_events_dropped_total", "", "Stream events not written to Redis (its queue was full or a write failed).", get(&c.events_dropped)),
            ("mcp_redis_errors_total", "", "Redis commands that failed.", get(&c.errors)),
            ("mcp_replica_request_states_refused_total", "", "Modern requestStates refused as replays.", get(&c.replays_refused)),
        ];
        let mut last = "";
        for (name, labels, help, v) in rows {
            if name != last {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
                last = name;
            }
            let labels = if labels.is_empty() {
                String::new()
            } else {
                format!("{{{labels}}}")
            };
            let _ = writeln!(out, "{name}{labels} {v}");
        }
        let name = "mcp_replica_number";
        let _ = writeln!(
            out,
            "# HELP {name} This replica's number (its range of request ids).\n# TYPE {name} gauge\n{name} {}",
            self.me
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn messages_never_show_the_password() {
        assert_eq!(
            super::redacted("redis://:s3cret@db.internal:6379/2"),
            "redis://***@db.internal:6379/2"
        );
        assert_eq!(
            super::redacted("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }
}
