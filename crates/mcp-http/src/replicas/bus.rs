//! The subscriber: this replica's channel (listeners taken over), the
//! channel of every replica (sessions ended or changed, client notifications), and the event
//! channels of the streams served here from Redis. It reconnects when Redis goes away; then
//! every stream served from Redis catches up from the store, and the sessions held here are
//! written back into a Redis that lost them.

use super::writer::{Op, Writer};
use super::{add, Counters, Keys};
use crate::shared::{replica_of, ListenError, Local, Unavailable};
use crate::sse::Event;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, PubSubSink};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::mpsc;

/// Ends a stream whose replica died before its answer: appends a JSON-RPC error for the
/// request it served, unless the replica is alive, the stream ended, or nothing is known of
/// its request. Returns the error's seq, or 0.
const END_ORPHAN: &str = r#"
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
local req = redis.call('GET', KEYS[2])
if not req then return 0 end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local seq = 0
if #last > 0 then
  seq = tonumber(string.sub(last[1][1], 3))
  local f = last[1][2]
  for i = 1, #f, 2 do
    if f[i] == 'l' and f[i + 1] == '1' then return 0 end
  end
end
seq = seq + 1
local msg = '{"jsonrpc":"2.0","id":' .. req .. ',"error":{"code":-32603,"message":' .. ARGV[1] .. '}}'
redis.call('XADD', KEYS[1], '0-' .. seq, 'd', msg, 'l', '1')
redis.call('PUBLISH', ARGV[2], seq .. ' 1\n' .. msg)
return seq
"#;

/// The error a client gets for a call whose replica died.
const ORPHANED: &str =
    "the server replica running this request stopped before answering; call again";

/// How long a stream that is not in Redis yet is waited for (tries, and the wait between).
const UNWRITTEN_TRIES: u32 = 25;
const UNWRITTEN_WAIT: Duration = Duration::from_millis(20);

/// How often a stream served from another replica checks that the replica lives.
const OWNER_CHECK: Duration = Duration::from_secs(2);

async fn end_if_orphaned(
    conn: &mut ConnectionManager,
    keys: &Keys,
    stream: &str,
    channel: &str,
    owner: u32,
) -> redis::RedisResult<i64> {
    redis::cmd("EVAL")
        .arg(END_ORPHAN)
        .arg(3)
        .arg(stream)
        .arg(format!("{stream}:req"))
        .arg(keys.alive(owner))
        .arg(serde_json::Value::from(ORPHANED).to_string())
        .arg(channel)
        .query_async(conn)
        .await
}

/// What a stream's feeder gets from the subscriber.
enum Raw {
    /// An event published on the stream's channel.
    Event {
        seq: u64,
        last: bool,
        data: Arc<[u8]>,
    },
    /// The subscription was lost for a while: read the store again.
    Resync,
}

struct Listener {
    generation: u64,
    tx: mpsc::UnboundedSender<Raw>,
}

