//! The hook through which an authorization scheme gives the transport its credentials and
//! hears of refusals ([`Authorizer`]; OAuth 2.1 is [`crate::oauth::OAuth`]), and the reading
//! of a `WWW-Authenticate` challenge (RFC 6750 §3, RFC 9728 §5.1).
//!
//! A request refused with 401, or with 403 whose challenge says `insufficient_scope`, is
//! handed to the authorizer, which gets new credentials (a refresh, a new authorization, a
//! step-up with more scopes); the request is then sent again. A request is re-authorized at
//! most [`MAX_AUTHORIZATIONS`] times, so a server that keeps refusing cannot loop the client.

use reqwest::header::{HeaderMap, AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use std::future::Future;
use std::pin::Pin;

/// A boxed future borrowing for `'a` (the authorizer's and the user agent's calls).
pub type AuthFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Most re-authorizations for one request before its refusal stands.
pub const MAX_AUTHORIZATIONS: u32 = 2;

/// Gives requests their credentials and gets new ones when the server refuses them.
pub trait Authorizer: Send + Sync {
    /// Puts the current credentials (`Authorization`, and e.g. a `DPoP` proof) on a request
    /// to `url`. Nothing when there are none yet.
    fn credentials(&self, method: &Method, url: &reqwest::Url, headers: &mut HeaderMap);

    /// The server refused a request; get credentials it will take. `Err` names why none can
    /// be had (the refusal then stands, with that sentence).
    fn refused<'a>(&'a self, refusal: &'a Refusal) -> AuthFuture<'a, Result<(), String>>;
}

/// A refusal of a request by the server: what the authorizer needs to know of it.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// 401 or 403.
    pub status: StatusCode,
    /// The `Bearer` (or `DPoP`) challenge's parameters, if the server sent one.
    pub challenge: Challenge,
    /// The `Authorization` value the refused request carried (to tell whether another
    /// request has already got new credentials meanwhile).
    pub sent: Option<String>,
    /// The `DPoP-Nonce` the server wants in the next proof (RFC 9449 §9).
    pub nonce: Option<String>,
}

/// The parameters of a `Bearer`/`DPoP` challenge; every field is as the server sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Challenge {
    /// `error` (`invalid_token`, `insufficient_scope`, ...).
    pub error: Option<String>,
    /// `error_description`.
    pub error_description: Option<String>,
    /// `scope`: the scopes the request needs, space separated.
    pub scope: Option<String>,
    /// `resource_metadata`: the protected resource metadata URL (RFC 9728 §5.1).
    pub resource_metadata: Option<String>,
}

impl Refusal {
    /// The refusal an authorizer should see, if `status` and `headers` are one: 401, or 403
    /// with `error="insufficient_scope"`.
    pub fn from_response(
        status: StatusCode,
        headers: &HeaderMap,
        sent: Option<String>,
    ) -> Option<Refusal> {
        let challenge = headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(Challenge::parse)
            .unwrap_or_default();
        let step_up = status == StatusCode::FORBIDDEN
            && challenge.error.as_deref() == Some("insufficient_scope");
        let nonce = headers
            .get("dpop-nonce")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (status == StatusCode::UNAUTHORIZED || step_up).then_some(Refusal {
            status,
            challenge,
            sent,
            nonce,
        })
    }
}

impl Challenge {
    /// Reads the first `Bearer` or `DPoP` challenge of a `WWW-Authenticate` value; `None`
    /// when it has neither. Unknown parameters are skipped; a malformed tail ends reading.
    pub fn parse(header: &str) -> Option<Challenge> {
        let mut rest = header.trim_start();
        loop {
            let (scheme, after) = split_token(rest);
            if scheme.is_empty() {
                return None;
            }
            let (params, next) = read_params(after);
            if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("dpop") {
                let mut c = Challenge::default();
                for (k, v) in params {
                    let slot = match k.to_ascii_lowercase().as_str() {
                        "error" => &mut c.error,
                        "error_description" => &mut c.error_description,
                        "scope" => &mut c.scope,
                        "resource_metadata" => &mut c.resource_metadata,
                        _ => continue,
                    };
                    slot.get_or_insert(v);
                }
                return Some(c);
            }
            rest = next?;
        }
    }
}

/// A token (RFC 9110 `tchar`s) and what follows it, leading spaces trimmed.
fn split_token(s: &str) -> (&str, &str) {
    let end = s
        .char_indices()
        .find(|&(_, ch)| !is_tchar(ch))
        .map_or(s.len(), |(i, _)| i);
    (&s[..end], s[end..].trim_start())
}

fn is_tchar(ch: char) -> bool {
    ch.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(ch)
}

