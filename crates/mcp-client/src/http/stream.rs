//! What comes back from the server: one JSON body or an event stream, each message handed to
//! the engine as it is. The only thing read from a message is its envelope, to notice the
//! answer the POST waits for (then the stream needs no resuming); nothing is rewritten.

use super::sse::{Item, Parser};
use super::{lock, Shared};
use mcp_proto::RequestId;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::Response;
use serde::Deserialize;
use serde_json::value::RawValue;

/// What a response stream is read for.
pub(crate) struct Ctx {
    /// The id of the request whose answer we wait for (none on the standalone stream).
    pub awaiting: Option<RequestId>,
    /// Its method (for messages about it).
    pub method: String,
    /// Whether the request was modern.
    pub modern: bool,
    /// Whether the answer arrived.
    pub answered: bool,
    /// Hand the answer to the engine (false when the transport asked on its own behalf).
    pub deliver: bool,
    /// The answer, when not delivered.
    pub captured: Option<serde_json::Value>,
}

impl Ctx {
    /// Waits for the answer to `id`; `deliver`: hand it to the engine, else keep it.
    pub fn for_request(id: &RequestId, method: &str, modern: bool, deliver: bool) -> Ctx {
        Ctx {
            awaiting: Some(id.clone()),
            method: method.to_owned(),
            modern,
            answered: false,
            deliver,
            captured: None,
        }
    }

    pub fn listener() -> Ctx {
        Ctx {
            awaiting: None,
            method: String::new(),
            modern: false,
            answered: false,
            deliver: true,
            captured: None,
        }
    }
}

/// How a response stream ended.
#[derive(Default)]
pub(crate) struct StreamEnd {
    pub last_id: Option<String>,
    pub retry: Option<u64>,
    pub events: usize,
}

/// `Accept` and `Content-Type` of a POST.
pub(crate) fn post_headers(h: &mut HeaderMap) {
    h.insert(
        ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
}

pub(crate) fn content_type(resp: &Response) -> String {
    resp.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

pub(crate) fn is_event_stream(resp: &Response) -> bool {
    content_type(resp).starts_with("text/event-stream")
}

/// One JSON message, or (2025-03-26) a batch of them.
pub(crate) fn handle_json_body(shared: &Shared, body: &[u8], ctx: &mut Ctx) {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        match serde_json::from_slice::<Vec<Box<RawValue>>>(body) {
            Ok(items) => {
                for m in items {
                    handle_message(shared, m.get().as_bytes(), ctx);
                }
            }
            Err(e) => tracing::warn!("the server sent a malformed JSON batch: {e}"),
        }
    } else {
        handle_message(shared, body, ctx);
    }
}

/// Reads an event stream until it ends or brings the awaited answer. `dedup`: drop events
/// whose id was already handed on (legacy, where ids are unique within the session).
pub(crate) async fn read_stream(
    shared: &Shared,
    mut resp: Response,
    ctx: &mut Ctx,
    dedup: bool,
) -> StreamEnd {
    let mut parser = Parser::new(shared.max_event);
    let mut end = StreamEnd::default();
    loop {
        let chunk = match resp.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                tracing::debug!("the event stream broke: {e}");
                break;
            }
        };
        for item in parser.feed(&chunk) {
            let ev = match item {
                Item::Retry(ms) => {
                    end.retry = Some(ms);
                    continue;
                }
                Item::Id(_) => continue,
                Item::Event(ev) => ev,
            };
            if let (true, Some(id)) = (dedup, &ev.id) {
                if !lock(&shared.seen).insert(id) {
                    tracing::debug!(id, "dropped an event already received");
                    continue;
                }
            }
            if ev.data.trim().is_empty() {
                continue;
            }
            if !ev.event.is_empty() && ev.event != "message" {
                tracing::debug!(event = ev.event, "ignored an event that is not a message");
                continue;
            }
            end.events += 1;
            handle_message(shared, ev.data.as_bytes(), ctx);
            if ctx.answered {
                end.last_id = parser.last_id().map(str::to_owned);
                return end;
            }
        }
    }
    end.last_id = parser.last_id().map(str::to_owned);
    end
}

/// A message's envelope: enough to tell the awaited answer.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default)]
    id: Option<RequestId>,
    #[serde(default, borrow)]
    method: Option<&'a RawValue>,
}

/// Hands one message from the server on as it is, noting the answer we wait for.
fn handle_message(shared: &Shared, message: &[u8], ctx: &mut Ctx) {
    let env: Option<Envelope<'_>> = serde_json::from_slice(message).ok();
    let is_answer = match (&env, &ctx.awaiting) {
        (Some(e), Some(want)) => e.method.is_none() && e.id.as_ref() == Some(want),
        _ => false,
    };
    if !is_answer {
        return shared.deliver(message);
    }
    ctx.answered = true;
    if ctx.deliver {
        shared.deliver(message);
    } else {
        ctx.captured = serde_json::from_slice(message).ok();
    }
}

/// Why a request failed to reach the server.
pub(crate) fn network_error(shared: &Shared, e: &reqwest::Error) -> String {
    format!("HTTP request to {} failed: {}", shared.url, error_chain(e))
}

pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let part = c.to_string();
        if !s.contains(&part) {
            s.push_str(": ");
            s.push_str(&part);
        }
        cur = c.source();
    }
    s
}

/// At most `cap` bytes of a body.
pub(crate) async fn read_capped(mut resp: Response, cap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < cap {
        match resp.chunk().await {
            Ok(Some(c)) => out.extend_from_slice(&c[..c.len().min(cap - out.len())]),
            _ => break,
        }
    }
    out
}

/// The start of a body, on one line.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut chars = one_line.chars();
    let head: String = chars.by_ref().take(300).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}
