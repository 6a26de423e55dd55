//! Sampling round trips over Streamable HTTP on loopback: our server, a lean client (reqwest).
//!
//! - legacy, one session: one `bench_sampling` tool call whose N sampling requests ride its SSE
//!   stream; each reply is its own POST (at most C in flight).
//! - legacy, S sessions at once, each doing the same with N/S requests.
//! - modern: tool calls that sample once, each = two POSTs (input_required, then the retry).
//!
//! Run: `cargo bench -p mcp-http --bench http_roundtrip` (env N, C, S to change the sizes).

mod common;

use common::{ask, env};
use futures_util::future::join_all;
use mcp_http::{HttpConfig, HttpServer};
use mcp_rpc::sse::{Item, Parser};
use mcp_server::{Args, Ctx, Sampling, Server, ToolError};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Bench {
    n: u64,
    concurrency: u64,
}

async fn bench_sampling(Args(a): Args<Bench>, ctx: Ctx) -> Result<String, ToolError> {
    let started = AtomicU64::new(0);
    let worker = || async {
        while started.fetch_add(1, Ordering::Relaxed) < a.n {
            ctx.sample(Sampling::user("ok?").max_tokens(4)).await?;
        }
        Ok::<(), ToolError>(())
    };
    for r in join_all((0..a.concurrency.max(1)).map(|_| worker())).await {
        r?;
    }
    Ok("done".into())
}

const ACCEPT: &str = "application/json, text/event-stream";

struct Http {
    c: reqwest::Client,
    url: String,
}

impl Http {
    async fn post(&self, sid: Option<&str>, body: &Value, modern: bool) -> reqwest::Response {
        let mut r = self
            .c
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", ACCEPT);
        if let Some(s) = sid {
            r = r
                .header("mcp-session-id", s)
                .header("mcp-protocol-version", "2025-11-25");
        }
        if modern {
            r = r
                .header("mcp-protocol-version", "2026-07-28")
                .header("mcp-method", "tools/call")
                .header("mcp-name", body["params"]["name"].as_str().unwrap_or(""));
        }
        r.body(body.to_string()).send().await.expect("POST")
    }

    async fn session(&self) -> String {
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {"sampling": {}},
            "clientInfo": {"name": "bench", "version": "1"}}});
        let r = self.post(None, &init, false).await;
        let sid = r.headers()["mcp-session-id"]
            .to_str()
            .expect("session id")
            .to_owned();
        let _ = r.bytes().await;
        let n = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let _ = self.post(Some(&sid), &n, false).await;
        sid
    }

    /// One bench_sampling call: answers every sampling request on its stream.
    async fn legacy_run(self: &Arc<Self>, sid: &str, n: u64, c: u64) {
        let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "bench_sampling", "arguments": {"n": n, "concurrency": c}}});
        let mut resp = self.post(Some(sid), &call, false).await;
        let mut parser = Parser::new(0);
        let mut replies = Vec::new();
        while let Ok(Some(chunk)) = resp.chunk().await {
            for item in parser.feed(&chunk) {
                let Item::Event(event) = item else {
                    continue;
                };
                let Ok(msg) = serde_json::from_str::<Value>(&event.data) else {
                    continue;
                };
                if msg.get("method").is_some() {
                    let reply = json!({"jsonrpc": "2.0", "id": msg["id"], "result": {"role": "assistant",
                        "model": "b", "content": {"type": "text", "text": "ok"}}});
                    let me = self.clone();
                    let sid = sid.to_owned();
                    replies.push(tokio::spawn(async move {
                        let _ = me.post(Some(&sid), &reply, false).await.bytes().await;
                    }));
                } else if msg.get("result").is_some() || msg.get("error").is_some() {
                    assert!(msg.get("error").is_none(), "{msg}");
                    // A tool error (a limit, a failed sample) is no run at all.
                    assert_ne!(msg["result"]["isError"], true, "{msg}");
                    join_all(replies).await;
                    return;
                }
            }
        }
        panic!("the stream ended without the tool's answer");
    }

    /// One modern call that samples once: two POSTs.
    async fn modern_call(&self, i: u64) {
        let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {"sampling": {}}});
        let first = json!({"jsonrpc": "2.0", "id": i, "method": "tools/call",
            "params": {"name": "ask", "arguments": {"q": "ok?"}, "_meta": meta}});
        let r: Value = serde_json::from_slice(
            &self
                .post(None, &first, true)
                .await
                .bytes()
                .await
                .expect("body"),
        )
        .expect("json");
        let result = &r["result"];
        let key = result["inputRequests"]
            .as_object()
            .and_then(|m| m.keys().next().cloned())
            .expect("an input request");
        let mut retry = first.clone();
        retry["params"]["inputResponses"] = json!({key: {"role": "assistant", "model": "b",
            "content": {"type": "text", "text": "ok"}}});
        retry["params"]["requestState"] = result["requestState"].clone();
        let done: Value = serde_json::from_slice(
            &self
                .post(None, &retry, true)
                .await
                .bytes()
                .await
                .expect("body"),
        )
        .expect("json");
        assert_eq!(done["result"]["content"][0]["text"], "ok", "{done}");
    }
}

fn report(name: &str, n: u64, started: Instant) {
    let s = started.elapsed().as_secs_f64();
    println!(
        "{name:<40} {n:>7} round trips in {s:>6.2} s = {:>8.0} /s",
        n as f64 / s
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        // Every round trip of a run is one tool call's: lift the per-call sampling limit.
        let config = mcp_server::ServerConfig {
            max_samples_per_call: u32::MAX,
            ..Default::default()
        };
        let server = Server::builder("bench-http")
            .config(config)
            .tool("bench_sampling", "n sampling round trips", bench_sampling)
            .tool("ask", "samples once", ask)
            .build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/mcp", listener.local_addr().expect("addr"));
        let cfg = HttpConfig {
            max_streams_per_session: 4096,
            ..Default::default()
        };
        tokio::spawn(HttpServer::new(server, cfg).serve(listener, std::future::pending()));
        let http = Arc::new(Http {
            c: reqwest::Client::new(),
            url,
        });
        // `cargo bench` passes `--bench`; under `cargo test` this is a quick smoke run.
        let benching = std::env::args().any(|a| a == "--bench");
        let n_default = if benching { 20_000 } else { 200 };
        let (n, c, sessions) = (
            env("N", n_default),
            env("C", 32),
            env("S", 50).min(n_default / 4),
        );
        for c in [1, c] {
            let sid = http.session().await;
            let t = Instant::now();
            http.legacy_run(&sid, n, c).await;
            report(&format!("legacy, 1 session, {c} in flight"), n, t);
        }
        let sids = join_all((0..sessions).map(|_| http.session())).await;
        let t = Instant::now();
        join_all(sids.iter().map(|sid| http.legacy_run(sid, n / sessions, 1))).await;
        report(
            &format!("legacy, {sessions} sessions at once"),
            n / sessions * sessions,
            t,
        );
        let calls = n / 4;
        let t = Instant::now();
        for i in 0..calls {
            http.modern_call(i).await;
        }
        report("modern (MRTR), sequential calls", calls, t);
        let t = Instant::now();
        let next = AtomicU64::new(0);
        join_all((0..c).map(|_| async {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= calls {
                    break;
                }
                http.modern_call(i).await;
            }
        }))
        .await;
        report(&format!("modern (MRTR), {c} calls in flight"), calls, t);
    });
}
