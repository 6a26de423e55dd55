//! Faults and floods through the host: a provider that keeps failing, and hostile servers
//! sending sampling requests as fast as they can, against the client SDK with the pipeline
//! (`mcp_host::Host`) as its sampling handler.
//!
//! One test binary (one link on a small machine); the modules share the helpers below.

mod flood;
mod provider;

use serde_json::{json, Map, Value};

/// Tool arguments `{"q": q}`.
pub fn args(q: &str) -> Map<String, Value> {
    json!({"q": q}).as_object().cloned().unwrap_or_default()
}

/// Runs `fut`, failing the test if it has not ended within 30 s: a bound on the test itself,
/// so that a flood or fault left unbounded fails it rather than hangs it.
pub async fn bounded<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(30), fut)
        .await
        .expect("not ended within 30 s")
}