pub(crate) struct Bus {
    keys: Keys,
    me: u32,
    local: Weak<dyn Local>,
    counters: Arc<Counters>,
    sink: tokio::sync::Mutex<Option<PubSubSink>>,
    listeners: Mutex<HashMap<String, Listener>>,
    generation: AtomicU64,
    max_events: usize,
    ttl_ms: u64,
    /// Most streams served from Redis at once on this replica.
    max_listeners: usize,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Bus {
    pub(super) async fn start(
        client: redis::Client,
        keys: Keys,
        me: u32,
        local: Weak<dyn Local>,
        counters: Arc<Counters>,
        (max_events, ttl_ms, max_listeners): (usize, u64, usize),
    ) -> redis::RedisResult<Arc<Bus>> {
        let bus = Arc::new(Bus {
            keys,
            me,
            local,
            counters,
            sink: tokio::sync::Mutex::new(None),
            listeners: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            max_events: max_events.max(1),
            ttl_ms,
            max_listeners,
        });
        let stream = bus.subscribe(&client).await?;
        tokio::spawn(run(Arc::downgrade(&bus), client, stream));
        Ok(bus)
    }

    /// A new subscription to our channels and those of the streams listened to here.
    async fn subscribe(
        &self,
        client: &redis::Client,
    ) -> redis::RedisResult<redis::aio::PubSubStream> {
        let (mut sink, stream) = client.get_async_pubsub().await?.split();
        sink.subscribe(self.keys.replica(self.me)).await?;
        sink.subscribe(self.keys.all()).await?;
        let channels: Vec<String> = lock(&self.listeners).keys().cloned().collect();
        for c in channels {
            sink.subscribe(c).await?;
        }
        *self.sink.lock().await = Some(sink);
        Ok(stream)
    }

    /// Ends every stream served from Redis.
    pub(super) fn stop(&self) {
        lock(&self.listeners).clear();
    }

    fn handle(&self, msg: &redis::Msg) {
        let channel = msg.get_channel_name();
        let payload = msg.get_payload_bytes();
        if let Some(l) = lock(&self.listeners).get(channel) {
            if let Some(raw) = parse_event(payload) {
                let _ = l.tx.send(raw);
            }
            return;
        }
        let Some(local) = self.local.upgrade() else {
            return;
        };
        let (head, body) = match payload.iter().position(|b| *b == b'\n') {
            Some(i) => (&payload[..i], &payload[i + 1..]),
            None => (payload, &[][..]),
        };
        let head = String::from_utf8_lossy(head);
        let mut words = head.split(' ');
        match (words.next(), words.next(), words.next()) {
            (Some("D"), Some(session), Some(sid)) => {
                if let Ok(sid) = sid.parse() {
                    local.drop_listener(session, sid);
                }
            }
            (Some(kind), Some(origin), Some(session)) if origin != self.me.to_string() => {
                match kind {
                    "E" => local.end(session),
                    "C" => local.changed(session),
                    "N" => local.notify(session, body),
                    // Another replica took the session's standalone stream: a message goes
                    // out on one stream only, the newest.
                    "S" => drop(lock(&self.listeners).remove(&self.keys.events(session, 0))),
                    _ => tracing::debug!(kind, "an unknown message on the replicas' channel"),
                }
            }
            _ => {}
        }
    }

    /// Serves stream `sid` of `session` from Redis through a new channel: first what the
    /// store has after `after`, then what is published, each event once and in order.
    pub(super) async fn listen(
        self: Arc<Self>,
        conn: ConnectionManager,
        writer: Writer,
        session: &str,
        sid: u64,
        after: Option<u64>,
    ) -> Result<(u64, mpsc::Receiver<Event>), ListenError> {
        let channel = self.keys.events(session, sid);
        let (raw_tx, raw_rx) = mpsc::unbounded_channel();
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        let fresh = {
            let mut map = lock(&self.listeners);
            if map.len() >= self.max_listeners && !map.contains_key(&channel) {
                let why = format!(
                    "too many streams served from Redis on this replica (limit {})",
                    self.max_listeners
                );
                return Err(ListenError::Unavailable(Unavailable(why)));
            }
            let l = Listener {
                generation,
                tx: raw_tx,
            };
            map.insert(channel.clone(), l).is_none()
        };
        let want = Want {
            stream: self.keys.stream(session, sid),
            session,
            channel,
            sid,
            after,
            generation,
            fresh,
        };
        let r = self.open(conn, writer, &want, raw_rx).await;
        if r.is_err() {
            self.forget(&want.channel, generation);
        }
        r
    }

    async fn open(
        self: &Arc<Self>,
        mut conn: ConnectionManager,
        writer: Writer,
        w: &Want<'_>,
        raw_rx: mpsc::UnboundedReceiver<Raw>,
    ) -> Result<(u64, mpsc::Receiver<Event>), ListenError> {
        let fail = |e: redis::RedisError| {
            add(&self.counters.errors);
            ListenError::Unavailable(Unavailable(e.to_string()))
        };
        let (sid, after) = (w.sid, w.after);
        if w.fresh {
            let mut sink = self.sink.lock().await;
            let Some(s) = sink.as_mut() else {
                let why = Unavailable("not subscribed to Redis (reconnecting)".into());
                return Err(ListenError::Unavailable(why));
            };
            s.subscribe(&w.channel).await.map_err(fail)?;
        }
        let owner = replica_of(sid);
        // Whoever sent this stream to a client until now stops: the replica running it, or
        // (the standalone stream) any replica.
        let (to, note) = if sid == 0 {
            let note = format!("S {} {}", self.me, w.session);
            (self.keys.all(), note)
        } else {
            (self.keys.replica(owner), format!("D {} {sid}", w.session))
        };
        if sid == 0 || owner != self.me {
            let _: i64 = redis::cmd("PUBLISH")
                .arg(to)
                .arg(note)
                .query_async(&mut conn)
                .await
                .map_err(fail)?;
        }
        let sent_key = format!("{}:sent", w.stream);
        let start = match after {
            Some(a) => a,
            None if sid == 0 => {
                let v: Option<u64> = redis::cmd("GET")
                    .arg(&sent_key)
                    .query_async(&mut conn)
                    .await
                    .map_err(fail)?;
                v.unwrap_or(0)
            }
            None => 0,
        };
        let mut stored = read(&mut conn, &w.stream, start, self.max_events)
            .await
            .map_err(fail)?;
        // A request's stream reaches Redis just after its first event reaches the client (the
        // writer runs in the background): a client that resumes at once may be early.
        let mut tries = 0;
        while sid != 0 && stored.is_empty() {
            let n: i64 = redis::cmd("EXISTS")
                .arg(&w.stream)
                .query_async(&mut conn)
                .await
                .map_err(fail)?;
            if n == 1 {
                break;
            }
            tries += 1;
            if tries > UNWRITTEN_TRIES {
                return Err(ListenError::Unknown);
            }
            tokio::time::sleep(UNWRITTEN_WAIT).await;
            stored = read(&mut conn, &w.stream, start, self.max_events)
                .await
                .map_err(fail)?;
        }
        if sid == 0 && after.is_some() {
            // The standalone stream is numbered in Redis: an id past its counter was never sent.
            let n: Option<u64> = redis::cmd("GET")
                .arg(format!("{}:n", w.stream))
                .query_async(&mut conn)
                .await
                .map_err(fail)?;
            if start > n.unwrap_or(0) {
                return Err(ListenError::Ahead);
            }
        }
        if sid != 0 && stored.is_empty() {
            // Nothing after the id: past the stream's end, or at it (the client had all).
            let top: Vec<(String, Vec<Vec<u8>>)> = redis::cmd("XREVRANGE")
                .arg(&w.stream)
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(1)
                .query_async(&mut conn)
                .await
                .map_err(fail)?;
            let ended = top.first().and_then(|(id, fields)| {
                let seq: u64 = id.strip_prefix("0-")?.parse().ok()?;
                let last = fields.chunks(2).any(|p| {
                    p.first().map(Vec::as_slice) == Some(b"l")
                        && p.get(1).map(Vec::as_slice) == Some(b"1")
                });
                last.then_some(seq)
            });
            match ended {
                Some(seq) if start > seq => return Err(ListenError::Ahead),
                Some(_) => {
                    // Over: an empty stream that ends at once.
                    self.forget(&w.channel, w.generation);
                    return Ok((start, mpsc::channel(1).1));
                }
                None => {}
            }
        }
        let first_missing = start.saturating_add(1);
        if after.is_some()
            && stored
                .first()
                .is_some_and(|(seq, _, _)| *seq > first_missing)
        {
            return Err(ListenError::Lost);
        }
        let remote = sid != 0 && owner != self.me;
        if remote && !stored.last().is_some_and(|e| e.1) {
            // Its replica may be gone: then the client gets an error, not a silent stream.
            end_if_orphaned(&mut conn, &self.keys, &w.stream, &w.channel, owner)
                .await
                .map_err(fail)?;
        }
        let (tx, rx) = mpsc::channel(2 * self.max_events);
        let feed = Feed {
            bus: self.clone(),
            conn,
            writer,
            channel: w.channel.clone(),
            stream: w.stream.clone(),
            sent_key: (sid == 0).then_some(sent_key),
            sid,
            owner: remote.then_some(owner),
            generation: w.generation,
            upto: start,
            tx,
        };
        tokio::spawn(feed.run(stored, raw_rx));
        Ok((start, rx))
    }

    /// Drops the listener of `channel` if it is still `generation`, and unsubscribes.
    fn forget(self: &Arc<Self>, channel: &str, generation: u64) {
        let mut map = lock(&self.listeners);
        match map.get(channel) {
            Some(l) if l.generation != generation => return,
            Some(_) => drop(map.remove(channel)),
            // Taken away (another replica took the stream): unsubscribe all the same.
            None => {}
        }
        drop(map);
        let bus = self.clone();
        let channel = channel.to_owned();
        tokio::spawn(async move {
            let mut sink = bus.sink.lock().await;
            // A listener that came meanwhile subscribed under this lock: keep its channel.
            if lock(&bus.listeners).contains_key(&channel) {
                return;
            }
            if let Some(s) = sink.as_mut() {
                let _ = s.unsubscribe(channel).await;
            }
        });
    }

    /// After a reconnection: every feeder reads the store again.
    fn resync(&self) {
        for l in lock(&self.listeners).values() {
            let _ = l.tx.send(Raw::Resync);
        }
    }
}

/// Reads the stream's stored events after `after`: (seq, last, data).
async fn read(
    conn: &mut ConnectionManager,
    stream: &str,
    after: u64,
    max: usize,
) -> redis::RedisResult<Vec<(u64, bool, Arc<[u8]>)>> {
    let entries: Vec<(String, Vec<Vec<u8>>)> = redis::cmd("XRANGE")
        .arg(stream)
        .arg(format!("(0-{after}"))
        .arg("+")
        .arg("COUNT")
        .arg(max)
        .query_async(conn)
        .await?;
    let mut out = Vec::with_capacity(entries.len());
    for (id, fields) in entries {
        let Some(seq) = id.strip_prefix("0-").and_then(|s| s.parse().ok()) else {
            continue;
        };
        let mut data: Option<Arc<[u8]>> = None;
        let mut last = false;
        for pair in fields.chunks(2) {
            match (pair.first().map(Vec::as_slice), pair.get(1)) {
                (Some(b"d"), Some(v)) => data = Some(v.as_slice().into()),
                (Some(b"l"), Some(v)) => last = v.as_slice() == b"1",
                _ => {}
            }
        }
        if let Some(data) = data {
            out.push((seq, last, data));
        }
    }
    Ok(out)
}

fn parse_event(payload: &[u8]) -> Option<Raw> {
    let i = payload.iter().position(|b| *b == b'\n')?;
    let head = std::str::from_utf8(&payload[..i]).ok()?;
    let (seq, last) = head.split_once(' ')?;
    Some(Raw::Event {
        seq: seq.parse().ok()?,
        last: last == "1",
        data: payload[i + 1..].into(),
    })
}

/// A stream to listen to.
struct Want<'a> {
    session: &'a str,
    stream: String,
    channel: String,
    sid: u64,
    after: Option<u64>,
    generation: u64,
    /// No listener had its channel: subscribe.
    fresh: bool,
}