/// The `name=value` parameters of one challenge, and the rest of the header after the comma
/// that starts the next challenge (if any).
fn read_params(mut s: &str) -> (Vec<(String, String)>, Option<&str>) {
    let mut params = Vec::new();
    loop {
        s = s.trim_start_matches([' ', '\t', ',']);
        let (name, after) = split_token(s);
        if name.is_empty() {
            return (params, None);
        }
        let Some(after_eq) = after.strip_prefix('=') else {
            // A token without `=`: the scheme of the next challenge (or a token68).
            return (params, Some(s));
        };
        let after_eq = after_eq.trim_start();
        let (value, rest) = match after_eq.strip_prefix('"') {
            Some(quoted) => match read_quoted(quoted) {
                Some(v) => v,
                None => return (params, None),
            },
            None => {
                let (v, r) = split_token(after_eq);
                (v.to_owned(), r)
            }
        };
        params.push((name.to_owned(), value));
        s = rest;
    }
}

/// A quoted string's content (after its opening quote), with `\x` escapes undone, and the
/// rest after the closing quote; `None` when it is not closed.
fn read_quoted(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, ch)) = chars.next() {
        match ch {
            '"' => return Some((out, &s[i + 1..])),
            '\\' => out.push(chars.next()?.1),
            _ => out.push(ch),
        }
    }
    None
}

/// The `Authorization` value among `headers`, for [`Refusal::sent`].
pub(crate) fn sent_authorization(headers: &HeaderMap) -> Option<String> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bearer_parameters_quoted_and_bare() {
        let c = Challenge::parse(
            r#"Bearer error="insufficient_scope", scope="a b", resource_metadata="http://x/.well-known/oauth-protected-resource/mcp", error_description="say \"hi\"""#,
        )
        .unwrap();
        assert_eq!(c.error.as_deref(), Some("insufficient_scope"));
        assert_eq!(c.scope.as_deref(), Some("a b"));
        assert_eq!(
            c.resource_metadata.as_deref(),
            Some("http://x/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(c.error_description.as_deref(), Some("say \"hi\""));
        let bare = Challenge::parse("bearer error=invalid_token").unwrap();
        assert_eq!(bare.error.as_deref(), Some("invalid_token"));
    }

    #[test]
    fn finds_bearer_after_another_scheme_and_survives_garbage() {
        let c = Challenge::parse(r#"Basic realm="x", Bearer scope="s""#).unwrap();
        assert_eq!(c.scope.as_deref(), Some("s"));
        assert_eq!(Challenge::parse(r#"Basic realm="x""#), None);
        assert_eq!(Challenge::parse(""), None);
        // Unclosed quote, stray '=', non-ASCII: no panic, what was read is kept.
        let c = Challenge::parse("Bearer error=\"x\", scope=\"unterminated").unwrap();
        assert_eq!(c.error.as_deref(), Some("x"));
        assert_eq!(c.scope, None);
        assert!(Challenge::parse("Bearer =é, ü=\"").is_some());
        assert!(Challenge::parse("Bearer").is_some());
    }

    /// Peer input: any header value reads without a panic, and a parameter read back from
    /// a challenge we write is what we wrote.
    #[test]
    fn any_header_reads_and_written_values_read_back() {
        let alphabet: Vec<char> = "Bearer DPoP basic scope error=\"\\,; \t=é日\u{0}x_-."
            .chars()
            .collect();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            let s: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let _ = Challenge::parse(&s);
            let quoted = s.replace('\\', "\\\\").replace('"', "\\\"");
            let header = format!("Bearer error=\"e\", scope=\"{quoted}\", x=y");
            let c = Challenge::parse(&header).expect("a Bearer challenge");
            assert_eq!(c.scope.as_deref(), Some(s.as_str()), "{header}");
            assert_eq!(c.error.as_deref(), Some("e"));
        }
    }

    #[test]
    fn only_401_and_insufficient_scope_403_are_refusals() {
        let mut h = HeaderMap::new();
        assert!(Refusal::from_response(StatusCode::UNAUTHORIZED, &h, None).is_some());
        assert!(Refusal::from_response(StatusCode::FORBIDDEN, &h, None).is_none());
        h.insert(
            WWW_AUTHENTICATE,
            r#"Bearer error="insufficient_scope", scope="w""#.parse().unwrap(),
        );
        let r = Refusal::from_response(StatusCode::FORBIDDEN, &h, None).unwrap();
        assert_eq!(r.challenge.scope.as_deref(), Some("w"));
        assert!(Refusal::from_response(StatusCode::NOT_FOUND, &h, None).is_none());
    }
}
