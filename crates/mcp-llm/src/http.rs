//! Shared plumbing of the HTTP providers ([`OpenAi`](crate::OpenAi),
//! [`Anthropic`](crate::Anthropic)): the configuration ([`HttpConfig`]), JSON POSTs with a
//! timeout, retries with exponential backoff and jitter, and API errors turned into
//! [`ProviderError`]s.
//!
//! Retry rules:
//! - `429` and `5xx` answers are retried; `Retry-After` (seconds) or `retry-after-ms` is
//!   honoured when present, capped at [`HttpConfig::max_backoff`];
//! - connection failures (refused, reset, closed before the answer, connect timeout) are
//!   retried: nothing or only part of an exchange happened;
//! - a request that timed out after it was sent is **not** retried: the model may still be
//!   working on it, and retrying would multiply the time a waiting caller spends (the request
//!   timeout bounds each attempt, so with retries the worst case would be `(retries + 1) *
//!   timeout`);
//! - other `4xx` answers are not retried: the API's error message becomes
//!   [`ProviderError::Api`].
//!
//! Without `Retry-After` the delay before retry `n` (from 0) is `initial_backoff * 2^n`, capped
//! at `max_backoff`, of which the second half is random ("equal jitter").
//!
//! Cancellation: everything runs inside the caller's future (no spawned task), so dropping it
//! drops the in-flight request (its connection is closed) or the backoff sleep.

use crate::{estimate_tokens, ProviderError, Usage};
use mcp_proto::content::Content;
use mcp_proto::sampling::{CreateMessageParams, CreateMessageResult};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Default time for one attempt, from sending the request to the end of the reply's body.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// Default time to establish a connection (TCP and TLS).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default number of retries after the first attempt.
pub const DEFAULT_RETRIES: u32 = 3;
/// Default delay before the first retry (before jitter).
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(500);
/// Default cap on one delay between attempts, `Retry-After` included.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Where and how an HTTP provider talks to its API.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// The API's base URL (a trailing `/` is ignored).
    pub base_url: String,
    /// The API key, if any.
    pub api_key: Option<String>,
    /// Time for one attempt, from sending the request to the end of the reply.
    pub timeout: Duration,
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Retries after the first attempt (for `429`, `5xx` and connection failures).
    pub retries: u32,
    /// Delay before the first retry; it doubles with each retry.
    pub initial_backoff: Duration,
    /// Cap on one delay between attempts, `Retry-After` included.
    pub max_backoff: Duration,
}

impl HttpConfig {
    /// A configuration for `base_url` with no key and the default timeouts and retries.
    pub fn new(base_url: impl Into<String>) -> Self {
        HttpConfig {
            base_url: base_url.into(),
            api_key: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            retries: DEFAULT_RETRIES,
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
        }
    }

    /// The base URL without its trailing `/`, followed by `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url.trim_end_matches('/'), path)
    }
}

impl fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retries", &self.retries)
            .field("initial_backoff", &self.initial_backoff)
            .field("max_backoff", &self.max_backoff)
            .finish()
    }
}

/// Reads an environment variable, treating an empty value as unset.
pub(crate) fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The builder methods both providers share; each has an `http: Http` field.
macro_rules! http_builder_methods {
    () => {
        /// Uses this base URL.
        pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
            let base_url = base_url.into();
            self.http.configure(|c| c.base_url = base_url);
            self
        }
        /// Uses this API key.
        pub fn with_api_key(mut self, api_key: impl Into<String>) -> Self {
            let api_key = api_key.into();
            self.http.configure(|c| c.api_key = Some(api_key));
            self
        }
        /// Sends no API key.
        pub fn without_api_key(mut self) -> Self {
            self.http.configure(|c| c.api_key = None);
            self
        }
        /// Time for one attempt, from sending the request to the end of the reply.
        pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.http.configure(|c| c.timeout = timeout);
            self
        }
        /// Time to establish a connection.
        pub fn with_connect_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.http.configure(|c| c.connect_timeout = timeout);
            self
        }
        /// Retries after the first attempt (`0`: none).
        pub fn with_retries(mut self, retries: u32) -> Self {
            self.http.configure(|c| c.retries = retries);
            self
        }
        /// The delay before the first retry (it doubles with each retry) and the cap on any
        /// delay, `Retry-After` included.
        pub fn with_backoff(
            mut self,
            initial: std::time::Duration,
            max: std::time::Duration,
        ) -> Self {
            self.http.configure(|c| {
                c.initial_backoff = initial;
                c.max_backoff = max;
            });
            self
        }
        /// The configuration in use.
        pub fn config(&self) -> &$crate::http::HttpConfig {
            self.http.config()
        }
    };
}
pub(crate) use http_builder_methods;

