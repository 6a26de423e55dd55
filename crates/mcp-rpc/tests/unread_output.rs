//! A peer that sends requests but never reads the answers: once the answers waiting for it
//! pass `max_pending_output`, the connection closes and stops reading (and running) its
//! requests, so such a peer costs neither memory nor CPU.

use mcp_proto::ErrorObject;
use mcp_rpc::{BoxFuture, Config, Handler, Request, Transport};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

/// Answers every request with 200 bytes, counting them.
struct Counting(Arc<AtomicUsize>);

impl Handler for Counting {
    fn request(&self, _req: Request) -> BoxFuture<Result<Value, ErrorObject>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(std::future::ready(Ok(json!({"pad": "x".repeat(200)}))))
    }
}

#[tokio::test]
async fn a_peer_that_never_reads_is_no_longer_read() {
    const SENT: usize = 5_000;
    let (mut ours, theirs_in) = tokio::io::duplex(64 * 1024);
    // The answers go into a pipe nobody reads.
    let (_unread, theirs_out) = tokio::io::duplex(4 * 1024);
    let transport = Transport {
        read: Box::new(theirs_in),
        write: Box::new(theirs_out),
    };
    let handled = Arc::new(AtomicUsize::new(0));
    let config = Config {
        max_pending_output: 16 * 1024,
        ..Config::default()
    };
    let conn = transport.connect(Arc::new(Counting(handled.clone())), config);
    let sender = tokio::spawn(async move {
        for id in 0..SENT {
            let line = format!("{}\n", json!({"jsonrpc": "2.0", "id": id, "method": "m"}));
            if ours.write_all(line.as_bytes()).await.is_err() {
                return;
            }
        }
    });
    // With the output closed, the connection ends without reading the rest.
    conn.wait().await;
    let n = handled.load(Ordering::SeqCst);
    assert!(n < SENT / 2, "{n} of {SENT} requests were still run");
    sender.abort();
}
