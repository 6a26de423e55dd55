//! A server on a loopback port and a raw HTTP client that reads SSE by hand.
#![allow(dead_code)]

use mcp_http::{HttpConfig, HttpServer};
use mcp_rpc::sse::{Item, Parser};
use mcp_server::{Args, Ctx, Sampling, Server, ToolError};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::Notify;

#[derive(serde::Deserialize, schemars::JsonSchema)]
pub struct Ask {
    pub q: String,
}

async fn ask(Args(a): Args<Ask>, ctx: Ctx) -> Result<String, ToolError> {
    let reply = ctx.sample(Sampling::user(a.q).max_tokens(10)).await?;
    Ok(format!("answer: {}", reply.text()))
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
pub struct Wait {
    pub ms: u64,
}

async fn slow(Args(a): Args<Wait>, ctx: Ctx) -> Result<String, ToolError> {
    ctx.progress(0.0, None, Some("started"));
    tokio::time::sleep(Duration::from_millis(a.ms)).await;
    Ok(format!("slept {} ms", a.ms))
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
pub struct Where {
    /// Mirrored in the `Mcp-Param-Region` header on 2026-07-28.
    #[schemars(extend("x-mcp-header" = "Region"))]
    pub region: String,
}

async fn locate(Args(a): Args<Where>, _ctx: Ctx) -> Result<String, ToolError> {
    Ok(format!("in {}", a.region))
}

/// What became of a `hang` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hang {
    /// It is waiting.
    Running,
    /// It was stopped before it finished.
    Stopped,
    /// It waited its `ms` to the end.
    Finished,
}

/// The `hang` calls, by their `ms` (each test uses its own, so that parallel tests can tell
/// theirs apart), and a notification for each change.
static HANGS: std::sync::Mutex<BTreeMap<u64, Hang>> = std::sync::Mutex::new(BTreeMap::new());
static HANGS_CHANGED: Notify = Notify::const_new();

fn set_hang(ms: u64, state: Hang) {
    HANGS.lock().unwrap().insert(ms, state);
    HANGS_CHANGED.notify_waiters();
}

/// Waits until the `hang` call with this `ms` is in a state that `pred` accepts; returns it.
async fn hang_until(ms: u64, pred: impl Fn(Hang) -> bool) -> Hang {
    loop {
        let changed = HANGS_CHANGED.notified();
        if let Some(&state) = HANGS.lock().unwrap().get(&ms).filter(|s| pred(**s)) {
            return state;
        }
        changed.await;
    }
}

/// Waits until the `hang` call with this `ms` runs.
pub async fn hang_started(ms: u64) {
    hang_until(ms, |_| true).await;
}

/// Waits until the `hang` call with this `ms` is over: [`Hang::Stopped`] or
/// [`Hang::Finished`] (at the latest after its `ms`).
pub async fn hang_ended(ms: u64) -> Hang {
    hang_until(ms, |s| s != Hang::Running).await
}

struct MarkIfStopped(u64);

impl Drop for MarkIfStopped {
    fn drop(&mut self) {
        let mut hangs = HANGS.lock().unwrap();
        if hangs.get(&self.0) == Some(&Hang::Running) {
            hangs.insert(self.0, Hang::Stopped);
            drop(hangs);
            HANGS_CHANGED.notify_waiters();
        }
    }
}

/// Waits `ms` (the slow work under test), unless the call is stopped first.
async fn hang(Args(a): Args<Wait>, ctx: Ctx) -> Result<String, ToolError> {
    set_hang(a.ms, Hang::Running);
    let _guard = MarkIfStopped(a.ms);
    ctx.progress(0.0, None, Some("started"));
    tokio::time::sleep(Duration::from_millis(a.ms)).await;
    set_hang(a.ms, Hang::Finished);
    Ok("finished".into())
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
pub struct Flood {
    pub n: u64,
}

/// Sends `n` progress notifications at once, then answers.
async fn flood(Args(a): Args<Flood>, ctx: Ctx) -> Result<String, ToolError> {
    for i in 0..a.n {
        ctx.progress(i as f64, Some(a.n as f64), None);
    }
    Ok(format!("flooded {}", a.n))
}

pub fn server() -> Server {
    Server::builder("http-test")
        .tool("ask", "Samples once", ask)
        .tool("flood", "Sends n progress notifications at once", flood)
        .tool("locate", "Mirrors its region in a header", locate)
        .tool(
            "hang",
            "Reports progress, then waits; counts calls stopped early",
            hang,
        )
        .tool("slow", "Reports progress, then sleeps", slow)
        // A task for clients that declare the tasks extension (none of these tests but
        // bad_input's task rows do).
        .task_support(
            "slow",
            mcp_server::TaskSupport::Optional,
            mcp_server::TaskStart::AtCall,
        )
        .build()
}

pub struct Running {
    pub url: String,
    pub http: reqwest::Client,
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<()>,
    pub server: HttpServer,
}

pub async fn start(cfg: HttpConfig) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = HttpServer::new(server(), cfg);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let s = server.clone();
    let task = tokio::spawn(async move {
        s.serve(listener, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    Running {
        url: format!("http://{addr}/mcp"),
        http: reqwest::Client::new(),
        stop: Some(tx),
        task,
        server,
    }
}

pub const ACCEPT: &str = "application/json, text/event-stream";

impl Running {
    pub fn post(&self, sid: Option<&str>, body: &Value) -> reqwest::RequestBuilder {
        let mut r = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", ACCEPT)
            .body(body.to_string());
        if let Some(s) = sid {
            r = r
                .header("mcp-session-id", s)
                .header("mcp-protocol-version", "2025-11-25");
        }
        r
    }

    /// initialize + initialized; returns the session id.
    pub async fn open_session(&self) -> String {
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {"sampling": {}},
            "clientInfo": {"name": "raw", "version": "1"}}});
        let r = self.post(None, &init).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let sid = r.headers()["mcp-session-id"].to_str().unwrap().to_owned();
        assert!(sid.bytes().all(|b| (0x21..=0x7e).contains(&b)));
        let body: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        assert_eq!(body["result"]["protocolVersion"], "2025-11-25");
        let n = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        assert_eq!(
            self.post(Some(&sid), &n).send().await.unwrap().status(),
            202
        );
        sid
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
    }
}

pub fn call(id: i64, tool: &str, args: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": args}})
}

/// A legacy call of `slow` that asks for progress: `slow` reports progress as it starts.
pub fn slow_call(id: i64, ms: u64) -> Value {
    let mut c = call(id, "slow", json!({"ms": ms}));
    c["params"]["_meta"] = json!({"progressToken": format!("slow-{id}")});
    c
}

/// Waits until the `slow` call of this response runs: its stream's first message is its
/// progress. Returns the stream, for the answer.
pub async fn started(r: reqwest::Response) -> Events {
    assert_eq!(r.status(), 200);
    let mut ev = Events::new(r);
    let (_, first) = ev.next_message().await.expect("the progress of the call");
    assert_eq!(first["method"], "notifications/progress", "{first}");
    assert_eq!(first["params"]["message"], "started", "{first}");
    ev
}

/// GET with this `Last-Event-ID` (or the standalone stream without one), again while the
/// server answers 409: until it has seen that the client left the stream's previous
/// listener (one round trip or two; at most 100 tries).
pub async fn get_when_free(
    s: &Running,
    sid: &str,
    last_event_id: Option<&str>,
) -> reqwest::Response {
    for _ in 0..100 {
        let mut get = s
            .http
            .get(&s.url)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", sid);
        if let Some(id) = last_event_id {
            get = get.header("last-event-id", id);
        }
        let r = get.send().await.unwrap();
        if r.status() != 409 {
            return r;
        }
        tokio::task::yield_now().await;
    }
    panic!("the stream stayed busy after its listener left");
}

/// Reads SSE events from a response, one at a time (with the workspace's SSE parser).
pub struct Events {
    resp: reqwest::Response,
    parser: Parser,
    items: VecDeque<Item>,
    retry: Option<u64>,
}

/// One event: its id (if any), the `retry` that came with it, and its data.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: Option<String>,
    pub retry: Option<u64>,
    pub data: String,
}

