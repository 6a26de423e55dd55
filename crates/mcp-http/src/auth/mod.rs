//! OAuth 2.1 resource server (the MCP authorization spec): bearer access tokens checked as
//! JWTs against the authorization server's keys (`jwt.rs`) or by introspection
//! (`introspect.rs`, RFC 7662); the audience must be this resource (RFC 8707); scopes for
//! every request and per tool; RFC 6750 challenges naming the protected resource metadata
//! (RFC 9728, `metadata`). Tokens are never logged: a short hash stands for one.

mod config;
mod fetch;
mod introspect;
mod jwt;

pub use config::{AuthConfigError, ResourceServer, TokenValidation};

use crate::checks;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Longest bearer token accepted (bytes).
const MAX_TOKEN: usize = 16 * 1024;

/// Who a valid token speaks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// `sub`: the user (or client) the token was issued for.
    pub subject: Option<String>,
    /// `client_id` (or `azp`): the client the token was issued to.
    pub client_id: Option<String>,
    /// The token's scopes.
    pub scopes: Vec<String>,
}

/// Why a request is refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
    /// No bearer token (401, a challenge without an error code, RFC 6750 §3.1).
    #[error("this endpoint needs an OAuth bearer token (Authorization: Bearer ...)")]
    Missing,
    /// The token is not valid here (401 `invalid_token`).
    #[error("{0}")]
    Invalid(String),
    /// The token lacks scopes (403 `insufficient_scope`); the scopes the request needs.
    #[error("the token lacks the scopes this request needs: {}", .0.join(" "))]
    Insufficient(Vec<String>),
    /// The token could not be checked (503): the authorization server is unreachable.
    #[error("{0}")]
    Unavailable(String),
}

/// The resource server at run time: the configuration, its HTTP client, the validator.
pub(crate) struct Auth {
    cfg: ResourceServer,
    metadata_url: String,
    validator: Validator,
    /// Refusals by kind, in the order of [`REFUSAL_KINDS`], for `/metrics`.
    refusals: [AtomicU64; 4],
}

/// The `reason` label of each kind of refusal.
const REFUSAL_KINDS: [&str; 4] = [
    "missing_token",
    "invalid_token",
    "insufficient_scope",
    "unavailable",
];

enum Validator {
    Jwt(jwt::Keys),
    Introspect(introspect::Introspector),
}

impl Auth {
    pub(crate) fn new(cfg: ResourceServer) -> Auth {
        let http = fetch::client(cfg.fetch_timeout);
        let validator = match &cfg.validation {
            TokenValidation::Jwt { jwks_uri } => {
                Validator::Jwt(jwt::Keys::new(http, &cfg.issuers, jwks_uri.clone()))
            }
            TokenValidation::Introspection {
                endpoint,
                client_id,
                client_secret,
            } => Validator::Introspect(introspect::Introspector::new(
                http,
                endpoint.clone(),
                client_id.clone(),
                client_secret.clone(),
            )),
        };
        Auth {
            metadata_url: cfg.metadata_url(),
            cfg,
            validator,
            refusals: Default::default(),
        }
    }

    /// The bearer token of the request, checked; then the scopes every request needs.
    pub(crate) async fn authenticate(&self, h: &HeaderMap) -> Result<Identity, Refusal> {
        let token = bearer(h)?;
        let checked = match &self.validator {
            Validator::Jwt(keys) => keys.validate(&self.cfg, token).await,
            Validator::Introspect(i) => i.validate(&self.cfg, token).await,
        };
        match &checked {
            Ok(id) => {
                tracing::debug!(token = %short_hash(token), subject = ?id.subject, "bearer token accepted")
            }
            Err(why) => tracing::debug!(token = %short_hash(token), "bearer token refused: {why}"),
        }
        let id = checked?;
        self.authorize(&id, None)?;
        Ok(id)
    }

    /// The scopes needed for every request and for a call of `tool`, against the token's.
    pub(crate) fn authorize(&self, id: &Identity, tool: Option<&str>) -> Result<(), Refusal> {
        let needed = self.cfg.scopes_for(tool);
        if needed.iter().all(|s| id.scopes.contains(s)) {
            Ok(())
        } else {
            Err(Refusal::Insufficient(needed))
        }
    }

    /// The refusal as an HTTP response: a JSON-RPC error and, for 401/403, the challenge.
    pub(crate) fn refuse(&self, r: &Refusal, id: Option<&Value>) -> Response {
        let sentence = r.to_string();
        let kind = match r {
            Refusal::Missing => 0,
            Refusal::Invalid(_) => 1,
            Refusal::Insufficient(_) => 2,
            Refusal::Unavailable(_) => 3,
        };
        self.refusals[kind].fetch_add(1, Ordering::Relaxed);
        let (status, challenge) = match r {
            Refusal::Missing => (StatusCode::UNAUTHORIZED, Some(self.challenge(None, None))),
            Refusal::Invalid(why) => (
                StatusCode::UNAUTHORIZED,
                Some(self.challenge(Some(("invalid_token", why)), None)),
            ),
            Refusal::Insufficient(needed) => (
                StatusCode::FORBIDDEN,
                Some(self.challenge(Some(("insufficient_scope", &sentence)), Some(needed))),
            ),
            Refusal::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, None),
        };
        let mut resp = checks::error(status, id, -32600, &sentence);
        if let Some(v) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        if matches!(r, Refusal::Unavailable(_)) {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        resp
    }

