//! `roots/list`: the directories and files the client considers relevant (deprecated in
//! `2026-07-28`, still served there through `inputRequests`), and the legacy
//! `notifications/roots/list_changed`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

/// A root: a `file://` URI and an optional name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Root {
    /// The URI; must start with `file://`.
    pub uri: String,
    /// A display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

/// The result of `roots/list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRootsResult {
    /// The roots.
    pub roots: Vec<Root>,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

/// Why a root was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RootError {
    /// Not a `file://` URI.
    #[error("root {0:?} is not a file:// URI")]
    NotFile(String),
    /// A relative path.
    #[error("root path {0:?} is not absolute")]
    Relative(String),
}

impl Root {
    /// The root for an absolute path, named after its last component; the URI is
    /// percent-encoded (RFC 3986 path characters are kept).
    pub fn from_path(path: &Path) -> Result<Root, RootError> {
        let text = path.to_string_lossy();
        if !path.is_absolute() {
            return Err(RootError::Relative(text.into_owned()));
        }
        let mut uri = String::from("file://");
        for b in text.bytes() {
            let keep = b.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(&b);
            if keep {
                uri.push(b as char);
            } else {
                uri.push_str(&format!("%{b:02X}"));
            }
        }
        Ok(Root {
            uri,
            name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
            meta: None,
        })
    }

    /// The local path of a `file://` URI (empty host or `localhost`), percent-decoded; `None`
    /// for another scheme or host, a bad escape, or a path that is not UTF-8 or not absolute.
    pub fn to_path(&self) -> Option<std::path::PathBuf> {
        let rest = self.uri.strip_prefix("file://")?;
        let rest = rest.strip_prefix("localhost").unwrap_or(rest);
        if !rest.starts_with('/') {
            return None;
        }
        let mut bytes = Vec::with_capacity(rest.len());
        let mut it = rest.bytes();
        while let Some(b) = it.next() {
            if b != b'%' {
                bytes.push(b);
                continue;
            }
            let hi = (it.next()? as char).to_digit(16)?;
            let lo = (it.next()? as char).to_digit(16)?;
            bytes.push(u8::try_from(hi * 16 + lo).ok()?);
        }
        String::from_utf8(bytes).ok().map(std::path::PathBuf::from)
    }

    /// Checks the URI is `file://`.
    pub fn check(&self) -> Result<(), RootError> {
        if self.uri.starts_with("file://") {
            Ok(())
        } else {
            Err(RootError::NotFile(self.uri.clone()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_from_roots() {
        let r = Root::from_path(Path::new("/home/ann/my project/ü")).unwrap();
        assert_eq!(
            r.to_path(),
            Some(Path::new("/home/ann/my project/ü").to_path_buf())
        );
        let uri = |u: &str| {
            Root {
                uri: u.into(),
                name: None,
                meta: None,
            }
            .to_path()
        };
        assert_eq!(uri("file://localhost/srv"), Some("/srv".into()));
        assert_eq!(uri("file://example.com/srv"), None);
        assert_eq!(uri("file:///a%2"), None);
        assert_eq!(uri("file:///a%ff"), None, "not UTF-8");
        assert_eq!(uri("https://x/y"), None);
    }

    #[test]
    fn roots_from_paths() {
        let r = Root::from_path(Path::new("/home/ann/my project/ü")).unwrap();
        assert_eq!(r.uri, "file:///home/ann/my%20project/%C3%BC");
        assert_eq!(r.name.as_deref(), Some("ü"));
        assert_eq!(r.check(), Ok(()));
        assert!(matches!(
            Root::from_path(Path::new("rel/dir")),
            Err(RootError::Relative(_))
        ));
        let web = Root {
            uri: "https://x".into(),
            name: None,
            meta: None,
        };
        assert!(web.check().is_err());
    }
}
