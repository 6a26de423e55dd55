//! Finding the authorization server of an MCP server: the protected resource metadata
//! (RFC 9728) named by the challenge or at its well-known places, the check that it
//! describes this server, then the authorization server's metadata (RFC 8414, OpenID Connect
//! discovery) in the order the MCP authorization spec gives, whose `issuer` must be the one
//! it was looked up for (RFC 8414 §3.3). A server with no resource metadata is treated as the
//! 2025-03-26 spec had it: its own origin is the authorization server, with the default
//! endpoints when it publishes no metadata either.

use super::fetch::Fetch;
use super::AuthError;
use reqwest::Url;
use serde::Deserialize;

/// A protected resource metadata document, as far as a client uses it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ResourceMetadata {
    pub resource: String,
    #[serde(default)]
    pub authorization_servers: Vec<String>,
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
}

/// An authorization server's metadata, as far as a client uses it.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ServerMetadata {
    /// The issuer identifier; empty for the 2025-03-26 default endpoints (no metadata).
    #[serde(default)]
    pub issuer: String,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub registration_endpoint: Option<String>,
    pub scopes_supported: Option<Vec<String>>,
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    pub code_challenge_methods_supported: Option<Vec<String>>,
    pub client_id_metadata_document_supported: Option<bool>,
    pub authorization_response_iss_parameter_supported: Option<bool>,
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
    /// False for the defaults assumed when a 2025-03-26 server publishes nothing.
    #[serde(skip)]
    pub published: bool,
}

impl ServerMetadata {
    /// The token endpoint (every flow needs one).
    pub fn token_endpoint(&self) -> Result<&str, AuthError> {
        self.token_endpoint.as_deref().ok_or_else(|| {
            AuthError::Metadata(format!(
                "the authorization server {} publishes no token_endpoint",
                self.issuer
            ))
        })
    }

    /// Whether the server lists `scope` in `scopes_supported`.
    pub fn supports_scope(&self, scope: &str) -> bool {
        self.scopes_supported
            .as_ref()
            .is_some_and(|s| s.iter().any(|x| x == scope))
    }
}

/// The resource metadata of `server`: from the challenge's `resource_metadata` if given,
/// else the path-based well-known URL, then the root one. `None` when there is none.
pub(crate) async fn resource_metadata(
    fetch: &Fetch,
    server: &Url,
    hinted: Option<&str>,
) -> Result<Option<ResourceMetadata>, AuthError> {
    let mut candidates = Vec::new();
    if let Some(h) = hinted {
        let url = Url::parse(h).map_err(|e| {
            AuthError::Metadata(format!("the challenge's resource_metadata {h:?}: {e}"))
        })?;
        candidates.push(url);
    }
    candidates.extend(well_known(server, "oauth-protected-resource"));
    for url in candidates {
        if let Some(doc) = fetch.get_json::<ResourceMetadata>(&url).await? {
            check_resource(server, &doc.resource)?;
            return Ok(Some(doc));
        }
    }
    Ok(None)
}

/// `/.well-known/NAME` with the URL's path appended (when it has one), then at the root.
fn well_known(url: &Url, name: &str) -> Vec<Url> {
    let path = url.path().trim_end_matches('/');
    let mut out = Vec::new();
    for p in [
        format!("/.well-known/{name}{path}"),
        format!("/.well-known/{name}"),
    ] {
        let mut u = url.clone();
        u.set_path(&p);
        u.set_query(None);
        u.set_fragment(None);
        if !out.contains(&u) {
            out.push(u);
        }
    }
    out
}

/// The metadata's `resource` must be this server: same origin, and the server's path
/// within the resource's (RFC 9728 §3.3 and §7.3: metadata for another resource is refused).
pub(crate) fn check_resource(server: &Url, resource: &str) -> Result<(), AuthError> {
    let mismatch = || AuthError::ResourceMismatch {
        resource: resource.to_owned(),
        server: server.to_string(),
    };
    let r = Url::parse(resource).map_err(|_| mismatch())?;
    if r.origin() != server.origin() {
        return Err(mismatch());
    }
    let rp = r.path().trim_end_matches('/');
    let sp = server.path().trim_end_matches('/');
    let within = sp == rp || sp.starts_with(&format!("{rp}/"));
    within.then_some(()).ok_or_else(mismatch)
}

