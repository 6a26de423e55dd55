//! [`ServerBuilder`]: tools, resources, resource templates, prompts, completers, settings.

use crate::completion::{Completers, CompletionRequest};
use crate::prompts::{IntoPromptResult, PromptEntry};
use crate::resources::{erase_read, ResourceBody, ResourceEntry, TemplateEntry};
use crate::server::{Server, ServerConfig};
use crate::state::StateKey;
use crate::tool::{erase, input_schema, Args, IntoToolResult, ToolEntry, ToolError};
use crate::uri_template::UriVars;
use crate::{Ctx, ServerShared};
use mcp_proto::completion::Completion;
use mcp_proto::tools::Tool;
use mcp_proto::{Implementation, ServerCapabilities};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

/// Builds a [`Server`].
pub struct ServerBuilder {
    info: Implementation,
    instructions: Option<String>,
    tools: BTreeMap<String, ToolEntry>,
    resources: BTreeMap<String, ResourceEntry>,
    templates: Vec<TemplateEntry>,
    prompts: BTreeMap<String, PromptEntry>,
    completers: Completers,
    subscriptions: bool,
    key: Option<StateKey>,
    config: ServerConfig,
    direct: Option<Arc<dyn mcp_proto::SamplingHandler>>,
}

impl ServerBuilder {
    pub(crate) fn new(name: String) -> ServerBuilder {
        ServerBuilder {
            info: Implementation::new(name, env!("CARGO_PKG_VERSION")),
            instructions: None,
            tools: BTreeMap::new(),
            resources: BTreeMap::new(),
            templates: Vec::new(),
            prompts: BTreeMap::new(),
            completers: Completers::default(),
            subscriptions: false,
            key: None,
            config: ServerConfig::default(),
            direct: None,
        }
    }

    /// Sets the version reported to clients.
    pub fn version(mut self, v: impl Into<String>) -> Self {
        self.info.version = v.into();
        self
    }

    /// Sets the instructions reported to clients.
    pub fn instructions(mut self, text: impl Into<String>) -> Self {
        self.instructions = Some(text.into());
        self
    }

