//! One POST and what comes back: a JSON message, an event stream, or an HTTP error.

use super::headers::{encode_value, name_of};
use super::sse::{Item, Parser};
use super::{lock, session, OutRequest, Shared};
use mcp_proto::jsonrpc::{self, HEADER_MISMATCH, INTERNAL_ERROR};
use mcp_proto::methods::{Initialize, Request as _};
use mcp_proto::{ErrorObject, RequestId};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::{Response, StatusCode};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::sync::Arc;

/// What a response stream is read for.
pub(crate) struct Ctx {
    /// The id of the request whose answer we wait for (none on the standalone stream).
    pub awaiting: Option<RequestId>,
    /// Its method (`initialize` and `tools/list` answers are read on the way).
    pub method: String,
    /// Whether the request was modern.
    pub modern: bool,
    /// Whether the answer arrived.
    pub answered: bool,
    /// Hand the answer to the engine (false when the transport asked on its own behalf).
    pub deliver: bool,
    /// The answer, when not delivered.
    pub captured: Option<Value>,
}

impl Ctx {
    pub fn for_request(req: &OutRequest, deliver: bool) -> Ctx {
        Ctx {
            awaiting: Some(req.id.clone()),
            method: req.method.clone(),
            modern: req.modern.is_some(),
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

/// POSTs one of our requests and hands its answer (or an error written for it) to the engine.
pub(crate) async fn post_request(shared: &Arc<Shared>, req: OutRequest) {
    if let Err(error) = request_outcome(shared, &req).await {
        if !shared.is_closed() {
            tracing::debug!(id = %req.id, method = req.method, "request failed: {}", error.message);
            deliver_error(shared, &req.id, error);
        }
    }
}

async fn request_outcome(shared: &Arc<Shared>, req: &OutRequest) -> Result<(), ErrorObject> {
    let mut renewed = false;
    let mut relisted = false;
    loop {
        let (headers, session_gen) = request_headers(shared, req);
        let resp = shared
            .http
            .post(shared.url.clone())
            .headers(headers)
            .body(req.body.clone())
            .send()
            .await
            .map_err(|e| network_error(shared, &e))?;
        let status = resp.status();
        if let (StatusCode::NOT_FOUND, Some(generation), false) = (status, session_gen, renewed) {
            if req.method != Initialize::METHOD {
                tracing::info!("the server ended the session (404); starting a new one");
                session::renew(shared, generation).await.map_err(|why| {
                    super::local_error(format!(
                        "the server ended the session (HTTP 404) and a new one could not be started: {why}"
                    ))
                })?;
                renewed = true;
                continue;
            }
        }
        if !status.is_success() {
            let e = error_from_response(shared, resp, &req.id).await;
            if e.code == HEADER_MISMATCH && req.method == "tools/call" && !relisted {
                if let Some(v) = &req.modern {
                    relisted = true;
                    if relist(shared, req, v).await {
                        continue;
                    }
                }
            }
            return Err(e);
        }
        if req.method == Initialize::METHOD && req.modern.is_none() {
            session::capture(shared, &resp);
        }
        let mut ctx = Ctx::for_request(req, true);
        return read_answer(shared, resp, &mut ctx).await;
    }
}

/// Reads the answer of a successful POST of a request into `ctx`.
pub(crate) async fn read_answer(
    shared: &Arc<Shared>,
    resp: Response,
    ctx: &mut Ctx,
) -> Result<(), ErrorObject> {
    let status = resp.status();
    let ct = content_type(&resp);
    if ct.starts_with("text/event-stream") {
        let end = read_stream(shared, resp, ctx, !ctx.modern).await;
        if ctx.answered {
            return Ok(());
        }
        return match end.last_id {
            Some(last) if !ctx.modern => session::resume(shared, ctx, last, end.retry).await,
            _ => Err(super::local_error(format!(
                "the server closed the event stream of {} before answering (and it cannot be resumed)",
                ctx.method
            ))),
        };
    }
    let body = resp.bytes().await.map_err(|e| network_error(shared, &e))?;
    if ct.starts_with("application/json") {
        handle_json_body(shared, &body, ctx);
        if ctx.answered {
            return Ok(());
        }
        return Err(super::local_error(format!(
            "the server answered {} with HTTP {status} but without a response to it",
            ctx.method
        )));
    }
    Err(super::local_error(format!(
        "the server answered {} with HTTP {status} and {} instead of a JSON-RPC response",
        ctx.method,
        if body.is_empty() {
            "no body".to_owned()
        } else {
            format!("content type {ct:?}")
        }
    )))
}

fn content_type(resp: &Response) -> String {
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
fn handle_json_body(shared: &Shared, body: &[u8], ctx: &mut Ctx) {
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

#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(default)]
    id: Option<RequestId>,
    #[serde(default, borrow)]
    method: Option<&'a RawValue>,
    #[serde(default, borrow)]
    result: Option<&'a RawValue>,
}

/// Hands one message from the server on, noting the answer we wait for (and reading the
/// `initialize` and modern `tools/list` answers on the way).
fn handle_message(shared: &Shared, message: &[u8], ctx: &mut Ctx) {
    let sniff: Option<Incoming<'_>> = serde_json::from_slice(message).ok();
    let is_answer = match (&sniff, &ctx.awaiting) {
        (Some(s), Some(want)) => s.method.is_none() && s.id.as_ref() == Some(want),
        _ => false,
    };
    if !is_answer {
        return shared.deliver(message);
    }
    ctx.answered = true;
    let result = sniff.and_then(|s| s.result);
    if let (Some(r), Initialize::METHOD, false) = (result, ctx.method.as_str(), ctx.modern) {
        #[derive(Deserialize)]
        struct Init {
            #[serde(rename = "protocolVersion")]
            protocol_version: String,
        }
        if let Ok(init) = serde_json::from_str::<Init>(r.get()) {
            lock(&shared.session).version = Some(init.protocol_version);
        }
    }
    let mut rewritten = None;
    if result.is_some() && ctx.method == "tools/list" && ctx.modern {
        if let Ok(mut v) = serde_json::from_slice::<Value>(message) {
            if lock(&shared.tools).learn(&mut v["result"]) {
                rewritten = serde_json::to_vec(&v).ok();
            }
        }
    }
    let message = rewritten.as_deref().unwrap_or(message);
    if ctx.deliver {
        shared.deliver(message);
    } else {
        ctx.captured = serde_json::from_slice(message).ok();
    }
}

/// The headers of a request's POST, and the session generation if a session id went along.
fn request_headers(shared: &Shared, req: &OutRequest) -> (HeaderMap, Option<u64>) {
    let (mut h, generation) = match &req.modern {
        Some(version) => (modern_headers(shared, req, version), None),
        None => session::headers(shared),
    };
    post_headers(&mut h);
    (h, generation)
}

pub(crate) fn post_headers(h: &mut HeaderMap) {
    h.insert(
        ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
}

fn modern_headers(shared: &Shared, req: &OutRequest, version: &str) -> HeaderMap {
    let mut h = shared.base.clone();
    let mut put = |name: &str, value: &str| match (
        reqwest::header::HeaderName::try_from(name),
        HeaderValue::from_str(value),
    ) {
        (Ok(n), Ok(v)) => {
            h.insert(n, v);
        }
        _ => tracing::warn!(header = name, "cannot send a header value; left out"),
    };
    put("mcp-protocol-version", version);
    put("mcp-method", &encode_value(&req.method));
    if let Some(name) = name_of(&req.method, req.params.as_ref()) {
        put("mcp-name", &encode_value(&name));
    }
    if req.method == "tools/call" {
        if let Some(tool) = name_of("tools/call", req.params.as_ref()) {
            let args = req.params.as_ref().and_then(|p| p.get("arguments"));
            for (name, value) in lock(&shared.tools).headers_for(&tool, args) {
                put(&name, &value);
            }
        }
    }
    h
}

/// Modern: the server refused a `tools/call`'s headers; fetch `tools/list` (its first page)
/// to learn the tool's `x-mcp-header` annotations. True if the list came.
async fn relist(shared: &Arc<Shared>, call: &OutRequest, version: &str) -> bool {
    let meta = call
        .params
        .as_ref()
        .and_then(|p| p.get("_meta"))
        .cloned()
        .unwrap_or_else(|| json!({}));
    let id = RequestId::String("mcp-host-http-tools-list".into());
    let params = json!({"_meta": meta});
    let mut body = Vec::new();
    jsonrpc::write_request(&mut body, &id, "tools/list", Some(&params));
    let req = OutRequest {
        id,
        method: "tools/list".into(),
        params: Some(params),
        modern: Some(version.to_owned()),
        body,
    };
    let (headers, _) = request_headers(shared, &req);
    let sent = shared
        .http
        .post(shared.url.clone())
        .headers(headers)
        .body(req.body.clone())
        .send()
        .await;
    match sent {
        Ok(resp) if resp.status().is_success() => {
            let mut ctx = Ctx::for_request(&req, false);
            read_answer(shared, resp, &mut ctx).await.is_ok() && ctx.answered
        }
        _ => false,
    }
}

/// POSTs a notification or a response; true if the server accepted it.
pub(crate) async fn post_other(shared: &Arc<Shared>, body: Vec<u8>, what: &str) -> bool {
    let (mut h, _) = session::headers(shared);
    post_headers(&mut h);
    let sent = shared
        .http
        .post(shared.url.clone())
        .headers(h)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(resp) if resp.status().is_success() => true,
        Ok(resp) => {
            let status = resp.status();
            let body = read_excerpt(resp).await;
            tracing::warn!(%status, what, "the server refused a message: {body}");
            false
        }
        Err(e) => {
            tracing::warn!(what, "cannot send a message: {}", error_chain(&e));
            false
        }
    }
}

/// The JSON-RPC error for an HTTP error answer to our request `id`.
pub(crate) async fn error_from_response(
    shared: &Shared,
    resp: Response,
    id: &RequestId,
) -> ErrorObject {
    let status = resp.status();
    let challenge = resp
        .headers()
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = read_capped(resp, 64 * 1024).await;
    if let Some(e) = jsonrpc_error(&body, id) {
        return e;
    }
    let mut message = format!("HTTP {status} from {}", shared.url);
    if status == StatusCode::UNAUTHORIZED {
        message.push_str(&match &challenge {
            Some(c) => format!(" (WWW-Authenticate: {c})"),
            None => " (no WWW-Authenticate header)".to_owned(),
        });
        message.push_str(if shared.opts.bearer.is_some() {
            "; the bearer token was refused"
        } else {
            "; the server wants authentication: give a bearer token"
        });
    }
    let excerpt = excerpt(&body);
    if !excerpt.is_empty() {
        message.push_str(": ");
        message.push_str(&excerpt);
    }
    let mut data = json!({"httpStatus": status.as_u16(), "transport": "http"});
    if let Some(c) = challenge {
        data["wwwAuthenticate"] = Value::String(c);
    }
    ErrorObject::new(INTERNAL_ERROR, message).with_data(data)
}

/// The JSON-RPC error a body carries, if it is one for `id` (or for no id).
fn jsonrpc_error(body: &[u8], id: &RequestId) -> Option<ErrorObject> {
    let msg: Value = serde_json::from_slice(body).ok()?;
    let error: ErrorObject = serde_json::from_value(msg.get("error")?.clone()).ok()?;
    let for_us = match msg.get("id") {
        None | Some(Value::Null) => true,
        Some(v) => serde_json::from_value::<RequestId>(v.clone()).ok().as_ref() == Some(id),
    };
    for_us.then_some(error)
}

async fn read_capped(mut resp: Response, cap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < cap {
        match resp.chunk().await {
            Ok(Some(c)) => out.extend_from_slice(&c[..c.len().min(cap - out.len())]),
            _ => break,
        }
    }
    out
}

async fn read_excerpt(resp: Response) -> String {
    excerpt(&read_capped(resp, 4096).await)
}

/// The start of a body, on one line.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

/// A request's error answer for a failure to reach the server.
pub(crate) fn network_error(shared: &Shared, e: &reqwest::Error) -> ErrorObject {
    super::local_error(format!(
        "HTTP request to {} failed: {}",
        shared.url,
        error_chain(e)
    ))
}

fn error_chain(e: &dyn std::error::Error) -> String {
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

/// Hands the engine an error answer to our request `id`.
pub(crate) fn deliver_error(shared: &Shared, id: &RequestId, error: ErrorObject) {
    let mut buf = Vec::new();
    jsonrpc::write_response(&mut buf, Some(id), &Err(error));
    shared.deliver(&buf);
}
