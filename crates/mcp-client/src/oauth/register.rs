//! The client's identity at an authorization server, in the order the MCP authorization spec
//! prefers: pre-registered credentials from the configuration, one registered before with
//! this issuer, a client ID metadata document URL where the server supports them, dynamic
//! client registration (RFC 7591) otherwise.

use super::discovery::ServerMetadata;
use super::fetch::{chain, read_capped, Fetch};
use super::store::ClientInfo;
use super::AuthError;
use reqwest::Url;
use serde::Deserialize;
use serde_json::json;

/// What the client says of itself when it registers.
pub(crate) struct Registration<'a> {
    pub client_name: &'a str,
    pub redirect_uri: Option<&'a str>,
    /// Grant types it will use.
    pub grant_types: &'a [&'a str],
    pub scope: Option<String>,
}

#[derive(Deserialize)]
struct Registered {
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
}

/// Registers with the server's `registration_endpoint` (RFC 7591 §3).
pub(crate) async fn register(
    fetch: &Fetch,
    meta: &ServerMetadata,
    who: &Registration<'_>,
) -> Result<ClientInfo, AuthError> {
    let endpoint = meta.registration_endpoint.as_deref().ok_or_else(|| {
        AuthError::NoClient(format!(
            "the authorization server {} offers no dynamic client registration and no \
             client id is configured for it (give one, e.g. --client-id)",
            meta.issuer
        ))
    })?;
    let url = Url::parse(endpoint)
        .map_err(|e| AuthError::Metadata(format!("registration_endpoint {endpoint:?}: {e}")))?;
    fetch.check(&url)?;
    let mut body = json!({
        "client_name": who.client_name,
        "redirect_uris": who.redirect_uri.map(|r| vec![r]).unwrap_or_default(),
        "grant_types": who.grant_types,
        "response_types": if who.redirect_uri.is_some() { vec!["code"] } else { vec![] },
        "token_endpoint_auth_method": "none",
        "application_type": "native",
    });
    if let Some(s) = &who.scope {
        body["scope"] = json!(s);
    }
    let resp = fetch
        .http
        .post(url.clone())
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| AuthError::Http(format!("POST {url}: {}", chain(&e))))?;
    let status = resp.status();
    let bytes = read_capped(resp).await?;
    if !status.is_success() {
        let why = String::from_utf8_lossy(&bytes);
        let why: String = why.chars().take(300).collect();
        return Err(AuthError::Registration(format!(
            "{url} refused the registration (HTTP {status}): {why}"
        )));
    }
    let r: Registered = serde_json::from_slice(&bytes).map_err(|e| {
        AuthError::Registration(format!(
            "{url} answered the registration without a client: {e}"
        ))
    })?;
    if r.client_id.is_empty() {
        return Err(AuthError::Registration(format!(
            "{url} gave an empty client_id"
        )));
    }
    Ok(ClientInfo {
        client_id: r.client_id,
        client_secret: r.client_secret.filter(|s| !s.is_empty()),
        auth_method: r.token_endpoint_auth_method,
    })
}