/// Feeds one client from the store and the channel.
struct Feed {
    bus: Arc<Bus>,
    conn: ConnectionManager,
    writer: Writer,
    channel: String,
    stream: String,
    /// The standalone stream: where to note what its listener had.
    sent_key: Option<String>,
    sid: u64,
    /// The replica running the stream, when it is another one.
    owner: Option<u32>,
    generation: u64,
    /// The last seq sent.
    upto: u64,
    tx: mpsc::Sender<Event>,
}

impl Feed {
    async fn run(
        mut self,
        stored: Vec<(u64, bool, Arc<[u8]>)>,
        mut raw: mpsc::UnboundedReceiver<Raw>,
    ) {
        let mut done = self.send_all(stored);
        let mut check = tokio::time::interval(OWNER_CHECK);
        check.tick().await;
        while !done {
            let next = tokio::select! {
                r = raw.recv() => r,
                () = self.tx.closed() => None,
                _ = check.tick(), if self.owner.is_some() => {
                    self.check_owner().await;
                    continue;
                }
            };
            done = match next {
                None => true,
                Some(Raw::Event { seq, last, data }) if seq == self.upto + 1 => {
                    self.send_all(vec![(seq, last, data)])
                }
                Some(Raw::Event { seq, last, .. }) if seq <= self.upto => last,
                // A gap (events published while we were not subscribed) or a reconnection.
                Some(_) => self.catch_up().await,
            };
        }
        self.bus.forget(&self.channel, self.generation);
    }