/// A provider's HTTP client: the configuration and a `reqwest` client built on first use
/// (shared by clones).
#[derive(Clone)]
pub(crate) struct Http {
    provider: &'static str,
    config: Arc<HttpConfig>,
    client: Arc<OnceLock<reqwest::Client>>,
}

/// One failed attempt.
struct Failure {
    error: ProviderError,
    retryable: bool,
    retry_after: Option<Duration>,
}

impl Http {
    pub(crate) fn new(provider: &'static str, config: HttpConfig) -> Self {
        Http {
            provider,
            config: Arc::new(config),
            client: Arc::new(OnceLock::new()),
        }
    }

    pub(crate) fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// Changes the configuration (the client is built again on next use).
    pub(crate) fn configure(&mut self, f: impl FnOnce(&mut HttpConfig)) {
        f(Arc::make_mut(&mut self.config));
        self.client = Arc::new(OnceLock::new());
    }

    fn client(&self) -> Result<reqwest::Client, ProviderError> {
        if let Some(client) = self.client.get() {
            return Ok(client.clone());
        }
        let client = reqwest::Client::builder()
            .timeout(self.config.timeout)
            .connect_timeout(self.config.connect_timeout)
            .user_agent(concat!("mcp-llm/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ProviderError::NotConfigured(format!(
                    "cannot build the {} HTTP client: {}",
                    self.provider,
                    error_chain(&e)
                ))
            })?;
        Ok(self.client.get_or_init(|| client).clone())
    }

    /// A header value from configuration (an API key with a newline, say, is refused here).
    pub(crate) fn header_value(
        &self,
        what: &str,
        value: &str,
        sensitive: bool,
    ) -> Result<HeaderValue, ProviderError> {
        let mut v = HeaderValue::from_str(value).map_err(|_| {
            ProviderError::NotConfigured(format!(
                "the {} {what} is not a valid HTTP header value",
                self.provider
            ))
        })?;
        v.set_sensitive(sensitive);
        Ok(v)
    }

    /// POSTs a JSON body to `url` with `headers` (which must include the content type), retrying
    /// as the module documentation says, and returns the reply's JSON.
    pub(crate) async fn post_json(
        &self,
        url: &str,
        headers: Vec<(HeaderName, HeaderValue)>,
        body: Vec<u8>,
    ) -> Result<Value, ProviderError> {
        let client = self.client()?;
        let headers: HeaderMap = headers.into_iter().collect();
        let mut retry = 0u32;
        loop {
            let failure = match self.attempt(&client, url, &headers, &body).await {
                Ok(value) => return Ok(value),
                Err(failure) => failure,
            };
            if !failure.retryable || retry >= self.config.retries {
                if retry > 0 {
                    tracing::debug!(provider = self.provider, attempts = retry + 1, error = %failure.error, "giving up");
                }
                return Err(match failure.error {
                    ProviderError::Transport(m) if retry > 0 => {
                        ProviderError::Transport(format!("{m} (after {} attempts)", retry + 1))
                    }
                    e => e,
                });
            }
            let delay = match failure.retry_after {
                Some(after) => after.min(self.config.max_backoff),
                None => backoff(
                    retry,
                    self.config.initial_backoff,
                    self.config.max_backoff,
                    jitter_fraction(),
                ),
            };
            tracing::warn!(
                provider = self.provider,
                retry = retry + 1,
                of = self.config.retries,
                delay_ms = delay.as_millis() as u64,
                error = %failure.error,
                "retrying"
            );
            tokio::time::sleep(delay).await;
            retry += 1;
        }
    }

    async fn attempt(
        &self,
        client: &reqwest::Client,
        url: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Value, Failure> {
        let sent = client
            .post(url)
            .headers(headers.clone())
            .body(body.to_vec())
            .send()
            .await;
        let response = sent.map_err(|e| self.transport_failure(url, &e))?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport_failure(url, &e))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| Failure {
                error: ProviderError::BadReply(format!(
                    "the {} API answered {} with a body that is not JSON ({e}): {}",
                    self.provider,
                    status.as_u16(),
                    snippet(&bytes)
                )),
                retryable: false,
                retry_after: None,
            });
        }
        Err(Failure {
            error: ProviderError::Api {
                provider: self.provider.to_string(),
                status: status.as_u16(),
                message: api_error_message(&bytes, status),
            },
            retryable: status.as_u16() == 429 || status.is_server_error(),
            retry_after,
        })
    }

    fn transport_failure(&self, url: &str, e: &reqwest::Error) -> Failure {
        let timed_out = e.is_timeout();
        let connect = e.is_connect();
        let detail = if timed_out && !connect {
            format!("no complete answer within {:?}", self.config.timeout)
        } else {
            error_chain(e)
        };
        Failure {
            error: ProviderError::Transport(format!("{} at {url}: {detail}", self.provider)),
            retryable: connect || !timed_out,
            retry_after: None,
        }
    }
}

