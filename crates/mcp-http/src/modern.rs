//! The `2026-07-28` era: stateless. Each POST is one request on its own short engine
//! connection; its notifications and answer are its response (JSON when the answer comes
//! first, else SSE). The mirrored headers must match the body. Closing the response stream
//! cancels the request.

use crate::checks::{self, decoded_header, Incoming};
use crate::params;
use crate::sse::{self, Event, OnClose};
use crate::AppState;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use mcp_proto::jsonrpc::{self as rpc};
use mcp_proto::methods::{named_param, CallTool, Ping, Request as _};
use mcp_rpc::{Closed, Connection, Inbound, MessageSink, Route};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

struct RequestSink {
    tx: mpsc::Sender<Event>,
    closed: AtomicBool,
}

impl MessageSink for RequestSink {
    fn send(
        &self,
        message: Vec<u8>,
        route: Route,
        _hints: &[(String, String)],
    ) -> Result<(), Closed> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(Closed);
        }
        let last = match route {
            Route::Response(_) => true,
            Route::Related(_) => false,
            Route::Unrelated => {
                tracing::debug!("dropped a message unrelated to the request (stateless era)");
                return Ok(());
            }
        };
        let ev = Event {
            id: None,
            data: message.into(),
            last,
        };
        match self.tx.try_send(ev) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(Closed),
            // A reader slower than the handler: notifications are dropped rather than
            // buffered without bound; the answer waits for room.
            Err(mpsc::error::TrySendError::Full(ev)) if ev.last => {
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let _ = tx.send(ev).await;
                });
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::debug!("slow reader: a notification was dropped");
                Ok(())
            }
        }
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }
}

/// Ends the request's connection when its stream goes away: a request still running is
/// cancelled.
struct EndOnClose {
    inbound: Inbound,
    /// The request's slot among those in flight, given back with the stream.
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl OnClose for EndOnClose {
    fn closed(&mut self, finished: bool) {
        if !finished {
            tracing::debug!("the client closed the response stream; cancelling the request");
        }
        self.inbound.end();
    }
}

/// The mirrored headers against the body, in the spec's order: a missing version header
/// (`-32020`), an incomplete `_meta` (`-32602`), a header that differs from `_meta`
/// (`-32020`), then `Mcp-Method` and `Mcp-Name`. Each is a 400.
pub(crate) fn check_headers(h: &HeaderMap, msg: &Incoming) -> Result<(), (i64, String)> {
    let mismatch = |m: String| (rpc::HEADER_MISMATCH, m);
    let Some(header) = h.get("mcp-protocol-version").map(|v| v.to_str().ok()) else {
        return Err(mismatch(
            "the MCP-Protocol-Version header is missing".into(),
        ));
    };
    if let Some(why) = &msg.meta_problem {
        return Err((rpc::INVALID_PARAMS, why.clone()));
    }
    let body_version = msg.modern_version.as_deref().unwrap_or("");
    if header != Some(body_version) {
        return Err(mismatch(format!(
            "Header mismatch: MCP-Protocol-Version header value {:?} does not match body value {body_version:?}",
            header.unwrap_or("(not ASCII)")
        )));
    }
    check_method_and_name(h, msg).map_err(mismatch)
}

fn check_method_and_name(h: &HeaderMap, msg: &Incoming) -> Result<(), String> {
    let method = msg.method.as_deref().unwrap_or("");
    match decoded_header(h, "mcp-method")? {
        None => return Err("the Mcp-Method header is missing".into()),
        Some(m) if m == method => {}
        Some(m) => {
            return Err(format!(
            "Header mismatch: Mcp-Method header value {m:?} does not match body value {method:?}"
        ))
        }
    }
    // Requests whose `Mcp-Name` header mirrors `params.name` or `params.uri`.
    if named_param(method).is_some() {
        let name = msg.name.as_deref().unwrap_or("");
        match decoded_header(h, "mcp-name")? {
            None => return Err("the Mcp-Name header is missing".into()),
            Some(n) if n == name => {}
            Some(n) => {
                return Err(format!(
                "Header mismatch: Mcp-Name header value {n:?} does not match body value {name:?}"
            ))
            }
        }
    }
    Ok(())
}

/// With a shared store, a `requestState` is accepted once: a replay is refused (`-32602`).
async fn first_use(st: &AppState, msg: &Incoming) -> Result<(), Response> {
    let (Some(store), Some(state)) = (st.sessions.shared(), &msg.request_state) else {
        return Ok(());
    };
    match store.first_use(state, st.server.request_state_ttl()).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(checks::error(
            StatusCode::BAD_REQUEST,
            msg.id.as_ref(),
            rpc::INVALID_PARAMS,
            "this requestState was already used: each round's state is accepted once",
        )),
        Err(e) => Err(checks::error(
            StatusCode::SERVICE_UNAVAILABLE,
            msg.id.as_ref(),
            -32603,
            &e.to_string(),
        )),
    }
}

