//! The console's HTTP side: the page, the live feed (server-sent events), the answers, and
//! the audit log; and the checks every request passes (Host, Origin, token).

use crate::hub::{Answer, Hub, Kind, Refusal, Update};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use futures_util::stream::{self, Stream, StreamExt};
use mcp_host::audit::{AuditLog, Decision, Filter};
use serde_json::{json, Value};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// The header that carries the token on API requests.
pub const TOKEN_HEADER: &str = "x-console-token";

const PAGE: &str = include_str!("page/index.html");
const STYLE: &str = include_str!("page/style.css");
const SCRIPT: &str = include_str!("page/app.js");

/// What every handler shares.
pub(crate) struct Shared {
    pub(crate) hub: Arc<Hub>,
    pub(crate) token: String,
    pub(crate) bound: SocketAddr,
    pub(crate) audit: RwLock<Option<Arc<AuditLog>>>,
    /// Set when the console shuts down: event streams end after what they still hold.
    pub(crate) closing: tokio::sync::watch::Sender<bool>,
}

type St = State<Arc<Shared>>;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/events", get(events))
        .route("/api/pending", get(pending))
        .route("/api/pending/{id}", post(answer))
        .route("/api/audit", get(audit))
        .route("/api/remote/ask", post(remote_ask))
        .route("/api/remote/withdraw", post(remote_withdraw))
        .layer(middleware::from_fn_with_state(shared.clone(), guard))
        .with_state(shared)
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let headers = [
        (header::CONTENT_TYPE, "application/json"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    (status, headers, body.to_string()).into_response()
}

fn refuse(status: StatusCode, why: &str) -> Response {
    json_response(status, &json!({ "error": why }))
}

/// The query's value for `key`, percent-decoded.
fn query_value(query: Option<&str>, key: &str) -> Option<String> {
    let q = query?;
    form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

/// Equal, in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Whether `host` (a `Host` header value) names this console: a loopback name, or the
/// address it was bound to (any IP address when bound to all of them).
fn host_allowed(host: &str, bound: SocketAddr) -> bool {
    let Some((name, port)) = host.rsplit_once(':') else {
        return false;
    };
    if port.parse::<u16>().ok() != Some(bound.port()) {
        return false;
    }
    let name = name.trim_start_matches('[').trim_end_matches(']');
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match name.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback() || ip == bound.ip() || bound.ip().is_unspecified(),
        Err(_) => false,
    }
}

/// Host (against DNS rebinding), Origin (against other sites' pages), then the token: in
/// the header, or for a GET in the query (the page's own URL, and its event stream).
async fn guard(State(s): St, req: Request, next: Next) -> Response {
    let h = req.headers();
    let host = h
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !host_allowed(host, s.bound) {
        return refuse(StatusCode::FORBIDDEN, "this Host is not the console's");
    }
    if let Some(origin) = h.get(header::ORIGIN) {
        if origin.to_str().ok() != Some(format!("http://{host}").as_str()) {
            return refuse(
                StatusCode::FORBIDDEN,
                "requests from other sites are refused",
            );
        }
    }
    if h.get("sec-fetch-site").is_some_and(|v| v == "cross-site") {
        return refuse(
            StatusCode::FORBIDDEN,
            "requests from other sites are refused",
        );
    }
    let given = match h.get(TOKEN_HEADER) {
        Some(v) => v.to_str().ok().map(str::to_owned),
        None if req.method() == Method::GET => query_value(req.uri().query(), "token"),
        None => None,
    };
    match given {
        Some(t) if same(&t, &s.token) => next.run(req).await,
        Some(_) => refuse(StatusCode::UNAUTHORIZED, "wrong token"),
        None => refuse(StatusCode::UNAUTHORIZED, "the console's token is required"),
    }
}

fn nonce() -> String {
    let mut b = [0u8; 16];
    let _ = getrandom::fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

async fn page() -> Response {
    let n = nonce();
    let html = PAGE
        .replace("/*STYLE*/", STYLE)
        .replace("/*SCRIPT*/", SCRIPT)
        .replace("{{NONCE}}", &n);
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{n}'; style-src 'nonce-{n}'; img-src data:; connect-src 'self'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    let mut r = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    let hs = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        hs.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    hs.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    hs.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    hs.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn pending(State(s): St) -> Response {
    let (now, _) = s.hub.watch();
    let items: Vec<&Value> = now.iter().map(|v| &**v).collect();
    json_response(StatusCode::OK, &json!({ "pending": items }))
}

fn event(u: &Update) -> Event {
    match u {
        Update::Added(v) => Event::default().event("add").data(v.to_string()),
        Update::Gone { id, why } => Event::default()
            .event("gone")
            .data(json!({"id": id, "why": why}).to_string()),
    }
}

async fn events(State(s): St) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (now, rx) = s.hub.watch();
    let first: Vec<Result<Event, Infallible>> =
        std::iter::once(Event::default().event("reset").data("{}"))
            .chain(now.into_iter().map(|v| event(&Update::Added(v))))
            .map(Ok)
            .collect();
    let closing = s.closing.subscribe();
    let later = stream::unfold((rx, closing), |(mut rx, mut closing)| async move {
        let e = tokio::select! {
            // What is queued goes out first; then the stream ends if the console closes.
            biased;
            r = rx.recv() => match r {
                Ok(u) => event(&u),
                // Too far behind: the page reloads the list.
                Err(RecvError::Lagged(_)) => Event::default().event("reload").data("{}"),
                Err(RecvError::Closed) => return None,
            },
            _ = closing.wait_for(|c| *c) => return None,
        };
        Some((Ok(e), (rx, closing)))
    });
    Sse::new(stream::iter(first).chain(later))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

async fn answer(State(s): St, Path(id): Path<u64>, headers: HeaderMap, body: Bytes) -> Response {
    let answer: Answer = match json_body(&headers, &body) {
        Ok(a) => a,
        Err((status, why)) => return refuse(status, &why),
    };
    match s.hub.answer(id, answer) {
        Ok(()) => json_response(StatusCode::OK, &json!({ "ok": true })),
        Err(Refusal::Unknown) => refuse(
            StatusCode::NOT_FOUND,
            "no such question (answered elsewhere, or cancelled)",
        ),
        Err(Refusal::WrongAction) => refuse(
            StatusCode::CONFLICT,
            "that action does not fit this question",
        ),
    }
}

/// A JSON body, or the refusal to send back (status and why).
fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, (StatusCode, String)> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        let why = "send JSON (application/json)".to_owned();
        return Err((StatusCode::UNSUPPORTED_MEDIA_TYPE, why));
    }
    serde_json::from_slice(body)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("not understood: {e}")))
}

