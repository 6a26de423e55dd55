//! The OAuth resource server over real HTTP on both sides: a small authorization server in
//! the test (RFC 8414 metadata, a JWK set of a P-256 key made here, introspection) and the
//! MCP endpoint checking tokens signed here: valid ones pass on both eras and /metrics;
//! each kind of bad token gets 401 with its challenge; missing scopes 403; the AS down 503;
//! the metadata document; and no token in the logs.

mod common;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use base64::Engine as _;
use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mcp_http::{HttpConfig, ResourceServer, TokenValidation};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::EncodePrivateKey;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const RESOURCE: &str = "https://mcp.test.example/mcp";
const METADATA: &str = "https://mcp.test.example/.well-known/oauth-protected-resource/mcp";
const KID: &str = "test-key-1";
const CLIENT: &str = "the-resource-server";
const SECRET: &str = "its-secret";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// A P-256 key: its signing key and its public point (uncompressed SEC1).
fn keypair() -> (EncodingKey, Vec<u8>) {
    let sk = loop {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).unwrap();
        if let Ok(k) = p256::SecretKey::from_slice(&b) {
            break k;
        }
    };
    let der = sk.to_pkcs8_der().unwrap();
    let point = sk.public_key().to_encoded_point(false).as_bytes().to_vec();
    (EncodingKey::from_ec_der(der.as_bytes()), point)
}

struct AsState {
    issuer: String,
    jwks: Mutex<Value>,
    /// Introspection answers by token.
    introspection: Mutex<HashMap<String, Value>>,
    jwks_fetches: AtomicUsize,
    introspections: AtomicUsize,
}

/// The test's authorization server.
struct Authz {
    issuer: String,
    key: EncodingKey,
    public_point: Vec<u8>,
    state: Arc<AsState>,
}

/// A JSON answer (axum's `json` feature is not built).
type Json = (
    axum::http::StatusCode,
    [(&'static str, &'static str); 1],
    String,
);

fn json_answer(status: u16, v: Value) -> Json {
    let status = axum::http::StatusCode::from_u16(status).unwrap();
    (
        status,
        [("content-type", "application/json")],
        v.to_string(),
    )
}

async fn metadata(State(st): State<Arc<AsState>>) -> Json {
    json_answer(
        200,
        json!({
            "issuer": st.issuer,
            "jwks_uri": format!("{}/jwks", st.issuer),
            "introspection_endpoint": format!("{}/introspect", st.issuer),
            "response_types_supported": ["code"],
        }),
    )
}

async fn serve_jwks(State(st): State<Arc<AsState>>) -> Json {
    st.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    json_answer(200, st.jwks.lock().unwrap().clone())
}

async fn introspect(State(st): State<Arc<AsState>>, h: HeaderMap, body: String) -> Json {
    st.introspections.fetch_add(1, Ordering::SeqCst);
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT}:{SECRET}"));
    if h.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Basic {basic}")) {
        return json_answer(401, json!({"error": "invalid_client"}));
    }
    let token = body
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .unwrap_or("");
    let answer = st.introspection.lock().unwrap().get(token).cloned();
    let answer = answer.unwrap_or(json!({"active": false}));
    json_answer(200, answer)
}

/// The JWK of a P-256 public point.
fn jwk(kid: &str, point: &[u8]) -> Value {
    json!({"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
           "x": b64(&point[1..33]), "y": b64(&point[33..65])})
}

async fn start_as() -> Authz {
    start_as_at("", false).await
}

