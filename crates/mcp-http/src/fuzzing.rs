//! Entry points for the fuzz targets (crate `mcp-fuzz`), compiled with the `fuzzing` feature:
//! the checks a POST's headers and body go through, and the SSE writer, without a running
//! server. Not a stable API.

use crate::checks::{self, Incoming};
use crate::{modern, params, sse, HttpConfig};
use axum::body::Bytes;
use axum::http::HeaderMap;
use serde_json::Value;

/// What the checks said of one POST: `Err` holds the HTTP status (and, for the modern
/// header mirror, the JSON-RPC code and message).
#[derive(Debug)]
pub struct Checked {
    /// `Origin`, `Host` and the bearer token.
    pub common: Result<(), u16>,
    /// `Content-Type` and `Accept`.
    pub media: Result<(), u16>,
    /// The body's envelope; `Ok(true)` for a request.
    pub envelope: Result<bool, u16>,
    /// The modern headers that mirror the body (`MCP-Protocol-Version`, `Mcp-Method`,
    /// `Mcp-Name`), when the envelope parsed.
    pub mirror: Option<Result<(), (i64, String)>>,
    /// The `Mcp-Param-*` headers against the tool's `schema`, when the envelope parsed.
    pub params: Option<Result<(), String>>,
}

/// Runs every check of a POST with headers `h` and `body` against `cfg`; `schema` stands for
/// the called tool's input schema.
pub fn post(cfg: &HttpConfig, h: &HeaderMap, body: &[u8], schema: &Value) -> Checked {
    let status = |r: axum::response::Response| r.status().as_u16();
    let incoming = Incoming::parse(body);
    let (mirror, params) = match &incoming {
        Ok(msg) => (
            Some(modern::check_headers(h, msg)),
            Some(params::check(h, schema, msg.arguments.as_ref())),
        ),
        Err(_) => (None, None),
    };
    Checked {
        common: checks::common(cfg, h).map_err(status),
        media: checks::post_media(h).map_err(status),
        envelope: incoming.map(|m| m.is_request()).map_err(status),
        mirror,
        params,
    }
}

/// A header value, decoding the `=?base64?...?=` sentinel form.
pub fn decoded_header(h: &HeaderMap, name: &str) -> Result<Option<String>, String> {
    checks::decoded_header(h, name)
}

/// One SSE event as the server writes it.
pub fn sse_event(id: Option<&str>, data: &[u8]) -> Bytes {
    sse::format(id, data)
}
