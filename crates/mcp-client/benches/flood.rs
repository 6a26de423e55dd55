//! Latency of a calm server's tool call through a host that a hostile server floods with
//! sampling requests: p50/p99 of the calm call (one `tools/call` whose tool samples once,
//! answered by the host's pipeline) alone, during a legacy flood (a server pushing
//! `sampling/createMessage` as fast as the pipe takes them), and during a modern flood (a
//! server answering every call with `input_required` carrying K sampling requests, the
//! client calling it again and again). The hostile server's policy is 60 a minute with a
//! burst of 5: its excess is refused; the calm server's own limits are out of the way.
//!
//! Run: `cargo bench -p mcp-client --bench flood` (env M calm calls per phase, default 2000;
//! K input requests per modern round, default 100; R the hostile connection's most requests
//! in progress, default the engine's 1024). Without `--bench` it is a smoke run.

use mcp_client::{Client, ClientOptions, EraChoice};
use mcp_host::approval::{Approval, Mode};
use mcp_host::policy::ServerPolicy;
use mcp_host::testing::Fixed;
use mcp_host::Host;
use mcp_proto::methods::{CreateMessage, Discover, Request as _};
use mcp_server::{Args, Ctx, Sampling, Server, ToolError};
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Q {
    q: String,
}

async fn ask(Args(a): Args<Q>, ctx: Ctx) -> Result<String, ToolError> {
    Ok(ctx.sample(Sampling::user(a.q).max_tokens(5)).await?.text())
}

fn host() -> Arc<Host> {
    let hostile = ServerPolicy {
        requests_per_minute: 60,
        burst: 5,
        ..ServerPolicy::default()
    };
    let calm = ServerPolicy {
        requests_per_minute: 10_000_000,
        burst: 1_000_000,
        max_concurrent: 64,
        daily_token_budget: 0,
        daily_cost_budget: 0.0,
        ..ServerPolicy::default()
    };
    Arc::new(
        Host::builder()
            .policy(hostile)
            .server_policy("calm", calm)
            .approval(Approval::new(Mode::Auto, vec![], None))
            .provider(Arc::new(Fixed("ok".into())), vec![Fixed::model()])
            .build()
            .expect("the host builds"),
    )
}

async fn calm(host: Arc<Host>) -> Client {
    let (a, b) = mcp_rpc::memory();
    let server = Server::builder("calm")
        .tool("ask", "asks once", ask)
        .build();
    tokio::spawn(async move { server.serve(a, std::future::pending()).await });
    let options = ClientOptions {
        era: EraChoice::Legacy,
        name: Some("calm".into()),
        ..Default::default()
    };
    Client::connect(b, host, options).await.expect("connect")
}

/// Flood counters: sampling requests sent, and answers (refusals included) read back.
#[derive(Default)]
struct Counts {
    sent: AtomicU64,
    answered: AtomicU64,
    refused: AtomicU64,
}

fn line(v: &Value) -> Vec<u8> {
    let mut l = serde_json::to_vec(v).expect("json");
    l.push(b'\n');
    l
}

fn flood_params() -> Value {
    json!({"messages": [{"role": "user", "content": {"type": "text", "text": "flood"}}], "maxTokens": 5})
}