/// An authorization server whose issuer has the path `tenant` (`""` or `/name`), with its
/// metadata at the RFC 8414 name or (`oidc`) only at OpenID's.
async fn start_as_at(tenant: &str, oidc: bool) -> Authz {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}{tenant}", listener.local_addr().unwrap());
    let (key, point) = keypair();
    let jwks = json!({"keys": [
        // Keys the server must skip: one for encryption, one symmetric.
        {"kty": "EC", "crv": "P-256", "use": "enc", "kid": "enc-key",
         "x": b64(&point[1..33]), "y": b64(&point[33..65])},
        {"kty": "oct", "kid": "shared", "k": b64(b"not a public key")},
        jwk(KID, &point),
    ]});
    let state = Arc::new(AsState {
        issuer: issuer.clone(),
        jwks: Mutex::new(jwks),
        introspection: Mutex::new(HashMap::new()),
        jwks_fetches: AtomicUsize::new(0),
        introspections: AtomicUsize::new(0),
    });
    let well_known = match oidc {
        false => format!("/.well-known/oauth-authorization-server{tenant}"),
        true => format!("/.well-known/openid-configuration{tenant}"),
    };
    let app = axum::Router::new()
        .route(&well_known, get(metadata))
        .route(&format!("{tenant}/jwks"), get(serve_jwks))
        .route(&format!("{tenant}/introspect"), post(introspect))
        .with_state(state.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Authz {
        issuer,
        key,
        public_point: point,
        state,
    }
}

impl Authz {
    /// Claims of a valid token with these scopes.
    fn claims(&self, scope: &str) -> Value {
        json!({"iss": self.issuer, "aud": RESOURCE, "sub": "alice", "client_id": "app",
               "scope": scope, "iat": now(), "exp": now() + 300})
    }

    fn sign(&self, claims: &Value) -> String {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some(KID.into());
        jsonwebtoken::encode(&h, claims, &self.key).unwrap()
    }

    fn token(&self, scope: &str) -> String {
        self.sign(&self.claims(scope))
    }
}

/// JWTs from `authz`; every request needs `mcp:tools`, `locate` also `mcp:admin`.
fn jwt_config(issuer: &str) -> HttpConfig {
    let mut rs = ResourceServer::jwt(RESOURCE, vec![issuer.to_owned()]).unwrap();
    rs.required_scopes = vec!["mcp:tools".into()];
    rs.tool_scopes
        .insert("locate".into(), vec!["mcp:admin".into()]);
    rs.resource_name = Some("Test MCP server".into());
    HttpConfig {
        oauth: Some(rs),
        ..HttpConfig::default()
    }
}

fn introspection_config(issuer: &str, secret: &str) -> HttpConfig {
    let v = TokenValidation::Introspection {
        endpoint: format!("{issuer}/introspect"),
        client_id: CLIENT.into(),
        client_secret: secret.into(),
    };
    let mut rs = ResourceServer::with(RESOURCE.into(), vec![issuer.to_owned()], v).unwrap();
    rs.required_scopes = vec!["mcp:tools".into()];
    HttpConfig {
        oauth: Some(rs),
        ..HttpConfig::default()
    }
}

fn init() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
}

fn modern_call(id: i64, tool: &str, args: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
        "name": tool, "arguments": args, "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {}}}})
}

fn modern_post(s: &Running, body: &Value) -> reqwest::RequestBuilder {
    s.http
        .post(&s.url)
        .header("content-type", "application/json")
        .header("accept", ACCEPT)
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", body["method"].as_str().unwrap())
        .header("mcp-name", body["params"]["name"].as_str().unwrap())
        .body(body.to_string())
}

struct Answer {
    status: u16,
    challenge: String,
    body: Value,
}

async fn answer(r: reqwest::RequestBuilder) -> Answer {
    let r = r.send().await.unwrap();
    let challenge = r
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let status = r.status().as_u16();
    let body = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap_or(Value::Null);
    Answer {
        status,
        challenge,
        body,
    }
}

impl Answer {
    fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
}

/// A legacy session opened with `token`.
async fn session(s: &Running, token: &str) -> String {
    let r = s
        .post(None, &init())
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let sid = r.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let n = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let r = s
        .post(Some(&sid), &n)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    sid
}

