//! The authorization code flow: the loopback listener, the client identity for its redirect
//! URI, the authorization URL (PKCE S256, `state`, scopes, `resource`), the user agent, and
//! the checks of the response before its code is exchanged: `state` (CSRF), `error`, and the
//! issuer (RFC 9207: `iss` must be the metadata's issuer exactly; required when the server
//! says it sends one). And the signed client assertion of `private_key_jwt` (RFC 7523).

use super::agent::{Loopback, UserAgent};
use super::discovery::ServerMetadata;
use super::dpop::Dpop;
use super::register::{self, Registration};
use super::store::{ClientInfo, Tokens};
use super::{AuthError, OAuth, SigningKey};
use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope};
use reqwest::Url;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Runs the flow through `agent`; the tokens it gives.
pub(crate) async fn authorization_code(
    oauth: &OAuth,
    agent: &dyn UserAgent,
    meta: &ServerMetadata,
    resource: &str,
    scopes: &[String],
    dpop: Option<Arc<Dpop>>,
) -> Result<Tokens, AuthError> {
    check_pkce(meta)?;
    let endpoint = meta.authorization_endpoint.as_deref().ok_or_else(|| {
        AuthError::Metadata(format!(
            "the authorization server {} publishes no authorization_endpoint",
            meta.issuer
        ))
    })?;
    let auth_url = Url::parse(endpoint)
        .map_err(|e| AuthError::Metadata(format!("authorization_endpoint {endpoint:?}: {e}")))?;
    oauth.fetch.check(&auth_url)?;
    let loopback = Loopback::bind(oauth.config.redirect_port).await?;
    let redirect = loopback.redirect_uri().to_owned();
    let client = client_for(oauth, meta, &redirect, scopes).await?;

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let redirect_url = RedirectUrl::new(redirect.clone())
        .map_err(|e| AuthError::Config(format!("redirect URI: {e}")))?;
    let (url, state) = BasicClient::new(ClientId::new(client.client_id.clone()))
        .set_auth_uri(AuthUrl::from_url(auth_url))
        .set_redirect_uri(redirect_url)
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .add_scopes(scopes.iter().map(|s| Scope::new(s.clone())))
        .add_extra_param("resource", resource)
        .url();

    let params = run_agent(agent, &url, &loopback, oauth.config.callback_wait).await?;
    let code = check_response(&params, state.secret(), meta)?;
    let call = oauth.token_call(meta, &client, resource, scopes, dpop)?;
    call.code(code, verifier, &redirect).await
}

/// The server must support PKCE with S256 (the MCP spec: refuse when it does not say so).
/// The 2025-03-26 default endpoints, with no metadata to say anything, are taken on trust.
fn check_pkce(meta: &ServerMetadata) -> Result<(), AuthError> {
    let s256 = meta
        .code_challenge_methods_supported
        .as_ref()
        .is_some_and(|m| m.iter().any(|x| x == "S256"));
    if meta.published && !s256 {
        return Err(AuthError::Metadata(format!(
            "the authorization server {} does not list PKCE S256 in \
             code_challenge_methods_supported: refusing to authorize",
            meta.issuer
        )));
    }
    Ok(())
}

/// The client identity for this flow: known (configured, registered before), a client ID
/// metadata document URL, or a new registration (kept by issuer).
async fn client_for(
    oauth: &OAuth,
    meta: &ServerMetadata,
    redirect: &str,
    scopes: &[String],
) -> Result<ClientInfo, AuthError> {
    if let Some(c) = oauth.known_client(&meta.issuer) {
        return Ok(c);
    }
    if let (Some(true), Some(url)) = (
        meta.client_id_metadata_document_supported,
        &oauth.config.client_metadata_url,
    ) {
        return Ok(ClientInfo {
            client_id: url.clone(),
            client_secret: None,
            auth_method: Some("none".into()),
        });
    }
    let who = Registration {
        client_name: &oauth.config.client_name,
        redirect_uri: Some(redirect),
        grant_types: &["authorization_code", "refresh_token"],
        scope: (!scopes.is_empty()).then(|| scopes.join(" ")),
    };
    let client = register::register(&oauth.fetch, meta, &who).await?;
    tracing::info!(issuer = %meta.issuer, client_id = %client.client_id, "registered");
    oauth.keep(|s| {
        s.clients.insert(meta.issuer.clone(), client.clone());
    })?;
    Ok(client)
}

/// Opens `url` with the agent and waits for the redirect; an agent that fails ends it.
async fn run_agent(
    agent: &dyn UserAgent,
    url: &Url,
    loopback: &Loopback,
    wait: std::time::Duration,
) -> Result<Vec<(String, String)>, AuthError> {
    let waiting = loopback.wait(wait);
    tokio::pin!(waiting);
    let opening = agent.open(url);
    tokio::select! {
        params = &mut waiting => params,
        opened = opening => {
            opened?;
            waiting.await
        }
    }
}

