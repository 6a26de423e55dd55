//! The HTTP client of the authorization flows: no redirects followed (a metadata or token
//! endpoint that redirects is refused, not followed to wherever it points), timeouts, answers
//! capped in size, and every endpoint `https` (OAuth 2.1 §1.5), except plain `http` on this
//! machine when the MCP server is on this machine too: a remote server cannot make the client
//! send requests to local plain-http services by naming them in its metadata.

use super::AuthError;
use reqwest::{Response, Url};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Largest metadata, registration or token answer read.
const MAX_BODY: usize = 256 * 1024;

/// The flows' HTTP client.
#[derive(Clone)]
pub(crate) struct Fetch {
    pub http: reqwest::Client,
    /// Plain `http` to loopback hosts is allowed (the MCP server is on this machine).
    loopback_http: bool,
}

impl Fetch {
    /// The client for the flows of the MCP server at `server`.
    pub fn new(server: &Url) -> Result<Fetch, AuthError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| AuthError::Http(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Fetch {
            http,
            loopback_http: is_loopback(server),
        })
    }

    /// An endpoint must be `https`, or `http` on a loopback host when the MCP server is on
    /// one too.
    pub fn check(&self, url: &Url) -> Result<(), AuthError> {
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.loopback_http && is_loopback(url) => Ok(()),
            _ => Err(AuthError::Metadata(format!(
                "{url} is not an https URL (plain http is allowed only on this machine, for a \
                 server on this machine)"
            ))),
        }
    }

    /// GETs a JSON document; `None` when the server has none there (a 4xx answer).
    pub async fn get_json<T: DeserializeOwned>(&self, url: &Url) -> Result<Option<T>, AuthError> {
        self.check(url)?;
        let resp = self
            .http
            .get(url.clone())
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| AuthError::Http(format!("GET {url}: {}", chain(&e))))?;
        let status = resp.status();
        if status.is_client_error() || status.is_redirection() {
            tracing::debug!(%url, %status, "no document here");
            return Ok(None);
        }
        if !status.is_success() {
            return Err(AuthError::Http(format!("GET {url}: HTTP {status}")));
        }
        let body = read_capped(resp).await?;
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| AuthError::Metadata(format!("{url} is not a valid document: {e}")))
    }
}

/// Reads a body of at most [`MAX_BODY`] bytes.
pub(crate) async fn read_capped(mut resp: Response) -> Result<Vec<u8>, AuthError> {
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| AuthError::Http(format!("reading an answer: {}", chain(&e))))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(AuthError::Http(format!(
                "an answer from {} is larger than {MAX_BODY} bytes",
                resp.url()
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(oauth2::url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(oauth2::url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(oauth2::url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// An error with its sources, on one line.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
