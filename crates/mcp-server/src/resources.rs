//! Resources: fixed URIs and URI templates, read by handlers that return text or bytes;
//! subscriptions (legacy).

use crate::error::{as_error, ToolError};
use crate::session::SessionState;
use crate::uri_template::{UriTemplate, UriVars};
use base64::Engine;
use mcp_proto::jsonrpc::{INVALID_PARAMS, RESOURCE_NOT_FOUND};
use mcp_proto::resources::{
    BlobResourceContents, ListResourceTemplatesResult, ListResourcesResult, ReadResourceResult,
    Resource, ResourceContents, ResourceTemplate,
};
use mcp_proto::{BoxFuture, ErrorObject};
use serde_json::json;
use std::collections::BTreeMap;
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

/// The resources of a server: fixed URIs, then templates in the order they were added.
#[derive(Default)]
pub(crate) struct Resources {
    pub fixed: BTreeMap<String, ResourceEntry>,
    pub templates: Vec<TemplateEntry>,
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

impl Resources {
    pub(crate) fn is_empty(&self) -> bool {
        self.fixed.is_empty() && self.templates.is_empty()
    }

    fn find(&self, uri: &str) -> Option<(&ReadFn, Option<&str>, UriVars)> {
        if let Some(r) = self.fixed.get(uri) {
            return Some((&*r.read, r.def.mime_type.as_deref(), UriVars::default()));
        }
        self.templates.iter().find_map(|t| {
            let vars = t.template.matches(uri)?;
            Some((&*t.read, t.def.mime_type.as_deref(), vars))
        })
    }

    /// The template written exactly `uri_template`.
    pub(crate) fn template(&self, uri_template: &str) -> Option<&TemplateEntry> {
        self.templates
            .iter()
            .find(|t| t.def.uri_template == uri_template)
    }

    /// `resources/list`.
    pub(crate) fn list(&self) -> ListResourcesResult {
        ListResourcesResult {
            resources: self.fixed.values().map(|r| r.def.clone()).collect(),
            next_cursor: None,
        }
    }

    /// `resources/templates/list`.
    pub(crate) fn list_templates(&self) -> ListResourceTemplatesResult {
        ListResourceTemplatesResult {
            resource_templates: self.templates.iter().map(|t| t.def.clone()).collect(),
            next_cursor: None,
        }
    }

    /// `resources/read` (the not-found code depends on the era).
    pub(crate) async fn read(
        &self,
        uri: &str,
        modern: bool,
    ) -> Result<ReadResourceResult, ErrorObject> {
        let (read, mime, vars) = self.find(uri).ok_or_else(|| not_found(uri, modern))?;
        let body = read(vars).await.map_err(as_error)?;
        Ok(ReadResourceResult {
            contents: vec![body.into_contents(uri, mime)],
        })
    }

    /// `resources/subscribe` (`on`) and `resources/unsubscribe`, legacy sessions only.
    pub(crate) fn subscribe(
        &self,
        session: &SessionState,
        uri: String,
        on: bool,
    ) -> Result<(), ErrorObject> {
        if self.find(&uri).is_none() {
            return Err(not_found(&uri, false));
        }
        session.subscribe(uri, on);
        Ok(())
    }
}
