//! What every request must pass, and the shape of refusals: `Origin` and `Host` (DNS
//! rebinding), the bearer token, media types, and the parsed envelope of a POST body.

use crate::HttpConfig;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mcp_proto::lifecycle as lc;
use mcp_proto::methods::{CallTool, Request as _};
use serde_json::{json, Value};

/// A JSON-RPC error as an HTTP response (`id` omitted when unknown).
pub(crate) fn error(status: StatusCode, id: Option<&Value>, code: i64, message: &str) -> Response {
    let mut body = json!({"jsonrpc": "2.0", "error": {"code": code, "message": message}});
    if let Some(id) = id {
        body["id"] = id.clone();
    }
    json_response(status, body.to_string().into_bytes())
}

/// A JSON body with a status.
pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Whether `host` (a host name, without port) is a loopback name.
pub fn is_loopback_host(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "::1")
}

/// The host name of a `Host` header value or an origin's authority, without the port.
fn host_name(authority: &str) -> &str {
    if authority.starts_with('[') {
        return match authority.find(']') {
            Some(i) => &authority[..=i],
            None => authority,
        };
    }
    authority.split(':').next().unwrap_or(authority)
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// `Host` and `Origin` against the allowed hosts, and the bearer token.
pub(crate) fn common(cfg: &HttpConfig, h: &HeaderMap) -> Result<(), Response> {
    let allowed =
        |host: &str| cfg.allowed_hosts.is_empty() || cfg.allowed_hosts.iter().any(|a| a == host);
    if let Some(origin) = h.get(header::ORIGIN) {
        let o = origin.to_str().unwrap_or("");
        let authority = o.split_once("://").map(|(_, a)| a).unwrap_or("");
        let ok = cfg.allowed_origins.iter().any(|a| a == o)
            || (!authority.is_empty() && allowed(host_name(authority)));
        if !ok {
            let msg = format!("Origin {o:?} is not allowed");
            return Err(error(StatusCode::FORBIDDEN, None, -32600, &msg));
        }
    }
    if !cfg.allowed_hosts.is_empty() {
        let host = header_str(h, "host").map(host_name).unwrap_or("");
        if !allowed(host) {
            let msg = format!("Host {host:?} is not allowed");
            return Err(error(StatusCode::FORBIDDEN, None, -32600, &msg));
        }
    }
    #[cfg(feature = "oauth")]
    let bearer = cfg.bearer_token.as_ref().filter(|_| cfg.oauth.is_none());
    #[cfg(not(feature = "oauth"))]
    let bearer = cfg.bearer_token.as_ref();
    if let Some(token) = bearer {
        let given = header_str(h, "authorization").and_then(|a| a.strip_prefix("Bearer "));
        if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.as_bytes())) {
            let host = header_str(h, "host").unwrap_or("localhost");
            let challenge = format!(
                "Bearer error=\"invalid_token\", resource_metadata=\"http://{host}/.well-known/oauth-protected-resource{}\"",
                cfg.path
            );
            let mut r = error(
                StatusCode::UNAUTHORIZED,
                None,
                -32600,
                "missing or invalid bearer token",
            );
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            return Err(r);
        }
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `Content-Type: application/json`, and an `Accept` that takes both JSON and SSE.
pub(crate) fn post_media(h: &HeaderMap) -> Result<(), Response> {
    let ct = header_str(h, "content-type").unwrap_or("");
    if !ct.to_ascii_lowercase().starts_with("application/json") {
        let msg = format!("Content-Type must be application/json, not {ct:?}");
        return Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            -32600,
            &msg,
        ));
    }
    let accept = header_str(h, "accept").unwrap_or("").to_ascii_lowercase();
    let any = accept.contains("*/*");
    if !(any || accept.contains("application/json") && accept.contains("text/event-stream")) {
        return Err(error(
            StatusCode::NOT_ACCEPTABLE,
            None,
            -32600,
            "Accept must list both application/json and text/event-stream",
        ));
    }
    Ok(())
}

/// What the HTTP layer needs to know of a POST body before handing it to the engine.
pub(crate) struct Incoming {
    /// The id, for requests (and responses).
    pub id: Option<Value>,
    /// The method, for requests and notifications.
    pub method: Option<String>,
    /// The params field the `Mcp-Name` header mirrors (`name`, `uri` or `taskId`, as
    /// `named_param` says for the method).
    pub name: Option<String>,
    /// `_meta`'s protocol version: the request is modern.
    pub modern_version: Option<String>,
    /// `params.arguments` of a `tools/call`.
    pub arguments: Option<Value>,
    /// A modern retry's `params.requestState`.
    pub request_state: Option<String>,
    /// What a modern request's `_meta` lacks (`-32602` with 400 on the modern era).
    pub meta_problem: Option<String>,
}

