//! The legacy session: its headers, the standalone GET stream, reading a POST's answer and
//! resuming a broken stream with `Last-Event-ID`, a new session after a 404, and DELETE at
//! the end.

use super::auth::Refusal;
use super::stream::{self, handle_json_body, is_event_stream, read_stream, Ctx};
use super::{lock, put_hints, Shared};
use mcp_proto::methods::{Initialize, Initialized, Notification as _, Request as _};
use mcp_proto::RequestId;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT};
use reqwest::{Method, Response, StatusCode};
use std::sync::Arc;
use std::time::Duration;

const SESSION_ID: &str = "mcp-session-id";
const LAST_EVENT_ID: &str = "last-event-id";

/// The base headers plus the session id, when known, and the connection's hints (the
/// negotiated version, which the client tells once `initialize` is answered); and the
/// session generation if a session id is among them.
pub(crate) fn headers(shared: &Shared, method: &Method) -> (HeaderMap, Option<u64>) {
    let mut h = shared.base_headers(method);
    put_hints(&mut h, &lock(&shared.hints));
    let s = lock(&shared.session);
    if let Some(v) = s.id.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
        h.insert(SESSION_ID, v);
    }
    (h, s.id.as_ref().map(|_| s.generation))
}

/// Takes the session id of a successful `initialize` answer: a new session begins.
pub(crate) fn capture(shared: &Shared, resp: &Response) {
    let id = resp
        .headers()
        .get(SESSION_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.bytes().all(|b| (0x21..=0x7e).contains(&b)))
        .map(str::to_owned);
    let mut s = lock(&shared.session);
    s.id = id;
    s.generation += 1;
    lock(&shared.seen).clear();
}

/// The wait before reconnection `attempt` (0-based): the server's `retry`, else the default
/// doubled per attempt (at most 30 s).
fn delay(shared: &Shared, retry: Option<u64>, attempt: u32) -> Duration {
    match retry {
        Some(ms) => Duration::from_millis(ms),
        None => shared
            .opts
            .default_retry
            .saturating_mul(1 << attempt.min(5))
            .min(Duration::from_secs(30)),
    }
}

async fn get(shared: &Shared, last_id: Option<&str>) -> Result<Response, reqwest::Error> {
    let (mut h, _) = headers(shared, &Method::GET);
    h.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
    if let Some(v) = last_id.and_then(|v| HeaderValue::from_str(v).ok()) {
        h.insert(LAST_EVENT_ID, v);
    }
    shared.http.get(shared.url.clone()).headers(h).send().await
}

/// A POST's event stream ended before its answer: reconnect with GET + `Last-Event-ID` until
/// the answer comes (at most `max_reconnects` attempts in a row without progress).
pub(crate) async fn resume(
    shared: &Arc<Shared>,
    ctx: &mut Ctx,
    mut last: String,
    mut retry: Option<u64>,
) -> Result<(), String> {
    let max = shared.opts.max_reconnects;
    let mut attempt = 0;
    let mut why = String::from("no attempt was made");
    while attempt < max {
        tokio::time::sleep(delay(shared, retry, attempt)).await;
        attempt += 1;
        let resp = match get(shared, Some(&last)).await {
            Ok(r) => r,
            Err(e) => {
                why = stream::network_error(shared, &e);
                continue;
            }
        };
        let status = resp.status();
        if status == StatusCode::METHOD_NOT_ALLOWED || status == StatusCode::NOT_FOUND {
            why = format!("the server answered the resumption GET with HTTP {status}");
            break;
        }
        if !status.is_success() || !is_event_stream(&resp) {
            why = format!("the resumption GET got HTTP {status}");
            continue;
        }
        let end = read_stream(shared, resp, ctx, true).await;
        if ctx.answered {
            return Ok(());
        }
        if let Some(id) = end.last_id {
            last = id;
        }
        retry = end.retry.or(retry);
        if end.events > 0 {
            attempt = 0;
        }
        why = "the resumed stream ended too".into();
    }
    Err(format!(
        "the event stream of {} ended before its answer and could not be resumed after \
         {attempt} attempt(s): {why}",
        ctx.method
    ))
}

