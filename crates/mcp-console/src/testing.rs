//! Helpers for tests that drive a console as its page does: its event stream read event by
//! event, answers POSTed to it, and a reviewer that answers when told (to race the console
//! with). They panic on what a test would fail on.

use crate::http::TOKEN_HEADER;
use mcp_host::approval::{ReplyDecision, RequestDecision, Reviewer, Withdrawal};
use mcp_proto::handler::SamplingRequest;
use mcp_proto::sampling::CreateMessageResult;
use mcp_proto::BoxFuture;
use serde_json::Value;
use std::sync::Mutex;
use tokio::sync::oneshot;

/// A console's event stream (server-sent events) and what was read of it but not used.
pub struct Events(reqwest::Response, String);

impl Events {
    /// Opens the stream of the console at `base` (`http://ADDR`) with its `token`.
    pub async fn open(base: &str, token: &str) -> Events {
        let r = reqwest::get(format!("{base}/api/events?token={token}"))
            .await
            .expect("the console answers");
        assert!(r.status().is_success(), "{}", r.status());
        Events(r, String::new())
    }

    /// Whether the stream has ended (or failed), once what was read is used up.
    pub async fn ended(&mut self) -> bool {
        self.1.trim().is_empty() && self.0.chunk().await.map(|c| c.is_none()).unwrap_or(true)
    }

    /// The next event named `name` (others are skipped), as JSON.
    pub async fn next(&mut self, name: &str) -> Value {
        loop {
            while let Some(end) = self.1.find("\n\n") {
                let block: String = self.1.drain(..end + 2).collect();
                let mut event = "message";
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(e) = line.strip_prefix("event: ") {
                        event = e;
                    } else if let Some(d) = line.strip_prefix("data: ") {
                        data.push_str(d);
                    }
                }
                if event == name {
                    return serde_json::from_str(&data).expect("an event's data is JSON");
                }
            }
            let chunk = self.0.chunk().await.expect("the stream reads");
            let chunk = chunk.expect("the stream ended");
            self.1.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

/// POSTs `body` as the answer to question `id`; returns the HTTP status.
pub async fn post_answer(base: &str, token: &str, id: &Value, body: Value) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(format!("{base}/api/pending/{id}"))
        .header(TOKEN_HEADER, token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("the console answers")
        .status()
}

/// [`post_answer`], which must succeed.
pub async fn answer(base: &str, token: &str, id: &Value, body: Value) {
    let status = post_answer(base, token, id, body).await;
    assert!(status.is_success(), "{status}");
}

/// A reviewer, placed in "the terminal", that answers a request when its sender is used
/// (and never answers a reply).
pub struct Gate(Mutex<Option<oneshot::Receiver<RequestDecision>>>);

impl Gate {
    /// The gate, and the sender that opens it.
    pub fn new() -> (Gate, oneshot::Sender<RequestDecision>) {
        let (tx, rx) = oneshot::channel();
        (Gate(Mutex::new(Some(rx))), tx)
    }
}

impl Reviewer for Gate {
    fn review_request_in(
        &self,
        _r: &SamplingRequest,
        _m: &str,
        _w: Withdrawal,
    ) -> BoxFuture<RequestDecision> {
        let rx = self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        Box::pin(async move {
            match rx {
                Some(rx) => rx.await.unwrap_or(RequestDecision::Reject("gone".into())),
                None => std::future::pending().await,
            }
        })
    }

    fn review_reply_in(
        &self,
        _r: &SamplingRequest,
        _c: &CreateMessageResult,
        _w: Withdrawal,
    ) -> BoxFuture<ReplyDecision> {
        Box::pin(std::future::pending())
    }

    fn place(&self) -> &'static str {
        "the terminal"
    }
}
