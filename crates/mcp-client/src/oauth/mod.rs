//! OAuth 2.1 for the Streamable HTTP client, as the MCP authorization spec has it: [`OAuth`]
//! is an [`Authorizer`] that answers a server's 401 by discovering its authorization server
//! (`discovery`), getting a client identity there (`register`: pre-registered, client ID
//! metadata document, or dynamic registration), and getting tokens: the authorization code
//! with PKCE in the user's browser through a loopback redirect (`flow`, `agent`), or client
//! credentials for machines (with a secret or a JWT assertion); then a refresh token when the
//! access token is refused, and a step-up with the union of scopes on `insufficient_scope`.
//! Tokens are kept per server in the user's data directory (`store`); they are never logged.

mod agent;
mod discovery;
mod dpop;
mod fetch;
mod flow;
mod grant;
mod register;
mod store;

pub use agent::{Browser, Scripted, UserAgent};
pub use store::{ClientInfo, Saved, TokenStore, Tokens};

use crate::http::auth::AuthFuture;
use crate::http::auth::{Authorizer, Challenge, Refusal};
use discovery::ServerMetadata;
use dpop::Dpop;
use fetch::Fetch;
use grant::{ClientAuth, TokenCall};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use reqwest::{Method, StatusCode, Url};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why an authorization could not be had. Every message is one sentence naming the problem;
/// none carries a token or a secret.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A request to an authorization endpoint failed.
    #[error("{0}")]
    Http(String),
    /// Metadata is missing, malformed or unusable.
    #[error("{0}")]
    Metadata(String),
    /// The protected resource metadata describes another resource (RFC 9728 §3.3).
    #[error("the protected resource metadata is for {resource}, not for {server}: refusing to authorize")]
    ResourceMismatch {
        /// The metadata's `resource`.
        resource: String,
        /// The server's URL.
        server: String,
    },
    /// The authorization server's metadata names another issuer (RFC 8414 §3.3).
    #[error("the authorization server metadata names issuer {got:?}, not {expected:?}: refusing to use it")]
    IssuerMismatch {
        /// The issuer it was looked up for.
        expected: String,
        /// The issuer it names.
        got: String,
    },
    /// No client identity can be had at the authorization server.
    #[error("{0}")]
    NoClient(String),
    /// Dynamic client registration failed.
    #[error("{0}")]
    Registration(String),
    /// The authorization response is an error, or none came.
    #[error("{0}")]
    Denied(String),
    /// The authorization response is not the answer to our request (state, `iss`).
    #[error("the authorization response was refused: {0}")]
    Response(String),
    /// The token endpoint refused or answered badly.
    #[error("{0}")]
    Token(String),
    /// The token store cannot be read or written.
    #[error("token store: {0}")]
    Store(String),
    /// The configuration cannot work.
    #[error("{0}")]
    Config(String),
}

/// How tokens are got.
pub enum Grant {
    /// The authorization code with PKCE, through this user agent.
    AuthorizationCode(Arc<dyn UserAgent>),
    /// Client credentials (a machine acting for itself): the configured client's secret, or
    /// a JWT assertion signed with `key` (`private_key_jwt`).
    ClientCredentials {
        /// The signing key, for `private_key_jwt`.
        key: Option<SigningKey>,
    },
    /// The JWT bearer grant (RFC 7523 §2.1) with an assertion from elsewhere: a workload
    /// identity token (workload identity federation), read anew for every authorization.
    JwtBearer(AssertionSource),
    /// Enterprise-managed authorization (SEP-990): the user's ID token is exchanged at their
    /// identity provider (RFC 8693) for an identity assertion grant for this authorization
    /// server, which the JWT bearer grant turns into an access token.
    IdentityAssertion {
        /// The identity provider's token endpoint.
        idp_token_endpoint: String,
        /// Our client id at the identity provider.
        idp_client_id: String,
        /// The user's ID token from the identity provider.
        id_token: String,
    },
}

/// Where a JWT bearer assertion comes from.
#[derive(Clone)]
pub enum AssertionSource {
    /// This assertion.
    Value(String),
    /// The content of this file (e.g. a projected service account token), read each time.
    File(std::path::PathBuf),
}