    /// Ends the stream with an error if the replica running it died.
    async fn check_owner(&mut self) {
        let Some(owner) = self.owner else { return };
        let keys = self.bus.keys.clone();
        let r = end_if_orphaned(&mut self.conn, &keys, &self.stream, &self.channel, owner).await;
        if r.is_err() {
            add(&self.bus.counters.errors);
        }
    }

    async fn catch_up(&mut self) -> bool {
        let max = self.bus.max_events;
        match read(&mut self.conn, &self.stream, self.upto, max).await {
            Ok(events) => self.send_all(events),
            Err(e) => {
                add(&self.bus.counters.errors);
                tracing::warn!(stream = self.sid, "reading a stream from Redis failed: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
                false
            }
        }
    }

    /// Sends events in order; true once the stream's answer was sent or the client left.
    fn send_all(&mut self, events: Vec<(u64, bool, Arc<[u8]>)>) -> bool {
        for (seq, last, data) in events {
            if seq <= self.upto {
                // An answer the client had (or an id past it, given by the client): the
                // stream is over all the same.
                if last {
                    return true;
                }
                continue;
            }
            let ev = Event {
                id: Some(format!("{}-{seq}", self.sid)),
                data,
                last,
            };
            if self.tx.try_send(ev).is_err() {
                // Gone, or reading slower than we write: it resumes from the store.
                return true;
            }
            self.upto = seq;
            if let Some(key) = &self.sent_key {
                let _ = self.writer.send(Op::Sent {
                    key: key.clone(),
                    seq,
                });
            }
            if last {
                return true;
            }
        }
        false
    }
}

/// Reads the subscription until it breaks, then subscribes again (backing off while Redis
/// is away), resynchronises the feeders and restores the sessions held here.
async fn run(bus: Weak<Bus>, client: redis::Client, mut stream: redis::aio::PubSubStream) {
    loop {
        while let Some(msg) = stream.next().await {
            let Some(b) = bus.upgrade() else { return };
            b.handle(&msg);
        }
        let mut wait = Duration::from_millis(100);
        stream = loop {
            let Some(b) = bus.upgrade() else { return };
            *b.sink.lock().await = None;
            tracing::warn!("lost the Redis subscription; reconnecting");
            tokio::time::sleep(wait).await;
            match b.subscribe(&client).await {
                Ok(s) => break s,
                Err(e) => {
                    add(&b.counters.errors);
                    tracing::debug!("Redis subscription: {e}");
                    wait = (wait * 2).min(Duration::from_secs(2));
                }
            }
        };
        let Some(b) = bus.upgrade() else { return };
        tracing::info!("Redis subscription restored");
        b.resync();
        if let Some(local) = b.local.upgrade() {
            restore(&client, &b, local.as_ref()).await;
        }
    }
}

/// Writes back the records of the sessions held here that Redis no longer has (it was
/// restarted without persistence), and applies what changed meanwhile.
async fn restore(client: &redis::Client, bus: &Bus, local: &dyn Local) {
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return;
    };
    let mut restored = 0usize;
    for (id, record) in local.records() {
        let (key, subs) = (bus.keys.record(&id), bus.keys.subs(&id));
        let mut pipe = redis::pipe();
        pipe.cmd("HSETNX")
            .arg(&key)
            .arg("init")
            .arg(record.init.to_string());
        if let Some(owner) = &record.owner {
            pipe.cmd("HSETNX")
                .arg(&key)
                .arg("owner")
                .arg(owner)
                .ignore();
        }
        if let Some(level) = &record.level {
            pipe.cmd("HSETNX")
                .arg(&key)
                .arg("level")
                .arg(level.to_string())
                .ignore();
        }
        for uri in &record.subs {
            pipe.cmd("SADD").arg(&subs).arg(uri).ignore();
        }
        pipe.cmd("PEXPIRE").arg(&key).arg(bus.ttl_ms).ignore();
        pipe.cmd("PEXPIRE").arg(&subs).arg(bus.ttl_ms).ignore();
        match pipe.query_async::<(i64,)>(&mut conn).await {
            Ok((1,)) => restored += 1,
            Ok(_) => local.changed(&id),
            Err(e) => return tracing::warn!("restoring sessions into Redis: {e}"),
        }
    }
    if restored > 0 {
        tracing::info!(restored, "sessions written back into Redis");
    }
}
