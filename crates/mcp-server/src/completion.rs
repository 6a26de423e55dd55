//! `completion/complete`: suggestions for the arguments of prompts and the variables of
//! resource templates, from completers registered per prompt or per template.

use crate::resources::failed;
use crate::server::{parse, to_value};
use crate::tool::ToolError;
use crate::ServerShared;
use mcp_proto::completion::{CompleteParams, CompleteResult, Completion, Reference};
use mcp_proto::ErrorObject;
use mcp_rpc::BoxFuture;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;

/// What a completer is asked.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletionRequest {
    /// The argument (prompt) or variable (template) being completed.
    pub argument: String,
    /// What the user typed so far.
    pub value: String,
    /// Arguments already resolved, by name.
    pub context: BTreeMap<String, String>,
}

impl CompletionRequest {
    /// The candidates that start with what the user typed (a simple completer).
    pub fn filter<'a>(&self, candidates: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        candidates
            .into_iter()
            .filter(|c| c.starts_with(&self.value))
            .map(str::to_owned)
            .collect()
    }
}

type CompleteFn =
    dyn Fn(CompletionRequest) -> BoxFuture<Result<Completion, ToolError>> + Send + Sync;

/// Completers by what they complete.
#[derive(Default, Clone)]
pub(crate) struct Completers {
    prompts: HashMap<String, Arc<CompleteFn>>,
    templates: HashMap<String, Arc<CompleteFn>>,
}

impl Completers {
    pub(crate) fn is_empty(&self) -> bool {
        self.prompts.is_empty() && self.templates.is_empty()
    }

    pub(crate) fn add<F, Fut, C>(&mut self, prompt: bool, key: &str, f: F)
    where
        F: Fn(CompletionRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<C, ToolError>> + Send + 'static,
        C: Into<Completion>,
    {
        let f: Arc<CompleteFn> = Arc::new(move |req| {
            let fut = f(req);
            Box::pin(async move { fut.await.map(Into::into) })
        });
        let map = if prompt {
            &mut self.prompts
        } else {
            &mut self.templates
        };
        map.insert(key.into(), f);
    }
}

/// Answers `completion/complete`. An unknown prompt or template is `-32602`; one without a
/// completer (or an argument it does not have) gets no suggestions.
pub(crate) async fn complete(
    server: &ServerShared,
    params: Option<Value>,
) -> Result<Value, ErrorObject> {
    let p: CompleteParams = parse(params)?;
    let (completer, known_args): (Option<&Arc<CompleteFn>>, Vec<&str>) = match &p.reference {
        Reference::Prompt { name } => {
            let prompt = server
                .prompts
                .get(name)
                .ok_or_else(|| ErrorObject::invalid_params(format!("unknown prompt: {name:?}")))?;
            let args = prompt.def.arguments.iter().flatten();
            (
                server.completers.prompts.get(name),
                args.map(|a| a.name.as_str()).collect(),
            )
        }
        Reference::Resource { uri } => {
            let t = server
                .templates
                .iter()
                .find(|t| t.def.uri_template == *uri)
                .ok_or_else(|| {
                    ErrorObject::invalid_params(format!("unknown resource template: {uri:?}"))
                })?;
            (
                server.completers.templates.get(uri),
                t.template.var_names().collect(),
            )
        }
    };
    let completion = match completer {
        Some(f) if known_args.contains(&p.argument.name.as_str()) => {
            let req = CompletionRequest {
                argument: p.argument.name,
                value: p.argument.value,
                context: p.context.and_then(|c| c.arguments).unwrap_or_default(),
            };
            let mut c = f(req).await.map_err(failed)?;
            c.values.truncate(mcp_proto::completion::MAX_VALUES);
            c
        }
        _ => Completion {
            values: Vec::new(),
            total: Some(0),
            has_more: Some(false),
        },
    };
    to_value(CompleteResult { completion })
}
