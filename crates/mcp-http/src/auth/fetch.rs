//! Requests to the authorization server: a timeout on each, no redirects, bodies read up to
//! a limit.

use serde_json::Value;
use std::time::Duration;

/// Largest document read from the authorization server (metadata, keys, introspection).
const MAX_DOCUMENT: usize = 256 * 1024;

/// Why the authorization server gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    /// Unreachable, timed out, or the connection failed.
    #[error("{url} could not be reached ({why})")]
    Unreachable { url: String, why: String },
    /// A status other than 200.
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    /// Larger than the limit or not a JSON object.
    #[error("{url} answered {why}")]
    Bad { url: String, why: String },
}

impl FetchError {
    /// A 404 (the next discovery URL is tried).
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, FetchError::Status { status: 404, .. })
    }
}

/// The client for the authorization server.
pub(crate) fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// Sends `req` and reads its JSON object answer (status 200, at most [`MAX_DOCUMENT`]).
pub(crate) async fn json(url: &str, req: reqwest::RequestBuilder) -> Result<Value, FetchError> {
    let unreachable = |e: reqwest::Error| FetchError::Unreachable {
        url: url.to_owned(),
        why: e.without_url().to_string(),
    };
    let mut resp = req
        .header("accept", "application/json")
        .send()
        .await
        .map_err(unreachable)?;
    if resp.status() != reqwest::StatusCode::OK {
        return Err(FetchError::Status {
            url: url.to_owned(),
            status: resp.status().as_u16(),
        });
    }
    let bad = |why: String| FetchError::Bad {
        url: url.to_owned(),
        why,
    };
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(unreachable)? {
        if body.len() + chunk.len() > MAX_DOCUMENT {
            return Err(bad(format!("more than {MAX_DOCUMENT} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(v) if v.is_object() => Ok(v),
        Ok(_) => Err(bad("JSON that is not an object".to_owned())),
        Err(e) => Err(bad(format!("invalid JSON ({e})"))),
    }
}
