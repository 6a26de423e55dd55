//! Writes in the background, in order: stream events, standalone messages, expiry refreshes.
//! Whatever is queued when the writer is free goes out in one pipeline (one round trip).

use super::{add, Counters};
use redis::aio::ConnectionManager;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Most operations queued; beyond it events are dropped (counted; live listeners on this
/// replica still get them, only resumption from Redis loses them).
const QUEUE: usize = 65_536;
/// Most operations in one pipeline.
const BATCH: usize = 512;
/// A stream's expiry is refreshed every this many events.
const EXPIRY_EVERY: u64 = 32;
/// Most bytes of event data queued.
const QUEUE_BYTES: usize = 64 * 1024 * 1024;

/// Appends a message to the standalone stream: numbers it, stores it, publishes it.
const STANDALONE: &str = r"
local n = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], '0-' .. n, 'd', ARGV[2], 'l', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PUBLISH', ARGV[4], n .. ' 0\n' .. ARGV[2])
return n
";

pub(crate) enum Op {
    /// Event `seq` of a request's stream.
    Event {
        stream: String,
        channel: String,
        seq: u64,
        data: Arc<[u8]>,
        last: bool,
        /// The client's request id (JSON), kept with the stream's first event.
        request: Option<String>,
    },
    /// A message for the standalone stream.
    Standalone {
        stream: String,
        channel: String,
        data: Arc<[u8]>,
    },
    /// The standalone stream's listener had everything up to `seq`.
    Sent { key: String, seq: u64 },
    /// Refreshes a session's expiry.
    Touch { record: String, subs: String },
}

impl Op {
    fn bytes(&self) -> usize {
        match self {
            Op::Event { data, .. } | Op::Standalone { data, .. } => data.len(),
            _ => 0,
        }
    }
}

/// The queue to the writer, bounded in operations and in bytes.
#[derive(Clone)]
pub(crate) struct Writer {
    tx: mpsc::Sender<Op>,
    queued: Arc<AtomicUsize>,
}

impl Writer {
    /// Queues `op`; false when the queue is full (the op is dropped).
    pub(crate) fn send(&self, op: Op) -> bool {
        let n = op.bytes();
        if self.queued.fetch_add(n, Ordering::Relaxed) + n > QUEUE_BYTES {
            self.queued.fetch_sub(n, Ordering::Relaxed);
            return false;
        }
        if self.tx.try_send(op).is_err() {
            self.queued.fetch_sub(n, Ordering::Relaxed);
            return false;
        }
        true
    }
}

pub(super) fn start(
    conn: ConnectionManager,
    max_events: usize,
    ttl_ms: u64,
    counters: Arc<Counters>,
) -> Writer {
    let (tx, rx) = mpsc::channel(QUEUE);
    let queued = Arc::new(AtomicUsize::new(0));
    let limits = (max_events.max(1), ttl_ms);
    tokio::spawn(run(conn, rx, limits, queued.clone(), counters));
    Writer { tx, queued }
}

async fn run(
    mut conn: ConnectionManager,
    mut rx: mpsc::Receiver<Op>,
    (max_events, ttl_ms): (usize, u64),
    queued: Arc<AtomicUsize>,
    counters: Arc<Counters>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let mut pipe = redis::pipe();
        let (mut events, mut bytes) = (0u64, 0usize);
        for op in batch.drain(..) {
            events += u64::from(matches!(op, Op::Event { .. } | Op::Standalone { .. }));
            bytes += op.bytes();
            add_op(&mut pipe, op, max_events, ttl_ms);
        }
        let sent = pipe.query_async::<()>(&mut conn).await;
        queued.fetch_sub(bytes, Ordering::Relaxed);
        match sent {
            Ok(()) => {
                counters.events_written.fetch_add(events, Ordering::Relaxed);
            }
            Err(e) => {
                add(&counters.errors);
                counters.events_dropped.fetch_add(events, Ordering::Relaxed);
                tracing::warn!("writing stream events to Redis failed: {e}");
            }
        }
    }
}

fn add_op(pipe: &mut redis::Pipeline, op: Op, max_events: usize, ttl_ms: u64) {
    match op {
        Op::Event {
            stream,
            channel,
            seq,
            data,
            last,
            request,
        } => {
            let l = if last { "1" } else { "0" };
            if let Some(id) = request {
                pipe.cmd("SET")
                    .arg(format!("{stream}:req"))
                    .arg(id)
                    .arg("PX")
                    .arg(ttl_ms)
                    .ignore();
            }
            pipe.cmd("XADD")
                .arg(&stream)
                .arg("MAXLEN")
                .arg(max_events)
                .arg(format!("0-{seq}"))
                .arg("d")
                .arg(&*data)
                .arg("l")
                .arg(l)
                .ignore();
            // The expiry is set with the first event and the last, and refreshed now and then
            // in between (a long stream outlives one idle period).
            if seq == 1 || last || seq % EXPIRY_EVERY == 0 {
                pipe.cmd("PEXPIRE").arg(&stream).arg(ttl_ms).ignore();
            }
            let mut msg = format!("{seq} {l}\n").into_bytes();
            msg.extend_from_slice(&data);
            pipe.cmd("PUBLISH").arg(channel).arg(msg).ignore();
        }
        Op::Standalone {
            stream,
            channel,
            data,
        } => {
            pipe.cmd("EVAL")
                .arg(STANDALONE)
                .arg(2)
                .arg(&stream)
                .arg(format!("{stream}:n"))
                .arg(max_events)
                .arg(&*data)
                .arg(ttl_ms)
                .arg(channel)
                .ignore();
        }
        Op::Sent { key, seq } => {
            pipe.cmd("SET")
                .arg(key)
                .arg(seq)
                .arg("PX")
                .arg(ttl_ms)
                .ignore();
        }
        Op::Touch { record, subs } => {
            pipe.cmd("PEXPIRE").arg(&record).arg(ttl_ms).ignore();
            pipe.cmd("PEXPIRE").arg(&subs).arg(ttl_ms).ignore();
        }
    }
}
