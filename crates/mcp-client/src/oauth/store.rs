//! What a client keeps of its authorizations, per MCP server: the clients it registered (by
//! authorization server issuer, so a server that moves to another authorization server gets
//! a new registration there, never the old client id) and its tokens. One JSON file per
//! server in the user's data directory, readable by its owner only (the directory 0700, the
//! file 0600, written whole and renamed into place). Secrets never appear in `Debug`.

use super::AuthError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// A client identity at one authorization server.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClientInfo {
    /// `client_id` (a URL for a client ID metadata document).
    pub client_id: String,
    /// `client_secret`, for confidential clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// `token_endpoint_auth_method` the registration settled on, if it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<String>,
}

impl fmt::Debug for ClientInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientInfo")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("auth_method", &self.auth_method)
            .finish()
    }
}

/// Tokens for one MCP server.
#[derive(Clone, Serialize, Deserialize)]
pub struct Tokens {
    /// The access token.
    pub access_token: String,
    /// `Bearer` or `DPoP`.
    pub token_type: String,
    /// The refresh token, if one was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// When the access token expires (seconds since the Unix epoch), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// The scopes granted (or, when the server did not say, requested), space separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The issuer that issued them.
    pub issuer: String,
    /// The resource they were asked for (RFC 8707).
    pub resource: String,
    /// The DPoP key a `DPoP` token is bound to (PKCS#8 DER, base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_key: Option<String>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("token_type", &self.token_type)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("issuer", &self.issuer)
            .field("resource", &self.resource)
            .finish_non_exhaustive()
    }
}

/// Everything kept for one MCP server.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Saved {
    /// The MCP server's URL.
    pub server: String,
    /// Client identities by authorization server issuer.
    #[serde(default)]
    pub clients: BTreeMap<String, ClientInfo>,
    /// The current tokens.
    #[serde(default)]
    pub tokens: Option<Tokens>,
}

/// The directory of saved authorizations.
#[derive(Debug, Clone)]
pub struct TokenStore {
    dir: PathBuf,
}

impl TokenStore {
    /// `$XDG_DATA_HOME/mcp-sampling/oauth`, else `~/.local/share/mcp-sampling/oauth`.
    pub fn in_data_dir() -> Result<TokenStore, AuthError> {
        let base = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
            Some(d) => PathBuf::from(d),
            None => {
                let home = std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| {
                        AuthError::Store("neither XDG_DATA_HOME nor HOME is set".into())
                    })?;
                Path::new(&home).join(".local/share")
            }
        };
        Ok(TokenStore::at(base.join("mcp-sampling/oauth")))
    }

    /// A store in `dir`.
    pub fn at(dir: impl Into<PathBuf>) -> TokenStore {
        TokenStore { dir: dir.into() }
    }

    /// The file kept for `server`.
    pub fn path(&self, server: &str) -> PathBuf {
        let digest = Sha256::digest(server.as_bytes());
        let name: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}.json"))
    }

    /// What is kept for `server`, if anything.
    pub fn load(&self, server: &str) -> Result<Option<Saved>, AuthError> {
        let path = self.path(server);
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(store_err(&path, e)),
        };
        let saved: Saved = serde_json::from_slice(&text).map_err(|e| {
            AuthError::Store(format!(
                "{} is not a saved authorization: {e}",
                path.display()
            ))
        })?;
        Ok((saved.server == server).then_some(saved))
    }

    /// Keeps `saved` (owner-only permissions; replaces the file whole).
    pub fn save(&self, saved: &Saved) -> Result<(), AuthError> {
        create_private_dir(&self.dir)?;
        let path = self.path(&saved.server);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let text = serde_json::to_vec_pretty(saved)
            .map_err(|e| AuthError::Store(format!("cannot encode the authorization: {e}")))?;
        let _ = std::fs::remove_file(&tmp);
        write_private(&tmp, &text).map_err(|e| store_err(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| store_err(&path, e))
    }

    /// Everything kept, in no particular order (files that are not readable records are
    /// skipped with a warning).
    pub fn list(&self) -> Result<Vec<Saved>, AuthError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(store_err(&self.dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            match std::fs::read(&path).map(|b| serde_json::from_slice::<Saved>(&b)) {
                Ok(Ok(saved)) => out.push(saved),
                _ => tracing::warn!(path = %path.display(), "not a saved authorization; skipped"),
            }
        }
        out.sort_by(|a, b| a.server.cmp(&b.server));
        Ok(out)
    }

    /// Forgets `server`; true if something was kept.
    pub fn remove(&self, server: &str) -> Result<bool, AuthError> {
        let path = self.path(server);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(store_err(&path, e)),
        }
    }
}

fn store_err(path: &Path, e: std::io::Error) -> AuthError {
    AuthError::Store(format!("{}: {e}", path.display()))
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Result<(), AuthError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| store_err(dir, e))?;
    // An existing directory keeps its mode from before: make it private.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| store_err(dir, e))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> Result<(), AuthError> {
    std::fs::create_dir_all(dir).map_err(|e| store_err(dir, e))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}