    /// Adds a tool. Its input schema is derived from `T`.
    pub fn tool<T, F, Fut, R>(self, name: &str, description: &str, f: F) -> Self
    where
        T: DeserializeOwned + JsonSchema + Send + 'static,
        F: Fn(Args<T>, Ctx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, ToolError>> + Send + 'static,
        R: IntoToolResult,
    {
        let def = Tool {
            name: name.into(),
            title: None,
            description: Some(description.into()),
            input_schema: input_schema::<T>(),
            output_schema: None,
            annotations: None,
        };
        self.tool_def(def, f)
    }

    /// Adds a tool with a definition written by hand (a schema of your own, a title,
    /// annotations). The arguments are still parsed into `T`.
    pub fn tool_def<T, F, Fut, R>(mut self, def: Tool, f: F) -> Self
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(Args<T>, Ctx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, ToolError>> + Send + 'static,
        R: IntoToolResult,
    {
        let name = def.name.clone();
        let call = erase(f);
        self.tools.insert(name, ToolEntry { def, call });
        self
    }

    /// Adds a resource whose contents come from `read`: text (`String`) or bytes
    /// (`Vec<u8>`, sent base64-encoded), see [`ResourceBody`].
    pub fn resource<F, Fut, R>(mut self, uri: &str, name: &str, mime: &str, read: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, ToolError>> + Send + 'static,
        R: Into<ResourceBody>,
    {
        let read = erase_read(move |_| read());
        self.resources
            .insert(uri.into(), ResourceEntry::new(uri, name, mime, read));
        self
    }

    /// Adds a family of resources named by a URI template with simple `{name}` variables
    /// (each one non-empty piece of a path segment), such as `db://{table}/{row}`. Reading a
    /// URI that matches calls `read` with the variables. Fixed resources are tried first,
    /// then templates in the order they were added.
    ///
    /// # Panics
    /// If `uri_template` uses what this matcher does not support (operators such as
    /// `{+path}`, adjacent variables, unbalanced braces): a programming error.
    pub fn resource_template<F, Fut, R>(
        mut self,
        uri_template: &str,
        name: &str,
        mime: &str,
        read: F,
    ) -> Self
    where
        F: Fn(UriVars) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, ToolError>> + Send + 'static,
        R: Into<ResourceBody>,
    {
        let entry = TemplateEntry::new(uri_template, name, mime, erase_read(read));
        let Some(entry) = entry else {
            panic!("unsupported URI template {uri_template:?}: only literal text and {{name}} variables");
        };
        self.templates.push(entry);
        self
    }

    /// Accepts `resources/subscribe` and `resources/unsubscribe` (legacy sessions) and
    /// declares `resources.subscribe`. A handler tells subscribers about a change with
    /// [`Ctx::notify_resource_updated`].
    pub fn resource_subscriptions(mut self) -> Self {
        self.subscriptions = true;
        self
    }

    /// Adds a prompt with named string arguments (`(name, required)`); a `prompts/get`
    /// missing a required one is refused with `-32602`. `get` returns a `String` (one user
    /// message), messages with any content, or a whole `GetPromptResult`.
    pub fn prompt<F, Fut, R>(
        self,
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
        self.prompt_with_ctx(name, description, args, move |a, _| get(a))
    }

    /// [`ServerBuilder::prompt`] whose handler also gets a [`Ctx`]: it may elicit, sample
    /// or list roots while it builds the prompt (a request tied to the `prompts/get` on
    /// legacy sessions; `input_required` rounds on the modern era, replayed as for tools).
    pub fn prompt_with_ctx<F, Fut, R>(
        mut self,
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
        self.prompts
            .insert(name.into(), PromptEntry::new(name, description, args, get));
        self
    }

    /// Completes the arguments of prompt `prompt` (`completion/complete` with
    /// `ref/prompt`); declares `completions`. Return a `Vec<String>` (the first 100 are sent)
    /// or a [`Completion`].
    pub fn prompt_completer<F, Fut, C>(mut self, prompt: &str, f: F) -> Self
    where
        F: Fn(CompletionRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<C, ToolError>> + Send + 'static,
        C: Into<Completion>,
    {
        self.completers.add(true, prompt, f);
        self
    }

    /// Completes the variables of the resource template `uri_template` (`ref/resource`);
    /// declares `completions`.
    pub fn template_completer<F, Fut, C>(mut self, uri_template: &str, f: F) -> Self
    where
        F: Fn(CompletionRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<C, ToolError>> + Send + 'static,
        C: Into<Completion>,
    {
        self.completers.add(false, uri_template, f);
        self
    }

    /// Sets a model the server calls itself when a client cannot sample, instead of failing
    /// the tool call.
    pub fn direct_sampler(mut self, sampler: Arc<dyn mcp_proto::SamplingHandler>) -> Self {
        self.direct = Some(sampler);
        self
    }

    /// Sets the key that seals modern `requestState` (replicas must share it; default: a
    /// random key per process).
    pub fn state_key(mut self, key: StateKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Sets limits and defaults.
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// The capabilities for each era: logging always ([`Ctx::log`]); resource
    /// subscriptions only on legacy sessions.
    fn capabilities(&self) -> (ServerCapabilities, ServerCapabilities) {
        let mut caps = ServerCapabilities {
            logging: Some(json!({})),
            ..Default::default()
        };
        if !self.tools.is_empty() {
            caps.tools = Some(json!({"listChanged": false}));
        }
        let has_resources = !self.resources.is_empty() || !self.templates.is_empty();
        if has_resources {
            caps.resources = Some(json!({"listChanged": false}));
        }
        if !self.prompts.is_empty() {
            caps.prompts = Some(json!({"listChanged": false}));
        }
        if !self.completers.is_empty() {
            caps.completions = Some(json!({}));
        }
        let modern = caps.clone();
        if has_resources && self.subscriptions {
            caps.resources = Some(json!({"listChanged": false, "subscribe": true}));
        }
        (caps, modern)
    }

    /// Finishes the server.
    pub fn build(self) -> Server {
        let (capabilities, modern_capabilities) = self.capabilities();
        Server::from_shared(Arc::new(ServerShared {
            info: self.info,
            instructions: self.instructions,
            capabilities,
            modern_capabilities,
            tools: self.tools,
            resources: self.resources,
            templates: self.templates,
            prompts: self.prompts,
            completers: self.completers,
            subscriptions: self.subscriptions,
            key: self.key.unwrap_or_else(StateKey::random),
            config: self.config,
            direct: self.direct,
        }))
    }

    /// Builds the server and serves one connection until it ends.
    pub async fn serve(self, transport: mcp_rpc::Transport) {
        self.build().serve(transport).await
    }
}
