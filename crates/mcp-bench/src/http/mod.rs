//! The client over Streamable HTTP, on a minimal HTTP/1.1 client of its own (no HTTP library):
//! the handshake on short connections, the tool call's response read as server-sent events,
//! and every reply POSTed on one of `min(concurrency, 64)` keep-alive connections opened
//! before the clock starts (`TCP_NODELAY`).

mod conn;
mod sse;

use crate::stats::{Outcome, Turnaround};
use crate::stdio::{cpu, Measured};
use crate::wire::{self, Incoming};
use crate::BenchError;
use conn::Conn;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Where the server listens and the session it gave us.
#[derive(Clone)]
struct Endpoint {
    port: u16,
    session: Option<String>,
}

impl Endpoint {
    /// A POST of this body to `/mcp`.
    fn post(&self, body: &[u8]) -> Vec<u8> {
        let mut head = format!(
            "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
             Accept: application/json, text/event-stream\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        if let Some(s) = &self.session {
            head.push_str(&format!(
                "Mcp-Session-Id: {s}\r\nMCP-Protocol-Version: {}\r\n",
                wire::PROTOCOL_VERSION
            ));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        bytes
    }
}

/// Connects to the server, waiting (up to `wait`) until it accepts connections.
pub async fn wait_ready(port: u16, wait: Duration) -> Result<(), BenchError> {
    let deadline = Instant::now() + wait;
    loop {
        match Conn::open(port).await {
            Ok(_) => return Ok(()),
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(e) => return Err(e),
        }
    }
}

/// Runs the job against a server listening on `127.0.0.1:port/mcp` (process `pid`).
pub async fn drive(port: u16, pid: u32, n: u64, concurrency: u64) -> Result<Measured, BenchError> {
    let mut ep = Endpoint {
        port,
        session: None,
    };
    let init = serde_json::to_vec(&wire::initialize()).unwrap_or_default();
    let (response, session) = exchange(&ep, &init, wire::INIT_ID).await?;
    wire::check_initialized(&response)?;
    ep.session = session;
    notify(&ep, &wire::initialized()).await?;
    let turnaround = Arc::new(Mutex::new(Turnaround::default()));
    let (pool, errors) = Pool::open(&ep, concurrency.clamp(1, 64), &turnaround).await?;
    let cpu0 = cpu(pid);
    let started = Instant::now();
    let (result, sampled) = timed_call(&ep, n, concurrency, &pool, errors, &turnaround).await?;
    let elapsed = started.elapsed();
    let cpu = cpu(pid).saturating_sub(cpu0);
    let rss_kib = crate::proc::peak_rss_kib(pid).unwrap_or(0);
    drop(pool);
    wire::check_result(&result, n)?;
    if sampled != n {
        return Err(BenchError::protocol(format!(
            "{sampled} sampling requests, not {n}"
        )));
    }
    let latencies = std::mem::take(&mut *lock(&turnaround)).into_samples();
    let outcome = Outcome {
        sampling_requests: sampled,
        elapsed,
        latencies,
    };
    Ok(Measured {
        outcome,
        cpu,
        rss_kib,
    })
}

fn lock(t: &Mutex<Turnaround>) -> std::sync::MutexGuard<'_, Turnaround> {
    t.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// POSTs a request on a fresh connection and reads its response (JSON or SSE) and the session id.
async fn exchange(
    ep: &Endpoint,
    body: &[u8],
    id: u64,
) -> Result<(Value, Option<String>), BenchError> {
    let mut conn = Conn::open(ep.port).await?;
    conn.send(&ep.post(body)).await?;
    let head = conn.head().await?;
    head.expect_ok()?;
    let session = head.header("mcp-session-id").map(str::to_owned);
    let mut events = conn::Events::new(conn, head);
    loop {
        let data = events.next().await?;
        if let Incoming::Response(got, msg) = wire::classify(&data)? {
            if got == id {
                return Ok((msg, session));
            }
        }
    }
}

/// POSTs a notification; any 2xx will do.
async fn notify(ep: &Endpoint, msg: &Value) -> Result<(), BenchError> {
    let mut conn = Conn::open(ep.port).await?;
    conn.send(&ep.post(&serde_json::to_vec(msg).unwrap_or_default()))
        .await?;
    let head = conn.head().await?;
    head.expect_ok()
}

/// The keep-alive connections that POST the replies, taking them from one queue.
struct Pool {
    jobs: mpsc::UnboundedSender<Vec<u8>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Pool {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

type Errors = mpsc::UnboundedReceiver<BenchError>;

impl Pool {
    async fn open(
        ep: &Endpoint,
        size: u64,
        turnaround: &Arc<Mutex<Turnaround>>,
    ) -> Result<(Self, Errors), BenchError> {
        let (jobs, rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let (err_tx, errors) = mpsc::unbounded_channel();
        let mut tasks = Vec::new();
        for _ in 0..size {
            let conn = Conn::open(ep.port).await?;
            let (ep, rx, t, err_tx) = (ep.clone(), rx.clone(), turnaround.clone(), err_tx.clone());
            tasks.push(tokio::spawn(async move {
                if let Err(e) = reply_loop(conn, &ep, &rx, &t).await {
                    let _ = err_tx.send(e);
                }
            }));
        }
        Ok((Self { jobs, tasks }, errors))
    }
}

async fn reply_loop(
    mut conn: Conn,
    ep: &Endpoint,
    rx: &tokio::sync::Mutex<mpsc::UnboundedReceiver<Vec<u8>>>,
    turnaround: &Mutex<Turnaround>,
) -> Result<(), BenchError> {
    loop {
        let Some(body) = rx.lock().await.recv().await else {
            return Ok(());
        };
        conn.send(&ep.post(&body)).await?;
        lock(turnaround).replied(Instant::now());
        let head = conn.head().await?;
        head.expect_ok()?;
        conn.skip_body(&head).await?;
    }
}

/// The tool call: its response stream's sampling requests go to the pool as replies.
async fn timed_call(
    ep: &Endpoint,
    n: u64,
    concurrency: u64,
    pool: &Pool,
    mut errors: Errors,
    turnaround: &Mutex<Turnaround>,
) -> Result<(Value, u64), BenchError> {
    let mut conn = Conn::open(ep.port).await?;
    conn.send(&ep.post(&serde_json::to_vec(&wire::call(n, concurrency)).unwrap_or_default()))
        .await?;
    let head = conn.head().await?;
    head.expect_ok()?;
    let mut events = conn::Events::new(conn, head);
    let mut sampled = 0u64;
    loop {
        let data = tokio::select! {
            data = events.next() => data?,
            Some(e) = errors.recv() => return Err(e),
        };
        match wire::classify(&data)? {
            Incoming::Sampling(id) => {
                sampled += 1;
                lock(turnaround).request(Instant::now());
                let mut reply = wire::sampling_reply(&id);
                reply.pop(); // no newline in an HTTP body
                let _ = pool.jobs.send(reply);
            }
            Incoming::OtherRequest(id) => {
                let mut reply = wire::empty_reply(&id);
                reply.pop();
                let _ = pool.jobs.send(reply);
            }
            Incoming::Response(wire::CALL_ID, msg) => return Ok((msg, sampled)),
            _ => {}
        }
    }
}
