//! Server SDK: tools, resources and prompts, and [`Ctx::sample`], which asks the client's
//! LLM for a completion on either era of MCP.
//!
//! ```no_run
//! use mcp_server::{Args, Ctx, Sampling, Server, ToolError};
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct Summarize { text: String }
//!
//! async fn summarize(Args(a): Args<Summarize>, ctx: Ctx) -> Result<String, ToolError> {
//!     let reply = ctx.sample(Sampling::user(format!("Summarize: {}", a.text)).max_tokens(200)).await?;
//!     Ok(reply.text())
//! }
//! # async fn run() {
//! Server::builder("summarizer").tool("summarize", "Summarize text", summarize).serve(mcp_rpc::stdio()).await;
//! # }
//! ```
//!
//! # Sampling on both eras
//! On a legacy connection (`initialize`), `ctx.sample` sends `sampling/createMessage` to the
//! client and waits (default 5 minutes); cancelling the tool call cancels it.
//!
//! On the modern era (`2026-07-28`), the server sends no requests. The handler runs until it
//! waits for sampling replies it does not have; those requests go to the client in one
//! `input_required` result, with the replies so far sealed in `requestState` (HMAC-SHA256,
//! bound to the tool and its arguments, expiring after 30 minutes). When the client retries
//! with the replies, the handler runs again from the start and its `sample` calls return
//! the recorded replies at once. **The rule for handler authors**: with the same arguments
//! and replies, make the same sampling requests in the same order; start requests you want
//! in one round together (`tokio::join!`, `futures::future::join_all`); keep side effects
//! after the last `sample`, or make them idempotent, since code before it may run once per
//! round.
//!
//! # Elicitation and roots
//! [`Ctx::elicit`] asks the user to fill in a form ([`Elicitation`]; form mode, a flat
//! schema of primitives), [`Ctx::elicit_as`] derives the form from a Rust type and returns
//! it on accept ([`Elicited`]), and [`Ctx::list_roots`] asks for the client's roots. They
//! travel like sampling: a request tied to the tool call on legacy, an entry of the same
//! `input_required` round on modern (one handler may sample and elicit in one call). A
//! client that did not declare the capability gets a tool error (legacy) or `-32021`
//! (modern).
//!
//! Modules: `server` (builder, dispatch for both eras), `ctx` ([`Ctx`]), `sampling`
//! ([`Sampling`], [`SampleError`]), `elicit` (elicitation, roots), `tool` ([`Args`],
//! [`Json`], [`ToolError`]), `modern` (the replay runner), `round` (the replies and requests
//! of one pass), `state` (sealed request state), `resources` (resources, templates,
//! subscriptions), `uri_template`, `prompts`, `completion`; logging is [`Ctx::log`].

mod builder;
mod completion;
mod ctx;
mod elicit;
mod modern;
mod prompts;
mod resources;
mod round;
mod sampling;
mod server;
mod state;
mod tool;
mod uri_template;

pub use builder::ServerBuilder;
pub use completion::CompletionRequest;
pub use ctx::Ctx;
pub use elicit::{schema_for, ElicitError, Elicitation, Elicited, RootsError};
pub use mcp_proto::logging::LoggingLevel;
pub use prompts::IntoPromptResult;
pub use resources::ResourceBody;
pub use sampling::{SampleError, Sampling};
pub use server::{Server, ServerConfig};
pub use state::{StateError, StateKey};
pub use tool::{input_schema, Args, IntoToolResult, Json, ToolError};
pub use uri_template::UriVars;

use mcp_proto::{Implementation, ServerCapabilities};
use std::collections::BTreeMap;

/// What every connection of a server shares.
pub(crate) struct ServerShared {
    pub info: Implementation,
    pub instructions: Option<String>,
    /// Declared on legacy sessions (`initialize`).
    pub capabilities: ServerCapabilities,
    /// Declared on the modern era (`server/discover`): no resource subscriptions there.
    pub modern_capabilities: ServerCapabilities,
    pub tools: BTreeMap<String, tool::ToolEntry>,
    pub resources: BTreeMap<String, resources::ResourceEntry>,
    /// In the order they were added (the first match wins).
    pub templates: Vec<resources::TemplateEntry>,
    pub prompts: BTreeMap<String, prompts::PromptEntry>,
    pub completers: completion::Completers,
    /// Legacy `resources/subscribe` is accepted.
    pub subscriptions: bool,
    pub key: StateKey,
    pub config: ServerConfig,
    pub direct: Option<std::sync::Arc<dyn mcp_proto::SamplingHandler>>,
}
