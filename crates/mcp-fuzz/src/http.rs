//! The checks of the Streamable HTTP server on a POST: `Origin`/`Host`/bearer, media types,
//! the body's envelope, the modern headers mirroring the body (`MCP-Protocol-Version`,
//! `Mcp-Method`, `Mcp-Name`) and the `Mcp-Param-*` headers with their `=?base64?...?=` form.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use http::{HeaderMap, HeaderName, HeaderValue};
use mcp_http::fuzzing;
use mcp_http::HttpConfig;
use serde_json::{json, Value};

/// A server configuration chosen by `pick`.
fn config(pick: u8) -> HttpConfig {
    let mut cfg = HttpConfig::default();
    if pick & 1 != 0 {
        cfg.allowed_hosts = vec!["localhost".into(), "[::1]".into()];
    }
    if pick & 2 != 0 {
        cfg.allowed_origins = vec!["https://app.example".into()];
    }
    if pick & 4 != 0 {
        cfg.bearer_token = Some("s3cret".into());
    }
    cfg
}

/// A tool's input schema that mirrors arguments in headers.
fn schema() -> Value {
    json!({"type": "object", "properties": {
        "region": {"type": "string", "x-mcp-header": "Region"},
        "count": {"type": "number", "x-mcp-header": "Count"},
        "dry": {"type": "boolean", "x-mcp-header": "Dry-Run"},
        "inner": {"type": "object", "properties": {"key": {"type": "string", "x-mcp-header": "Key"}}},
        "odd": {"type": "string", "x-mcp-header": "Bad Name\u{e9}"}
    }})
}

/// Headers from `name: value` lines (lines that make no header are skipped).
fn headers(text: &[u8]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for line in text.split(|b| *b == b'\n') {
        let (name, value) = crate::split2(line, b':');
        let value = value.strip_prefix(b" ").unwrap_or(value);
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
            h.append(n, v);
        }
    }
    h
}

/// One byte choosing the server's configuration, header lines, an empty line, a body: every
/// check answers (a refusal with its own status), a header value that decodes comes back
/// the same through the `=?base64?...?=` form, and headers that pass the mirror check carry
/// the body's method.
pub fn http_headers(data: &[u8]) {
    let [pick, data @ ..] = data else {
        return;
    };
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let h = headers(head);
    let checked = fuzzing::post(&config(*pick), &h, body, &schema());
    assert!(
        matches!(checked.common, Ok(()) | Err(401 | 403)),
        "{checked:?}"
    );
    assert!(
        matches!(checked.media, Ok(()) | Err(406 | 415)),
        "{checked:?}"
    );
    assert!(matches!(checked.envelope, Ok(_) | Err(400)), "{checked:?}");
    if let Some(Err((code, why))) = &checked.mirror {
        assert!(*code < 0 && !why.is_empty());
    }
    if let Some(Err(why)) = &checked.params {
        assert!(!why.is_empty());
    }
    if let Some(Ok(())) = checked.mirror {
        let method = fuzzing::decoded_header(&h, "mcp-method");
        let body: Value = serde_json::from_slice(body).expect("the envelope parsed");
        assert_eq!(
            method.ok().flatten().as_deref(),
            Some(body["method"].as_str().unwrap_or_default())
        );
    }
    for name in h.keys() {
        if let Ok(Some(v)) = fuzzing::decoded_header(&h, name.as_str()) {
            sentinel_round_trip(&v);
        }
    }
}

/// `value` in the `=?base64?...?=` form decodes to itself.
fn sentinel_round_trip(value: &str) {
    let wire = format!("=?base64?{}?=", B64.encode(value));
    let mut h = HeaderMap::new();
    let v = HeaderValue::from_str(&wire).expect("base64 is a valid header value");
    h.insert("mcp-name", v);
    assert_eq!(
        fuzzing::decoded_header(&h, "mcp-name"),
        Ok(Some(value.to_owned()))
    );
}
