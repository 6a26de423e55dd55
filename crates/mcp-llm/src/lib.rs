//! LLM providers for the sampling host.
//!
//! A [`Provider`] turns a sampling request (`CreateMessageParams`) into a completion with a
//! given model. The host's router picks the model; the provider maps the whole request
//! (system prompt, messages with images, `maxTokens`, temperature, stop sequences, tools and
//! tool choice) to its API and maps the reply back with the right `stopReason`.
//! Cancellation is dropping the future.
//!
//! Both HTTP providers honour the typed-output extension ([`typed`]): OpenAI-compatible
//! endpoints get `response_format` with a JSON schema, Anthropic a forced tool whose input
//! schema is the expected output.

use mcp_proto::sampling::{CreateMessageParams, CreateMessageResult};
pub use mcp_proto::BoxFuture;
use std::time::Duration;

pub mod anthropic;
pub mod http;
pub mod openai;
pub mod typed;

pub use anthropic::Anthropic;
pub use http::HttpConfig;
pub use openai::OpenAi;

/// Tokens used by one completion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
}

/// A completion: the reply as MCP carries it, and what it cost in tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The reply (`model` is the model that produced it).
    pub result: CreateMessageResult,
    /// Token counts (estimated when the provider does not report them).
    pub usage: Usage,
}

/// Where a completion's time went, for a provider that can tell (the embedded model can; an
/// HTTP API that does not stream cannot tell prompt processing from generation, so it reports
/// none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timing {
    /// Processing the prompt, up to the first generated token.
    pub prompt: Duration,
    /// Generating after the first token.
    pub generation: Duration,
    /// Tokens generated during `generation` (one forward pass each; the first token of the
    /// reply comes from the prompt's pass, so this is usually the output tokens minus one).
    pub generation_tokens: u64,
    /// Prompt tokens actually computed during `prompt`, when not all the prompt's: fewer
    /// when a cached prefix was reused, more when a second prompt ran (a calibration pass).
    pub prompt_computed: Option<u64>,
}

impl Timing {
    /// Prompt tokens computed per second (none when no time was measured).
    pub fn prompt_rate(&self, prompt_tokens: u64) -> Option<f64> {
        rate(self.prompt_computed.unwrap_or(prompt_tokens), self.prompt)
    }

    /// Tokens generated per second after the first (none when no token was generated after
    /// it).
    pub fn generation_rate(&self) -> Option<f64> {
        rate(self.generation_tokens, self.generation)
    }
}

fn rate(tokens: u64, time: Duration) -> Option<f64> {
    let secs = time.as_secs_f64();
    (tokens > 0 && secs > 0.0).then(|| tokens as f64 / secs)
}

/// A completion and, when the provider knows it, where its time went.
#[derive(Debug, Clone, PartialEq)]
pub struct Timed {
    /// The completion.
    pub completion: Completion,
    /// Prompt and generation times (none when the provider cannot tell them apart).
    pub timing: Option<Timing>,
}

/// Why a provider failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// The provider is not set up (missing key, model not installed, ...).
    #[error("provider not configured: {0}")]
    NotConfigured(String),
    /// The request cannot be expressed for this provider or model (for example images to a
    /// text-only model).
    #[error("unsupported request: {0}")]
    Unsupported(String),
    /// The API answered with an error (after retries, for retryable ones).
    #[error("the {provider} API answered {status}: {message}")]
    Api {
        /// Provider name.
        provider: String,
        /// HTTP status.
        status: u16,
        /// The API's message.
        message: String,
    },
    /// Network failure or timeout (after retries).
    #[error("cannot reach {0}")]
    Transport(String),
    /// The reply could not be understood.
    #[error("malformed reply: {0}")]
    BadReply(String),
    /// The model failed while generating.
    #[error("generation failed: {0}")]
    Generation(String),
}

/// Something that completes sampling requests with a named model.
pub trait Provider: Send + Sync + 'static {
    /// The provider's name as used in specs (`local`, `openai`, `anthropic`, `fixed`, ...).
    fn name(&self) -> &str;
    /// Completes the request with `model` (a model id of this provider).
    fn complete(
        &self,
        model: &str,
        params: &CreateMessageParams,
    ) -> BoxFuture<Result<Completion, ProviderError>>;

    /// [`Provider::complete`], and where the time went when the provider can tell. The
    /// default knows no timing: it is what a provider that measures its prompt and
    /// generation times separately overrides.
    fn complete_timed(
        &self,
        model: &str,
        params: &CreateMessageParams,
    ) -> BoxFuture<Result<Timed, ProviderError>> {
        let done = self.complete(model, params);
        Box::pin(async move {
            done.await.map(|completion| Timed {
                completion,
                timing: None,
            })
        })
    }
}

/// A rough token count for text, for providers that do not report usage (about four
/// characters per token, at least one per word).
pub fn estimate_tokens(text: &str) -> u64 {
    let chars = text.chars().count() as u64;
    let words = text.split_whitespace().count() as u64;
    (chars / 4).max(words)
}

#[cfg(test)]
mod tests {
    use super::Timing;
    use std::time::Duration;

    #[test]
    fn rates() {
        let t = Timing {
            prompt: Duration::from_millis(500),
            generation: Duration::from_millis(250),
            generation_tokens: 10,
            prompt_computed: None,
        };
        assert_eq!(t.prompt_rate(100), Some(200.0));
        let cached = Timing {
            prompt_computed: Some(10),
            ..t
        };
        assert_eq!(cached.prompt_rate(100), Some(20.0));
        assert_eq!(t.generation_rate(), Some(40.0));
        assert_eq!(t.prompt_rate(0), None);
        assert_eq!(Timing::default().generation_rate(), None);
    }

    #[test]
    fn estimates() {
        assert_eq!(super::estimate_tokens(""), 0);
        assert_eq!(super::estimate_tokens("a b c"), 3);
        assert_eq!(super::estimate_tokens(&"x".repeat(400)), 100);
    }
}