#[tokio::test]
async fn a_valid_token_passes_on_both_eras_and_metrics() {
    let authz = start_as().await;
    let s = start(jwt_config(&authz.issuer)).await;
    let token = authz.token("mcp:tools mcp:admin");
    let sid = session(&s, &token).await;
    let call = call(2, "locate", json!({"region": "eu"}));
    let a = answer(s.post(Some(&sid), &call).bearer_auth(&token)).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["result"]["content"][0]["text"], "in eu");
    // The same session without the token: refused.
    let a = answer(s.post(Some(&sid), &call)).await;
    assert_eq!(a.status, 401);

    let m = modern_call(3, "flood", json!({"n": 0}));
    let a = answer(modern_post(&s, &m).bearer_auth(&token)).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["result"]["content"][0]["text"], "flooded 0");
    let a = answer(modern_post(&s, &m)).await;
    assert_eq!(a.status, 401);

    let metrics = format!("{}/metrics", s.url.trim_end_matches("/mcp"));
    let r = s
        .http
        .get(&metrics)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("mcp_http_auth_refusals_total{reason=\"missing_token\"} 2\n"),
        "{text}"
    );
    let r = s.http.get(&metrics).send().await.unwrap();
    assert_eq!(r.status(), 401);
    // One fetch of the keys served every request.
    assert_eq!(authz.state.jwks_fetches.load(Ordering::SeqCst), 1);
    s.stop().await;
}

#[tokio::test]
async fn a_session_is_only_its_owners() {
    let authz = start_as().await;
    let s = start(jwt_config(&authz.issuer)).await;
    let alice = authz.token("mcp:tools mcp:admin");
    let mut claims = authz.claims("mcp:tools mcp:admin");
    claims["sub"] = "mallory".into();
    let mallory = authz.sign(&claims);
    let sid = session(&s, &alice).await;
    let call = call(2, "locate", json!({"region": "eu"}));
    // Another user's valid token cannot use (or end, or listen to) Alice's session: to
    // Mallory it does not exist.
    let a = answer(s.post(Some(&sid), &call).bearer_auth(&mallory)).await;
    assert_eq!(a.status, 404, "{:?}", a.body);
    let n =
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 9}});
    let a = answer(s.post(Some(&sid), &n).bearer_auth(&mallory)).await;
    assert_eq!(a.status, 404);
    let get = s
        .http
        .get(&s.url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &sid)
        .bearer_auth(&mallory);
    assert_eq!(get.send().await.unwrap().status(), 404);
    let del = s.http.delete(&s.url).header("mcp-session-id", &sid);
    assert_eq!(
        del.bearer_auth(&mallory).send().await.unwrap().status(),
        404
    );
    // Alice's session is untouched; a fresh token of hers (same subject) works.
    let a = answer(s.post(Some(&sid), &call).bearer_auth(&alice)).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let again = authz.token("mcp:tools mcp:admin");
    let call3 = self::call(3, "locate", json!({"region": "us"}));
    let a = answer(s.post(Some(&sid), &call3).bearer_auth(&again)).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    s.stop().await;
}

#[tokio::test]
async fn a_missing_token_gets_a_challenge_naming_the_metadata_and_scopes() {
    let authz = start_as().await;
    let s = start(jwt_config(&authz.issuer)).await;
    let a = answer(s.post(None, &init())).await;
    assert_eq!(a.status, 401);
    assert_eq!(
        a.challenge,
        format!("Bearer scope=\"mcp:tools\", resource_metadata=\"{METADATA}\"")
    );
    assert!(
        a.message().contains("needs an OAuth bearer token"),
        "{}",
        a.message()
    );
    assert_eq!(a.body["error"]["code"], -32600);
    s.stop().await;
}

