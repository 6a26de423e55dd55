//! `completion/complete`: suggestions for the arguments of prompts and the variables of
//! resource templates, from completers registered per prompt or per template.

use crate::error::{as_error, ToolError};
use crate::prompts::Prompts;
use crate::resources::Resources;
use mcp_proto::completion::{CompleteParams, CompleteResult, Completion, Reference};
use mcp_proto::{BoxFuture, ErrorObject};
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
impl Completers {
    /// `completion/complete` against the prompts and templates it may name.
    pub(crate) async fn complete(
        &self,
        prompts: &Prompts,
        resources: &Resources,
        p: CompleteParams,
    ) -> Result<CompleteResult, ErrorObject> {
        let (completer, known_args): (Option<&Arc<CompleteFn>>, Vec<&str>) = match &p.reference {
            Reference::Prompt { name } => {
                let prompt = prompts.get(name).ok_or_else(|| {
                    ErrorObject::invalid_params(format!("unknown prompt: {name:?}"))
                })?;
                let args = prompt.def.arguments.iter().flatten();
                (
                    self.prompts.get(name),
                    args.map(|a| a.name.as_str()).collect(),
                )
            }
            Reference::Resource { uri } => {
                let t = resources.template(uri).ok_or_else(|| {
                    ErrorObject::invalid_params(format!("unknown resource template: {uri:?}"))
                })?;
                (self.templates.get(uri), t.template.var_names().collect())
            }
        };
        complete_with(completer, &known_args, p).await
    }
}

async fn complete_with(
    completer: Option<&Arc<CompleteFn>>,
    known_args: &[&str],
    p: CompleteParams,
) -> Result<CompleteResult, ErrorObject> {
    let completion = match completer {
        Some(f) if known_args.contains(&p.argument.name.as_str()) => {
            let req = CompletionRequest {
                argument: p.argument.name,
                value: p.argument.value,
                context: p.context.and_then(|c| c.arguments).unwrap_or_default(),
            };
            let mut c = f(req).await.map_err(as_error)?;
            c.values.truncate(mcp_proto::completion::MAX_VALUES);
            c
        }
        _ => Completion {
            values: Vec::new(),
            total: Some(0),
            has_more: Some(false),
        },
    };
    Ok(CompleteResult { completion })
}
