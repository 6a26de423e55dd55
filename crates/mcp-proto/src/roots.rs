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