#[tokio::test]
async fn bad_tokens_are_refused_with_invalid_token() {
    let authz = start_as().await;
    let s = start(jwt_config(&authz.issuer)).await;
    let good = authz.token("mcp:tools");
    // Keys fetched by a good token first, so that the unknown kid below finds them fresh.
    assert_eq!(
        answer(s.post(None, &init()).bearer_auth(&good))
            .await
            .status,
        200
    );

    let mut expired = authz.claims("mcp:tools");
    expired["exp"] = json!(now() - 600);
    let mut early = authz.claims("mcp:tools");
    early["nbf"] = json!(now() + 600);
    let mut other_aud = authz.claims("mcp:tools");
    other_aud["aud"] = json!(["https://other.example/mcp"]);
    let mut other_iss = authz.claims("mcp:tools");
    other_iss["iss"] = json!("https://evil.example");
    let mut no_exp = authz.claims("mcp:tools");
    no_exp.as_object_mut().unwrap().remove("exp");

    let parts: Vec<&str> = good.split('.').collect();
    let more = b64(authz.claims("mcp:tools mcp:admin").to_string().as_bytes());
    let tampered = format!("{}.{more}.{}", parts[0], parts[2]);
    let none_header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{none_header}.{}.", parts[1]);
    let (other_key, _) = keypair();
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some("unknown-kid".into());
    let unknown_kid = jsonwebtoken::encode(&h, &authz.claims("mcp:tools"), &other_key).unwrap();
    let mut h = Header::new(Algorithm::HS256);
    h.kid = Some(KID.into());
    let hs_key = EncodingKey::from_secret(&authz.public_point);
    let hs256 = jsonwebtoken::encode(&h, &authz.claims("mcp:tools"), &hs_key).unwrap();

    let cases = [
        (authz.sign(&expired), "has expired"),
        (authz.sign(&early), "not valid yet"),
        (authz.sign(&other_aud), "audience is not this resource"),
        (
            authz.sign(&other_iss),
            "not issued by a trusted authorization server",
        ),
        (authz.sign(&no_exp), "has no \"exp\" claim"),
        (tampered, "signature does not verify"),
        (unsigned, "not a JWT signed with a supported algorithm"),
        (unknown_kid, "signing key (kid) is not one of"),
        (hs256, "algorithm HS256 is not accepted"),
        ("not-a-jwt".to_owned(), "not a JWT"),
    ];
    for (token, why) in cases {
        let a = answer(s.post(None, &init()).bearer_auth(&token)).await;
        assert_eq!(a.status, 401, "{why}: {:?}", a.body);
        assert!(a.message().contains(why), "{why}: {}", a.message());
        assert!(
            a.challenge
                .starts_with("Bearer error=\"invalid_token\", error_description=\""),
            "{why}: {}",
            a.challenge
        );
        assert!(a.challenge.contains(why.trim_matches('"')) || why.contains('"'));
        assert!(a.challenge.ends_with(&format!(
            "scope=\"mcp:tools\", resource_metadata=\"{METADATA}\""
        )));
    }
    // The unknown kid did not make the server fetch the keys again (too soon after).
    assert_eq!(authz.state.jwks_fetches.load(Ordering::SeqCst), 1);
    s.stop().await;
}

#[tokio::test]
async fn keys_are_found_by_openid_discovery_and_refetched_when_rotated() {
    let authz = start_as_at("/tenant1", true).await;
    let mut cfg = jwt_config(&authz.issuer);
    if let Some(rs) = cfg.oauth.as_mut() {
        rs.jwks_min_refetch = std::time::Duration::ZERO;
    }
    let s = start(cfg).await;
    let a = answer(s.post(None, &init()).bearer_auth(authz.token("mcp:tools"))).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    // The authorization server rotates its key: a token with the new kid makes the server
    // fetch the keys again.
    let (new_key, new_point) = keypair();
    *authz.state.jwks.lock().unwrap() = json!({"keys": [jwk("test-key-2", &new_point)]});
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some("test-key-2".into());
    let rotated = jsonwebtoken::encode(&h, &authz.claims("mcp:tools"), &new_key).unwrap();
    let a = answer(s.post(None, &init()).bearer_auth(&rotated)).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(authz.state.jwks_fetches.load(Ordering::SeqCst), 2);
    // The old key is gone.
    let a = answer(s.post(None, &init()).bearer_auth(authz.token("mcp:tools"))).await;
    assert_eq!(a.status, 401);
    assert!(a.message().contains("signing key (kid)"));
    s.stop().await;
}

