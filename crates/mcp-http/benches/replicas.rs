//! Sampling round trips with replicas, side by side in one run: one server without Redis,
//! one with Redis, and three sharing Redis, reached in turn by the client itself and behind
//! HAProxy (round robin, no stickiness, `deploy/haproxy.cfg`). A round trip is a legacy tool call that samples once: POST
//! `tools/call`, its sampling request on the SSE stream, the reply POSTed, the result.
//! Behind the balancer the call, the reply and the next call land on different replicas.
//! Also: Redis commands per round trip (`INFO stats` before and after).
//!
//! Run: `cargo bench -p mcp-http --features redis --bench replicas` (env N: calls per
//! setting, C: calls in flight). Needs `redis-server` and `haproxy` (scripts/test.sh
//! installs both).

mod common;

use common::{ask, env};
use futures_util::future::join_all;
use mcp_http::{HttpConfig, HttpServer, RedisConfig};
use mcp_rpc::sse::{Item, Parser};
use mcp_server::Server;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn redis_commands(port: u16) -> u64 {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string(), "info", "stats"])
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("total_commands_processed:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("total_commands_processed")
}

async fn start_server(redis: Option<RedisConfig>) -> u16 {
    let server = Server::builder("bench-replicas")
        .tool("ask", "samples once", ask)
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let mut http = HttpServer::new(server, HttpConfig::default());
    if let Some(r) = redis {
        http = http.with_redis(r).await.expect("redis");
    }
    tokio::spawn(http.serve(listener, std::future::pending()));
    port
}

fn haproxy(dir: &std::path::Path, backends: &[u16]) -> (Killed, u16) {
    let port = free_port();
    let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/haproxy.cfg");
    let mut cfg = std::fs::read_to_string(deploy).expect("deploy/haproxy.cfg");
    cfg = cfg.replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
    for (i, b) in backends.iter().enumerate() {
        cfg = cfg.replace(
            &format!("127.0.0.1:808{}", i + 1),
            &format!("127.0.0.1:{b}"),
        );
    }
    let file = dir.join("haproxy.cfg");
    std::fs::write(&file, cfg).expect("write");
    let child = Command::new("haproxy")
        .args(["-db", "-f"])
        .arg(&file)
        .stdout(Stdio::null())
        .spawn()
        .expect("haproxy (apt-get install haproxy)");
    wait_for_port(port, "haproxy");
    (Killed(child), port)
}

struct Client {
    c: reqwest::Client,
    /// Each request goes to the next of these in turn.
    urls: Vec<String>,
    next: AtomicUsize,
}

impl Client {
    async fn post(&self, sid: Option<&str>, body: &Value) -> reqwest::Response {
        let mut r = self
            .c
            .post(&self.urls[self.next.fetch_add(1, Ordering::Relaxed) % self.urls.len()])
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        if let Some(s) = sid {
            r = r.header("mcp-session-id", s);
        }
        r.body(body.to_string()).send().await.expect("POST")
    }

    async fn session(&self) -> String {
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {"sampling": {}},
            "clientInfo": {"name": "bench", "version": "1"}}});
        let r = self.post(None, &init).await;
        let sid = r.headers()["mcp-session-id"]
            .to_str()
            .expect("session id")
            .to_owned();
        let _ = r.bytes().await;
        let n = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let _ = self.post(Some(&sid), &n).await.bytes().await;
        sid
    }

    /// One tool call that samples once; its duration.
    async fn call(&self, sid: &str, id: u64) -> Duration {
        let t = Instant::now();
        let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "ask", "arguments": {"q": "ok?"}}});
        let mut resp = self.post(Some(sid), &call).await;
        let mut parser = Parser::new(0);
        while let Ok(Some(chunk)) = resp.chunk().await {
            for item in parser.feed(&chunk) {
                let Item::Event(event) = item else { continue };
                let Ok(msg) = serde_json::from_str::<Value>(&event.data) else {
                    continue;
                };
                if msg.get("method").is_some() {
                    let reply = json!({"jsonrpc": "2.0", "id": msg["id"], "result": {
                        "role": "assistant", "model": "b", "content": {"type": "text", "text": "ok"}}});
                    let _ = self.post(Some(sid), &reply).await.bytes().await;
                } else {
                    assert!(msg.get("result").is_some(), "{msg}");
                    return t.elapsed();
                }
            }
        }
        panic!("the stream ended without the tool's answer");
    }
}