impl AssertionSource {
    fn read(&self) -> Result<String, AuthError> {
        match self {
            AssertionSource::Value(v) => Ok(v.clone()),
            AssertionSource::File(p) => std::fs::read_to_string(p)
                .map(|s| s.trim().to_owned())
                .map_err(|e| AuthError::Config(format!("the assertion file {}: {e}", p.display()))),
        }
    }
}

/// A private key that signs client assertions.
#[derive(Clone)]
pub struct SigningKey {
    /// The key in PEM (PKCS#8; EC or RSA).
    pub pem: String,
    /// `ES256`, `RS256`, ...
    pub algorithm: jsonwebtoken::Algorithm,
}

/// Pre-registered client credentials.
#[derive(Clone)]
pub struct PreRegistered {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`, for a confidential client.
    pub client_secret: Option<String>,
    /// The issuer they are for; `None`: any.
    pub issuer: Option<String>,
}

/// How an [`OAuth`] behaves.
pub struct OAuthConfig {
    /// `client_name` for dynamic registration.
    pub client_name: String,
    /// A client ID metadata document URL, used as `client_id` where the server supports it.
    pub client_metadata_url: Option<String>,
    /// Pre-registered credentials.
    pub client: Option<PreRegistered>,
    /// How tokens are got.
    pub grant: Grant,
    /// Scopes to ask for, instead of what the server says.
    pub scopes: Option<Vec<String>>,
    /// Ask for `offline_access` (a refresh token) where the server lists it (default true).
    pub offline_access: bool,
    /// The loopback redirect's port (0: any free one).
    pub redirect_port: u16,
    /// How long to wait for the user to authorize (default 5 min).
    pub callback_wait: Duration,
    /// Where tokens and registrations are kept; `None`: in memory only.
    pub store: Option<TokenStore>,
}

impl OAuthConfig {
    /// The authorization code flow in the user's browser, kept in the user's data directory.
    pub fn browser(client_name: impl Into<String>) -> Result<OAuthConfig, AuthError> {
        Ok(OAuthConfig {
            store: Some(TokenStore::in_data_dir()?),
            ..OAuthConfig::with_agent(client_name, Arc::new(Browser))
        })
    }

    /// The authorization code flow through `agent`, kept in memory.
    pub fn with_agent(client_name: impl Into<String>, agent: Arc<dyn UserAgent>) -> OAuthConfig {
        OAuthConfig {
            client_name: client_name.into(),
            client_metadata_url: None,
            client: None,
            grant: Grant::AuthorizationCode(agent),
            scopes: None,
            offline_access: true,
            redirect_port: 0,
            callback_wait: Duration::from_secs(300),
            store: None,
        }
    }
}

/// OAuth 2.1 authorization for one MCP server (an [`Authorizer`] for
/// [`crate::HttpOptions::auth`]).
pub struct OAuth {
    server: Url,
    config: OAuthConfig,
    fetch: Fetch,
    saved: Mutex<Saved>,
    /// Scopes asked for so far: a step-up asks for their union with the new ones.
    requested: Mutex<Vec<String>>,
    /// One authorization at a time.
    flow: tokio::sync::Mutex<()>,
    /// The DPoP key, once a server binds tokens to one.
    dpop: Mutex<Option<Arc<Dpop>>>,
}

impl OAuth {
    /// Authorization for the MCP server at `server_url`; what the store keeps for it is
    /// loaded (its tokens are used until refused).
    pub fn new(server_url: &str, config: OAuthConfig) -> Result<OAuth, AuthError> {
        let server = parse_server(server_url)?;
        let key = server_key(&server);
        let saved = match &config.store {
            Some(store) => store.load(&key)?,
            None => None,
        }
        .unwrap_or_else(|| Saved {
            server: key,
            ..Saved::default()
        });
        let requested = saved
            .tokens
            .as_ref()
            .and_then(|t| t.scope.as_deref())
            .map(split_scopes)
            .unwrap_or_default();
        let dpop = match saved.tokens.as_ref().and_then(|t| t.dpop_key.as_deref()) {
            Some(k) => Some(Arc::new(Dpop::import(k)?)),
            None => None,
        };
        let fetch = Fetch::new(&server)?;
        Ok(OAuth {
            server,
            config,
            fetch,
            saved: Mutex::new(saved),
            requested: Mutex::new(requested),
            flow: tokio::sync::Mutex::new(()),
            dpop: Mutex::new(dpop),
        })
    }

    /// The tokens held now, if any.
    pub fn tokens(&self) -> Option<Tokens> {
        lock(&self.saved).tokens.clone()
    }

    /// Authorizes now, without waiting for the server to refuse a request (`auth login`).
    pub async fn login(&self) -> Result<(), AuthError> {
        let _one = self.flow.lock().await;
        self.authorize(&Challenge::default()).await
    }

    /// Forgets the tokens and registrations (memory and store); true if any were kept.
    pub fn logout(&self) -> Result<bool, AuthError> {
        let mut saved = lock(&self.saved);
        let had = saved.tokens.is_some() || !saved.clients.is_empty();
        saved.tokens = None;
        saved.clients.clear();
        let removed = match &self.config.store {
            Some(store) => store.remove(&saved.server)?,
            None => false,
        };
        Ok(had || removed)
    }

    async fn on_refusal(&self, refusal: &Refusal) -> Result<(), AuthError> {
        let _one = self.flow.lock().await;
        let current = self.header_value();
        if current.is_some() && current != refusal.sent {
            // Another request got new credentials while this one waited: try those.
            return Ok(());
        }
        let dpop = lock(&self.dpop).clone();
        if let (Some(d), Some(nonce), Some("use_dpop_nonce")) =
            (dpop, &refusal.nonce, refusal.challenge.error.as_deref())
        {
            d.set_nonce(&self.server, nonce);
            return Ok(());
        }
        if refusal.status == StatusCode::UNAUTHORIZED {
            match self.refresh().await {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(e) => tracing::info!("the refresh token was not taken ({e}); authorizing anew"),
            }
        }
        self.authorize(&refusal.challenge).await
    }

    /// Uses the refresh token, if there is one; true if it gave new tokens.
    async fn refresh(&self) -> Result<bool, AuthError> {
        let Some(old) = self.tokens() else {
            return Ok(false);
        };
        let Some(refresh) = old.refresh_token.clone() else {
            return Ok(false);
        };
        let meta = discovery::server_metadata(&self.fetch, &old.issuer).await?;
        let client = self
            .known_client(&meta.issuer)
            .ok_or_else(|| AuthError::NoClient("no client is known for the refresh".into()))?;
        let scopes = Vec::new();
        let dpop = old.dpop_key.as_ref().and_then(|_| lock(&self.dpop).clone());
        let call = self.token_call(&meta, &client, &old.resource, &scopes, dpop.clone())?;
        let mut tokens = call.refresh(&refresh).await?;
        if tokens.scope.is_none() {
            tokens.scope = old.scope;
        }
        self.bind(&mut tokens, dpop);
        self.keep(|s| s.tokens = Some(tokens))?;
        Ok(true)
    }

    /// The whole authorization: discovery, client identity, the grant.
    async fn authorize(&self, challenge: &Challenge) -> Result<(), AuthError> {
        let hinted = challenge.resource_metadata.as_deref();
        let prm = discovery::resource_metadata(&self.fetch, &self.server, hinted).await?;
        let (meta, resource, prm_scopes) = match prm {
            Some(p) => {
                let issuer = p.authorization_servers.first().ok_or_else(|| {
                    AuthError::Metadata(format!(
                        "the protected resource metadata of {} names no authorization server \
                         (the server takes no OAuth tokens)",
                        self.server
                    ))
                })?;
                let meta = discovery::server_metadata(&self.fetch, issuer).await?;
                (meta, p.resource.clone(), p.scopes_supported.clone())
            }
            None => {
                let meta = discovery::legacy_server(&self.fetch, &self.server).await?;
                (meta, server_key(&self.server), None)
            }
        };
        let scopes = self.scopes_for(challenge, prm_scopes, &meta);
        tracing::info!(issuer = %meta.issuer, scopes = %scopes.join(" "), "authorizing");
        let dpop = self.dpop_for(&meta)?;
        let mut tokens = match &self.config.grant {
            Grant::AuthorizationCode(agent) => {
                let agent = agent.as_ref();
                let d = dpop.clone();
                flow::authorization_code(self, agent, &meta, &resource, &scopes, d).await?
            }
            _ => {
                self.machine_grant(&meta, &resource, &scopes, dpop.clone())
                    .await?
            }
        };
        self.bind(&mut tokens, dpop);
        *lock(&self.requested) = scopes;
        // A configured client is kept with the tokens, for refreshes in later runs.
        let configured = self.configured_client(&meta.issuer);
        self.keep(|s| {
            if let Some(c) = configured {
                s.clients.insert(meta.issuer.clone(), c);
            }
            s.tokens = Some(tokens);
        })
    }

    /// The grants without a user: client credentials, JWT bearer, identity assertion.
    async fn machine_grant(
        &self,
        meta: &ServerMetadata,
        resource: &str,
        scopes: &[String],
        dpop: Option<Arc<Dpop>>,
    ) -> Result<Tokens, AuthError> {
        let client = self.configured_client(&meta.issuer).ok_or_else(|| {
            AuthError::Config(format!(
                "this grant needs a configured client id for {}",
                meta.issuer
            ))
        })?;
        let call = self.token_call(meta, &client, resource, scopes, dpop)?;
        match &self.config.grant {
            Grant::JwtBearer(source) => call.jwt_bearer(&source.read()?).await,
            Grant::IdentityAssertion {
                idp_token_endpoint,
                idp_client_id,
                id_token,
            } => {
                let jag = grant::exchange_for_id_jag(
                    &self.fetch,
                    idp_token_endpoint,
                    idp_client_id,
                    id_token,
                    &meta.issuer,
                    resource,
                    scopes,
                )
                .await?;
                call.jwt_bearer(&jag).await
            }
            _ => call.client_credentials().await,
        }
    }

    /// The DPoP key for tokens from `meta`: when it takes ES256 proofs (RFC 9449 §5.1).
    fn dpop_for(&self, meta: &ServerMetadata) -> Result<Option<Arc<Dpop>>, AuthError> {
        if !dpop::supported(meta.dpop_signing_alg_values_supported.as_deref()) {
            return Ok(None);
        }
        let mut slot = lock(&self.dpop);
        if let Some(d) = slot.as_ref() {
            return Ok(Some(d.clone()));
        }
        let d = Arc::new(Dpop::generate()?);
        *slot = Some(d.clone());
        Ok(Some(d))
    }

    /// Records the key of DPoP-bound tokens with them (a server may still issue Bearer).
    fn bind(&self, tokens: &mut Tokens, dpop: Option<Arc<Dpop>>) {
        tokens.dpop_key = match dpop {
            Some(d) if tokens.token_type.eq_ignore_ascii_case("dpop") => Some(d.export()),
            _ => None,
        };
    }

    /// The scopes to ask for (SEP-835): the configured ones; else the challenge's; else the
    /// resource metadata's `scopes_supported`; else none. A step-up keeps what was asked
    /// before (the union). `offline_access` is added where the server lists it.
    fn scopes_for(
        &self,
        challenge: &Challenge,
        prm_scopes: Option<Vec<String>>,
        meta: &ServerMetadata,
    ) -> Vec<String> {
        let fresh = match (&self.config.scopes, &challenge.scope) {
            (Some(s), _) => s.clone(),
            (None, Some(s)) => split_scopes(s),
            (None, None) => prm_scopes.unwrap_or_default(),
        };
        let mut out = lock(&self.requested).clone();
        for s in fresh {
            if !out.contains(&s) {
                out.push(s);
            }
        }
        let code = matches!(self.config.grant, Grant::AuthorizationCode(_));
        let offline = "offline_access";
        if code && self.config.offline_access && meta.supports_scope(offline) {
            if !out.iter().any(|s| s == offline) {
                out.push(offline.to_owned());
            }
        } else if !meta.supports_scope(offline) {
            out.retain(|s| s != offline);
        }
        out
    }

    /// The configured client, if it is for `issuer`.
    fn configured_client(&self, issuer: &str) -> Option<ClientInfo> {
        let c = self.config.client.as_ref()?;
        if c.issuer.as_deref().is_some_and(|i| i != issuer) {
            return None;
        }
        Some(ClientInfo {
            client_id: c.client_id.clone(),
            client_secret: c.client_secret.clone(),
            auth_method: None,
        })
    }

    /// A client for `issuer` without registering: configured, or registered before.
    fn known_client(&self, issuer: &str) -> Option<ClientInfo> {
        self.configured_client(issuer)
            .or_else(|| lock(&self.saved).clients.get(issuer).cloned())
    }

    /// A token request for `client` at `meta`, with the client authentication it settles on
    /// (and a signed assertion for `private_key_jwt`).
    fn token_call<'a>(
        &'a self,
        meta: &'a ServerMetadata,
        client: &'a ClientInfo,
        resource: &'a str,
        scopes: &'a [String],
        dpop: Option<Arc<Dpop>>,
    ) -> Result<TokenCall<'a>, AuthError> {
        let key = match &self.config.grant {
            Grant::ClientCredentials { key: Some(k) } => Some(k),
            _ => None,
        };
        let auth = ClientAuth::choose(client, meta, key.is_some());
        let assertion = match key {
            Some(k) => Some(flow::client_assertion(k, &client.client_id, &meta.issuer)?),
            None => None,
        };
        Ok(TokenCall {
            fetch: &self.fetch,
            meta,
            client,
            auth,
            assertion,
            resource,
            scopes,
            dpop,
        })
    }

    /// Changes what is kept, and writes it to the store.
    fn keep(&self, change: impl FnOnce(&mut Saved)) -> Result<(), AuthError> {
        let snapshot = {
            let mut saved = lock(&self.saved);
            change(&mut saved);
            saved.clone()
        };
        match &self.config.store {
            Some(store) => store.save(&snapshot),
            None => Ok(()),
        }
    }

    /// The `Authorization` value of the current tokens.
    fn header_value(&self) -> Option<String> {
        let saved = lock(&self.saved);
        let t = saved.tokens.as_ref()?;
        let scheme = if t.dpop_key.is_some() {
            "DPoP"
        } else {
            "Bearer"
        };
        Some(format!("{scheme} {}", t.access_token))
    }
}

impl Authorizer for OAuth {
    fn credentials(&self, method: &Method, url: &Url, headers: &mut HeaderMap) {
        let Some(value) = self.header_value() else {
            return;
        };
        let Ok(mut v) = HeaderValue::from_str(&value) else {
            tracing::warn!("the access token cannot be sent in a header; sending none");
            return;
        };
        v.set_sensitive(true);
        headers.insert(AUTHORIZATION, v);
        let bound = value.starts_with("DPoP ");
        let dpop = lock(&self.dpop).clone();
        if let (true, Some(d)) = (bound, dpop) {
            let token = value.trim_start_matches("DPoP ");
            match d.proof(method.as_str(), url, Some(token)) {
                Ok(p) => {
                    if let Ok(p) = HeaderValue::from_str(&p) {
                        headers.insert("dpop", p);
                    }
                }
                Err(e) => tracing::warn!("no DPoP proof: {e}"),
            }
        }
    }

    fn refused<'a>(&'a self, refusal: &'a Refusal) -> AuthFuture<'a, Result<(), String>> {
        Box::pin(async move { self.on_refusal(refusal).await.map_err(|e| e.to_string()) })
    }
}

/// The key a server's authorization is kept under ([`TokenStore::load`]): its URL, parsed,
/// without query or fragment.
pub fn store_key(server_url: &str) -> Result<String, AuthError> {
    Ok(server_key(&parse_server(server_url)?))
}

/// An MCP endpoint URL: http or https.
fn parse_server(server_url: &str) -> Result<Url, AuthError> {
    let server = Url::parse(server_url)
        .map_err(|e| AuthError::Config(format!("server URL {server_url:?}: {e}")))?;
    match server.scheme() {
        "http" | "https" => Ok(server),
        other => Err(AuthError::Config(format!(
            "server URL {server_url:?}: the scheme must be http or https, not {other}"
        ))),
    }
}

fn server_key(server: &Url) -> String {
    let mut u = server.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

fn split_scopes(s: &str) -> Vec<String> {
    s.split_ascii_whitespace().map(str::to_owned).collect()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