impl Event {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or(Value::Null)
    }
}

impl Events {
    pub fn new(resp: reqwest::Response) -> Events {
        let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert_eq!(ct, "text/event-stream");
        Events {
            resp,
            parser: Parser::new(0),
            items: VecDeque::new(),
            retry: None,
        }
    }

    /// The next event (comments skipped; one with an id and no data too); `None` at the
    /// end of the stream.
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            while let Some(item) = self.items.pop_front() {
                let (id, data) = match item {
                    Item::Retry(ms) => {
                        self.retry = Some(ms);
                        continue;
                    }
                    Item::Id(id) => (Some(id), String::new()),
                    Item::Event(e) => (e.id, e.data),
                };
                let retry = self.retry.take();
                return Some(Event { id, retry, data });
            }
            match self.resp.chunk().await {
                Ok(Some(c)) => self.items.extend(self.parser.feed(&c)),
                _ => return None,
            }
        }
    }

    /// The next event whose data is a JSON-RPC message (priming events skipped).
    pub async fn next_message(&mut self) -> Option<(Option<String>, Value)> {
        loop {
            let ev = self.next().await?;
            if !ev.data.trim().is_empty() {
                return Some((ev.id.clone(), ev.json()));
            }
        }
    }
}

pub fn sampling_reply(id: &Value, text: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": {"role": "assistant", "model": "m",
        "content": {"type": "text", "text": text}}})
}
