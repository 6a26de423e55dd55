//! Requests to the token endpoint, made with the `oauth2` crate over our HTTP client: the
//! authorization code with its PKCE verifier, a refresh token, client credentials (with a
//! secret or a signed JWT assertion, RFC 7523 §2.2); each with the `resource` parameter
//! (RFC 8707) and the client authentication the registration or metadata settled on.

use super::discovery::ServerMetadata;
use super::dpop::Dpop;
use super::fetch::{chain, read_capped, Fetch};
use super::store::{ClientInfo, Tokens};
use super::AuthError;
use mcp_proto::BoxFuture;
use oauth2::basic::{BasicClient, BasicErrorResponse, BasicTokenResponse};
use oauth2::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, EndpointNotSet, EndpointSet, HttpRequest,
    HttpResponse, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    TokenResponse, TokenUrl,
};
use reqwest::Url;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// How the client proves itself at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientAuth {
    /// `client_secret_basic`.
    Basic,
    /// `client_secret_post`.
    Post,
    /// `none`: a public client; `client_id` in the body.
    None,
    /// `private_key_jwt`: a signed assertion in the body.
    PrivateKeyJwt,
}

impl ClientAuth {
    /// The method for `client` at `meta`: what its registration said, else the first of
    /// basic, post the server supports (basic when it does not say) for a client with a
    /// secret, else `none`.
    pub fn choose(client: &ClientInfo, meta: &ServerMetadata, has_key: bool) -> ClientAuth {
        if has_key {
            return ClientAuth::PrivateKeyJwt;
        }
        let said = client.auth_method.as_deref();
        match said {
            Some("client_secret_basic") if client.client_secret.is_some() => ClientAuth::Basic,
            Some("client_secret_post") if client.client_secret.is_some() => ClientAuth::Post,
            Some("none") => ClientAuth::None,
            _ if client.client_secret.is_none() => ClientAuth::None,
            _ => {
                let supported = meta.token_endpoint_auth_methods_supported.as_deref();
                let has = |m: &str| supported.is_none_or(|s| s.iter().any(|x| x == m));
                if has("client_secret_basic") {
                    ClientAuth::Basic
                } else if has("client_secret_post") {
                    ClientAuth::Post
                } else {
                    ClientAuth::Basic
                }
            }
        }
    }
}

/// A token request's common parts.
pub(crate) struct TokenCall<'a> {
    pub fetch: &'a Fetch,
    pub meta: &'a ServerMetadata,
    pub client: &'a ClientInfo,
    pub auth: ClientAuth,
    /// The signed client assertion, for `private_key_jwt`.
    pub assertion: Option<String>,
    pub resource: &'a str,
    pub scopes: &'a [String],
    /// The DPoP key, when the server binds tokens to one.
    pub dpop: Option<Arc<Dpop>>,
}

type TokenClient =
    BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

impl TokenCall<'_> {
    fn client(&self) -> Result<TokenClient, AuthError> {
        let endpoint = self.meta.token_endpoint()?;
        let url = Url::parse(endpoint)
            .map_err(|e| AuthError::Metadata(format!("token_endpoint {endpoint:?}: {e}")))?;
        self.fetch.check(&url)?;
        let token_url = TokenUrl::from_url(url);
        let mut c = BasicClient::new(ClientId::new(self.client.client_id.clone()))
            .set_token_uri(token_url)
            .set_auth_type(match self.auth {
                ClientAuth::Basic => AuthType::BasicAuth,
                _ => AuthType::RequestBody,
            });
        if matches!(self.auth, ClientAuth::Basic | ClientAuth::Post) {
            if let Some(secret) = &self.client.client_secret {
                c = c.set_client_secret(ClientSecret::new(secret.clone()));
            }
        }
        Ok(c)
    }

    fn scopes(&self) -> impl Iterator<Item = Scope> + '_ {
        self.scopes.iter().map(|s| Scope::new(s.clone()))
    }

    fn assertion_params(&self) -> Vec<(&'static str, String)> {
        match &self.assertion {
            Some(a) => vec![
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
                ),
                ("client_assertion", a.clone()),
            ],
            None => Vec::new(),
        }
    }

    /// Exchanges an authorization code.
    pub async fn code(
        &self,
        code: String,
        verifier: PkceCodeVerifier,
        redirect: &str,
    ) -> Result<Tokens, AuthError> {
        let redirect = RedirectUrl::new(redirect.to_owned())
            .map_err(|e| AuthError::Config(format!("redirect URI: {e}")))?;
        let client = self.client()?.set_redirect_uri(redirect);
        let http = http_client(self.fetch, self.dpop.clone());
        let mut req = client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(verifier)
            .add_extra_param("resource", self.resource);
        for (k, v) in self.assertion_params() {
            req = req.add_extra_param(k, v);
        }
        let resp = req.request_async(&http).await;
        self.tokens(resp, None)
    }

    /// Uses a refresh token (kept when the server issues no new one).
    pub async fn refresh(&self, refresh: &str) -> Result<Tokens, AuthError> {
        let client = self.client()?;
        let http = http_client(self.fetch, self.dpop.clone());
        let token = RefreshToken::new(refresh.to_owned());
        let mut req = client
            .exchange_refresh_token(&token)
            .add_scopes(self.scopes())
            .add_extra_param("resource", self.resource);
        for (k, v) in self.assertion_params() {
            req = req.add_extra_param(k, v);
        }
        let resp = req.request_async(&http).await;
        self.tokens(resp, Some(refresh))
    }

    /// The client credentials grant.
    pub async fn client_credentials(&self) -> Result<Tokens, AuthError> {
        let client = self.client()?;
        let http = http_client(self.fetch, self.dpop.clone());
        let mut req = client
            .exchange_client_credentials()
            .add_scopes(self.scopes())
            .add_extra_param("resource", self.resource);
        for (k, v) in self.assertion_params() {
            req = req.add_extra_param(k, v);
        }
        let resp = req.request_async(&http).await;
        self.tokens(resp, None)
    }

    fn tokens(
        &self,
        resp: Result<BasicTokenResponse, RequestTokenError<AuthError, BasicErrorResponse>>,
        old_refresh: Option<&str>,
    ) -> Result<Tokens, AuthError> {
        let r = resp.map_err(token_error)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let scope = match r.scopes() {
            Some(s) => Some(s.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(" ")),
            None => (!self.scopes.is_empty()).then(|| self.scopes.join(" ")),
        };
        Ok(Tokens {
            access_token: r.access_token().secret().clone(),
            token_type: r.token_type().as_ref().to_owned(),
            refresh_token: r
                .refresh_token()
                .map(|t| t.secret().clone())
                .or_else(|| old_refresh.map(str::to_owned)),
            expires_at: r.expires_in().map(|d| now.saturating_add(d.as_secs())),
            scope,
            issuer: self.meta.issuer.clone(),
            resource: self.resource.to_owned(),
            dpop_key: None,
        })
    }
}