/// The code of an authorization response, once it is known to answer our request.
pub(crate) fn check_response(
    params: &[(String, String)],
    state: &str,
    meta: &ServerMetadata,
) -> Result<String, AuthError> {
    let mut seen = std::collections::HashSet::new();
    for (k, _) in params {
        if !seen.insert(k.as_str()) {
            return Err(AuthError::Response(format!(
                "the parameter {k:?} came twice"
            )));
        }
    }
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if get("state") != Some(state) {
        return Err(AuthError::Response(
            "its state does not match the request's (a forged or stale redirect)".into(),
        ));
    }
    match (
        get("iss"),
        meta.authorization_response_iss_parameter_supported,
    ) {
        (Some(iss), _) if iss != meta.issuer => {
            return Err(AuthError::Response(format!(
                "it comes from issuer {iss:?}, not {:?} (RFC 9207)",
                meta.issuer
            )));
        }
        (None, Some(true)) => {
            return Err(AuthError::Response(format!(
                "it has no iss parameter, which {} says it sends (RFC 9207)",
                meta.issuer
            )));
        }
        _ => {}
    }
    if let Some(error) = get("error") {
        let mut s = format!("the authorization server answered {error}");
        if let Some(d) = get("error_description") {
            s.push_str(&format!(": {d}"));
        }
        return Err(AuthError::Denied(s));
    }
    get("code")
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| AuthError::Response("it carries no code".into()))
}

/// A `private_key_jwt` client assertion (RFC 7523 §3): issued by and about the client, for
/// the authorization server, valid five minutes, with a unique `jti`.
pub(crate) fn client_assertion(
    key: &SigningKey,
    client_id: &str,
    audience: &str,
) -> Result<String, AuthError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut jti = [0u8; 16];
    getrandom::fill(&mut jti).map_err(|e| AuthError::Config(format!("no randomness: {e}")))?;
    let jti: String = jti.iter().map(|b| format!("{b:02x}")).collect();
    let claims = serde_json::json!({
        "iss": client_id, "sub": client_id, "aud": audience,
        "iat": now, "exp": now + 300, "jti": jti,
    });
    let pem = key.pem.as_bytes();
    let encoding = match key.algorithm {
        jsonwebtoken::Algorithm::ES256 | jsonwebtoken::Algorithm::ES384 => {
            jsonwebtoken::EncodingKey::from_ec_pem(pem)
        }
        jsonwebtoken::Algorithm::EdDSA => jsonwebtoken::EncodingKey::from_ed_pem(pem),
        _ => jsonwebtoken::EncodingKey::from_rsa_pem(pem),
    }
    .map_err(|e| AuthError::Config(format!("the client's private key: {e}")))?;
    let header = jsonwebtoken::Header::new(key.algorithm);
    jsonwebtoken::encode(&header, &claims, &encoding)
        .map_err(|e| AuthError::Config(format!("cannot sign the client assertion: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(iss_supported: Option<bool>) -> ServerMetadata {
        ServerMetadata {
            issuer: "https://as.example".into(),
            authorization_response_iss_parameter_supported: iss_supported,
            published: true,
            ..Default::default()
        }
    }

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_response_must_answer_our_request() {
        let m = meta(Some(true));
        let ok = p(&[("code", "c"), ("state", "s"), ("iss", "https://as.example")]);
        assert_eq!(check_response(&ok, "s", &m).unwrap(), "c");
        let wrong_state = p(&[("code", "c"), ("state", "x"), ("iss", "https://as.example")]);
        assert!(check_response(&wrong_state, "s", &m).is_err());
        let no_state = p(&[("code", "c"), ("iss", "https://as.example")]);
        assert!(check_response(&no_state, "s", &m).is_err());
        let twice = p(&[("code", "c"), ("state", "s"), ("state", "s")]);
        assert!(check_response(&twice, "s", &meta(None)).is_err());
        let no_iss = p(&[("code", "c"), ("state", "s")]);
        assert!(check_response(&no_iss, "s", &m).is_err());
        assert!(check_response(&no_iss, "s", &meta(None)).is_ok());
        let slash = p(&[
            ("code", "c"),
            ("state", "s"),
            ("iss", "https://as.example/"),
        ]);
        assert!(check_response(&slash, "s", &m).is_err());
        let evil = p(&[
            ("code", "c"),
            ("state", "s"),
            ("iss", "https://evil.example"),
        ]);
        assert!(check_response(&evil, "s", &meta(None)).is_err());
        let denied = p(&[("error", "access_denied"), ("state", "s")]);
        let e = check_response(&denied, "s", &meta(None)).unwrap_err();
        assert!(e.to_string().contains("access_denied"));
    }
}