    /// Its counters in Prometheus' text format.
    pub(crate) fn metrics(&self, out: &mut String) {
        let name = "mcp_http_auth_refusals_total";
        let _ = writeln!(
            out,
            "# HELP {name} Requests refused by the OAuth resource server, by reason.\n# TYPE {name} counter"
        );
        for (reason, n) in REFUSAL_KINDS.iter().zip(&self.refusals) {
            let n = n.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}{{reason=\"{reason}\"}} {n}");
        }
    }

    /// `Bearer error="...", error_description="...", scope="...", resource_metadata="..."`.
    fn challenge(&self, error: Option<(&str, &str)>, scopes: Option<&[String]>) -> String {
        let mut parts = Vec::new();
        if let Some((code, why)) = error {
            parts.push(format!("error=\"{code}\""));
            parts.push(format!("error_description=\"{}\"", quoted_safe(why)));
        }
        let scopes = scopes.map_or_else(|| self.cfg.scopes_for(None), <[String]>::to_vec);
        if !scopes.is_empty() {
            parts.push(format!("scope=\"{}\"", quoted_safe(&scopes.join(" "))));
        }
        parts.push(format!("resource_metadata=\"{}\"", self.metadata_url));
        format!("Bearer {}", parts.join(", "))
    }

    /// The protected resource metadata document (RFC 9728).
    pub(crate) fn metadata(&self) -> Value {
        let c = &self.cfg;
        let mut doc = json!({
            "resource": c.resource,
            "authorization_servers": c.issuers,
            "bearer_methods_supported": ["header"],
        });
        // The spec's "minimal set of scopes necessary for basic functionality" unless
        // configured: a tool's further scopes come by step-up (403 insufficient_scope).
        let mut supported = c.scopes_supported.clone();
        if supported.is_empty() {
            supported.clone_from(&c.required_scopes);
        }
        if !supported.is_empty() {
            doc["scopes_supported"] = json!(supported);
        }
        if let Some(name) = &c.resource_name {
            doc["resource_name"] = json!(name);
        }
        doc
    }
}

/// The bearer token of `Authorization` (the scheme in any case, RFC 7235).
fn bearer(h: &HeaderMap) -> Result<&str, Refusal> {
    let Some(value) = h.get(header::AUTHORIZATION) else {
        return Err(Refusal::Missing);
    };
    let value = value.to_str().map_err(|_| {
        Refusal::Invalid("the Authorization header is not visible ASCII".to_owned())
    })?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Refusal::Missing);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(Refusal::Invalid("the bearer token is empty".to_owned()));
    }
    if token.len() > MAX_TOKEN {
        return Err(Refusal::Invalid(format!(
            "the bearer token is longer than {MAX_TOKEN} bytes"
        )));
    }
    Ok(token)
}

/// A short stand-in for a token in logs: the first 8 hex digits of its SHA-256.
pub(crate) fn short_hash(token: &str) -> String {
    let d = Sha256::digest(token.as_bytes());
    d.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// Text safe inside a quoted challenge parameter (RFC 6750 allows no `"` or `\`).
fn quoted_safe(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            c if (' '..='~').contains(&c) => c,
            _ => '?',
        })
        .collect()
}

/// Seconds since the epoch.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

/// Scopes from a `scope` string (space-separated) or an `scp` array (or string).
fn scopes_of(scope: Option<&Value>, scp: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in [scope, scp].into_iter().flatten() {
        match v {
            Value::String(s) => out.extend(s.split_ascii_whitespace().map(str::to_owned)),
            Value::Array(a) => out.extend(a.iter().filter_map(Value::as_str).map(str::to_owned)),
            _ => {}
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|s| seen.insert(s.clone()));
    out
}

/// Whether `aud` (a string or an array of strings) names `resource`.
fn audience_has(aud: Option<&Value>, resource: &str) -> bool {
    match aud {
        Some(Value::String(s)) => s == resource,
        Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(resource)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_from_either_claim() {
        let s = json!("a b  c");
        assert_eq!(scopes_of(Some(&s), None), ["a", "b", "c"]);
        let a = json!(["x", "y"]);
        assert_eq!(scopes_of(None, Some(&a)), ["x", "y"]);
        assert!(scopes_of(None, None).is_empty());
    }

    #[test]
    fn challenge_text_has_no_quotes() {
        assert_eq!(quoted_safe("a \"b\" \\ é"), "a 'b' ' ?");
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bEaReR abc"),
        );
        assert_eq!(bearer(&h).ok(), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert!(matches!(bearer(&h), Err(Refusal::Missing)));
    }
}