/// One sentence for a failed token request; the server's `error` and description if it
/// answered with one (never the request's secrets).
fn token_error(e: RequestTokenError<AuthError, BasicErrorResponse>) -> AuthError {
    match e {
        RequestTokenError::ServerResponse(r) => {
            let mut s = format!("the token endpoint refused: {}", r.error().as_ref());
            if let Some(d) = r.error_description() {
                s.push_str(&format!(" ({d})"));
            }
            AuthError::Token(s)
        }
        RequestTokenError::Request(e) => e,
        RequestTokenError::Parse(e, _) => AuthError::Token(format!(
            "the token endpoint's answer is not a token response: {e}"
        )),
        RequestTokenError::Other(s) => AuthError::Token(format!("the token request failed: {s}")),
    }
}

/// The `oauth2` crate's HTTP client: our reqwest client (no redirects), answers capped.
fn http_client(
    fetch: &Fetch,
    dpop: Option<Arc<Dpop>>,
) -> impl Fn(HttpRequest) -> BoxFuture<Result<HttpResponse, AuthError>> + '_ {
    move |req: HttpRequest| {
        let fetch = fetch.clone();
        let dpop = dpop.clone();
        Box::pin(async move { send(&fetch, req, dpop).await })
    }
}

/// Sends one of the crate's requests with reqwest and gives back its answer; with a DPoP
/// proof when there is a key, sent again once with the nonce a refusal asks for.
pub(crate) async fn send(
    fetch: &Fetch,
    req: HttpRequest,
    dpop: Option<Arc<Dpop>>,
) -> Result<HttpResponse, AuthError> {
    let (parts, body) = req.into_parts();
    let url = Url::parse(&parts.uri.to_string())
        .map_err(|e| AuthError::Http(format!("bad endpoint URL {}: {e}", parts.uri)))?;
    fetch.check(&url)?;
    let mut with_nonce = false;
    loop {
        let mut headers = parts.headers.clone();
        if let Some(d) = &dpop {
            put_proof(&mut headers, d.proof(parts.method.as_str(), &url, None)?)?;
        }
        let resp = fetch
            .http
            .request(parts.method.clone(), url.clone())
            .headers(headers)
            .body(body.clone())
            .send()
            .await
            .map_err(|e| AuthError::Http(format!("POST {url}: {}", chain(&e))))?;
        let status = resp.status();
        if let (Some(d), false) = (&dpop, with_nonce) {
            if let Some(nonce) = asked_nonce(&resp) {
                d.set_nonce(&url, &nonce);
                with_nonce = true;
                continue;
            }
        }
        let headers = resp.headers().clone();
        let body = read_capped(resp).await?;
        let mut out = HttpResponse::new(body);
        *out.status_mut() = status;
        *out.headers_mut() = headers;
        return Ok(out);
    }
}

/// The `DPoP-Nonce` a 400/401 answer asks the next proof to carry (RFC 9449 §8, §9).
pub(crate) fn asked_nonce(resp: &reqwest::Response) -> Option<String> {
    let refused = matches!(resp.status().as_u16(), 400 | 401);
    let nonce = resp.headers().get("dpop-nonce")?.to_str().ok()?;
    (refused && !nonce.is_empty()).then(|| nonce.to_owned())
}