/// The metadata of the authorization server `issuer`: RFC 8414 at the path-inserted
/// well-known URL, then OpenID Connect discovery (path inserted, then appended); without a
/// path, RFC 8414 then OpenID at the root. Its `issuer` must equal `issuer` exactly.
pub(crate) async fn server_metadata(
    fetch: &Fetch,
    issuer: &str,
) -> Result<ServerMetadata, AuthError> {
    let base = Url::parse(issuer)
        .map_err(|e| AuthError::Metadata(format!("authorization server {issuer:?}: {e}")))?;
    fetch.check(&base)?;
    for url in metadata_urls(&base) {
        if let Some(mut m) = fetch.get_json::<ServerMetadata>(&url).await? {
            if m.issuer != issuer {
                return Err(AuthError::IssuerMismatch {
                    expected: issuer.to_owned(),
                    got: m.issuer,
                });
            }
            m.published = true;
            return Ok(m);
        }
    }
    Err(AuthError::Metadata(format!(
        "the authorization server {issuer} publishes no metadata (RFC 8414 or OpenID Connect)"
    )))
}

fn metadata_urls(issuer: &Url) -> Vec<Url> {
    let path = issuer.path().trim_end_matches('/');
    let at = |p: String| {
        let mut u = issuer.clone();
        u.set_path(&p);
        u.set_query(None);
        u
    };
    if path.is_empty() {
        vec![
            at("/.well-known/oauth-authorization-server".into()),
            at("/.well-known/openid-configuration".into()),
        ]
    } else {
        vec![
            at(format!("/.well-known/oauth-authorization-server{path}")),
            at(format!("/.well-known/openid-configuration{path}")),
            at(format!("{path}/.well-known/openid-configuration")),
        ]
    }
}

/// 2025-03-26: a server without resource metadata is its own authorization server, at its
/// origin; its RFC 8414 metadata if published, else the default endpoints.
pub(crate) async fn legacy_server(
    fetch: &Fetch,
    server: &Url,
) -> Result<ServerMetadata, AuthError> {
    let origin = server.origin().ascii_serialization();
    let base = Url::parse(&origin)
        .map_err(|e| AuthError::Metadata(format!("the server's origin {origin:?}: {e}")))?;
    let url = base
        .join("/.well-known/oauth-authorization-server")
        .map_err(|e| AuthError::Metadata(e.to_string()))?;
    if let Some(mut m) = fetch.get_json::<ServerMetadata>(&url).await? {
        // The 2025-03-26 spec found this document from the server's URL, not from an issuer
        // identifier: an issuer on the same origin (e.g. `/oauth`) is the server's own.
        let same_origin = Url::parse(&m.issuer).is_ok_and(|u| u.origin() == base.origin());
        if !same_origin {
            return Err(AuthError::IssuerMismatch {
                expected: origin,
                got: m.issuer,
            });
        }
        m.published = true;
        return Ok(m);
    }
    Ok(ServerMetadata {
        issuer: origin.clone(),
        authorization_endpoint: Some(format!("{origin}/authorize")),
        token_endpoint: Some(format!("{origin}/token")),
        registration_endpoint: Some(format!("{origin}/register")),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn resource_metadata_is_looked_up_path_first() {
        let got = well_known(&url("http://h:1/mcp"), "oauth-protected-resource");
        assert_eq!(
            got.iter().map(Url::as_str).collect::<Vec<_>>(),
            [
                "http://h:1/.well-known/oauth-protected-resource/mcp",
                "http://h:1/.well-known/oauth-protected-resource"
            ]
        );
        assert_eq!(well_known(&url("http://h:1/"), "x").len(), 1);
    }

    #[test]
    fn server_metadata_order_follows_the_spec() {
        let with = metadata_urls(&url("https://a.example/tenant1"));
        assert_eq!(
            with.iter().map(Url::as_str).collect::<Vec<_>>(),
            [
                "https://a.example/.well-known/oauth-authorization-server/tenant1",
                "https://a.example/.well-known/openid-configuration/tenant1",
                "https://a.example/tenant1/.well-known/openid-configuration"
            ]
        );
        assert_eq!(metadata_urls(&url("https://a.example")).len(), 2);
    }

    #[test]
    fn resource_must_be_this_server() {
        let s = url("http://h:1/mcp");
        assert!(check_resource(&s, "http://h:1/mcp").is_ok());
        assert!(check_resource(&s, "http://h:1/").is_ok());
        assert!(check_resource(&s, "http://h:1").is_ok());
        assert!(check_resource(&s, "https://evil.example.com/mcp").is_err());
        assert!(check_resource(&s, "http://h:2/mcp").is_err());
        assert!(check_resource(&s, "http://h:1/mc").is_err());
        assert!(check_resource(&s, "http://h:1/mcp/deeper").is_err());
        assert!(check_resource(&s, "not a url").is_err());
    }
}
