//! The resource server's settings: this resource, its authorization servers, scopes, and
//! how tokens are checked.

use reqwest::Url;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// How access tokens are checked.
#[derive(Clone)]
pub enum TokenValidation {
    /// JWTs signed by an authorization server: its keys from `jwks_uri`, or from the
    /// `jwks_uri` of its metadata (RFC 8414, then OpenID discovery) when `None`.
    Jwt {
        /// The JWK set's URL, when not discovered from the issuer.
        jwks_uri: Option<String>,
    },
    /// Token introspection (RFC 7662), authenticated with the resource server's own client
    /// credentials (HTTP Basic).
    Introspection {
        /// The introspection endpoint.
        endpoint: String,
        /// The resource server's client id at the authorization server.
        client_id: String,
        /// Its client secret.
        client_secret: String,
    },
}

impl fmt::Debug for TokenValidation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenValidation::Jwt { jwks_uri } => {
                f.debug_struct("Jwt").field("jwks_uri", jwks_uri).finish()
            }
            TokenValidation::Introspection {
                endpoint,
                client_id,
                ..
            } => f
                .debug_struct("Introspection")
                .field("endpoint", endpoint)
                .field("client_id", client_id)
                .field("client_secret", &"<redacted>")
                .finish(),
        }
    }
}

/// A configuration the resource server cannot run with.
#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    /// A URL that does not parse or is not absolute.
    #[error("{what} {url:?} is not an absolute http(s) URL")]
    BadUrl {
        /// Which setting.
        what: &'static str,
        /// Its value.
        url: String,
    },
    /// Plain HTTP to a host other than loopback.
    #[error("{what} {url:?} must use https (plain http only on loopback)")]
    NotHttps {
        /// Which setting.
        what: &'static str,
        /// Its value.
        url: String,
    },
    /// No authorization server.
    #[error("at least one authorization server (issuer) is needed")]
    NoIssuer,
}

/// An OAuth 2.1 resource server: what `HttpConfig::oauth` turns on instead of a fixed
/// bearer token. Fields other than the resource and issuers have defaults.
#[derive(Debug, Clone)]
pub struct ResourceServer {
    /// The canonical URI of this MCP endpoint (`https://mcp.example.com/mcp`): tokens must
    /// name it in `aud` (RFC 8707), and the metadata document names it.
    pub resource: String,
    /// The authorization servers' issuer identifiers; a token's `iss` must be one of them.
    pub issuers: Vec<String>,
    /// How tokens are checked.
    pub validation: TokenValidation,
    /// Scopes every request needs.
    pub required_scopes: Vec<String>,
    /// Further scopes a `tools/call` of a tool needs, by tool name.
    pub tool_scopes: BTreeMap<String, Vec<String>>,
    /// `scopes_supported` of the metadata (empty: `required_scopes`, the minimal set for
    /// basic use; the tools' scopes come by step-up).
    pub scopes_supported: Vec<String>,
    /// `resource_name` of the metadata.
    pub resource_name: Option<String>,
    /// Clock skew allowed on `exp` and `nbf` (default 30 s).
    pub leeway: Duration,
    /// Timeout of each request to the authorization server (default 5 s).
    pub fetch_timeout: Duration,
    /// Keys are fetched again when older than this (default 1 hour).
    pub jwks_max_age: Duration,
    /// Least time between two fetches of the keys, however many unknown `kid`s come
    /// (default 30 s).
    pub jwks_min_refetch: Duration,
    /// How long an introspection answer is reused (default 60 s; never past the token's `exp`).
    pub introspection_ttl: Duration,
    /// Most introspection answers kept (default 10,000).
    pub introspection_cache: usize,
}

impl ResourceServer {
    /// JWT access tokens for `resource` from these issuers, their keys discovered.
    pub fn jwt(
        resource: impl Into<String>,
        issuers: Vec<String>,
    ) -> Result<ResourceServer, AuthConfigError> {
        ResourceServer::with(
            resource.into(),
            issuers,
            TokenValidation::Jwt { jwks_uri: None },
        )
    }

