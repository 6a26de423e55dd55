//! Prompts: named arguments in, messages with any content out.

use crate::ctx::Ctx;
use crate::error::ToolError;
use mcp_proto::content::Content;
use mcp_proto::prompts::{
    GetPromptResult, ListPromptsResult, Prompt, PromptArgument, PromptMessage,
};
use mcp_proto::{BoxFuture, ErrorObject};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

/// Turns what a prompt handler returns into the `prompts/get` result.
pub trait IntoPromptResult {
    /// The conversion.
    fn into_prompt_result(self) -> GetPromptResult;
}

impl IntoPromptResult for GetPromptResult {
    fn into_prompt_result(self) -> GetPromptResult {
        self
    }
}

impl IntoPromptResult for Vec<PromptMessage> {
    fn into_prompt_result(self) -> GetPromptResult {
        GetPromptResult {
            description: None,
            messages: self,
        }
    }
}

impl IntoPromptResult for PromptMessage {
    fn into_prompt_result(self) -> GetPromptResult {
        vec![self].into_prompt_result()
    }
}

/// One user message with this text.
impl IntoPromptResult for String {
    fn into_prompt_result(self) -> GetPromptResult {
        PromptMessage::user(Content::text(self)).into_prompt_result()
    }
}

type GetFn =
    dyn Fn(Map<String, Value>, Ctx) -> BoxFuture<Result<GetPromptResult, ToolError>> + Send + Sync;

pub(crate) struct PromptEntry {
    pub def: Prompt,
    get: Arc<GetFn>,
}

impl PromptEntry {
    /// A prompt whose handler gets its arguments and a [`Ctx`] (to elicit, sample, read
    /// roots; replayed on the modern era like a tool).
    pub(crate) fn new<F, Fut, R>(
        name: &str,
        description: &str,
        args: &[(&str, bool)],
        get: F,
    ) -> Self
    where
        F: Fn(Map<String, Value>, Ctx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, ToolError>> + Send + 'static,
        R: IntoPromptResult,
    {
        let arguments = args
            .iter()
            .map(|(n, required)| PromptArgument {
                name: (*n).into(),
                description: None,
                required: Some(*required),
            })
            .collect();
        let def = Prompt {
            name: name.into(),
            description: Some(description.into()),
            arguments: Some(arguments),
        };
        let get: Arc<GetFn> = Arc::new(move |a, ctx| {
            let fut = get(a, ctx);
            Box::pin(async move { fut.await.map(IntoPromptResult::into_prompt_result) })
        });
        PromptEntry { def, get }
    }
}

/// The prompts of a server, by name.
#[derive(Default)]
pub(crate) struct Prompts(BTreeMap<String, PromptEntry>);

impl Prompts {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds a prompt; `false` when the name is taken.
    pub(crate) fn insert(&mut self, entry: PromptEntry) -> bool {
        let name = entry.def.name.clone();
        if self.0.contains_key(&name) {
            return false;
        }
        self.0.insert(name, entry);
        true
    }

    pub(crate) fn get(&self, name: &str) -> Option<&PromptEntry> {
        self.0.get(name)
    }

    /// `prompts/list`.
    pub(crate) fn list(&self) -> ListPromptsResult {
        ListPromptsResult {
            prompts: self.0.values().map(|p| p.def.clone()).collect(),
            next_cursor: None,
        }
    }
}

impl PromptEntry {
    /// Checks the arguments of a `prompts/get` (`-32602` for a missing required one).
    pub(crate) fn check_args(&self, args: &Map<String, Value>) -> Result<(), ErrorObject> {
        for a in self.def.arguments.iter().flatten() {
            if a.required == Some(true) && !args.contains_key(&a.name) {
                return Err(ErrorObject::invalid_params(format!(
                    "prompt {:?} needs the argument {:?}",
                    self.def.name, a.name
                )));
            }
        }
        Ok(())
    }

    /// Runs the handler; the prompt's description fills in a result without one.
    pub(crate) fn run(
        &self,
        args: Map<String, Value>,
        ctx: Ctx,
    ) -> impl std::future::Future<Output = Result<GetPromptResult, ToolError>> + Send + 'static
    {
        let get = self.get.clone();
        let description = self.def.description.clone();
        async move {
            let mut result = get(args, ctx).await?;
            if result.description.is_none() {
                result.description = description;
            }
            Ok(result)
        }
    }
}
