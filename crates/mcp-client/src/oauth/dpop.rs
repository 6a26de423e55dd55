//! DPoP (RFC 9449): a P-256 key the client holds, a fresh signed proof for every token
//! request and every request that carries a DPoP-bound token (`htm`, `htu` without query or
//! fragment, `iat`, a new `jti`; `ath`, the token's hash, towards the resource), and the
//! nonces servers hand out (`DPoP-Nonce`, kept per origin and put in later proofs).

use super::AuthError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::EncodePrivateKey as _;
use reqwest::Url;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// The proof's `alg`: the one algorithm this client signs proofs with.
pub(crate) const ALG: &str = "ES256";

/// A DPoP key and the nonces servers gave for it.
pub(crate) struct Dpop {
    der: Vec<u8>,
    key: EncodingKey,
    jwk: Jwk,
    nonces: Mutex<HashMap<String, String>>,
}

impl Dpop {
    /// A new key.
    pub fn generate() -> Result<Dpop, AuthError> {
        let secret = loop {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes)
                .map_err(|e| AuthError::Config(format!("no randomness: {e}")))?;
            // Out of range with probability about 2^-32: draw again.
            if let Ok(s) = p256::SecretKey::from_slice(&bytes) {
                break s;
            }
        };
        let der = secret
            .to_pkcs8_der()
            .map_err(|e| AuthError::Config(format!("cannot encode the DPoP key: {e}")))?;
        Dpop::from_der(der.as_bytes())
    }

    /// The key kept as PKCS#8 DER.
    pub fn from_der(der: &[u8]) -> Result<Dpop, AuthError> {
        let key = EncodingKey::from_ec_der(der);
        let jwk = Jwk::from_encoding_key(&key, Algorithm::ES256)
            .map_err(|e| AuthError::Config(format!("the DPoP key: {e}")))?;
        Ok(Dpop {
            der: der.to_vec(),
            key,
            jwk,
            nonces: Mutex::new(HashMap::new()),
        })
    }

    /// The key as kept in the store (base64url of the PKCS#8 DER).
    pub fn export(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.der)
    }

    /// The key from the store.
    pub fn import(kept: &str) -> Result<Dpop, AuthError> {
        let der = URL_SAFE_NO_PAD
            .decode(kept.trim())
            .map_err(|_| AuthError::Store("the kept DPoP key is not base64url".into()))?;
        Dpop::from_der(&der)
    }

    /// A proof for a `method` request to `url`; `token` for a request that carries one.
    pub fn proof(&self, method: &str, url: &Url, token: Option<&str>) -> Result<String, AuthError> {
        let mut htu = url.clone();
        htu.set_query(None);
        htu.set_fragment(None);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut jti = [0u8; 16];
        getrandom::fill(&mut jti).map_err(|e| AuthError::Config(format!("no randomness: {e}")))?;
        let mut claims = serde_json::json!({
            "jti": URL_SAFE_NO_PAD.encode(jti),
            "htm": method,
            "htu": htu.as_str(),
            "iat": now,
        });
        if let Some(t) = token {
            claims["ath"] = URL_SAFE_NO_PAD.encode(Sha256::digest(t.as_bytes())).into();
        }
        if let Some(n) = self.nonce_for(url) {
            claims["nonce"] = n.into();
        }
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(self.jwk.clone());
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| AuthError::Config(format!("cannot sign a DPoP proof: {e}")))
    }

    /// Keeps the nonce a server at `url`'s origin gave.
    pub fn set_nonce(&self, url: &Url, nonce: &str) {
        let mut n = self.nonces.lock().unwrap_or_else(|p| p.into_inner());
        n.insert(url.origin().ascii_serialization(), nonce.to_owned());
    }

    fn nonce_for(&self, url: &Url) -> Option<String> {
        let n = self.nonces.lock().unwrap_or_else(|p| p.into_inner());
        n.get(&url.origin().ascii_serialization()).cloned()
    }
}

/// Whether an authorization server takes DPoP proofs this client can make.
pub(crate) fn supported(algs: Option<&[String]>) -> bool {
    algs.is_some_and(|a| a.iter().any(|x| x == ALG))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_are_fresh_and_carry_what_the_server_checks() {
        let d = Dpop::generate().unwrap();
        let url = Url::parse("https://rs.example/mcp?x=1#f").unwrap();
        let a = d.proof("POST", &url, Some("tok")).unwrap();
        let b = d.proof("POST", &url, Some("tok")).unwrap();
        assert_ne!(a, b, "a new jti each time");
        let header = jsonwebtoken::decode_header(&a).unwrap();
        assert_eq!(header.typ.as_deref(), Some("dpop+jwt"));
        assert!(header.jwk.is_some());
        let payload = a.split('.').nth(1).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert_eq!(claims["htu"], "https://rs.example/mcp");
        assert_eq!(claims["htm"], "POST");
        assert_eq!(
            claims["ath"],
            URL_SAFE_NO_PAD.encode(Sha256::digest(b"tok")).as_str()
        );
        assert!(claims.get("nonce").is_none());
        d.set_nonce(&url, "n1");
        let c = d.proof("GET", &url, None).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(c.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["nonce"], "n1");
        let again = Dpop::import(&d.export()).unwrap();
        assert_eq!(again.jwk, d.jwk);
    }
}
