//! JWT access tokens: the signature against the issuer's JWK set (from its metadata, RFC
//! 8414 or OpenID discovery, unless configured), `alg` from an allow-list of asymmetric
//! algorithms, `iss`, `aud`, `exp`/`nbf`, scopes. Keys are cached, fetched again when old
//! or on an unknown `kid`, at most once per `jwks_min_refetch` per issuer.

use super::fetch::{self, FetchError};
use super::{audience_has, scopes_of, Identity, Refusal, ResourceServer};
use base64::Engine as _;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Instant;
use tokio::sync::Mutex;

/// Asymmetric algorithms only: never `none`, never HMAC (a public key is no secret).
const ALLOWED: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Most keys kept from one JWK set.
const MAX_KEYS: usize = 32;

/// The keys of every issuer.
pub(crate) struct Keys {
    http: reqwest::Client,
    issuers: HashMap<String, Mutex<Source>>,
}

/// One issuer's keys and where they come from.
#[derive(Default)]
struct Source {
    /// Known (configured or discovered) JWK set URL.
    jwks_uri: Option<String>,
    keys: Vec<Key>,
    fetched: Option<Instant>,
    last_try: Option<Instant>,
}

#[derive(Clone)]
struct Key {
    kid: Option<String>,
    alg: Option<Algorithm>,
    key: DecodingKey,
}

impl Keys {
    pub(crate) fn new(http: reqwest::Client, issuers: &[String], jwks: Option<String>) -> Keys {
        let issuers = issuers
            .iter()
            .map(|i| {
                let source = Source {
                    jwks_uri: jwks.clone(),
                    ..Source::default()
                };
                (i.clone(), Mutex::new(source))
            })
            .collect();
        Keys { http, issuers }
    }

    /// The token checked; who it speaks for.
    pub(crate) async fn validate(
        &self,
        cfg: &ResourceServer,
        token: &str,
    ) -> Result<Identity, Refusal> {
        let invalid = |s: &str| Refusal::Invalid(s.to_owned());
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| invalid("the token is not a JWT signed with a supported algorithm"))?;
        if !ALLOWED.contains(&header.alg) {
            return Err(Refusal::Invalid(format!(
                "the token's algorithm {:?} is not accepted (asymmetric signatures only)",
                header.alg
            )));
        }
        let iss = unverified_issuer(token).ok_or_else(|| invalid("the token names no issuer"))?;
        let source = self
            .issuers
            .get(&iss)
            .ok_or_else(|| invalid("the token was not issued by a trusted authorization server"))?;
        let key = self
            .key(&iss, source, cfg, header.kid.as_deref(), header.alg)
            .await?;
        let mut v = Validation::new(header.alg);
        v.set_issuer(&[&iss]);
        v.set_audience(&[&cfg.resource]);
        v.set_required_spec_claims(&["exp", "iss", "aud"]);
        v.validate_nbf = true;
        v.leeway = cfg.leeway.as_secs();
        let data = jsonwebtoken::decode::<Value>(token, &key, &v).map_err(|e| refusal(&e))?;
        let c = data.claims;
        if !audience_has(c.get("aud"), &cfg.resource) {
            return Err(invalid("the token's audience is not this resource"));
        }
        let text = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_owned);
        Ok(Identity {
            subject: text("sub"),
            client_id: text("client_id").or_else(|| text("azp")),
            scopes: scopes_of(c.get("scope"), c.get("scp")),
        })
    }

    /// The issuer's key for `kid` and `alg`, fetching the keys when they are old or the
    /// `kid` is unknown (rate-limited).
    async fn key(
        &self,
        issuer: &str,
        source: &Mutex<Source>,
        cfg: &ResourceServer,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<DecodingKey, Refusal> {
        let mut s = source.lock().await;
        let may_fetch = |s: &Source| {
            s.last_try
                .is_none_or(|t| t.elapsed() >= cfg.jwks_min_refetch)
        };
        let old = s.fetched.is_none_or(|t| t.elapsed() >= cfg.jwks_max_age);
        let mut fetched = false;
        if old && may_fetch(&s) {
            fetched = true;
            if let Err(e) = self.refresh(issuer, &mut s).await {
                if s.keys.is_empty() {
                    return Err(unavailable(&e));
                }
                tracing::warn!(issuer, "keeping the old keys: {e}");
            }
        }
        if s.keys.is_empty() && s.fetched.is_none() {
            return Err(Refusal::Unavailable(
                "the authorization server's keys could not be fetched; try again shortly"
                    .to_owned(),
            ));
        }
        if let Some(k) = find(&s.keys, kid, alg) {
            return Ok(k);
        }
        if !fetched && may_fetch(&s) {
            if let Err(e) = self.refresh(issuer, &mut s).await {
                tracing::warn!(issuer, "fetching the keys for an unknown kid: {e}");
            }
            if let Some(k) = find(&s.keys, kid, alg) {
                return Ok(k);
            }
        }
        Err(Refusal::Invalid(
            "the token's signing key (kid) is not one of the authorization server's keys"
                .to_owned(),
        ))
    }

    /// Fetches the issuer's keys (discovering where they are first, if needed).
    async fn refresh(&self, issuer: &str, s: &mut Source) -> Result<(), FetchError> {
        s.last_try = Some(Instant::now());
        let uri = match &s.jwks_uri {
            Some(u) => u.clone(),
            None => {
                let u = discover(&self.http, issuer).await?;
                s.jwks_uri = Some(u.clone());
                u
            }
        };
        let doc = fetch::json(&uri, self.http.get(&uri)).await?;
        let keys: Vec<Key> = doc
            .get("keys")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(key_of)
            .take(MAX_KEYS)
            .collect();
        tracing::debug!(
            issuer,
            keys = keys.len(),
            "fetched the authorization server's keys"
        );
        s.keys = keys;
        s.fetched = Some(Instant::now());
        Ok(())
    }
}