/// A question from another process (a [`crate::RemoteReviewer`]).
#[derive(serde::Deserialize)]
struct RemoteAsk {
    /// The asker's name for it (to withdraw it).
    #[serde(rename = "ref")]
    reference: String,
    /// `request` or `reply`.
    kind: String,
    /// What the page shows.
    view: serde_json::Map<String, Value>,
}

/// Holds the answer back until the person answers (long poll). The asker going away
/// (its connection closes) withdraws the question.
async fn remote_ask(State(s): St, headers: HeaderMap, body: Bytes) -> Response {
    let ask: RemoteAsk = match json_body(&headers, &body) {
        Ok(a) => a,
        Err((status, why)) => return refuse(status, &why),
    };
    let kind = match ask.kind.as_str() {
        "request" => Kind::Request,
        "reply" => Kind::Reply,
        "form" => Kind::Form,
        other => return refuse(StatusCode::BAD_REQUEST, &format!("unknown kind {other:?}")),
    };
    let mut view = ask.view;
    view.insert("ref".into(), ask.reference.into());
    let (ticket, rx) = s.hub.ask(kind, Value::Object(view));
    let answer = rx.await;
    drop(ticket);
    match answer {
        Ok(a) => json_response(StatusCode::OK, &json!({ "answer": a })),
        Err(_) => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the console closed before an answer",
        ),
    }
}

