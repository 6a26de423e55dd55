//! One of our requests: its POST, its headers, and what becomes of its answer. An answer is
//! handed to the engine as the server sent it; when none can come (the server is out of
//! reach, answers with an HTTP error that carries no JSON-RPC error for the request, or
//! breaks its stream beyond resumption), the waiting request is failed out of band
//! ([`mcp_rpc::Inbound::fail`]).

use super::auth::{self, Refusal};
use super::headers::{encode_value, name_of, PROTOCOL_VERSION};
use super::session::{self, read_answer};
use super::stream::{self, post_headers, read_capped, Ctx};
use super::{put_hints, OutRequest, Shared};
use mcp_proto::jsonrpc;
use mcp_proto::methods::{Initialize, Request as _};
use mcp_proto::{ErrorObject, RequestId};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;
use std::sync::Arc;

/// Why a request got no answer from a successful POST.
enum Failure {
    /// The server refused it with a JSON-RPC error in an HTTP error answer: its own answer.
    Refused(ErrorObject),
    /// The transport failed.
    Transport(String),
}

impl From<String> for Failure {
    fn from(why: String) -> Self {
        Failure::Transport(why)
    }
}

/// POSTs one of our requests; its answer, the server's refusal, or the transport's failure
/// reaches the engine.
pub(crate) async fn post_request(shared: &Arc<Shared>, req: OutRequest) {
    let outcome = request_outcome(shared, &req).await;
    if shared.is_closed() {
        return;
    }
    match outcome {
        Ok(()) => {}
        Err(Failure::Refused(error)) => {
            let mut buf = Vec::new();
            jsonrpc::write_response(&mut buf, Some(&req.id), &Err(error));
            shared.deliver(&buf);
        }
        Err(Failure::Transport(why)) => {
            tracing::debug!(id = %req.id, method = req.method, "request failed: {why}");
            shared.fail(&req.id, why);
        }
    }
}

async fn request_outcome(shared: &Arc<Shared>, req: &OutRequest) -> Result<(), Failure> {
    let mut renewed = false;
    let mut authorized = 0;
    loop {
        let (headers, session_gen) = request_headers(shared, req);
        let sent_auth = auth::sent_authorization(&headers);
        let resp = shared
            .http
            .post(shared.url.clone())
            .headers(headers)
            .body(req.body.clone())
            .send()
            .await
            .map_err(|e| stream::network_error(shared, &e))?;
        let status = resp.status();
        if let (StatusCode::NOT_FOUND, Some(generation), false) = (status, session_gen, renewed) {
            if req.method != Initialize::METHOD {
                tracing::info!("the server ended the session (404); starting a new one");
                session::renew(shared, generation).await.map_err(|why| {
                    format!(
                        "the server ended the session (HTTP 404) and a new one could not be \
                         started: {why}"
                    )
                })?;
                renewed = true;
                continue;
            }
        }
        if let (Some(auth), Some(refusal)) = (
            &shared.opts.auth,
            Refusal::from_response(status, resp.headers(), sent_auth),
        ) {
            if authorized < auth::MAX_AUTHORIZATIONS {
                authorized += 1;
                auth.refused(&refusal).await.map_err(|why| {
                    format!("HTTP {status} from {}; cannot authorize: {why}", shared.url)
                })?;
                continue;
            }
        }
        if !status.is_success() {
            return Err(error_from_response(shared, resp, &req.id).await);
        }
        if req.method == Initialize::METHOD && req.modern.is_none() {
            session::capture(shared, &resp);
        }
        let mut ctx = Ctx::for_request(&req.id, &req.method, req.modern.is_some(), true);
        return Ok(read_answer(shared, resp, &mut ctx).await?);
    }
}

/// The headers of a request's POST, and the session generation if a session id went along.
fn request_headers(shared: &Shared, req: &OutRequest) -> (HeaderMap, Option<u64>) {
    let (mut h, generation) = match &req.modern {
        Some(version) => (modern_headers(shared, req, version), None),
        None => session::headers(shared, &Method::POST),
    };
    put_hints(&mut h, &req.hints);
    post_headers(&mut h);
    (h, generation)
}

/// Modern: the version from the request's `_meta`, `Mcp-Method`, and `Mcp-Name` from the
/// params field that `mcp_proto::methods::named_param` names.
fn modern_headers(shared: &Shared, req: &OutRequest, version: &str) -> HeaderMap {
    let mut h = shared.base_headers(&Method::POST);
    let mut put = |name: &str, value: &str| match (
        HeaderName::try_from(name),
        HeaderValue::from_str(value),
    ) {
        (Ok(n), Ok(v)) => {
            h.insert(n, v);
        }
        _ => tracing::warn!(header = name, "cannot send a header value; left out"),
    };
    put(PROTOCOL_VERSION, version);
    put("mcp-method", &encode_value(&req.method));
    if let Some(name) = name_of(&req.method, req.params.as_ref()) {
        put("mcp-name", &encode_value(&name));
    }
    h
}

/// What an HTTP error answer to our request `id` means: the JSON-RPC error it carries for
/// us, else a transport failure naming the status and an excerpt of the body (401: the
/// `WWW-Authenticate` challenge).
async fn error_from_response(shared: &Shared, resp: Response, id: &RequestId) -> Failure {
    let status = resp.status();
    let challenge = resp
        .headers()
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = read_capped(resp, 64 * 1024).await;
    if let Some(e) = jsonrpc_error(&body, id) {
        return Failure::Refused(e);
    }
    let mut message = format!("HTTP {status} from {}", shared.url);
    if status == StatusCode::UNAUTHORIZED {
        message.push_str(&match &challenge {
            Some(c) => format!(" (WWW-Authenticate: {c})"),
            None => " (no WWW-Authenticate header)".to_owned(),
        });
        message.push_str(if shared.opts.auth.is_some() {
            "; still refused after authorizing again"
        } else if shared.opts.bearer.is_some() {
            "; the bearer token was refused"
        } else {
            "; the server wants authentication: give a bearer token"
        });
    }
    let excerpt = stream::excerpt(&body);
    if !excerpt.is_empty() {
        message.push_str(": ");
        message.push_str(&excerpt);
    }
    Failure::Transport(message)
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
