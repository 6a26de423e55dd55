//! Protocol revisions and eras.

use serde::{Deserialize, Serialize};

/// The newest revision: no handshake, per-request `_meta`, sampling through MRTR.
pub const MODERN: &str = "2026-07-28";
/// The newest legacy (handshake) revision.
pub const LATEST_LEGACY: &str = "2025-11-25";
/// Legacy revisions we accept in `initialize`, newest first.
pub const LEGACY_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
/// Modern revisions we accept in `_meta`, newest first.
pub const MODERN_VERSIONS: &[&str] = &[MODERN];

/// The two eras of MCP (see the spec's `basic/versioning` page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Era {
    /// `initialize` handshake; servers send requests to clients.
    Legacy,
    /// Per-request `_meta`; server-to-client requests travel in `input_required` results.
    Modern,
}

impl std::fmt::Display for Era {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Era::Legacy => "legacy",
            Era::Modern => "modern",
        })
    }
}

/// A protocol revision string such as `2025-11-25`. Revisions are dates, so they order
/// lexically.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProtocolVersion(pub String);

impl ProtocolVersion {
    /// The revision as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The era this revision belongs to, or `None` for a revision we do not know.
    pub fn era(&self) -> Option<Era> {
        if MODERN_VERSIONS.contains(&self.0.as_str()) {
            Some(Era::Modern)
        } else if LEGACY_VERSIONS.contains(&self.0.as_str()) {
            Some(Era::Legacy)
        } else {
            None
        }
    }

    /// Whether a peer speaking this revision understands an array of content blocks in a
    /// sampling result (introduced in `2025-11-25`).
    pub fn has_content_arrays(&self) -> bool {
        self.0.as_str() >= LATEST_LEGACY
    }
}

impl From<&str> for ProtocolVersion {
    fn from(s: &str) -> Self {
        ProtocolVersion(s.to_owned())
    }
}

impl std::fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Picks the legacy revision to answer an `initialize` with: the client's if we speak it,
/// else our newest (the client then decides whether to continue).
pub fn negotiate_legacy(requested: &str) -> &'static str {
    LEGACY_VERSIONS
        .iter()
        .find(|v| **v == requested)
        .copied()
        .unwrap_or(LATEST_LEGACY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eras_and_negotiation() {
        assert_eq!(ProtocolVersion::from("2026-07-28").era(), Some(Era::Modern));
        assert_eq!(ProtocolVersion::from("2025-06-18").era(), Some(Era::Legacy));
        assert_eq!(ProtocolVersion::from("1900-01-01").era(), None);
        assert_eq!(negotiate_legacy("2025-03-26"), "2025-03-26");
        assert_eq!(negotiate_legacy("2099-01-01"), LATEST_LEGACY);
        assert!(!ProtocolVersion::from("2025-06-18").has_content_arrays());
        assert!(ProtocolVersion::from("2025-11-25").has_content_arrays());
    }
}
