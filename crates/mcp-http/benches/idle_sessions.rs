//! Memory of idle legacy sessions: a server child process, and this process opening N
//! legacy (2025-11-25) sessions on it (`initialize` + `notifications/initialized`, then
//! nothing). Reports the server's resident memory (`VmRSS` of `/proc/<pid>/status`) before
//! and after, and per session; then checks the session cap refuses one more.
//!
//! Run: `cargo bench -p mcp-http --bench idle_sessions` (env N, default 10000; C requests
//! at once, default 32). Without `--bench` (`cargo test`) it opens 200, as a smoke run.
//! Linux only (it reads `/proc`).

use futures_util::future::join_all;
use mcp_http::{HttpConfig, HttpServer};
use mcp_proto::methods::{Initialize, Initialized, Notification as _, Request as _};
use mcp_server::Server;
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

const CHILD: &str = "MCP_IDLE_SESSIONS_CHILD";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The child: serves with a cap of `cap` sessions, prints its address, runs until its stdin
/// closes.
fn child(cap: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        println!("{}", listener.local_addr().expect("addr"));
        let cfg = HttpConfig {
            max_sessions: cap,
            ..Default::default()
        };
        let server = HttpServer::new(Server::builder("idle").build(), cfg);
        let stdin_closed = async {
            let _ = tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new()))
                .await;
        };
        server.serve(listener, stdin_closed).await.expect("serve");
    });
}

/// The resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Opens one legacy session; returns the status of `initialize`.
async fn open(http: &reqwest::Client, url: &str) -> u16 {
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": Initialize::METHOD, "params": {
        "protocolVersion": "2025-11-25", "capabilities": {"sampling": {}},
        "clientInfo": {"name": "idle", "version": "1"}}});
    let r = http
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(init.to_string())
        .send()
        .await
        .expect("initialize");
    let status = r.status().as_u16();
    let Some(sid) = r.headers().get("mcp-session-id").cloned() else {
        return status;
    };
    let _ = r.bytes().await;
    let done = json!({"jsonrpc": "2.0", "method": Initialized::METHOD});
    let r = http
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", sid)
        .header("mcp-protocol-version", "2025-11-25")
        .body(done.to_string())
        .send()
        .await
        .expect("initialized");
    assert_eq!(r.status(), 202);
    status
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let n = env("N", if benching { 10_000 } else { 200 });
    if let Ok(cap) = std::env::var(CHILD) {
        return child(cap.parse().expect("cap"));
    }
    let mut server = Command::new(std::env::current_exe().expect("exe"))
        .env(CHILD, n.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the server child");
    let pid = server.id();
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the child's address");
    let url = format!("http://{}/mcp", line.trim());

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let http = reqwest::Client::new();
        // One session first: the server's one-time allocations are not counted.
        assert_eq!(open(&http, &url).await, 200);
        let before = rss_kib(pid);
        let next = Arc::new(AtomicUsize::new(1));
        let started = Instant::now();
        let workers = (0..env("C", 32)).map(|_| {
            let (http, url, next) = (http.clone(), url.clone(), next.clone());
            async move {
                while next.fetch_add(1, Ordering::Relaxed) < n {
                    assert_eq!(open(&http, &url).await, 200);
                }
            }
        });
        join_all(workers).await;
        let took = started.elapsed();
        let after = rss_kib(pid);
        let per = (after.saturating_sub(before) as f64 * 1024.0) / (n - 1) as f64;
        println!(
            "idle legacy sessions: {n} opened in {:.2} s; server RSS {before} KiB before, {after} KiB after: {:.1} KiB per session",
            took.as_secs_f64(),
            per / 1024.0
        );
        // The cap (set to N here; 1024 by default) refuses the next one.
        let refused = open(&http, &url).await;
        println!("session {} beyond the cap: HTTP {refused}", n + 1);
        assert_ne!(refused, 200, "the session cap did not hold");
    });
    if let Some(mut stdin) = server.stdin.take() {
        let _ = stdin.write_all(b"\n");
    }
    let _ = server.wait();
}