#[derive(serde::Deserialize)]
struct RemoteWithdraw {
    #[serde(rename = "ref")]
    reference: String,
    why: String,
}

async fn remote_withdraw(State(s): St, headers: HeaderMap, body: Bytes) -> Response {
    let w: RemoteWithdraw = match json_body(&headers, &body) {
        Ok(w) => w,
        Err((status, why)) => return refuse(status, &why),
    };
    s.hub.withdraw_ref(&w.reference, w.why);
    json_response(StatusCode::OK, &json!({ "ok": true }))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (`YYYY-MM-DD`).
fn day_number(text: &str) -> Option<i64> {
    let mut it = text.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (it.next()??, it.next()??, it.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

const DAY_MS: i64 = 86_400_000;

/// The audit filter of a query: `server`, `decision`, `from` and `to` (days, inclusive),
/// `limit`.
pub(crate) fn filter(query: Option<&str>) -> Result<Filter, String> {
    let decision = match query_value(query, "decision") {
        Some(d) => Some(Decision::parse(&d).ok_or_else(|| format!("unknown decision {d:?}"))?),
        None => None,
    };
    let day = |key| match query_value(query, key) {
        Some(d) => day_number(&d)
            .map(Some)
            .ok_or_else(|| format!("{key}: not a date (YYYY-MM-DD): {d:?}")),
        None => Ok(None),
    };
    let limit = query_value(query, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(200usize);
    Ok(Filter {
        server: query_value(query, "server"),
        decision,
        from_ms: day("from")?.map(|d| d * DAY_MS),
        until_ms: day("to")?.map(|d| (d + 1) * DAY_MS),
        limit: limit.min(5000),
    })
}

async fn audit(State(s): St, RawQuery(q): RawQuery) -> Response {
    let f = match filter(q.as_deref()) {
        Ok(f) => f,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &e),
    };
    let log = s.audit.read().unwrap_or_else(|p| p.into_inner()).clone();
    let Some(log) = log else {
        return json_response(
            StatusCode::OK,
            &json!({"enabled": false, "rows": [], "servers": [], "daily": []}),
        );
    };
    let read = tokio::task::spawn_blocking(move || -> Result<Value, String> {
        let rows = log.query(&f).map_err(|e| e.to_string())?;
        let servers = log.servers().map_err(|e| e.to_string())?;
        let daily = log
            .daily(&Filter { limit: 31, ..f })
            .map_err(|e| e.to_string())?;
        Ok(json!({"enabled": true, "rows": rows, "servers": servers, "daily": daily}))
    })
    .await;
    match read {
        Ok(Ok(v)) => json_response(StatusCode::OK, &v),
        Ok(Err(e)) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &e),
        Err(_) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "the audit read failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_hosts() {
        assert_eq!(day_number("1970-01-01"), Some(0));
        assert_eq!(day_number("2026-12-07"), Some(20_794));
        assert_eq!(day_number("2026-13-01"), None);
        assert_eq!(day_number("soon"), None);
        let bound: SocketAddr = "127.0.0.1:4000".parse().unwrap_or_else(|_| unreachable!());
        assert!(host_allowed("127.0.0.1:4000", bound));
        assert!(host_allowed("localhost:4000", bound));
        assert!(host_allowed("[::1]:4000", bound));
        assert!(!host_allowed("evil.example:4000", bound));
        assert!(!host_allowed("127.0.0.1:4001", bound));
        let f = filter(Some(
            "server=a%20b&decision=reply%20edited&from=1970-01-02&to=1970-01-02",
        ))
        .unwrap_or_default();
        assert_eq!(f.server.as_deref(), Some("a b"));
        assert_eq!(f.decision, Some(Decision::ReplyEdited));
        assert_eq!((f.from_ms, f.until_ms), (Some(DAY_MS), Some(2 * DAY_MS)));
        assert!(filter(Some("decision=maybe")).is_err());
    }
}
