//! Token introspection (RFC 7662): the token POSTed to the authorization server with the
//! resource server's client credentials; `active`, `iss`, `aud`, `exp`, `nbf` and scopes
//! checked. Answers are kept for a short time (never past `exp`), keyed by the token's
//! SHA-256 (the token itself is not kept), in a bounded map.

use super::fetch;
use super::{audience_has, now, scopes_of, Identity, Refusal, ResourceServer};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

type Verdict = Result<Identity, String>;

/// Most introspection requests in flight at once: a flood of made-up tokens waits here
/// (then gets 503) instead of hammering the authorization server.
const MAX_IN_FLIGHT: usize = 32;

pub(crate) struct Introspector {
    http: reqwest::Client,
    endpoint: String,
    client_id: String,
    client_secret: String,
    cache: Mutex<HashMap<[u8; 32], (Instant, Verdict)>>,
    in_flight: tokio::sync::Semaphore,
}

impl Introspector {
    pub(crate) fn new(
        http: reqwest::Client,
        endpoint: String,
        client_id: String,
        client_secret: String,
    ) -> Introspector {
        Introspector {
            http,
            endpoint,
            client_id,
            client_secret,
            cache: Mutex::new(HashMap::new()),
            in_flight: tokio::sync::Semaphore::new(MAX_IN_FLIGHT),
        }
    }

    pub(crate) async fn validate(
        &self,
        cfg: &ResourceServer,
        token: &str,
    ) -> Result<Identity, Refusal> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(v) = self.cached(&key) {
            return v.map_err(Refusal::Invalid);
        }
        let busy = || {
            Refusal::Unavailable(
                "too many tokens are being checked at once; try again shortly".to_owned(),
            )
        };
        let permit = tokio::time::timeout(cfg.fetch_timeout, self.in_flight.acquire());
        let _permit = permit.await.map_err(|_| busy())?.map_err(|_| busy())?;
        let req = self
            .http
            .post(&self.endpoint)
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .form(&[("token", token), ("token_type_hint", "access_token")]);
        let doc = fetch::json(&self.endpoint, req).await.map_err(|e| {
            tracing::warn!("introspection: {e}");
            Refusal::Unavailable(
                "the authorization server could not check the token; try again shortly".to_owned(),
            )
        })?;
        let verdict = judge(cfg, &doc);
        let mut until = Instant::now() + cfg.introspection_ttl;
        if let Some(exp) = doc.get("exp").and_then(Value::as_u64) {
            let left = Duration::from_secs(exp.saturating_sub(now()));
            until = until.min(Instant::now() + left);
        }
        self.remember(cfg, key, until, verdict.clone());
        verdict.map_err(Refusal::Invalid)
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Verdict> {
        let c = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        c.get(key)
            .filter(|(until, _)| *until > Instant::now())
            .map(|(_, v)| v.clone())
    }

    /// Keeps a verdict; a full map first drops what expired, then everything.
    fn remember(&self, cfg: &ResourceServer, key: [u8; 32], until: Instant, v: Verdict) {
        if cfg.introspection_cache == 0 {
            return;
        }
        let mut c = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if c.len() >= cfg.introspection_cache {
            let t = Instant::now();
            c.retain(|_, (u, _)| *u > t);
            if c.len() >= cfg.introspection_cache {
                c.clear();
            }
        }
        c.insert(key, (until, v));
    }
}

/// The introspection answer judged: who the token speaks for, or why it is refused.
fn judge(cfg: &ResourceServer, doc: &Value) -> Verdict {
    if doc.get("active").and_then(Value::as_bool) != Some(true) {
        return Err("the token is not active (expired, revoked or unknown)".to_owned());
    }
    let t = now();
    let leeway = cfg.leeway.as_secs();
    if doc
        .get("exp")
        .and_then(Value::as_u64)
        .is_some_and(|exp| exp.saturating_add(leeway) <= t)
    {
        return Err("the token has expired".to_owned());
    }
    if doc
        .get("nbf")
        .and_then(Value::as_u64)
        .is_some_and(|nbf| nbf > t.saturating_add(leeway))
    {
        return Err("the token is not valid yet (nbf)".to_owned());
    }
    if let Some(iss) = doc.get("iss") {
        if !iss
            .as_str()
            .is_some_and(|i| cfg.issuers.iter().any(|x| x == i))
        {
            return Err("the token was not issued by a trusted authorization server".to_owned());
        }
    }
    if !audience_has(doc.get("aud"), &cfg.resource) {
        return Err("the token's audience is not this resource".to_owned());
    }
    let text = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_owned);
    Ok(Identity {
        subject: text("sub"),
        client_id: text("client_id"),
        scopes: scopes_of(doc.get("scope"), None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_are_judged() {
        let cfg = ResourceServer::jwt(
            "https://mcp.example.com/mcp",
            vec!["https://as.example.com".into()],
        )
        .unwrap();
        let ok = json!({"active": true, "aud": "https://mcp.example.com/mcp", "scope": "a b",
            "iss": "https://as.example.com", "exp": now() + 60, "sub": "u"});
        let id = judge(&cfg, &ok).unwrap();
        assert_eq!(id.scopes, ["a", "b"]);
        assert_eq!(id.subject.as_deref(), Some("u"));
        assert!(judge(&cfg, &json!({"active": false})).is_err());
        let mut other = ok.clone();
        other["aud"] = json!(["https://other.example.com"]);
        assert!(judge(&cfg, &other).is_err());
        let mut old = ok.clone();
        old["exp"] = json!(now() - 600);
        assert!(judge(&cfg, &old).is_err());
        let mut foreign = ok;
        foreign["iss"] = json!("https://evil.example.com");
        assert!(judge(&cfg, &foreign).is_err());
    }
}
