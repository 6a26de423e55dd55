//! Hostile servers send sampling requests as fast as they can, on both eras, to a host whose
//! policy allows 5 a minute with a burst of 5 (on a clock that does not move, so nothing is
//! refilled: however the limit is counted, 5 get through). The flood is held to those 5 and
//! the excess refused with the policy's error;
//! at most `max_concurrent` requests reach the provider, so what waits is bounded by the
//! burst, not by the flood; and a calm server's tool call through the same host is answered
//! during the flood.

use crate::{args, bounded};
use mcp_client::{Client, ClientError, ClientOptions, EraChoice, SamplingError};
use mcp_host::approval::{Approval, Mode};
use mcp_host::policy::ServerPolicy;
use mcp_host::routing::catalog_entry;
use mcp_host::Host;
use mcp_llm::{BoxFuture, Completion, Provider, ProviderError, Usage};
use mcp_proto::clock::ManualClock;
use mcp_proto::methods::{CallTool, CreateMessage, Request as _};
use mcp_proto::sampling::{CreateMessageParams, CreateMessageResult};
use mcp_rpc::testing::RawPeer;
use mcp_server::{Args, Ctx, Sampling, Server, ToolError};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::Semaphore;

/// The policy's rule, as its refusals name it (the words only: the numbers' form may change).
const RULE: &str = "rate limit";