#[tokio::test]
async fn a_configured_jwks_url_needs_no_metadata() {
    // Metadata only at a path the server does not look at; the keys named directly.
    let authz = start_as_at("/elsewhere", false).await;
    let issuer = format!("{}-not-here", authz.issuer);
    let v = TokenValidation::Jwt {
        jwks_uri: Some(format!("{}/jwks", authz.issuer)),
    };
    let mut rs = ResourceServer::with(RESOURCE.into(), vec![issuer.clone()], v).unwrap();
    rs.required_scopes = vec!["mcp:tools".into()];
    let s = start(HttpConfig {
        oauth: Some(rs),
        ..HttpConfig::default()
    })
    .await;
    let mut claims = authz.claims("mcp:tools");
    claims["iss"] = json!(issuer);
    let a = answer(s.post(None, &init()).bearer_auth(authz.sign(&claims))).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    s.stop().await;
}

#[tokio::test]
async fn missing_scopes_get_403_naming_every_scope_needed() {
    let authz = start_as().await;
    let s = start(jwt_config(&authz.issuer)).await;
    // Without the scope every request needs.
    let a = answer(s.post(None, &init()).bearer_auth(authz.token("other"))).await;
    assert_eq!(a.status, 403);
    assert_eq!(
        a.challenge,
        format!(
            "Bearer error=\"insufficient_scope\", error_description=\"the token lacks the scopes this request needs: mcp:tools\", scope=\"mcp:tools\", resource_metadata=\"{METADATA}\""
        )
    );
    // Enough for the session, not for `locate`: both eras.
    let token = authz.token("mcp:tools");
    let sid = session(&s, &token).await;
    let call = call(7, "locate", json!({"region": "eu"}));
    let a = answer(s.post(Some(&sid), &call).bearer_auth(&token)).await;
    assert_eq!(a.status, 403);
    assert!(a.challenge.contains("error=\"insufficient_scope\""));
    assert!(
        a.challenge.contains("scope=\"mcp:tools mcp:admin\""),
        "{}",
        a.challenge
    );
    assert_eq!(a.body["id"], 7);
    assert!(a.message().contains("mcp:tools mcp:admin"));
    let m = modern_call(8, "locate", json!({"region": "eu"}));
    let a = answer(modern_post(&s, &m).bearer_auth(&token)).await;
    assert_eq!(a.status, 403);
    assert!(a.challenge.contains("scope=\"mcp:tools mcp:admin\""));
    // Other tools need no more.
    let a = answer(
        s.post(Some(&sid), &common::call(9, "flood", json!({"n": 0})))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(a.status, 200);
    s.stop().await;
}

#[tokio::test]
async fn introspection_accepts_active_tokens_and_refuses_the_rest() {
    let authz = start_as().await;
    {
        let mut m = authz.state.introspection.lock().unwrap();
        let good = json!({"active": true, "aud": RESOURCE, "iss": authz.issuer,
            "scope": "mcp:tools", "sub": "bob", "client_id": "app", "exp": now() + 300});
        let mut foreign = good.clone();
        foreign["aud"] = json!("https://other.example/mcp");
        let mut narrow = good.clone();
        narrow["scope"] = json!("read");
        m.insert("opaque-good".into(), good);
        m.insert("opaque-foreign".into(), foreign);
        m.insert("opaque-narrow".into(), narrow);
        m.insert("opaque-revoked".into(), json!({"active": false}));
    }
    let s = start(introspection_config(&authz.issuer, SECRET)).await;
    let sid = session(&s, "opaque-good").await;
    let a = answer(
        s.post(Some(&sid), &call(2, "flood", json!({"n": 0})))
            .bearer_auth("opaque-good"),
    )
    .await;
    assert_eq!(a.status, 200);
    // Three requests, one introspection: the answer is reused.
    assert_eq!(authz.state.introspections.load(Ordering::SeqCst), 1);
    for (token, status, why) in [
        ("opaque-revoked", 401, "not active"),
        ("opaque-unknown", 401, "not active"),
        ("opaque-foreign", 401, "audience is not this resource"),
        ("opaque-narrow", 403, "lacks the scopes"),
    ] {
        let a = answer(s.post(None, &init()).bearer_auth(token)).await;
        assert_eq!(a.status, status, "{token}");
        assert!(a.message().contains(why), "{token}: {}", a.message());
        assert!(a.challenge.contains(METADATA));
    }
    s.stop().await;

    // Wrong client credentials: the AS refuses us, which is not the client's fault.
    let s = start(introspection_config(&authz.issuer, "wrong")).await;
    let a = answer(s.post(None, &init()).bearer_auth("opaque-good")).await;
    assert_eq!(a.status, 503);
    assert!(a.message().contains("could not check the token"));
    s.stop().await;
}

#[tokio::test]
async fn an_unreachable_authorization_server_is_503_not_401() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let authz = start_as().await;
    let s = start(jwt_config(&closed)).await;
    let mut claims = authz.claims("mcp:tools");
    claims["iss"] = json!(closed);
    let token = authz.sign(&claims);
    for _ in 0..2 {
        let a = answer(s.post(None, &init()).bearer_auth(&token)).await;
        assert_eq!(a.status, 503, "{:?}", a.body);
        assert!(
            a.message().contains("keys could not be fetched"),
            "{}",
            a.message()
        );
        assert!(a.challenge.is_empty());
    }
    s.stop().await;
    let s = start(introspection_config(&closed, SECRET)).await;
    let a = answer(s.post(None, &init()).bearer_auth("opaque")).await;
    assert_eq!(a.status, 503);
    s.stop().await;
}

