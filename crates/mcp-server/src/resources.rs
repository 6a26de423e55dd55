//! Resources: fixed URIs and URI templates, read by handlers that return text or bytes;
//! subscriptions (legacy).

use crate::server::{parse, to_value, SessionState};
use crate::tool::ToolError;
use crate::uri_template::{UriTemplate, UriVars};
use crate::ServerShared;
use base64::Engine;
use mcp_proto::jsonrpc::{INVALID_PARAMS, RESOURCE_NOT_FOUND};
use mcp_proto::resources::{
    BlobResourceContents, ReadResourceParams, ReadResourceResult, Resource, ResourceContents,
    ResourceTemplate, SubscribeParams,
};
use mcp_proto::ErrorObject;
use mcp_rpc::BoxFuture;
use serde_json::{json, Value};
use std::future::Future;
use std::sync::Arc;

/// What a resource handler returns: text, or bytes (sent base64-encoded as `blob`).
#[derive(Debug, Clone, PartialEq)]
pub enum ResourceBody {
    /// Text contents.
    Text(String),
    /// Binary contents.
    Blob(Vec<u8>),
}

impl From<String> for ResourceBody {
    fn from(s: String) -> Self {
        ResourceBody::Text(s)
    }
}

impl From<&'static str> for ResourceBody {
    fn from(s: &'static str) -> Self {
        ResourceBody::Text(s.into())
    }
}

impl From<Vec<u8>> for ResourceBody {
    fn from(b: Vec<u8>) -> Self {
        ResourceBody::Blob(b)
    }
}

impl ResourceBody {
    fn into_contents(self, uri: &str, mime: Option<&str>) -> ResourceContents {
        match self {
            ResourceBody::Text(text) => ResourceContents::text(uri, mime, text),
            ResourceBody::Blob(bytes) => ResourceContents::Blob(BlobResourceContents {
                uri: uri.into(),
                mime_type: mime.map(str::to_owned),
                blob: base64::engine::general_purpose::STANDARD.encode(bytes),
            }),
        }
    }
}

type ReadFn = dyn Fn(UriVars) -> BoxFuture<Result<ResourceBody, ToolError>> + Send + Sync;

/// Erases a reader returning anything that converts to a [`ResourceBody`].
pub(crate) fn erase_read<F, Fut, R>(read: F) -> Arc<ReadFn>
where
    F: Fn(UriVars) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, ToolError>> + Send + 'static,
    R: Into<ResourceBody>,
{
    Arc::new(move |vars| {
        let fut = read(vars);
        Box::pin(async move { fut.await.map(Into::into) })
    })
}

pub(crate) struct ResourceEntry {
    pub def: Resource,
    pub read: Arc<ReadFn>,
}

pub(crate) struct TemplateEntry {
    pub def: ResourceTemplate,
    pub template: UriTemplate,
    pub read: Arc<ReadFn>,
}

impl ResourceEntry {
    pub(crate) fn new(uri: &str, name: &str, mime: &str, read: Arc<ReadFn>) -> Self {
        let def = Resource {
            uri: uri.into(),
            name: name.into(),
            description: None,
            mime_type: Some(mime.into()),
        };
        ResourceEntry { def, read }
    }
}

impl TemplateEntry {
    /// `None` if `uri_template` is not a template we can match (see `uri_template`).
    pub(crate) fn new(
        uri_template: &str,
        name: &str,
        mime: &str,
        read: Arc<ReadFn>,
    ) -> Option<Self> {
        let def = ResourceTemplate {
            uri_template: uri_template.into(),
            name: name.into(),
            description: None,
            mime_type: Some(mime.into()),
        };
        let template = UriTemplate::parse(uri_template)?;
        Some(TemplateEntry {
            def,
            template,
            read,
        })
    }
}

pub(crate) fn failed(e: ToolError) -> ErrorObject {
    match e {
        ToolError::Protocol(e) => e,
        other => ErrorObject::internal(other.to_string()),
    }
}

/// The reader for `uri` and its variables: a fixed resource first, then the templates in
/// the order they were added.
fn find<'a>(server: &'a ServerShared, uri: &str) -> Option<(&'a ReadFn, Option<&'a str>, UriVars)> {
    if let Some(r) = server.resources.get(uri) {
        return Some((&*r.read, r.def.mime_type.as_deref(), UriVars::default()));
    }
    server.templates.iter().find_map(|t| {
        let vars = t.template.matches(uri)?;
        Some((&*t.read, t.def.mime_type.as_deref(), vars))
    })
}

fn not_found(uri: &str, modern: bool) -> ErrorObject {
    // -32002 until 2025-11-25; the modern era uses -32602.
    let code = if modern {
        INVALID_PARAMS
    } else {
        RESOURCE_NOT_FOUND
    };
    ErrorObject::new(code, format!("Resource not found: {uri:?}")).with_data(json!({"uri": uri}))
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
        "resources/templates/list" => {
            let list: Vec<&ResourceTemplate> = server.templates.iter().map(|t| &t.def).collect();
            Ok(json!({"resourceTemplates": list}))
        }
        "resources/read" => {
            let p: ReadResourceParams = parse(params)?;
            let (read, mime, vars) =
                find(server, &p.uri).ok_or_else(|| not_found(&p.uri, modern))?;
            let body = read(vars).await.map_err(failed)?;
            to_value(ReadResourceResult {
                contents: vec![body.into_contents(&p.uri, mime)],
            })
        }
        other => Err(ErrorObject::method_not_found(other)),
    }
}

/// `resources/subscribe` and `resources/unsubscribe` on a legacy session: the resource must
/// exist; the session remembers what it subscribed to.
pub(crate) fn subscription(
    server: &ServerShared,
    session: &SessionState,
    method: &str,
    params: Option<Value>,
) -> Result<Value, ErrorObject> {
    let p: SubscribeParams = parse(params)?;
    if find(server, &p.uri).is_none() {
        return Err(not_found(&p.uri, false));
    }
    let mut subs = session
        .subscriptions
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if method == "resources/subscribe" {
        subs.insert(p.uri);
    } else {
        subs.remove(&p.uri);
    }
    Ok(json!({}))
}