/// Answers `ok` at once, except requests whose text starts with `flood`: those wait until the
/// gate opens. Counts them, and the most it held at once.
pub struct Gated {
    gate: Arc<Semaphore>,
    flood_calls: AtomicUsize,
    holding: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl Default for Gated {
    fn default() -> Self {
        Gated {
            gate: Arc::new(Semaphore::new(0)),
            flood_calls: AtomicUsize::new(0),
            holding: Arc::new(AtomicUsize::new(0)),
            peak: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl Gated {
    /// Lets every held request through.
    pub fn open(&self) {
        self.gate.add_permits(Semaphore::MAX_PERMITS / 2);
    }
}

struct Held(Arc<AtomicUsize>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Waits (yielding to the other tasks) until `cond` holds; panics after 10 s.
pub async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let wait = async {
        while !cond() {
            tokio::task::yield_now().await;
        }
    };
    if tokio::time::timeout(std::time::Duration::from_secs(10), wait)
        .await
        .is_err()
    {
        panic!("{what}: not within 10 s");
    }
}

impl Provider for Gated {
    fn name(&self) -> &str {
        "gated"
    }
    fn complete(
        &self,
        _model: &str,
        params: &CreateMessageParams,
    ) -> BoxFuture<Result<Completion, ProviderError>> {
        let text = params.messages[0].content.as_slice()[0]
            .as_text()
            .unwrap_or("")
            .to_owned();
        let done = Ok(Completion {
            result: CreateMessageResult::from_text("gated", "ok"),
            usage: Usage {
                input_tokens: 1,
                output_tokens: 1,
            },
        });
        if !text.starts_with("flood") {
            return Box::pin(std::future::ready(done));
        }
        self.flood_calls.fetch_add(1, Ordering::SeqCst);
        let (gate, holding, peak) = (self.gate.clone(), self.holding.clone(), self.peak.clone());
        Box::pin(async move {
            let now = holding.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            // Counted out when the request is answered or dropped.
            let _held = Held(holding);
            let _pass = gate.acquire().await;
            done
        })
    }
}

/// A host over `provider`: every server 5 requests a minute, burst 5, 2 at once; approval
/// auto; a clock that stays put.
pub fn host(provider: Arc<Gated>) -> Arc<Host> {
    let policy = ServerPolicy {
        requests_per_minute: 5,
        burst: 5,
        max_concurrent: 2,
        ..ServerPolicy::default()
    };
    Arc::new(
        Host::builder()
            .policy(policy)
            .approval(Approval::new(Mode::Auto, vec![], None))
            .provider(provider, vec![catalog_entry("gated", "m")])
            .clock(Arc::new(ManualClock::new(SystemTime::UNIX_EPOCH)))
            .build()
            .expect("the host builds"),
    )
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Q {
    q: String,
}

async fn ask(Args(a): Args<Q>, ctx: Ctx) -> Result<String, ToolError> {
    let r = ctx.sample(Sampling::user(a.q).max_tokens(5)).await?;
    Ok(r.text())
}

/// A well-behaved server `calm` (one tool, `ask`, sampling once), connected through `host`.
pub async fn calm(era: EraChoice, host: Arc<Host>) -> Client {
    let (a, b) = mcp_rpc::memory();
    let server = Server::builder("calm")
        .tool("ask", "asks once", ask)
        .build();
    tokio::spawn(async move { server.serve(a, std::future::pending()).await });
    let options = ClientOptions {
        era,
        name: Some("calm".into()),
        ..Default::default()
    };
    Client::connect(b, host, options).await.expect("connect")
}

fn flood_params() -> Value {
    json!({"messages": [{"role": "user", "content": {"type": "text", "text": "flood"}}], "maxTokens": 5})
}

/// A hostile legacy server: the handshake by hand, then the client.
async fn hostile_legacy(host: Arc<Host>) -> (RawPeer, Client) {
    let (a, b) = mcp_rpc::memory();
    let mut raw = RawPeer::new(a);
    let options = ClientOptions {
        era: EraChoice::Legacy,
        name: Some("hostile".into()),
        ..Default::default()
    };
    let client = tokio::spawn(Client::connect(b, host, options));
    let init = raw.recv().await;
    raw.send(
        json!({"jsonrpc": "2.0", "id": init["id"], "result": {"protocolVersion": "2025-11-25",
        "capabilities": {"tools": {}}, "serverInfo": {"name": "hostile", "version": "1"}}}),
    )
    .await;
    let _initialized = raw.recv().await;
    (raw, client.await.unwrap().expect("connect"))
}

#[tokio::test]
async fn a_legacy_flood_is_held_to_its_rate_limit() {
    const N: usize = 5000;
    let provider = Arc::new(Gated::default());
    let host = host(provider.clone());
    let calm = calm(EraChoice::Legacy, host.clone()).await;
    let (mut raw, _hostile) = hostile_legacy(host).await;

    // N requests in one write, as fast as the pipe takes them.
    let mut burst = Vec::new();
    for id in 0..N {
        let m = json!({"jsonrpc": "2.0", "id": id, "method": CreateMessage::METHOD, "params": flood_params()});
        burst.extend(serde_json::to_vec(&m).unwrap());
        burst.push(b'\n');
    }
    raw.write_raw(&burst).await;

    // While 5 are held by the provider, every other one is refused at once: by the policy's
    // rate limit, or, when more than the engine's 1024 are in progress at once (the reader
    // outruns the answers), by the engine's cap. Either way nothing queues beyond those caps.
    let refusals = async {
        let (mut policy, mut engine) = (0, 0);
        for _ in 0..N - 5 {
            let r = raw.recv().await;
            let message = r["error"]["message"].as_str().unwrap_or("");
            match r["error"]["code"].as_i64() {
                Some(-1) if message.contains(RULE) => policy += 1,
                Some(-32603) if message.contains("too many requests in progress") => engine += 1,
                _ => panic!("neither refusal: {r}"),
            }
        }
        assert!(
            policy >= 1000,
            "{policy} refused by the policy, {engine} by the engine"
        );
    };
    let calm_call = async { calm.call_tool("ask", args("hello")).await.unwrap() };
    let ((), answered) = bounded(async { tokio::join!(refusals, calm_call) }).await;
    assert_eq!(answered.text_content(), "ok");
    eventually("two flood requests reach the provider", || {
        provider.flood_calls.load(Ordering::SeqCst) == 2
    })
    .await;
    assert_eq!(provider.peak.load(Ordering::SeqCst), 2, "max_concurrent");

    provider.open();
    let mut answered = Vec::new();
    for _ in 0..5 {
        let r = raw.recv().await;
        assert_eq!(r["result"]["content"]["text"], "ok", "{r}");
        answered.push(r["id"].as_u64().unwrap());
    }
    assert_eq!(provider.flood_calls.load(Ordering::SeqCst), 5);
    assert_eq!(provider.peak.load(Ordering::SeqCst), 2);
    answered.sort_unstable();
    assert!(answered.iter().all(|id| *id < N as u64));
}

#[tokio::test]
async fn a_modern_flood_of_input_requests_is_held_to_its_rate_limit() {
    const N: usize = 200;
    let provider = Arc::new(Gated::default());
    let host = host(provider.clone());
    let calm = calm(EraChoice::Modern, host.clone()).await;

    let (a, b) = mcp_rpc::memory();
    let mut raw = RawPeer::new(a);
    let options = ClientOptions {
        era: EraChoice::Modern,
        name: Some("hostile".into()),
        ..Default::default()
    };
    let hostile = tokio::spawn(async move {
        let client = Client::connect(b, host, options).await?;
        let first = client.call_tool("flood", args("x")).await;
        let second = client.call_tool("flood", args("x")).await;
        Ok::<_, ClientError>((first, second))
    });
    let d = raw.recv().await;
    raw.send(json!({"jsonrpc": "2.0", "id": d["id"], "result": {"resultType": "complete",
        "supportedVersions": ["2026-07-28"], "capabilities": {"tools": {}}, "ttlMs": 0, "cacheScope": "private"}}))
        .await;
    let mut inputs = serde_json::Map::new();
    for i in 0..N {
        inputs.insert(
            format!("s{i}"),
            json!({"method": CreateMessage::METHOD, "params": flood_params()}),
        );
    }
    // Each call gets N sampling requests in one round: the 5 of the burst are held by the
    // provider, the first refusal ends the call (the held ones are dropped with it), and the
    // call is not retried.
    for _ in 0..2 {
        let call = raw.recv().await;
        assert_eq!(call["method"], CallTool::METHOD);
        raw.send(
            json!({"jsonrpc": "2.0", "id": call["id"], "result": {"resultType": "input_required",
            "inputRequests": inputs, "requestState": "s"}}),
        )
        .await;
    }
    let (first, second) = bounded(hostile).await.unwrap().expect("connect");
    for e in [first.unwrap_err(), second.unwrap_err()] {
        assert!(
            matches!(&e, ClientError::Sampling(SamplingError::Rejected(m)) if m.contains(RULE)),
            "{e:?}"
        );
    }
    assert!(provider.flood_calls.load(Ordering::SeqCst) <= 2);
    assert!(provider.peak.load(Ordering::SeqCst) <= 2);
    eventually("the held requests are dropped with their calls", || {
        provider.holding.load(Ordering::SeqCst) == 0
    })
    .await;
    // Meanwhile, and after, the calm server is served.
    let r = calm.call_tool("ask", args("hello")).await.unwrap();
    assert_eq!(r.text_content(), "ok");
}

#[tokio::test]
async fn a_modern_round_beyond_the_input_cap_is_refused_whole() {
    const N: usize = 10_000;
    let provider = Arc::new(Gated::default());
    let host = host(provider.clone());
    let (a, b) = mcp_rpc::memory();
    let mut raw = RawPeer::new(a);
    let options = ClientOptions {
        era: EraChoice::Modern,
        name: Some("hostile".into()),
        ..Default::default()
    };
    assert_eq!(options.max_input_requests, 256, "on by default");
    let hostile = tokio::spawn(async move {
        let client = Client::connect(b, host, options).await?;
        Ok::<_, ClientError>(client.call_tool("flood", args("x")).await)
    });
    let d = raw.recv().await;
    raw.send(json!({"jsonrpc": "2.0", "id": d["id"], "result": {"resultType": "complete",
        "supportedVersions": ["2026-07-28"], "capabilities": {"tools": {}}, "ttlMs": 0, "cacheScope": "private"}}))
        .await;
    let mut inputs = serde_json::Map::new();
    for i in 0..N {
        inputs.insert(
            format!("s{i}"),
            json!({"method": CreateMessage::METHOD, "params": flood_params()}),
        );
    }
    let call = raw.recv().await;
    raw.send(
        json!({"jsonrpc": "2.0", "id": call["id"], "result": {"resultType": "input_required",
        "inputRequests": inputs, "requestState": "s"}}),
    )
    .await;
    let e = bounded(hostile)
        .await
        .unwrap()
        .expect("connect")
        .unwrap_err();
    assert!(
        matches!(&e, ClientError::Protocol(m) if m.contains("asked for 10000 inputs in one round (at most 256")),
        "{e:?}"
    );
    assert_eq!(
        provider.flood_calls.load(Ordering::SeqCst),
        0,
        "none answered"
    );
}