#[tokio::test]
async fn the_protected_resource_metadata_comes_from_the_configuration() {
    let authz = start_as().await;
    let s = start(jwt_config(&authz.issuer)).await;
    let origin = s.url.trim_end_matches("/mcp");
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let r = s.http.get(format!("{origin}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let doc: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        assert_eq!(
            doc,
            json!({
                "resource": RESOURCE,
                "authorization_servers": [authz.issuer],
                "scopes_supported": ["mcp:tools"],
                "bearer_methods_supported": ["header"],
                "resource_name": "Test MCP server",
            })
        );
    }
    s.stop().await;
}

/// Everything the process logs, into a buffer.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

// The process-wide subscriber (a thread's own would miss callsites that the tests running
// beside it registered first): this test reads everything logged, the other tests' too.
#[tokio::test]
async fn no_token_appears_in_the_logs_even_at_trace() {
    let logs = Logs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(logs.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let authz = start_as().await;
    authz.state.introspection.lock().unwrap().insert(
        "opaque-secret-token-value".into(),
        json!({"active": true, "aud": RESOURCE, "scope": "mcp:tools", "exp": now() + 300}),
    );
    let s = start(jwt_config(&authz.issuer)).await;
    let good = authz.token("mcp:tools");
    let mut expired = authz.claims("mcp:tools");
    expired["exp"] = json!(now() - 600);
    let expired = authz.sign(&expired);
    let sid = session(&s, &good).await;
    let call = call(2, "flood", json!({"n": 0}));
    assert_eq!(
        answer(s.post(Some(&sid), &call).bearer_auth(&good))
            .await
            .status,
        200
    );
    assert_eq!(
        answer(s.post(None, &init()).bearer_auth(&expired))
            .await
            .status,
        401
    );
    s.stop().await;
    let s = start(introspection_config(&authz.issuer, SECRET)).await;
    let opaque = "opaque-secret-token-value";
    assert_eq!(
        answer(s.post(None, &init()).bearer_auth(opaque))
            .await
            .status,
        200
    );
    s.stop().await;

    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        text.contains("bearer token refused"),
        "the logs were not captured"
    );
    assert!(
        text.contains("bearer token accepted"),
        "{}",
        text.lines()
            .filter(|l| l.contains("bearer"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    for token in [&good, &expired] {
        let signature = token.rsplit('.').next().unwrap();
        assert!(
            !text.contains(signature),
            "a token's signature is in the logs"
        );
        let payload = token.split('.').nth(1).unwrap();
        assert!(!text.contains(payload), "a token's payload is in the logs");
    }
    assert!(!text.contains(opaque), "an opaque token is in the logs");
    assert!(!text.contains(SECRET), "the client secret is in the logs");
}