/// A JWK usable to verify signatures: asymmetric, not for encryption.
fn key_of(v: &Value) -> Option<Key> {
    let jwk: Jwk = serde_json::from_value(v.clone()).ok()?;
    if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_))
        || matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption))
    {
        return None;
    }
    let alg = match jwk.common.key_algorithm {
        Some(a) => Some(a.to_string().parse::<Algorithm>().ok()?),
        None => None,
    };
    Some(Key {
        kid: jwk.common.key_id.clone(),
        alg,
        key: DecodingKey::from_jwk(&jwk).ok()?,
    })
}

/// The key with this `kid` (without one, the only key that fits), if its `alg` allows.
fn find(keys: &[Key], kid: Option<&str>, alg: Algorithm) -> Option<DecodingKey> {
    let fits = |k: &&Key| k.alg.is_none_or(|a| a == alg) && k.key.family() == alg.family();
    match kid {
        Some(kid) => keys
            .iter()
            .filter(fits)
            .find(|k| k.kid.as_deref() == Some(kid))
            .map(|k| k.key.clone()),
        None => {
            let mut it = keys.iter().filter(fits);
            match (it.next(), it.next()) {
                (Some(k), None) => Some(k.key.clone()),
                _ => None,
            }
        }
    }
}

/// `iss` of the payload, read before the signature is checked (to pick the keys; the
/// signature check then covers it).
fn unverified_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("iss")?.as_str().map(str::to_owned)
}

/// The JWK set URL of `issuer`'s metadata: RFC 8414 (well-known name inserted before the
/// issuer's path), then OpenID Connect discovery (inserted, then appended).
async fn discover(http: &reqwest::Client, issuer: &str) -> Result<String, FetchError> {
    let u = reqwest::Url::parse(issuer).map_err(|_| FetchError::Bad {
        url: issuer.to_owned(),
        why: "an issuer that is not a URL".to_owned(),
    })?;
    let origin = u.origin().ascii_serialization();
    let path = u.path().trim_end_matches('/');
    let mut candidates = vec![format!(
        "{origin}/.well-known/oauth-authorization-server{path}"
    )];
    if !path.is_empty() {
        candidates.push(format!("{origin}/.well-known/openid-configuration{path}"));
    }
    candidates.push(format!("{origin}{path}/.well-known/openid-configuration"));
    let mut last = None;
    for url in candidates {
        match fetch::json(&url, http.get(&url)).await {
            Ok(doc) => {
                let named = doc.get("issuer").and_then(Value::as_str);
                if named != Some(issuer) {
                    last = Some(FetchError::Bad {
                        url,
                        why: format!("metadata for another issuer ({named:?})"),
                    });
                    continue;
                }
                return match doc.get("jwks_uri").and_then(Value::as_str) {
                    Some(j) => Ok(j.to_owned()),
                    None => Err(FetchError::Bad {
                        url,
                        why: "metadata without jwks_uri".to_owned(),
                    }),
                };
            }
            Err(e) if e.is_not_found() => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or(FetchError::Bad {
        url: issuer.to_owned(),
        why: "no metadata".to_owned(),
    }))
}

fn unavailable(e: &FetchError) -> Refusal {
    tracing::warn!("authorization server: {e}");
    Refusal::Unavailable(
        "the authorization server's keys could not be fetched; try again shortly".to_owned(),
    )
}

/// One sentence for each way a JWT fails.
fn refusal(e: &jsonwebtoken::errors::Error) -> Refusal {
    use jsonwebtoken::errors::ErrorKind as K;
    let why = match e.kind() {
        K::ExpiredSignature => "the token has expired",
        K::ImmatureSignature => "the token is not valid yet (nbf)",
        K::InvalidAudience => "the token's audience is not this resource",
        K::InvalidIssuer => "the token was not issued by a trusted authorization server",
        K::InvalidSignature => "the token's signature does not verify",
        K::InvalidAlgorithm | K::MissingAlgorithm => {
            "the token's algorithm does not match its signing key"
        }
        K::MissingRequiredClaim(c) => {
            return Refusal::Invalid(format!("the token has no {c:?} claim"))
        }
        _ => "the token is malformed",
    };
    Refusal::Invalid(why.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_is_read_from_the_payload() {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let t = format!("{}.{}.sig", b64("{}"), b64(r#"{"iss":"https://as"}"#));
        assert_eq!(unverified_issuer(&t).as_deref(), Some("https://as"));
        assert_eq!(unverified_issuer("garbage"), None);
    }
}
