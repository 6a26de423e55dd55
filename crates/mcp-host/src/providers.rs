//! Providers for testing: `fixed:TEXT` and `script:FILE`. (Real providers and the full
//! review pipeline come with the host pipeline.)

use crate::handler::{SamplingError, SamplingHandler, SamplingRequest};
use mcp_proto::sampling::CreateMessageResult;
use mcp_rpc::BoxFuture;
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
    #[error("cannot read the script {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A line is not a `CreateMessageResult`.
    #[error("{path}:{line}: not a CreateMessageResult: {source}")]
    Line {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// The cause.
        source: serde_json::Error,
    },
}

impl Script {
    /// Loads a script; blank lines and lines starting with `#` are skipped.
    pub fn load(path: &Path) -> Result<Script, ScriptError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScriptError::Read {
            path: p.clone(),
            source,
        })?;
        let mut replies = VecDeque::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let r = serde_json::from_str(line).map_err(|source| ScriptError::Line {
                path: p.clone(),
                line: i + 1,
                source,
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

/// How sampling requests are approved (the interactive `ask` mode comes with the host
/// pipeline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    /// Every request is answered.
    Auto,
    /// Every request is rejected (legacy: `-1`; modern: the call is not retried).
    Deny,
}

/// Wraps a provider with an approval mode.
pub struct Approved<P> {
    /// The mode.
    pub mode: Approval,
    /// The provider.
    pub provider: P,
}

impl<P: SamplingHandler> SamplingHandler for Approved<P> {
    fn create_message(
        &self,
        req: SamplingRequest,
    ) -> BoxFuture<Result<CreateMessageResult, SamplingError>> {
        match self.mode {
            Approval::Auto => self.provider.create_message(req),
            Approval::Deny => {
                let why = format!(
                    "sampling for {} is denied by the host's approval mode",
                    req.server
                );
                Box::pin(std::future::ready(Err(SamplingError::Rejected(why))))
            }
        }
    }
}