impl Incoming {
    /// Parses the envelope; a body that is not one JSON-RPC message gets 400.
    pub fn parse(body: &[u8]) -> Result<Incoming, Response> {
        let v: Value = serde_json::from_slice(body).map_err(|e| {
            error(
                StatusCode::BAD_REQUEST,
                None,
                -32700,
                &format!("invalid JSON: {e}"),
            )
        })?;
        let Value::Object(obj) = v else {
            let what = if v.is_array() {
                "batches are not supported"
            } else {
                "not a JSON-RPC message"
            };
            return Err(error(
                StatusCode::BAD_REQUEST,
                None,
                -32600,
                &format!("the body must be one JSON-RPC message object ({what})"),
            ));
        };
        if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return Err(error(
                StatusCode::BAD_REQUEST,
                obj.get("id"),
                -32600,
                "\"jsonrpc\" must be \"2.0\"",
            ));
        }
        if let Some(why) = envelope_problem(&obj) {
            let id = obj.get("id").filter(|id| id.is_string() || id.is_number());
            return Err(error(StatusCode::BAD_REQUEST, id, -32600, why));
        }
        let params = obj.get("params");
        let method = obj.get("method").and_then(Value::as_str);
        let field = method.and_then(mcp_proto::methods::named_param);
        let name = params
            .and_then(|p| match field {
                Some(f) => p.get(f),
                None => p.get("name").or_else(|| p.get("uri")),
            })
            .and_then(Value::as_str)
            .map(str::to_owned);
        let modern_version = params
            .and_then(|p| p.get("_meta"))
            .and_then(|m| m.get(lc::META_PROTOCOL_VERSION))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let arguments = match method {
            Some(CallTool::METHOD) => params.and_then(|p| p.get("arguments")).cloned(),
            _ => None,
        };
        let meta_problem = match params.and_then(|p| p.get("_meta")).and_then(Value::as_object) {
            None => Some("missing params._meta: modern requests carry protocolVersion and clientCapabilities".to_owned()),
            Some(m) => [lc::META_PROTOCOL_VERSION, lc::META_CLIENT_CAPABILITIES]
                .into_iter()
                .find(|k| !m.contains_key(*k))
                .map(|k| format!("missing _meta[{k:?}]")),
        };
        let request_state = params
            .and_then(|p| p.get("requestState"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(Incoming {
            arguments,
            request_state,
            id: obj.get("id").cloned(),
            method: obj.get("method").and_then(Value::as_str).map(str::to_owned),
            name,
            modern_version,
            meta_problem,
        })
    }

    /// A request (has both id and method).
    pub fn is_request(&self) -> bool {
        self.id.is_some() && self.method.is_some()
    }
}

/// What makes an object no JSON-RPC message (a request, a notification or a response):
/// the engine would refuse it too, but its refusal would not reach this POST's answer.
fn envelope_problem(obj: &serde_json::Map<String, Value>) -> Option<&'static str> {
    match (obj.get("method"), obj.get("id")) {
        (Some(m), _) if !m.is_string() => Some("\"method\" must be a string"),
        (_, Some(id)) if !(id.is_string() || id.is_number() || id.is_null()) => {
            Some("\"id\" must be a string or a number")
        }
        (None, _) if !(obj.contains_key("result") || obj.contains_key("error")) => {
            Some("neither a request, a notification nor a response")
        }
        _ => None,
    }
}

/// A header value, decoding the `=?base64?...?=` sentinel form.
pub(crate) fn decoded_header(h: &HeaderMap, name: &str) -> Result<Option<String>, String> {
    let Some(raw) = h.get(name) else {
        return Ok(None);
    };
    let s = raw
        .to_str()
        .map_err(|_| format!("{name} has characters that are not visible ASCII"))?;
    match s
        .strip_prefix("=?base64?")
        .and_then(|r| r.strip_suffix("?="))
    {
        Some(b64) => {
            use base64::Engine;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| format!("{name} is not valid base64 in its =?base64?...?= form"))?;
            String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| format!("{name} does not decode to UTF-8"))
        }
        None => Ok(Some(s.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names() {
        assert_eq!(host_name("localhost:8080"), "localhost");
        assert_eq!(host_name("[::1]:3000"), "[::1]");
        assert_eq!(host_name("example.com"), "example.com");
    }

    #[test]
    fn sentinel_headers_decode() {
        let mut h = HeaderMap::new();
        h.insert(
            "mcp-name",
            HeaderValue::from_static("=?base64?SGVsbG8sIOS4lueVjA==?="),
        );
        assert_eq!(
            decoded_header(&h, "mcp-name").unwrap().as_deref(),
            Some("Hello, 世界")
        );
        h.insert("mcp-name", HeaderValue::from_static("plain"));
        assert_eq!(
            decoded_header(&h, "mcp-name").unwrap().as_deref(),
            Some("plain")
        );
        h.insert("mcp-name", HeaderValue::from_static("=?base64?%%%?="));
        assert!(decoded_header(&h, "mcp-name").is_err());
    }

    #[test]
    fn bodies_are_one_message() {
        assert!(Incoming::parse(b"[]").is_err());
        assert!(Incoming::parse(b"{").is_err());
        assert!(Incoming::parse(br#"{"jsonrpc":"1.0","id":1,"method":"x"}"#).is_err());
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": CallTool::METHOD, "params": {
            "name": "t", "_meta": {(lc::META_PROTOCOL_VERSION): "2026-07-28"}}});
        let m = Incoming::parse(body.to_string().as_bytes()).ok().unwrap();
        assert_eq!(m.name.as_deref(), Some("t"));
        assert_eq!(m.modern_version.as_deref(), Some("2026-07-28"));
        assert!(m.is_request());
    }
}