/// `n` calls with `c` in flight (each worker its own session): calls/s, p50, p99.
async fn run(urls: &[String], n: u64, c: u64) -> (f64, Duration, Duration) {
    let client = Arc::new(Client {
        c: reqwest::Client::new(),
        urls: urls.to_vec(),
        next: AtomicUsize::new(0),
    });
    let sids = join_all((0..c).map(|_| client.session())).await;
    let next = AtomicU64::new(0);
    let lat = Mutex::new(Vec::with_capacity(n as usize));
    let t = Instant::now();
    join_all(sids.iter().map(|sid| async {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= n {
                break;
            }
            let d = client.call(sid, i + 1).await;
            lat.lock().unwrap_or_else(|p| p.into_inner()).push(d);
        }
    }))
    .await;
    let rate = n as f64 / t.elapsed().as_secs_f64();
    let mut lat = lat.into_inner().unwrap_or_else(|p| p.into_inner());
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    (rate, pct(0.5), pct(0.99))
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let benching = std::env::args().any(|a| a == "--bench");
    let n = env("N", if benching { 4000 } else { 100 });
    let c = env("C", 32);
    let dir = std::env::temp_dir().join(format!("mcp-bench-replicas-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let redis_port = free_port();
    let _redis = Killed(
        Command::new("redis-server")
            .args(["--port", &redis_port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (apt-get install redis-server)"),
    );
    wait_for_port(redis_port, "redis-server");
    let redis = |prefix: &str| {
        let mut r = RedisConfig::new(format!("redis://127.0.0.1:{redis_port}"));
        r.prefix = prefix.into();
        r
    };
    rt.block_on(async {
        let plain = start_server(None).await;
        let shared = start_server(Some(redis("one"))).await;
        let mut three = Vec::new();
        for _ in 0..3 {
            three.push(start_server(Some(redis("three"))).await);
        }
        let (_lb, lb) = haproxy(&dir, &three);
        let url = |port: u16| format!("http://127.0.0.1:{port}/mcp");
        let settings = [
            ("1 replica, no Redis", vec![url(plain)], false),
            ("1 replica, Redis", vec![url(shared)], true),
            // The client itself sends each request to the next replica: the cost of
            // sharing through Redis without the balancer's.
            (
                "3 replicas, Redis, rotation",
                three.iter().map(|p| url(*p)).collect(),
                true,
            ),
            ("3 replicas, Redis, HAProxy", vec![url(lb)], true),
        ];
        println!(
            "{:<29} {:>9} {:>10} {:>9} {:>9} {:>14}",
            "setting", "in flight", "calls/s", "p50 ms", "p99 ms", "Redis cmds/call"
        );
        for inflight in [1, c] {
            for (name, urls, uses_redis) in &settings {
                let before = uses_redis.then(|| redis_commands(redis_port));
                let (rate, p50, p99) = run(urls, n, inflight).await;
                let per_call = before.map_or("-".to_owned(), |b| {
                    // Less the INFO itself; sessions opened by the run are included.
                    let used = redis_commands(redis_port) - b - 1;
                    format!("{:.1}", used as f64 / n as f64)
                });
                println!(
                    "{name:<29} {inflight:>9} {rate:>10.0} {:>9.2} {:>9.2} {per_call:>14}",
                    p50.as_secs_f64() * 1e3,
                    p99.as_secs_f64() * 1e3
                );
            }
        }
    });
    let _ = std::fs::remove_dir_all(dir);
}