/// The HTTP status of a JSON answer: errors the transport spec gives a status to.
fn status_of(answer: &[u8]) -> StatusCode {
    let code = serde_json::from_slice::<Value>(answer)
        .ok()
        .and_then(|v| v.get("error")?.get("code")?.as_i64());
    match code {
        Some(rpc::METHOD_NOT_FOUND) => StatusCode::NOT_FOUND,
        Some(
            rpc::HEADER_MISMATCH
            | rpc::UNSUPPORTED_PROTOCOL_VERSION
            | rpc::MISSING_REQUIRED_CLIENT_CAPABILITY
            | rpc::PARSE_ERROR
            | rpc::INVALID_REQUEST,
        ) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    }
}

pub(crate) async fn post(st: Arc<AppState>, h: HeaderMap, msg: Incoming, body: Bytes) -> Response {
    if let Err((code, why)) = check_headers(&h, &msg) {
        return checks::error(StatusCode::BAD_REQUEST, msg.id.as_ref(), code, &why);
    }
    let tool = match (msg.method.as_deref(), &msg.name) {
        (Some(CallTool::METHOD), Some(n)) => st.server.tool(n),
        _ => None,
    };
    if let Some(Err(why)) = tool.map(|t| params::check(&h, &t.input_schema, msg.arguments.as_ref()))
    {
        return checks::error(
            StatusCode::BAD_REQUEST,
            msg.id.as_ref(),
            rpc::HEADER_MISMATCH,
            &why,
        );
    }
    // The engine answers `ping` itself; the method does not exist in this era.
    if msg.method.as_deref() == Some(Ping::METHOD) {
        let why = "ping was removed in 2026-07-28";
        return checks::error(
            StatusCode::NOT_FOUND,
            msg.id.as_ref(),
            rpc::METHOD_NOT_FOUND,
            why,
        );
    }
    if msg.method.is_none() {
        let why = "clients send no responses on 2026-07-28 (input goes in inputResponses)";
        return checks::error(
            StatusCode::BAD_REQUEST,
            msg.id.as_ref(),
            rpc::INVALID_REQUEST,
            why,
        );
    }
    if !msg.is_request() {
        return StatusCode::ACCEPTED.into_response();
    }
    if let Err(r) = first_use(&st, &msg).await {
        return r;
    }
    let (tx, mut rx) = mpsc::channel(st.cfg.events_per_stream.max(1));
    let sink = Arc::new(RequestSink {
        tx,
        closed: AtomicBool::new(false),
    });
    let Ok(_permit) = st.modern_slots.clone().try_acquire_owned() else {
        let why = format!(
            "too many requests in flight (limit {}); retry later",
            st.cfg.max_requests_in_flight
        );
        return checks::error(
            StatusCode::SERVICE_UNAVAILABLE,
            msg.id.as_ref(),
            -32603,
            &why,
        );
    };
    let (_conn, inbound) =
        Connection::start_messages(sink, st.server.handler(), st.server.rpc_config());
    // If the client goes away before the first message, this future is dropped: the guard
    // then cancels the request.
    let mut ender = EndOnDrop(Some(inbound.clone()));
    inbound.receive(&body);
    let Some(first) = rx.recv().await else {
        return checks::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            msg.id.as_ref(),
            -32603,
            "the request ended without an answer",
        );
    };
    if first.last {
        return checks::json_response(status_of(&first.data), first.data.to_vec());
    }
    ender.0 = None;
    let head = sse::format(None, &first.data);
    sse::response(
        rx,
        Some(head),
        st.cfg.keepalive,
        EndOnClose { inbound, _permit },
    )
}