/// Reads the answer of a successful POST of a request into `ctx`, resuming a legacy event
/// stream that ends before it. `Err`: why no answer came.
pub(crate) async fn read_answer(
    shared: &Arc<Shared>,
    resp: Response,
    ctx: &mut Ctx,
) -> Result<(), String> {
    let status = resp.status();
    let ct = stream::content_type(&resp);
    if ct.starts_with("text/event-stream") {
        let end = read_stream(shared, resp, ctx, !ctx.modern).await;
        if ctx.answered {
            return Ok(());
        }
        return match end.last_id {
            Some(last) if !ctx.modern => resume(shared, ctx, last, end.retry).await,
            _ => Err(format!(
                "the server closed the event stream of {} before answering (and it cannot be \
                 resumed)",
                ctx.method
            )),
        };
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| stream::network_error(shared, &e))?;
    if ct.starts_with("application/json") {
        handle_json_body(shared, &body, ctx);
        if ctx.answered {
            return Ok(());
        }
        return Err(format!(
            "the server answered {} with HTTP {status} but without a response to it",
            ctx.method
        ));
    }
    Err(format!(
        "the server answered {} with HTTP {status} and {} instead of a JSON-RPC response",
        ctx.method,
        if body.is_empty() {
            "no body".to_owned()
        } else {
            format!("content type {ct:?}")
        }
    ))
}

/// Opens the standalone GET stream (replacing any earlier one) and keeps it open. The
/// returned receiver fires once the first GET has its answer (or failed), so that requests
/// sent after `initialized` find the stream in place, as a server may expect.
pub(crate) fn listen(shared: &Arc<Shared>) -> tokio::sync::oneshot::Receiver<()> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let s = shared.clone();
    let key = shared.spawn(async move { listen_loop(&s, Some(tx)).await });
    let old = lock(&shared.session).listener.replace(key);
    if let Some(k) = old {
        shared.abort(k);
    }
    rx
}

async fn listen_loop(shared: &Arc<Shared>, mut opened: Option<tokio::sync::oneshot::Sender<()>>) {
    let mut ctx = Ctx::listener();
    let mut last: Option<String> = None;
    let mut retry = None;
    let mut failures = 0;
    loop {
        let answer = get(shared, last.as_deref()).await;
        if let Some(tx) = opened.take() {
            let _ = tx.send(());
        }
        match answer {
            Ok(r) if r.status() == StatusCode::METHOD_NOT_ALLOWED => {
                tracing::debug!("the server offers no standalone event stream (405)");
                return;
            }
            Ok(r) if r.status() == StatusCode::NOT_FOUND => {
                tracing::debug!("the session is gone (404 on GET); the next request renews it");
                return;
            }
            Ok(r) if r.status().is_success() && is_event_stream(&r) => {
                let end = read_stream(shared, r, &mut ctx, true).await;
                last = end.last_id.or(last);
                retry = end.retry.or(retry);
                failures = if end.events > 0 { 0 } else { failures + 1 };
            }
            Ok(r) => {
                tracing::debug!(status = %r.status(), "the standalone stream was refused");
                failures += 1;
            }
            Err(e) => {
                tracing::debug!("the standalone stream failed: {e}");
                failures += 1;
            }
        }
        if failures > shared.opts.max_reconnects || shared.is_closed() {
            tracing::debug!("giving up on the standalone event stream");
            return;
        }
        tokio::time::sleep(delay(shared, retry, failures)).await;
    }
}

