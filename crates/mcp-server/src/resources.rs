//! Resources and prompts: plain text providers (no sampling).

use crate::server::{parse, to_value};
use crate::tool::ToolError;
use crate::ServerShared;
use mcp_proto::content::Content;
use mcp_proto::jsonrpc::{INVALID_PARAMS, RESOURCE_NOT_FOUND};
use mcp_proto::prompts::{GetPromptParams, Prompt, PromptArgument, PromptMessage};
use mcp_proto::resources::{ReadResourceParams, Resource, TextResourceContents};
use mcp_proto::sampling::Role;
use mcp_proto::ErrorObject;
use mcp_rpc::BoxFuture;
use serde_json::{json, Map, Value};
use std::future::Future;
use std::sync::Arc;

type ReadFn = dyn Fn() -> BoxFuture<Result<String, ToolError>> + Send + Sync;
type GetFn = dyn Fn(Map<String, Value>) -> BoxFuture<Result<String, ToolError>> + Send + Sync;

pub(crate) struct ResourceEntry {
    def: Resource,
    read: Arc<ReadFn>,
}

impl ResourceEntry {
    pub(crate) fn new<F, Fut>(uri: &str, name: &str, mime: &str, read: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, ToolError>> + Send + 'static,
    {
        let def = Resource {
            uri: uri.into(),
            name: name.into(),
            description: None,
            mime_type: Some(mime.into()),
        };
        ResourceEntry {
            def,
            read: Arc::new(move || Box::pin(read())),
        }
    }
}

pub(crate) struct PromptEntry {
    def: Prompt,
    get: Arc<GetFn>,
}

impl PromptEntry {
    pub(crate) fn new<F, Fut>(name: &str, description: &str, args: &[(&str, bool)], get: F) -> Self
    where
        F: Fn(Map<String, Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, ToolError>> + Send + 'static,
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
        PromptEntry {
            def,
            get: Arc::new(move |a| Box::pin(get(a))),
        }
    }
}

fn failed(e: ToolError) -> ErrorObject {
    match e {
        ToolError::Protocol(e) => e,
        other => ErrorObject::internal(other.to_string()),
    }
}

pub(crate) async fn dispatch(
    server: &ServerShared,
    method: &str,
    params: Option<Value>,
    modern: bool,
) -> Result<Value, ErrorObject> {
    match method {
        "resources/list" => {
            let list: Vec<&Resource> = server.resources.values().map(|r| &r.def).collect();
            Ok(json!({"resources": list}))
        }
        "resources/templates/list" => Ok(json!({"resourceTemplates": []})),
        "resources/read" => {
            let p: ReadResourceParams = parse(params)?;
            let entry = server.resources.get(&p.uri).ok_or_else(|| {
                // -32002 until 2025-11-25; the modern era uses -32602.
                let code = if modern {
                    INVALID_PARAMS
                } else {
                    RESOURCE_NOT_FOUND
                };
                ErrorObject::new(code, format!("Resource not found: {:?}", p.uri))
                    .with_data(json!({"uri": p.uri}))
            })?;
            let text = (entry.read)().await.map_err(failed)?;
            let contents = TextResourceContents {
                uri: p.uri.clone(),
                mime_type: entry.def.mime_type.clone(),
                text,
            };
            Ok(json!({"contents": [contents]}))
        }
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
            let text = (entry.get)(args).await.map_err(failed)?;
            let messages = vec![PromptMessage {
                role: Role::User,
                content: Content::text(text),
            }];
            to_value(json!({"description": entry.def.description, "messages": messages}))
        }
        other => Err(ErrorObject::method_not_found(other)),
    }
}
