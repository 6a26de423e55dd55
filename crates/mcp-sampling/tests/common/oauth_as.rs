//! A small OAuth 2.1 authorization server for the OAuth tests: RFC 8414 metadata, dynamic
//! registration, the authorization endpoint (approves at once and redirects with `code`,
//! `state`, `iss`), the token endpoint (authorization code with PKCE S256 checked, refresh
//! tokens), JWT access tokens signed with a P-256 key, and its JWKS. It records what it was
//! asked, and can be told to misbehave (a wrong `state` in the redirect).

use axum::extract::{Form, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::EncodePrivateKey as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// What the server was asked, and how it behaves.
#[derive(Default)]
pub struct Record {
    /// Authorization requests (their query).
    pub authorizations: Vec<HashMap<String, String>>,
    /// Token requests by grant type.
    pub grants: Vec<String>,
    /// Registrations.
    pub registrations: usize,
    /// Access tokens issued.
    pub issued: Vec<String>,
    /// Redirect with a `state` other than the request's.
    pub tamper_state: bool,
    /// Lifetime of access tokens (seconds).
    pub ttl: u64,
}

struct Pending {
    challenge: String,
    redirect: String,
    resource: String,
    scope: String,
}

struct AsState {
    issuer: String,
    key: EncodingKey,
    jwk: Jwk,
    record: Arc<Mutex<Record>>,
    codes: Mutex<HashMap<String, Pending>>,
    refresh: Mutex<HashMap<String, (String, String)>>,
}

/// A running authorization server.
pub struct AuthServer {
    pub issuer: String,
    pub record: Arc<Mutex<Record>>,
}

impl AuthServer {
    /// Starts one on a free port (in the current tokio runtime).
    pub async fn start() -> AuthServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let mut bytes = [0u8; 32];
        bytes[0] = 1;
        bytes[31] = std::process::id() as u8 | 1;
        let secret = p256::SecretKey::from_slice(&bytes).unwrap();
        let der = secret.to_pkcs8_der().unwrap();
        let key = EncodingKey::from_ec_der(der.as_bytes());
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
        jwk.common.key_id = Some("test-key".into());
        let record = Arc::new(Mutex::new(Record {
            ttl: 3600,
            ..Record::default()
        }));
        let state = Arc::new(AsState {
            issuer: issuer.clone(),
            key,
            jwk,
            record: record.clone(),
            codes: Mutex::new(HashMap::new()),
            refresh: Mutex::new(HashMap::new()),
        });
        let app = Router::new()
            .route("/.well-known/oauth-authorization-server", get(metadata))
            .route("/jwks", get(jwks))
            .route("/register", post(register))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .with_state(state);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        AuthServer { issuer, record }
    }
}

async fn metadata(State(st): State<Arc<AsState>>) -> Json<Value> {
    let i = &st.issuer;
    Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "registration_endpoint": format!("{i}/register"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": ["mcp:tools", "offline_access"],
        "authorization_response_iss_parameter_supported": true,
    }))
}

async fn jwks(State(st): State<Arc<AsState>>) -> Json<Value> {
    Json(json!({ "keys": [st.jwk] }))
}

async fn register(State(st): State<Arc<AsState>>, Json(body): Json<Value>) -> Response {
    let mut r = st.record.lock().unwrap();
    r.registrations += 1;
    let id = format!("client-{}", r.registrations);
    let answer = json!({
        "client_id": id,
        "client_name": body["client_name"],
        "redirect_uris": body["redirect_uris"],
        "token_endpoint_auth_method": "none",
    });
    (StatusCode::CREATED, Json(answer)).into_response()
}

async fn authorize(
    State(st): State<Arc<AsState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let tamper = {
        let mut r = st.record.lock().unwrap();
        r.authorizations.push(q.clone());
        r.tamper_state
    };
    let (Some(redirect), Some(state), Some(challenge)) = (
        q.get("redirect_uri"),
        q.get("state"),
        q.get("code_challenge"),
    ) else {
        return (
            StatusCode::BAD_REQUEST,
            "redirect_uri, state and PKCE are required",
        )
            .into_response();
    };
    let code = random();
    st.codes.lock().unwrap().insert(
        code.clone(),
        Pending {
            challenge: challenge.clone(),
            redirect: redirect.clone(),
            resource: q.get("resource").cloned().unwrap_or_default(),
            scope: q.get("scope").cloned().unwrap_or_default(),
        },
    );
    let state = if tamper {
        format!("{state}x")
    } else {
        state.clone()
    };
    let mut to = reqwest::Url::parse(redirect).unwrap();
    to.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &state)
        .append_pair("iss", &st.issuer);
    (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
}

async fn token(State(st): State<Arc<AsState>>, Form(f): Form<HashMap<String, String>>) -> Response {
    let grant = f.get("grant_type").cloned().unwrap_or_default();
    st.record.lock().unwrap().grants.push(grant.clone());
    let refused = |e: &str| (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response();
    let (resource, scope) = match grant.as_str() {
        "authorization_code" => {
            let code = f.get("code").cloned().unwrap_or_default();
            let Some(p) = st.codes.lock().unwrap().remove(&code) else {
                return refused("invalid_grant");
            };
            let verifier = f.get("code_verifier").cloned().unwrap_or_default();
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if computed != p.challenge || f.get("redirect_uri") != Some(&p.redirect) {
                return refused("invalid_grant");
            }
            (p.resource, p.scope)
        }
        "refresh_token" => {
            let rt = f.get("refresh_token").cloned().unwrap_or_default();
            let Some(kept) = st.refresh.lock().unwrap().remove(&rt) else {
                return refused("invalid_grant");
            };
            kept
        }
        _ => return refused("unsupported_grant_type"),
    };
    let ttl = st.record.lock().unwrap().ttl;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({
        "iss": st.issuer, "aud": resource, "sub": "test-user", "scope": scope,
        "iat": now, "exp": now + ttl, "client_id": "test",
    });
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("test-key".into());
    let access = jsonwebtoken::encode(&header, &claims, &st.key).unwrap();
    let refresh = random();
    st.refresh
        .lock()
        .unwrap()
        .insert(refresh.clone(), (resource, scope.clone()));
    st.record.lock().unwrap().issued.push(access.clone());
    Json(json!({
        "access_token": access, "token_type": "Bearer", "expires_in": ttl,
        "refresh_token": refresh, "scope": scope,
    }))
    .into_response()
}

fn random() -> String {
    let mut b = [0u8; 18];
    getrandom::fill(&mut b).unwrap();
    URL_SAFE_NO_PAD.encode(b)
}