    /// Any validation; the URLs are checked (absolute; https unless on loopback).
    pub fn with(
        resource: String,
        issuers: Vec<String>,
        validation: TokenValidation,
    ) -> Result<ResourceServer, AuthConfigError> {
        check_url("the resource", &resource, false)?;
        if issuers.is_empty() {
            return Err(AuthConfigError::NoIssuer);
        }
        for i in &issuers {
            check_url("the issuer", i, true)?;
        }
        match &validation {
            TokenValidation::Jwt {
                jwks_uri: Some(uri),
            } => check_url("the JWKS URL", uri, true)?,
            TokenValidation::Jwt { jwks_uri: None } => {}
            TokenValidation::Introspection { endpoint, .. } => {
                check_url("the introspection endpoint", endpoint, true)?
            }
        }
        Ok(ResourceServer {
            resource,
            issuers,
            validation,
            required_scopes: Vec::new(),
            tool_scopes: BTreeMap::new(),
            scopes_supported: Vec::new(),
            resource_name: None,
            leeway: Duration::from_secs(30),
            fetch_timeout: Duration::from_secs(5),
            jwks_max_age: Duration::from_secs(3600),
            jwks_min_refetch: Duration::from_secs(30),
            introspection_ttl: Duration::from_secs(60),
            introspection_cache: 10_000,
        })
    }

    /// The path of the metadata document (RFC 9728 §3.1: the well-known name inserted
    /// before the resource's path).
    pub fn metadata_path(&self) -> String {
        let path = Url::parse(&self.resource)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        format!("/.well-known/oauth-protected-resource{path}")
    }

    /// The metadata document's URL, named in challenges.
    pub(crate) fn metadata_url(&self) -> String {
        match Url::parse(&self.resource) {
            Ok(u) => format!(
                "{}{}",
                u.origin().ascii_serialization(),
                self.metadata_path()
            ),
            Err(_) => self.metadata_path(),
        }
    }

    /// Every scope a request needs: the common ones, then `tool`'s.
    pub(crate) fn scopes_for(&self, tool: Option<&str>) -> Vec<String> {
        let mut out = self.required_scopes.clone();
        if let Some(extra) = tool.and_then(|t| self.tool_scopes.get(t)) {
            for s in extra {
                if !out.contains(s) {
                    out.push(s.clone());
                }
            }
        }
        out
    }
}

/// An absolute http(s) URL without fragment; with `https`, plain http only on loopback.
fn check_url(what: &'static str, url: &str, https: bool) -> Result<(), AuthConfigError> {
    let bad = || AuthConfigError::BadUrl {
        what,
        url: url.to_owned(),
    };
    let u = Url::parse(url).map_err(|_| bad())?;
    if !matches!(u.scheme(), "http" | "https") || u.fragment().is_some() || u.host().is_none() {
        return Err(bad());
    }
    let host = u.host_str().unwrap_or("");
    let loopback = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if https && u.scheme() == "http" && !loopback {
        return Err(AuthConfigError::NotHttps {
            what,
            url: url.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_path_inserts_the_well_known_name() {
        let rs = ResourceServer::jwt(
            "https://mcp.example.com/v1/mcp",
            vec!["https://as.example.com".into()],
        )
        .unwrap();
        assert_eq!(
            rs.metadata_path(),
            "/.well-known/oauth-protected-resource/v1/mcp"
        );
        assert_eq!(
            rs.metadata_url(),
            "https://mcp.example.com/.well-known/oauth-protected-resource/v1/mcp"
        );
    }

    #[test]
    fn plain_http_only_on_loopback() {
        let r = "https://mcp.example.com/mcp";
        assert!(ResourceServer::jwt(r, vec!["http://as.example.com".into()]).is_err());
        assert!(ResourceServer::jwt(r, vec!["http://127.0.0.1:9000".into()]).is_ok());
        assert!(ResourceServer::jwt(r, vec![]).is_err());
        assert!(ResourceServer::jwt("/mcp", vec!["https://as.example.com".into()]).is_err());
    }
}