/// The delay before retry `retry` (from 0): `initial * 2^retry` capped at `max`, half of it
/// fixed and half scaled by `jitter` (in `0..1`).
pub(crate) fn backoff(retry: u32, initial: Duration, max: Duration, jitter: f64) -> Duration {
    let exp = initial.saturating_mul(1u32 << retry.min(20)).min(max);
    let half = exp / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0))
}

/// A number in `0..1`, different at each call (std's randomly keyed SipHash over the clock;
/// good enough to spread retries, no dependency).
fn jitter_fraction() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// `retry-after-ms` (milliseconds, sent by OpenAI) or `Retry-After` in seconds. The HTTP-date
/// form of `Retry-After` is not read (the backoff applies then).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let number = |name: &str| -> Option<f64> {
        let v: f64 = headers.get(name)?.to_str().ok()?.trim().parse().ok()?;
        (v.is_finite() && v >= 0.0).then_some(v)
    };
    if let Some(ms) = number("retry-after-ms") {
        return Some(Duration::from_secs_f64((ms / 1000.0).min(86_400.0)));
    }
    number("retry-after").map(|s| Duration::from_secs_f64(s.min(86_400.0)))
}

/// The message of an API error body: `{"error": {"message": ..}}` (OpenAI, Anthropic, most
/// compatible servers), `{"error": ".."}` (Ollama), `{"message": ..}` or `{"detail": ..}`;
/// otherwise the start of the body, or the status's reason when the body is empty.
pub(crate) fn api_error_message(body: &[u8], status: reqwest::StatusCode) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        if let Some(m) = json_error_message(&v) {
            return m;
        }
    }
    let text = snippet(body);
    if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("no message")
            .to_string()
    } else {
        text
    }
}

/// The message of a JSON error object, if it has one.
pub(crate) fn json_error_message(v: &Value) -> Option<String> {
    let text = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Null => None,
            Value::String(_) => None,
            other => Some(other.to_string()),
        }
    };
    match v.get("error") {
        Some(Value::Object(e)) => {
            if let Some(m) = e.get("message").and_then(text) {
                return Some(m);
            }
            if let Some(t) = e.get("type").and_then(text) {
                return Some(t);
            }
        }
        Some(e @ Value::String(_)) => return text(e),
        _ => {}
    }
    v.get("message")
        .and_then(text)
        .or_else(|| v.get("detail").and_then(text))
}

/// The body as text, trimmed and cut to 500 characters.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(500) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

/// An error and its sources, `: `-separated, without reqwest's "for url (..)".
fn error_chain(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut out = String::new();
    let mut current: Option<&dyn Error> = Some(e);
    while let Some(err) = current {
        let s = err.to_string();
        if !out.is_empty() {
            if out.ends_with(&s) {
                current = err.source();
                continue;
            }
            out.push_str(": ");
        }
        match s.find(" for url (") {
            Some(i) => out.push_str(&s[..i]),
            None => out.push_str(&s),
        }
        current = err.source();
    }
    out
}

