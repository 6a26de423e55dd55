//! [`ServerBuilder`]: tools, resources, resource templates, prompts, completers, shared
//! state, settings.

use crate::cache::SamplingCache;
use crate::completion::{Completers, CompletionRequest};
use crate::config::{Env, ServerConfig};
use crate::ctx::Ctx;
use crate::dispatch::Registry;
use crate::error::ToolError;
use crate::prompts::{IntoPromptResult, PromptEntry, Prompts};
use crate::resources::{erase_read, ResourceBody, ResourceEntry, Resources, TemplateEntry};
use crate::server::Server;
use crate::state::StateKey;
use crate::tool::{States, TaskStart, ToolEntry, ToolHandler};
use crate::uri_template::UriVars;
use mcp_proto::capabilities::{ListCapability, ResourcesCapability};
use mcp_proto::completion::Completion;
use mcp_proto::tasks::TaskSupport;
use mcp_proto::tools::Tool;
use mcp_proto::{Implementation, ServerCapabilities};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

/// Builds a [`Server`]. Registering two tools (or two prompts) of the same name, or a tool
/// that takes a `State<S>` no [`ServerBuilder::state`] gave, is a programming error: it
/// panics with a message that names it.
pub struct ServerBuilder {
    info: Implementation,
    instructions: Option<String>,
    tools: BTreeMap<String, ToolEntry>,
    resources: Resources,
    prompts: Prompts,
    completers: Completers,
    subscriptions: bool,
    states: States,
    key: Option<StateKey>,
    config: ServerConfig,
    direct: Option<Arc<dyn mcp_proto::SamplingHandler>>,
    cache: Option<Arc<SamplingCache>>,
}

impl Server {
    /// Starts building a server with this name.
    pub fn builder(name: impl Into<String>) -> ServerBuilder {
        ServerBuilder {
            info: Implementation::new(name, env!("CARGO_PKG_VERSION")),
            instructions: None,
            tools: BTreeMap::new(),
            resources: Resources::default(),
            prompts: Prompts::default(),
            completers: Completers::default(),
            subscriptions: false,
            states: States::default(),
            key: None,
            config: ServerConfig::default(),
            direct: None,
            cache: None,
        }
    }
}

impl ServerBuilder {
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

    /// Adds a tool. `handler` is an async fn whose parameters are extractors (`Args<T>`,
    /// `State<S>`, [`Ctx`]; any subset, in any order); its input schema comes from `T`,
    /// its output schema from a [`Json<T>`](crate::Json) result.
    ///
    /// # Panics
    /// If a tool of this name was added already.
    pub fn tool<M, H: ToolHandler<M>>(self, name: &str, description: &str, handler: H) -> Self {
        let def = Tool {
            name: name.into(),
            title: None,
            description: Some(description.into()),
            input_schema: H::input_schema(),
            output_schema: H::output_schema(),
            annotations: None,
        };
        self.tool_def(def, handler)
    }

    /// Adds a tool with a definition written by hand (a schema of your own, a title,
    /// annotations). The arguments are still parsed into the handler's `Args<T>`.
    ///
    /// # Panics
    /// If a tool of this name was added already.
    pub fn tool_def<M, H: ToolHandler<M>>(mut self, def: Tool, handler: H) -> Self {
        let name = def.name.clone();
        assert!(
            !self.tools.contains_key(&name),
            "the tool {name:?} is added twice to the server {:?}",
            self.info.name
        );
        self.tools.insert(name, ToolEntry::new(def, handler));
        self
    }

    /// Lets the tool `tool` run as a task (the tasks extension,
    /// `io.modelcontextprotocol/tasks`): `Optional`, a task for clients that declare the
    /// extension on the call and a plain call for the others; `Required`, only as a task
    /// (other clients get `-32021`). `start` says when the call becomes a task. Tools keep
    /// tasks on the modern era only; `server/discover` declares the extension when a tool
    /// has task support, and `tools/list` shows it as the tool's `execution.taskSupport`.
    ///
    /// # Panics
    /// If no tool of this name was added (before this call).
    pub fn task_support(mut self, tool: &str, support: TaskSupport, start: TaskStart) -> Self {
        let server = &self.info.name;
        let Some(entry) = self.tools.get_mut(tool) else {
            panic!("task_support names the tool {tool:?}, which the server {server:?} does not have: add the tool first");
        };
        entry.task = support;
        entry.task_start = start;
        self
    }

