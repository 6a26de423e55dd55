//! A provider answering sampling requests directly, with one model and no pipeline.

use mcp_llm::Provider;
use mcp_proto::handler::{SamplingError, SamplingHandler, SamplingRequest};
use mcp_proto::sampling::CreateMessageResult;
use mcp_proto::BoxFuture;
use std::sync::Arc;

/// A [`Provider`] with a chosen model, as a [`SamplingHandler`]: every request goes to that
/// model, with no policy, approval or audit. For a server's own model
/// (`mcp_server::ServerBuilder::direct_sampler`) and for tests; a host that people use wants
/// [`Host`](crate::Host).
#[derive(Clone)]
pub struct ProviderHandler {
    provider: Arc<dyn Provider>,
    model: Arc<str>,
}

/// Answers sampling with `provider`'s `model`:
/// `Client::connect(t, mcp_host::answer_with(openai, "gpt-4.1-mini"), opts)`.
pub fn answer_with(provider: Arc<dyn Provider>, model: &str) -> Arc<dyn SamplingHandler> {
    Arc::new(ProviderHandler::new(provider, model))
}

impl ProviderHandler {
    /// The adapter.
    pub fn new(provider: Arc<dyn Provider>, model: &str) -> ProviderHandler {
        ProviderHandler {
            provider,
            model: model.into(),
        }
    }
}

impl SamplingHandler for ProviderHandler {
    fn create_message(
        &self,
        req: SamplingRequest,
    ) -> BoxFuture<Result<CreateMessageResult, SamplingError>> {
        let (provider, model) = (self.provider.clone(), self.model.clone());
        Box::pin(async move {
            if let Err(e) = mcp_proto::sampling::validate(&req.params, None) {
                return Err(SamplingError::Invalid(e.to_string()));
            }
            provider
                .complete(&model, &req.params)
                .await
                .map(|c| c.result)
                .map_err(|e| SamplingError::Failed(e.to_string()))
        })
    }
}