/// A hostile legacy server: the handshake, then batches of 256 sampling requests written as
/// fast as the client reads them, and the answers drained, until `stop`.
async fn legacy_flood(host: Arc<Host>, stop: Arc<AtomicBool>, counts: Arc<Counts>) {
    let (a, b) = mcp_rpc::memory();
    let mut options = ClientOptions {
        era: EraChoice::Legacy,
        name: Some("hostile".into()),
        ..Default::default()
    };
    options.rpc.max_running = env("R", options.rpc.max_running);
    let client = tokio::spawn(Client::connect(b, host, options));
    let mut read = BufReader::new(a.read).lines();
    let mut write = a.write;
    let init: Value = serde_json::from_str(&read.next_line().await.unwrap().unwrap()).unwrap();
    let answer = json!({"jsonrpc": "2.0", "id": init["id"], "result": {"protocolVersion": "2025-11-25",
        "capabilities": {"tools": {}}, "serverInfo": {"name": "hostile", "version": "1"}}});
    write.write_all(&line(&answer)).await.unwrap();
    let _initialized = read.next_line().await.unwrap();
    let _client = client.await.unwrap().expect("connect");
    let c = counts.clone();
    let drain = tokio::spawn(async move {
        while let Ok(Some(l)) = read.next_line().await {
            c.answered.fetch_add(1, Ordering::Relaxed);
            if l.contains("\"error\"") {
                c.refused.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let mut id = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let mut batch = Vec::new();
        for _ in 0..256 {
            id += 1;
            batch.extend(line(&json!({"jsonrpc": "2.0", "id": id,
                "method": CreateMessage::METHOD, "params": flood_params()})));
        }
        if write.write_all(&batch).await.is_err() {
            break;
        }
        counts.sent.fetch_add(256, Ordering::Relaxed);
    }
    drain.abort();
}

/// A hostile modern server answering every call with `k` sampling input requests; the
/// client calls it again and again (each call ends at the first refusal), until `stop`.
async fn modern_flood(host: Arc<Host>, k: usize, stop: Arc<AtomicBool>, counts: Arc<Counts>) {
    let (a, b) = mcp_rpc::memory();
    let options = ClientOptions {
        era: EraChoice::Modern,
        name: Some("hostile".into()),
        ..Default::default()
    };
    let mut inputs = Map::new();
    for i in 0..k {
        inputs.insert(
            format!("s{i}"),
            json!({"method": CreateMessage::METHOD, "params": flood_params()}),
        );
    }
    let server = tokio::spawn(async move {
        let mut read = BufReader::new(a.read).lines();
        let mut write = a.write;
        while let Ok(Some(l)) = read.next_line().await {
            let m: Value = serde_json::from_str(&l).unwrap();
            if m.get("id").is_none() {
                continue;
            }
            let result = if m["method"] == Discover::METHOD {
                json!({"resultType": "complete", "supportedVersions": ["2026-07-28"],
                    "capabilities": {"tools": {}}, "ttlMs": 0, "cacheScope": "private"})
            } else {
                json!({"resultType": "input_required", "inputRequests": inputs, "requestState": "s"})
            };
            let answer = json!({"jsonrpc": "2.0", "id": m["id"], "result": result});
            if write.write_all(&line(&answer)).await.is_err() {
                return;
            }
        }
    });
    let client = Client::connect(b, host, options).await.expect("connect");
    while !stop.load(Ordering::Relaxed) {
        let r = client.call_tool("flood", Map::new()).await;
        counts.sent.fetch_add(k as u64, Ordering::Relaxed);
        counts.answered.fetch_add(1, Ordering::Relaxed);
        if r.is_err() {
            counts.refused.fetch_add(1, Ordering::Relaxed);
        }
    }
    server.abort();
}

/// `m` calm calls one after the other; their latencies sorted.
async fn measure(client: &Client, m: usize) -> Vec<Duration> {
    let mut args = Map::new();
    args.insert("q".into(), json!("hello"));
    let mut out = Vec::with_capacity(m);
    for _ in 0..m {
        let t = Instant::now();
        let r = client
            .call_tool("ask", args.clone())
            .await
            .expect("calm call");
        out.push(t.elapsed());
        assert_eq!(r.text_content(), "ok");
    }
    out.sort_unstable();
    out
}

fn report(phase: &str, lat: &[Duration], counts: Option<(&Counts, Duration)>) {
    let q = |p: f64| lat[((lat.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e6;
    print!(
        "{phase:<28} calm call p50 {:>8.1} us  p99 {:>8.1} us  max {:>8.1} us",
        q(0.5),
        q(0.99),
        q(1.0)
    );
    if let Some((c, took)) = counts {
        let secs = took.as_secs_f64();
        print!(
            "  | flood: {:.0} sampling requests/s sent, {:.0} answers/s ({} refused)",
            c.sent.load(Ordering::Relaxed) as f64 / secs,
            c.answered.load(Ordering::Relaxed) as f64 / secs,
            c.refused.load(Ordering::Relaxed)
        );
    }
    println!();
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let m = env("M", if benching { 2000 } else { 50 });
    let k = env("K", 100);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let host = host();
        let client = calm(host.clone()).await;
        measure(&client, m / 10 + 1).await; // warm-up
        let alone = measure(&client, m).await;
        report("no flood", &alone, None);

        for era in ["legacy", "modern"] {
            let stop = Arc::new(AtomicBool::new(false));
            let counts = Arc::new(Counts::default());
            let flood = match era {
                "legacy" => tokio::spawn(legacy_flood(host.clone(), stop.clone(), counts.clone())),
                _ => tokio::spawn(modern_flood(host.clone(), k, stop.clone(), counts.clone())),
            };
            // The flood is under way before the first calm call.
            while counts.answered.load(Ordering::Relaxed) < 100 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let t = Instant::now();
            let during = measure(&client, m).await;
            let took = t.elapsed();
            report(
                &format!("during a {era} flood"),
                &during,
                Some((&counts, took)),
            );
            stop.store(true, Ordering::Relaxed);
            let _ = tokio::time::timeout(Duration::from_secs(5), flood).await;
        }
    });
}