    /// Shares `state` with every handler that takes a `State<S>` (one state per type; a
    /// second of the same type replaces the first). Handlers get a clone: use an `Arc`, a
    /// pool or a channel for what must be shared.
    pub fn state<S: Clone + Send + Sync + 'static>(mut self, state: S) -> Self {
        self.states.insert(state);
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
            .fixed
            .insert(uri.into(), ResourceEntry::new(uri, name, mime, read));
        self
    }

    /// Adds a family of resources named by an RFC 6570 URI template, such as
    /// `db://{table}/{row}`, `file:///{+path}` or `search://items{?q,limit}` (see
    /// ARCHITECTURE.md, "URI templates", for the operators matched). Reading a URI that
    /// matches calls `read` with the variables. Fixed resources are tried first, then
    /// templates in the order they were added.
    ///
    /// # Panics
    /// If `uri_template` cannot be matched exactly (adjacent variables such as `{a}{b}`,
    /// several variables in `{+...}`, a name used twice, unbalanced braces): a programming
    /// error.
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
            panic!("unsupported URI template {uri_template:?}: it cannot be matched exactly (see ServerBuilder::resource_template)");
        };
        self.resources.templates.push(entry);
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
    ///
    /// # Panics
    /// If a prompt of this name was added already.
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
        let added = self
            .prompts
            .insert(PromptEntry::new(name, description, args, get));
        assert!(
            added,
            "the prompt {name:?} is added twice to the server {:?}",
            self.info.name
        );
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

    /// Keeps sampling replies in `cache`: an identical request (same messages, system
    /// prompt, parameters) within its time to live gets the kept reply without asking the
    /// client again. Off by default: a host may want every request reviewed.
    pub fn sampling_cache(mut self, cache: SamplingCache) -> Self {
        self.cache = Some(Arc::new(cache));
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
        let unchanging = || Some(ListCapability::list_changed(false));
        let resources = |subscribe: bool| ResourcesCapability {
            subscribe: subscribe.then_some(true),
            list_changed: Some(false),
            ..Default::default()
        };
        let mut caps = ServerCapabilities {
            logging: Some(Map::new()),
            ..Default::default()
        };
        if !self.tools.is_empty() {
            caps.tools = unchanging();
        }
        let has_resources = !self.resources.is_empty();
        if has_resources {
            caps.resources = Some(resources(false));
        }
        if !self.prompts.is_empty() {
            caps.prompts = unchanging();
        }
        if !self.completers.is_empty() {
            caps.completions = Some(Map::new());
        }
        let mut modern = caps.clone();
        if self
            .tools
            .values()
            .any(|t| t.task != TaskSupport::Forbidden)
        {
            mcp_proto::tasks::declare(&mut modern.extensions);
        }
        if has_resources && self.subscriptions {
            caps.resources = Some(resources(true));
        }
        (caps, modern)
    }

    /// Finishes the server.
    ///
    /// # Panics
    /// If a tool takes a `State<S>` that no [`ServerBuilder::state`] gave.
    pub fn build(self) -> Server {
        for (name, t) in &self.tools {
            for (ty, ty_name) in &t.states {
                assert!(
                    self.states.contains(*ty),
                    "the tool {name:?} takes State<{ty_name}>, but the server {:?} has no such state: add it with ServerBuilder::state",
                    self.info.name
                );
            }
        }
        let (capabilities, modern_capabilities) = self.capabilities();
        if let Some(cache) = &self.cache {
            cache.set_clock(self.config.clock.clone());
        }
        let env = Env {
            info: self.info,
            config: self.config,
            key: self.key.unwrap_or_else(StateKey::random),
            direct: self.direct,
            cache: self.cache,
            metrics: Arc::default(),
        };
        Server::from_registry(Arc::new(Registry {
            env: Arc::new(env),
            instructions: self.instructions,
            capabilities,
            modern_capabilities,
            tools: self.tools,
            resources: self.resources,
            prompts: self.prompts,
            completers: self.completers,
            subscriptions: self.subscriptions,
            states: Arc::new(self.states),
            tasks: Default::default(),
        }))
    }

    /// Builds the server and serves one connection until it ends or `shutdown` completes
    /// (see [`Server::serve`]).
    pub async fn serve(
        self,
        transport: mcp_rpc::Transport,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), crate::ServeError> {
        self.build().serve(transport, shutdown).await
    }
}