fn put_proof(headers: &mut reqwest::header::HeaderMap, proof: String) -> Result<(), AuthError> {
    let v = reqwest::header::HeaderValue::from_str(&proof)
        .map_err(|e| AuthError::Config(format!("a DPoP proof cannot be sent: {e}")))?;
    headers.insert("dpop", v);
    Ok(())
}

/// The JWT bearer grant (RFC 7523 §2.1).
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// A token endpoint's answer, read without the `oauth2` crate (for the grants it has no
/// builder for).
#[derive(serde::Deserialize)]
struct RawToken {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

#[derive(serde::Deserialize)]
struct RawError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl TokenCall<'_> {
    /// The JWT bearer grant with `assertion` (a workload identity token, an ID-JAG).
    pub async fn jwt_bearer(&self, assertion: &str) -> Result<Tokens, AuthError> {
        let mut params = vec![
            ("grant_type", JWT_BEARER.to_owned()),
            ("assertion", assertion.to_owned()),
            ("resource", self.resource.to_owned()),
        ];
        if !self.scopes.is_empty() {
            params.push(("scope", self.scopes.join(" ")));
        }
        params.extend(self.assertion_params());
        let endpoint = self.meta.token_endpoint()?;
        let client = Some((self.client, self.auth));
        let raw = form_grant(self.fetch, endpoint, params, client, self.dpop.clone()).await?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Ok(Tokens {
            access_token: raw.access_token,
            token_type: raw.token_type.unwrap_or_else(|| "Bearer".into()),
            refresh_token: raw.refresh_token,
            expires_at: raw.expires_in.map(|s| now.saturating_add(s)),
            scope: raw
                .scope
                .or_else(|| (!self.scopes.is_empty()).then(|| self.scopes.join(" "))),
            issuer: self.meta.issuer.clone(),
            resource: self.resource.to_owned(),
            dpop_key: None,
        })
    }
}

/// Token exchange (RFC 8693) at an identity provider: an ID token for an identity assertion
/// grant (ID-JAG) for the authorization server `audience` and the `resource`.
pub(crate) async fn exchange_for_id_jag(
    fetch: &Fetch,
    idp_token_endpoint: &str,
    idp_client_id: &str,
    id_token: &str,
    audience: &str,
    resource: &str,
    scopes: &[String],
) -> Result<String, AuthError> {
    let mut params = vec![
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:token-exchange".to_owned(),
        ),
        (
            "requested_token_type",
            "urn:ietf:params:oauth:token-type:id-jag".to_owned(),
        ),
        ("audience", audience.to_owned()),
        ("resource", resource.to_owned()),
        ("subject_token", id_token.to_owned()),
        (
            "subject_token_type",
            "urn:ietf:params:oauth:token-type:id_token".to_owned(),
        ),
        ("client_id", idp_client_id.to_owned()),
    ];
    if !scopes.is_empty() {
        params.push(("scope", scopes.join(" ")));
    }
    let raw = form_grant(fetch, idp_token_endpoint, params, None, None).await?;
    Ok(raw.access_token)
}

/// POSTs a token request form to `endpoint`, authenticated as `client` says.
async fn form_grant(
    fetch: &Fetch,
    endpoint: &str,
    mut params: Vec<(&str, String)>,
    client: Option<(&ClientInfo, ClientAuth)>,
    dpop: Option<Arc<Dpop>>,
) -> Result<RawToken, AuthError> {
    let url = Url::parse(endpoint)
        .map_err(|e| AuthError::Metadata(format!("token endpoint {endpoint:?}: {e}")))?;
    fetch.check(&url)?;
    let mut req = oauth2::http::Request::builder()
        .method(oauth2::http::Method::POST)
        .uri(url.as_str())
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some((c, auth)) = client {
        match (auth, &c.client_secret) {
            (ClientAuth::Basic, Some(secret)) => {
                use base64::Engine as _;
                let enc = |s: &str| {
                    oauth2::url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                let pair = format!("{}:{}", enc(&c.client_id), enc(secret));
                let basic = base64::engine::general_purpose::STANDARD.encode(pair);
                req = req.header("authorization", format!("Basic {basic}"));
            }
            (ClientAuth::Post, Some(secret)) => {
                params.push(("client_id", c.client_id.clone()));
                params.push(("client_secret", secret.clone()));
            }
            _ => params.push(("client_id", c.client_id.clone())),
        }
    }
    let body = oauth2::url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    let req = req
        .body(body.into_bytes())
        .map_err(|e| AuthError::Http(format!("POST {url}: {e}")))?;
    let resp = send(fetch, req, dpop).await?;
    let status = resp.status();
    let bytes = resp.into_body();
    if !status.is_success() {
        return Err(match serde_json::from_slice::<RawError>(&bytes) {
            Ok(e) => {
                let mut s = format!("{url} refused: {}", e.error);
                if let Some(d) = e.error_description {
                    s.push_str(&format!(" ({d})"));
                }
                AuthError::Token(s)
            }
            Err(_) => AuthError::Token(format!("{url} refused the token request (HTTP {status})")),
        });
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| AuthError::Token(format!("{url} answered without a token: {e}")))
}