/// The server ended the session (404): start a new one by replaying `initialize` and
/// `notifications/initialized`, unless another request already did (`stale` is the
/// generation the 404 was for).
pub(crate) async fn renew(shared: &Arc<Shared>, stale: u64) -> Result<(), String> {
    let _one_at_a_time = shared.renewing.lock().await;
    let (init, note, listener) = {
        let mut s = lock(&shared.session);
        if s.generation != stale {
            return Ok(());
        }
        s.id = None;
        (
            s.init_request.clone(),
            s.initialized.clone(),
            s.listener.take(),
        )
    };
    if let Some(k) = listener {
        shared.abort(k);
    }
    let init = init.ok_or("no initialize request to replay")?;
    let id = serde_json::from_slice::<serde_json::Value>(&init)
        .ok()
        .and_then(|v| serde_json::from_value::<RequestId>(v.get("id")?.clone()).ok())
        .ok_or("the remembered initialize request has no id")?;
    // As the first time: without a session id or the connection's hints.
    let mut h = shared.base_headers(&Method::POST);
    stream::post_headers(&mut h);
    let resp = shared
        .http
        .post(shared.url.clone())
        .headers(h)
        .body(init)
        .send()
        .await
        .map_err(|e| stream::network_error(shared, &e))?;
    if !resp.status().is_success() {
        return Err(format!("{} got HTTP {}", Initialize::METHOD, resp.status()));
    }
    capture(shared, &resp);
    let mut ctx = Ctx::for_request(&id, Initialize::METHOD, false, false);
    read_answer(shared, resp, &mut ctx).await?;
    if let Some(err) = ctx.captured.as_ref().and_then(|m| m.get("error")) {
        return Err(format!("{} was refused: {err}", Initialize::METHOD));
    }
    if let Some(note) = note {
        if !post_other(shared, note, Initialized::METHOD).await {
            return Err(format!("{} was refused", Initialized::METHOD));
        }
        let opened = listen(shared);
        let _ = tokio::time::timeout(super::LISTEN_WAIT, opened).await;
    }
    Ok(())
}

/// POSTs a notification or a response; true if the server accepted it. A refusal the
/// authorizer can answer (401, 403 `insufficient_scope`) is re-authorized and sent again once.
pub(crate) async fn post_other(shared: &Arc<Shared>, mut body: Vec<u8>, what: &str) -> bool {
    let mut authorized = false;
    loop {
        // A copy only where it may be sent again (with an authorizer): this is the path of
        // every sampling reply.
        let this_time = match (&shared.opts.auth, authorized) {
            (Some(_), false) => body.clone(),
            _ => std::mem::take(&mut body),
        };
        let (mut h, _) = headers(shared, &Method::POST);
        stream::post_headers(&mut h);
        let sent_auth = super::auth::sent_authorization(&h);
        let sent = shared
            .http
            .post(shared.url.clone())
            .headers(h)
            .body(this_time)
            .send()
            .await;
        let resp = match sent {
            Ok(resp) if resp.status().is_success() => return true,
            Ok(resp) => resp,
            Err(e) => {
                tracing::warn!(what, "cannot send a message: {}", stream::error_chain(&e));
                return false;
            }
        };
        let status = resp.status();
        let refusal = Refusal::from_response(status, resp.headers(), sent_auth);
        if let (Some(auth), Some(refusal), false) = (&shared.opts.auth, refusal, authorized) {
            authorized = true;
            match auth.refused(&refusal).await {
                Ok(()) => continue,
                Err(why) => tracing::warn!(what, "cannot authorize a message: {why}"),
            }
        }
        let body = stream::excerpt(&stream::read_capped(resp, 4096).await);
        tracing::warn!(%status, what, "the server refused a message: {body}");
        return false;
    }
}

/// Ends the session at the server (DELETE; a 405 means the server does not allow it).
pub(crate) async fn delete(shared: &Shared) {
    let (h, session) = headers(shared, &Method::DELETE);
    if session.is_none() {
        return;
    }
    let sent = shared.http.delete(shared.url.clone()).headers(h).send();
    match tokio::time::timeout(Duration::from_secs(5), sent).await {
        Ok(Ok(r)) => tracing::debug!(status = %r.status(), "session deleted"),
        Ok(Err(e)) => tracing::debug!("cannot delete the session: {e}"),
        Err(_) => tracing::debug!("no answer to the session's DELETE within 5 s"),
    }
}
