//! Prompts: named arguments in, messages with any content out.

use crate::resources::failed;
use crate::server::{parse, to_value};
use crate::tool::ToolError;
use crate::ServerShared;
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
    dyn Fn(Map<String, Value>) -> BoxFuture<Result<GetPromptResult, ToolError>> + Send + Sync;

pub(crate) struct PromptEntry {
    pub def: Prompt,
    get: Arc<GetFn>,
}

impl PromptEntry {
    pub(crate) fn new<F, Fut, R>(
        name: &str,
        description: &str,
        args: &[(&str, bool)],
        get: F,
    ) -> Self
    where
        F: Fn(Map<String, Value>) -> Fut + Send + Sync + 'static,
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
        let get: Arc<GetFn> = Arc::new(move |a| {
            let fut = get(a);
            Box::pin(async move { fut.await.map(IntoPromptResult::into_prompt_result) })
        });
        PromptEntry { def, get }
    }
}

pub(crate) async fn dispatch(
    server: &ServerShared,
    method: &str,
    params: Option<Value>,
) -> Result<Value, ErrorObject> {
    match method {
        "prompts/list" => {
            let list: Vec<&Prompt> = server.prompts.values().map(|p| &p.def).collect();
            Ok(json!({"prompts": list}))
        }
        "prompts/get" => {
            let p: GetPromptParams = parse(params)?;
            let entry = server.prompts.get(&p.name).ok_or_else(|| {
                ErrorObject::invalid_params(format!("unknown prompt: {:?}", p.name))
            })?;
            let args = p.arguments.unwrap_or_default();
            for a in entry.def.arguments.iter().flatten() {
                if a.required == Some(true) && !args.contains_key(&a.name) {
                    return Err(ErrorObject::invalid_params(format!(
                        "prompt {:?} needs the argument {:?}",
                        p.name, a.name
                    )));
                }
            }
            let mut result = (entry.get)(args).await.map_err(failed)?;
            if result.description.is_none() {
                result.description = entry.def.description.clone();
            }
            to_value(result)
        }
        other => Err(ErrorObject::method_not_found(other)),
    }
}
