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
    #[test]
    fn estimates() {
        assert_eq!(super::estimate_tokens(""), 0);
        assert_eq!(super::estimate_tokens("a b c"), 3);
        assert_eq!(super::estimate_tokens(&"x".repeat(400)), 100);
    }
}