/// The text of a tool result's content for APIs that take text only: text blocks joined by
/// newlines, embedded resources and resource links as their JSON, or the structured content
/// as JSON when there is no block.
pub(crate) fn tool_result_text(
    content: &[Content],
    structured: Option<&Value>,
    unsupported: impl Fn(&Content) -> ProviderError,
) -> Result<String, ProviderError> {
    let mut parts: Vec<String> = Vec::new();
    for block in content {
        match block {
            Content::Text { text, .. } => parts.push(text.clone()),
            Content::Resource(v) | Content::ResourceLink(v) => parts.push(v.to_string()),
            other => return Err(unsupported(other)),
        }
    }
    if parts.is_empty() {
        if let Some(s) = structured {
            parts.push(s.to_string());
        }
    }
    Ok(parts.join("\n"))
}

/// A rough count of the request's input tokens (system prompt and the text of the messages),
/// for replies that do not report usage.
pub(crate) fn estimate_input_tokens(params: &CreateMessageParams) -> u64 {
    let mut n = params
        .system_prompt
        .as_deref()
        .map(estimate_tokens)
        .unwrap_or(0);
    for m in &params.messages {
        n += m.content.as_slice().iter().map(content_tokens).sum::<u64>();
    }
    n
}

/// The usage reported, or estimates where a count is missing (`input_estimate` from
/// [`estimate_input_tokens`], the output from the reply's text).
pub(crate) fn usage_or_estimate(
    input: Option<u64>,
    output: Option<u64>,
    input_estimate: u64,
    result: &CreateMessageResult,
) -> Usage {
    Usage {
        input_tokens: input.unwrap_or(input_estimate),
        output_tokens: output.unwrap_or_else(|| {
            result
                .content
                .as_slice()
                .iter()
                .map(content_tokens)
                .sum::<u64>()
        }),
    }
}

fn content_tokens(c: &Content) -> u64 {
    match c {
        Content::Text { text, .. } => estimate_tokens(text),
        Content::ToolUse { name, input, .. } => {
            estimate_tokens(name) + estimate_tokens(&Value::Object(input.clone()).to_string())
        }
        Content::ToolResult {
            content,
            structured_content,
            ..
        } => {
            content.iter().map(content_tokens).sum::<u64>()
                + structured_content
                    .as_ref()
                    .map(|v| estimate_tokens(&v.to_string()))
                    .unwrap_or(0)
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_cap() {
        let ms = Duration::from_millis;
        assert_eq!(backoff(0, ms(100), ms(10_000), 0.0), ms(50));
        assert_eq!(backoff(0, ms(100), ms(10_000), 1.0), ms(100));
        assert_eq!(backoff(3, ms(100), ms(10_000), 0.0), ms(400));
        assert_eq!(backoff(3, ms(100), ms(10_000), 1.0), ms(800));
        assert_eq!(backoff(30, ms(100), ms(1_000), 1.0), ms(1_000));
        let j = jitter_fraction();
        assert!((0.0..1.0).contains(&j));
    }

    #[test]
    fn retry_after_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", HeaderValue::from_static("150"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(150)));
        let mut h = HeaderMap::new();
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn error_messages() {
        let s = reqwest::StatusCode::BAD_REQUEST;
        assert_eq!(
            api_error_message(br#"{"error":{"message":"bad model","type":"x"}}"#, s),
            "bad model"
        );
        assert_eq!(
            api_error_message(
                br#"{"type":"error","error":{"type":"invalid_request_error","message":"no"}}"#,
                s
            ),
            "no"
        );
        assert_eq!(
            api_error_message(br#"{"error":"model not found"}"#, s),
            "model not found"
        );
        assert_eq!(api_error_message(br#"{"detail":"nope"}"#, s), "nope");
        assert_eq!(api_error_message(b"plain failure\n", s), "plain failure");
        assert_eq!(api_error_message(b"", s), "Bad Request");
    }

    #[test]
    fn config_debug_hides_the_key() {
        let mut c = HttpConfig::new("http://x/");
        c.api_key = Some("sk-secret".into());
        assert!(!format!("{c:?}").contains("sk-secret"));
        assert_eq!(c.url("/v1/messages"), "http://x/v1/messages");
    }
}
