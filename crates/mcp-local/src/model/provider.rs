//! The [`Provider`]: a sampling request in, the completion (and where its time went) out:
//! free text, calibrated choices or JSON constrained by a schema, as the request asks.

use super::{Chosen, GenerateOptions, LocalModel, Stop, TOP_P};
use crate::{LocalError, MODEL_ID, PROVIDER_NAME};
use mcp_llm::{BoxFuture, Completion, Provider, ProviderError, Timed, Timing, Usage};
use mcp_proto::content::Content;
use mcp_proto::ext::ExpectedOutput;
use mcp_proto::sampling::{CreateMessageParams, CreateMessageResult, Role, StopReason};
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

impl LocalModel {
    /// Completes a sampling request (blocking; see [`Provider::complete`] for the async form).
    pub fn complete_blocking(
        &self,
        params: &CreateMessageParams,
        cancel: &AtomicBool,
    ) -> Result<Completion, ProviderError> {
        self.complete_blocking_timed(params, cancel)
            .map(|t| t.completion)
    }

    /// [`LocalModel::complete_blocking`], and where the time went.
    pub fn complete_blocking_timed(
        &self,
        params: &CreateMessageParams,
        cancel: &AtomicBool,
    ) -> Result<Timed, ProviderError> {
        if params.max_tokens == 0 {
            return Err(ProviderError::Unsupported(
                "maxTokens must be at least 1".into(),
            ));
        }
        let prompt = self.chat_prompt(params)?;
        let expected = expected_of(params);
        if let Some(ExpectedOutput::Choices(choices)) = &expected {
            if let Some(c) = self
                .choose_by_example(params, choices, cancel)
                .map_err(ProviderError::from)?
            {
                return Ok(chosen_reply(c, choices, "by example"));
            }
            let (prior, prior_time, prior_computed) = self.choice_prior(params, choices, cancel)?;
            let mut timed = self.complete_choice(&prompt, choices, prior.as_deref(), cancel)?;
            // The calibration pass is part of reading the prompt.
            if let Some(t) = timed.timing.as_mut() {
                t.prompt += prior_time;
                t.prompt_computed = t.prompt_computed.map(|c| c + prior_computed as u64);
            }
            return Ok(timed);
        }
        let opts = GenerateOptions {
            max_tokens: usize::try_from(params.max_tokens).unwrap_or(usize::MAX),
            temperature: params.temperature,
            top_p: TOP_P,
            seed: RandomState::new().hash_one(Instant::now()),
            stop_sequences: params.stop_sequences.clone().unwrap_or_default(),
        };
        let g = match &expected {
            Some(ExpectedOutput::Schema(schema)) => {
                match self.generate_json(&prompt, schema, &opts, cancel) {
                    Err(LocalError::Schema(why)) => {
                        tracing::warn!(%why, "the answer's schema cannot constrain decoding");
                        self.generate(&prompt, &opts, cancel)
                    }
                    other => other,
                }
            }
            _ => self.generate(&prompt, &opts, cancel),
        }
        .map_err(ProviderError::from)?;
        tracing::debug!(
            prompt_tokens = g.prompt_tokens,
            generated_tokens = g.generated_tokens,
            prompt_ms = g.prompt_time.as_millis() as u64,
            generation_ms = g.generation_time.as_millis() as u64,
            "local completion"
        );
        let stop_reason = match g.stop {
            Stop::EndTurn => StopReason::EndTurn,
            Stop::StopSequence(_) => StopReason::StopSequence,
            Stop::MaxTokens => StopReason::MaxTokens,
        };
        Ok(reply(
            g.text,
            stop_reason,
            Figures {
                prompt_tokens: g.prompt_tokens,
                reused_tokens: g.reused_tokens,
                output_tokens: g.generated_tokens,
                prompt_time: g.prompt_time,
                generation_time: g.generation_time,
            },
        ))
    }
}

