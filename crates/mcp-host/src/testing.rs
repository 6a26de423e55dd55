//! Providers for tests and demos: `fixed:TEXT`, `script:FILE` and `echo`. Each is a
//! [`Provider`] for the pipeline (with its catalog entry), and `Fixed` and `Script` are also a
//! bare [`SamplingHandler`] (no policy, no approval). Not for answering real servers.

use crate::routing::{Class, ModelEntry};
use mcp_llm::{estimate_tokens, Completion, Provider, ProviderError, Usage};
use mcp_proto::handler::{SamplingError, SamplingHandler, SamplingRequest};
use mcp_proto::sampling::{CreateMessageParams, CreateMessageResult};
use mcp_proto::BoxFuture;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::Mutex;

/// Always replies with the same text (model `fixed`).
#[derive(Debug, Clone)]
pub struct Fixed(pub String);

impl SamplingHandler for Fixed {
    fn create_message(
        &self,
        _req: SamplingRequest,
    ) -> BoxFuture<Result<CreateMessageResult, SamplingError>> {
        let reply = CreateMessageResult::from_text("fixed", self.0.clone());
        Box::pin(std::future::ready(Ok(reply)))
    }
}

/// Replies taken in order from a JSON-lines file of `CreateMessageResult`s.
#[derive(Debug)]
pub struct Script {
    replies: Mutex<VecDeque<CreateMessageResult>>,
    path: String,
}

/// Why a script could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// The file could not be read.
    // The cause is in the message, not the error chain: printed once.
    #[error("cannot read the script {path}: {cause}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        cause: std::io::Error,
    },
    /// A line is not a `CreateMessageResult`.
    #[error("{path}:{line}: not a CreateMessageResult: {cause}")]
    Line {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// The cause.
        cause: serde_json::Error,
    },
}

impl Script {
    /// Loads a script; blank lines and lines starting with `#` are skipped.
    pub fn load(path: &Path) -> Result<Script, ScriptError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|cause| ScriptError::Read {
            path: p.clone(),
            cause,
        })?;
        let mut replies = VecDeque::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let r = serde_json::from_str(line).map_err(|cause| ScriptError::Line {
                path: p.clone(),
                line: i + 1,
                cause,
            })?;
            replies.push_back(r);
        }
        Ok(Script {
            replies: Mutex::new(replies),
            path: p,
        })
    }
}

impl SamplingHandler for Script {
    fn create_message(
        &self,
        _req: SamplingRequest,
    ) -> BoxFuture<Result<CreateMessageResult, SamplingError>> {
        let next = self
            .replies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front();
        let out = next.ok_or_else(|| {
            SamplingError::Failed(format!("the script {} has no replies left", self.path))
        });
        Box::pin(std::future::ready(out))
    }
}

/// The catalog entry of a testing provider: free, instant, able to take anything.
fn testing_model(provider: &str) -> ModelEntry {
    ModelEntry {
        provider: provider.into(),
        id: provider.into(),
        price_in: 0.0,
        price_out: 0.0,
        speed: 1.0,
        intelligence: 0.0,
        context: u64::MAX,
        tools: true,
        images: true,
        class: Class::Small,
    }
}

fn usage(params: &CreateMessageParams, reply: &CreateMessageResult) -> Usage {
    let prompt: String = params
        .messages
        .iter()
        .flat_map(|m| m.content.as_slice())
        .filter_map(|c| c.as_text())
        .collect();
    Usage {
        input_tokens: estimate_tokens(&prompt),
        output_tokens: estimate_tokens(&reply.text()),
    }
}

impl Fixed {
    /// Its catalog entry.
    pub fn model() -> ModelEntry {
        testing_model("fixed")
    }
}

impl Provider for Fixed {
    fn name(&self) -> &str {
        "fixed"
    }
    fn complete(
        &self,
        _model: &str,
        params: &CreateMessageParams,
    ) -> mcp_llm::BoxFuture<Result<Completion, ProviderError>> {
        let result = CreateMessageResult::from_text("fixed", self.0.clone());
        let usage = usage(params, &result);
        Box::pin(std::future::ready(Ok(Completion { result, usage })))
    }
}

impl Script {
    /// Its catalog entry.
    pub fn model() -> ModelEntry {
        testing_model("script")
    }
}

impl Provider for Script {
    fn name(&self) -> &str {
        "script"
    }
    fn complete(
        &self,
        _model: &str,
        params: &CreateMessageParams,
    ) -> mcp_llm::BoxFuture<Result<Completion, ProviderError>> {
        let next = self
            .replies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front();
        let out = match next {
            Some(result) => Ok(Completion {
                usage: usage(params, &result),
                result,
            }),
            None => Err(ProviderError::Generation(format!(
                "the script {} has no replies left",
                self.path
            ))),
        };
        Box::pin(std::future::ready(out))
    }
}

/// Replies with the last user text it was given, prefixed `echo: ` (model `echo`): shows in
/// tests what reached the model after policy and approval.
#[derive(Debug, Clone, Default)]
pub struct Echo;

impl Echo {
    /// Its catalog entry.
    pub fn model() -> ModelEntry {
        testing_model("echo")
    }
}

impl Provider for Echo {
    fn name(&self) -> &str {
        "echo"
    }
    fn complete(
        &self,
        _model: &str,
        params: &CreateMessageParams,
    ) -> mcp_llm::BoxFuture<Result<Completion, ProviderError>> {
        let last = params
            .messages
            .iter()
            .rev()
            .find(|m| m.role == mcp_proto::sampling::Role::User)
            .map(|m| {
                m.content
                    .as_slice()
                    .iter()
                    .filter_map(|c| c.as_text())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        let result = CreateMessageResult::from_text("echo", format!("echo: {last}"));
        let usage = usage(params, &result);
        Box::pin(std::future::ready(Ok(Completion { result, usage })))
    }
}
