//! Clients that send slowly, to tie the server up: one that sends its request head byte by
//! byte and never finishes it (slowloris), one that sends its head and then never finishes
//! its body. The read deadlines close them, while the server keeps answering others. On
//! tokio's paused clock: the deadlines are the defaults (10 s for the head, 30 s for the
//! body) and cost no real time; the elapsed times asserted are the clock's.

mod common;

use common::start;
use mcp_http::HttpConfig;
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Everything the server sends until it closes the connection (or the read fails).
async fn read_to_close(read: &mut tokio::net::tcp::OwnedReadHalf) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match read.read(&mut buf).await {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// Runs `fut`, failing the test if it has not ended after 10 minutes (of the paused clock:
/// an instant), so that a connection left open fails rather than hangs.
async fn bounded<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(600), fut)
        .await
        .expect("the connection is still open after 10 minutes")
}

fn host_of(url: &str) -> String {
    url.trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Sends `bytes` one at a time, one every 500 ms, then nothing; stops at the first failed
/// write (the server closed).
async fn trickle(mut write: tokio::net::tcp::OwnedWriteHalf, bytes: Vec<u8>) {
    for b in bytes {
        if write.write_all(&[b]).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    std::future::pending::<()>().await;
}

#[tokio::test(start_paused = true)]
async fn a_slowloris_client_is_closed_and_others_are_served_meanwhile() {
    let cfg = HttpConfig::default();
    assert_eq!(cfg.header_timeout, Duration::from_secs(10), "on by default");
    let s = start(cfg).await;
    let addr = host_of(&s.url);
    let head = format!(
        "POST /mcp HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n{}",
        "x-padding: slow\r\n".repeat(20)
    );
    // 20 attackers, each a byte every 500 ms: the head would take minutes and never ends.
    let mut attackers = Vec::new();
    for _ in 0..20 {
        let (mut read, write) = TcpStream::connect(&addr).await.unwrap().into_split();
        let sending = tokio::spawn(trickle(write, head.clone().into_bytes()));
        let start = Instant::now();
        attackers.push(tokio::spawn(async move {
            let got = read_to_close(&mut read).await;
            sending.abort();
            (start.elapsed(), got)
        }));
    }
    // Meanwhile a normal client opens a session and lists the tools.
    let sid = s.open_session().await;
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let r = s.post(Some(&sid), &list).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("\"hang\""));

    for a in attackers {
        let (elapsed, got) = bounded(a).await.unwrap();
        assert!(
            elapsed >= Duration::from_secs(10) && elapsed < Duration::from_secs(11),
            "closed after {elapsed:?}"
        );
        // Closed, with at most a 408 said first.
        let text = String::from_utf8_lossy(&got);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 408"),
            "{text}"
        );
    }
    s.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_body_that_never_finishes_is_answered_408_and_closed() {
    let cfg = HttpConfig::default();
    assert_eq!(cfg.body_timeout, Duration::from_secs(30), "on by default");
    let s = start(cfg).await;
    let addr = host_of(&s.url);
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "slow", "version": "1"}}})
    .to_string();
    // The whole head, and half the body it announces.
    let mut request = format!(
        "POST /mcp HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: {}\r\n\r\n",
        init.len()
    )
    .into_bytes();
    request.extend(init.bytes().take(init.len() / 2));
    let (mut read, mut write) = TcpStream::connect(&addr).await.unwrap().into_split();
    write.write_all(&request).await.unwrap();
    let start = Instant::now();
    let closed = tokio::spawn(async move { (read_to_close(&mut read).await, start.elapsed()) });

    // Meanwhile a normal client is served.
    let sid = s.open_session().await;
    assert!(!sid.is_empty());

    let (got, elapsed) = bounded(closed).await.unwrap();
    assert!(
        elapsed >= Duration::from_secs(30) && elapsed < Duration::from_secs(31),
        "closed after {elapsed:?}"
    );
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        text.contains("the body did not arrive within 30s"),
        "{text}"
    );
    // The half-sent initialize opened no session: only the normal client's is there.
    assert_eq!(s.server.sessions(), 1);
    drop(write);
    s.stop().await;
}
