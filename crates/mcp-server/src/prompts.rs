//! Prompts: named arguments in, messages with any content out.

use crate::ctx::CtxInner;
use crate::modern::{self, Outcome, Retry};
use crate::resources::failed;
use crate::server::{missing_capability, to_value};
use crate::tool::ToolError;
use crate::{Ctx, ServerShared};
use mcp_proto::content::Content;
use mcp_proto::prompts::{GetPromptParams, GetPromptResult, Prompt, PromptArgument, PromptMessage};
use mcp_proto::ErrorObject;
use mcp_rpc::BoxFuture;
use serde_json::{json, Map, Value};
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

pub(crate) fn list(server: &ServerShared) -> Result<Value, ErrorObject> {
    let list: Vec<&Prompt> = server.prompts.values().map(|p| &p.def).collect();
    Ok(json!({"prompts": list}))
}

/// `prompts/get`: on the modern era the handler may answer `input_required` (replayed with
/// the replies, as for tools).
pub(crate) async fn get(
    server: &Arc<ServerShared>,
    base: CtxInner,
    modern: bool,
    p: GetPromptParams,
) -> Result<Value, ErrorObject> {
    let entry = server
        .prompts
        .get(&p.name)
        .ok_or_else(|| ErrorObject::invalid_params(format!("unknown prompt: {:?}", p.name)))?;
    let args = p.arguments.unwrap_or_default();
    for a in entry.def.arguments.iter().flatten() {
        if a.required == Some(true) && !args.contains_key(&a.name) {
            return Err(ErrorObject::invalid_params(format!(
                "prompt {:?} needs the argument {:?}",
                p.name, a.name
            )));
        }
    }
    let outcome = if modern {
        let retry = Retry {
            method: "prompts/get",
            name: &p.name,
            args: &args,
            request_state: p.request_state.as_deref(),
            input_responses: p.input_responses,
        };
        match modern::run(server, base, retry, |ctx| (entry.get)(args.clone(), ctx)).await? {
            Outcome::Done(o) => o,
            Outcome::InputRequired(v) => return Ok(v),
        }
    } else {
        let ctx = Ctx {
            inner: Arc::new(base),
        };
        (entry.get)(args, ctx).await
    };
    let mut result = outcome.map_err(|e| match missing_capability(&e).filter(|_| modern) {
        Some(err) => err,
        None => failed(e),
    })?;
    if result.description.is_none() {
        result.description = entry.def.description.clone();
    }
    to_value(result)
}