/// Ends a request's connection when dropped (unless disarmed).
struct EndOnDrop(Option<Inbound>);

impl Drop for EndOnDrop {
    fn drop(&mut self) {
        if let Some(i) = self.0.take() {
            i.end();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use mcp_proto::methods::ListTools;

    fn incoming(method: &str, name: Option<&str>) -> Incoming {
        Incoming {
            id: Some(Value::from(1)),
            method: Some(method.into()),
            name: name.map(str::to_owned),
            modern_version: Some("2026-07-28".into()),
            arguments: None,
            request_state: None,
            meta_problem: None,
        }
    }

    #[test]
    fn headers_must_mirror_the_body() {
        let mut h = HeaderMap::new();
        let m = incoming(CallTool::METHOD, Some("echo"));
        assert!(check_headers(&h, &m)
            .unwrap_err()
            .1
            .contains("MCP-Protocol-Version"));
        h.insert(
            "mcp-protocol-version",
            HeaderValue::from_static("2025-11-25"),
        );
        assert!(check_headers(&h, &m)
            .unwrap_err()
            .1
            .contains("does not match"));
        h.insert(
            "mcp-protocol-version",
            HeaderValue::from_static("2026-07-28"),
        );
        assert!(check_headers(&h, &m).unwrap_err().1.contains("Mcp-Method"));
        h.insert("mcp-method", HeaderValue::from_static(ListTools::METHOD));
        assert!(check_headers(&h, &m)
            .unwrap_err()
            .1
            .contains("Mcp-Method header value"));
        h.insert("mcp-method", HeaderValue::from_static(CallTool::METHOD));
        assert!(check_headers(&h, &m).unwrap_err().1.contains("Mcp-Name"));
        h.insert("mcp-name", HeaderValue::from_static("=?base64?ZWNobw==?="));
        assert!(check_headers(&h, &m).is_ok());
        h.insert("mcp-name", HeaderValue::from_static("other"));
        assert!(check_headers(&h, &m)
            .unwrap_err()
            .1
            .contains("Mcp-Name header value"));
        let mut incomplete = incoming(ListTools::METHOD, None);
        incomplete.meta_problem = Some("missing _meta".into());
        assert_eq!(
            check_headers(&h, &incomplete).unwrap_err().0,
            rpc::INVALID_PARAMS
        );
        h.remove("mcp-protocol-version");
        assert_eq!(
            check_headers(&h, &incomplete).unwrap_err().0,
            rpc::HEADER_MISMATCH
        );
        h.insert(
            "mcp-protocol-version",
            HeaderValue::from_static("2026-07-28"),
        );
        let list = incoming(ListTools::METHOD, None);
        h.insert("mcp-method", HeaderValue::from_static(ListTools::METHOD));
        assert!(check_headers(&h, &list).is_ok());
    }

    #[test]
    fn statuses_follow_the_transport_spec() {
        let err =
            |c: i64| format!(r#"{{"jsonrpc":"2.0","id":1,"error":{{"code":{c},"message":"m"}}}}"#);
        assert_eq!(status_of(err(-32601).as_bytes()), StatusCode::NOT_FOUND);
        assert_eq!(status_of(err(-32022).as_bytes()), StatusCode::BAD_REQUEST);
        assert_eq!(status_of(err(-32602).as_bytes()), StatusCode::OK);
        assert_eq!(
            status_of(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#),
            StatusCode::OK
        );
    }
}