/// The answer a request's typed output asks for (not with tools of its own).
fn expected_of(params: &CreateMessageParams) -> Option<ExpectedOutput> {
    if params.tools.as_ref().is_some_and(|t| !t.is_empty()) {
        return None;
    }
    ExpectedOutput::from_meta(params.meta.as_ref())
}

impl LocalModel {
    /// A reply that is exactly one of `choices` ([`LocalModel::choose`]).
    fn complete_choice(
        &self,
        prompt: &[u32],
        choices: &[String],
        prior: Option<&[f32]>,
        cancel: &AtomicBool,
    ) -> Result<Timed, ProviderError> {
        let c = self
            .choose(prompt, choices, prior, cancel)
            .map_err(ProviderError::from)?;
        Ok(chosen_reply(c, choices, "first token"))
    }
}

/// The reply for a choice made.
fn chosen_reply(c: Chosen, choices: &[String], how: &'static str) -> Timed {
    let text = choices.get(c.index).cloned().unwrap_or_default();
    tracing::debug!(
        prompt_tokens = c.prompt_tokens,
        decided_tokens = c.generated_tokens,
        prompt_ms = c.prompt_time.as_millis() as u64,
        choice = %text,
        how,
        "local choice"
    );
    reply(
        text,
        StopReason::EndTurn,
        Figures {
            prompt_tokens: c.prompt_tokens,
            reused_tokens: c.reused_tokens,
            output_tokens: c.generated_tokens.max(1),
            prompt_time: c.prompt_time,
            generation_time: c.generation_time,
        },
    )
}

/// What a local reply cost.
struct Figures {
    prompt_tokens: usize,
    reused_tokens: usize,
    output_tokens: usize,
    prompt_time: Duration,
    generation_time: Duration,
}

/// The assistant's text reply, its usage and where its time went.
fn reply(text: String, stop_reason: StopReason, f: Figures) -> Timed {
    let completion = Completion {
        result: CreateMessageResult {
            role: Role::Assistant,
            content: Content::text(text).into(),
            model: MODEL_ID.to_string(),
            stop_reason: Some(stop_reason),
            meta: None,
        },
        usage: Usage {
            input_tokens: f.prompt_tokens as u64,
            output_tokens: f.output_tokens as u64,
        },
    };
    // The first output token comes from the prompt's pass.
    let timing = Timing {
        prompt: f.prompt_time,
        generation: f.generation_time,
        generation_tokens: f.output_tokens.saturating_sub(1) as u64,
        prompt_computed: Some(f.prompt_tokens.saturating_sub(f.reused_tokens) as u64),
    };
    Timed {
        completion,
        timing: Some(timing),
    }
}

impl Provider for LocalModel {
    fn name(&self) -> &str {
        PROVIDER_NAME
    }

    /// Runs the generation on tokio's blocking pool. Dropping the future stops it before the
    /// next token.
    fn complete(
        &self,
        model: &str,
        params: &CreateMessageParams,
    ) -> BoxFuture<Result<Completion, ProviderError>> {
        let done = self.complete_timed(model, params);
        Box::pin(async move { done.await.map(|t| t.completion) })
    }

    /// [`Provider::complete`], with the prompt and generation times measured apart.
    fn complete_timed(
        &self,
        model: &str,
        params: &CreateMessageParams,
    ) -> BoxFuture<Result<Timed, ProviderError>> {
        if !model.eq_ignore_ascii_case(MODEL_ID) {
            let err = ProviderError::Unsupported(format!(
                "the local provider has one model, {MODEL_ID}, not {model:?}"
            ));
            return Box::pin(async move { Err(err) });
        }
        let this = self.clone();
        let params = params.clone();
        Box::pin(async move {
            let cancel = Arc::new(AtomicBool::new(false));
            let _guard = CancelOnDrop(cancel.clone());
            let task =
                tokio::task::spawn_blocking(move || this.complete_blocking_timed(&params, &cancel));
            match task.await {
                Ok(result) => result,
                Err(e) => Err(ProviderError::Generation(format!(
                    "the generation task failed: {e}"
                ))),
            }
        })
    }
}

/// Sets the flag when the future that owns it is dropped (finished or abandoned).
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}
