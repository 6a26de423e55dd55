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
//! Server::builder("summarizer")
//!     .tool("summarize", "Summarize text", summarize)
//!     .serve(mcp_rpc::stdio(), std::future::pending())
//!     .await
//!     .expect("serving stdio");
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
//! # Tasks (the `io.modelcontextprotocol/tasks` extension, modern era)
//! [`ServerBuilder::task_support`] lets a tool run as a task: a client that declares the
//! extension gets a task handle at once ([`TaskStart::AtCall`]) or when the handler calls
//! [`Ctx::run_as_task`] ([`TaskStart::WhenHandlerAsks`]), and polls `tasks/get`; the handler
//! runs on in the background, not replayed: its `sample`/`elicit` calls wait in the task
//! until the client answers with `tasks/update`. `tasks/cancel` drops the handler's future.
//! [`ServerConfig`] bounds the tasks kept and their lifetime.
//!
//! # Handlers
//! A tool handler is an async fn whose parameters are extractors, axum-style: [`Args<T>`]
//! (the arguments, parsed into `T`, whose JSON Schema is the tool's input schema),
//! [`State<S>`] (shared state given with [`ServerBuilder::state`]) and [`Ctx`]; a handler
//! takes only those it needs.
//!
//! # Deciding in code, sampling for judgment
//! [`Classifier`] classifies into a Rust type (a rule first, the model for the rest, a
//! fallback when the model gives no label) and says who decided; [`Ctx::extract`] asks for
//! a reply that parses as a Rust type, with one repair round; [`ToolLoop`] runs sampling
//! with tools to an answer. Each puts the expected output in the request's `_meta`
//! ([`mcp_proto::ext`]), which our host uses to constrain the model. [`SamplingCache`]
//! answers repeated requests; [`ServerConfig`] caps the input requests per call and the
//! nesting depth of calls ([`Ctx::depth`]).
//!
//! # Modules, bottom to top (each uses only those above it)
//! `cache` ([`SamplingCache`]), `config` ([`ServerConfig`]), `state` (sealed request state), `uri_template`, `wire`
//! (params in, results out), `session` (a legacy session), `error` ([`ToolError`] and the
//! input errors), `round` (the requests and replies of one modern pass), `sampling`
//! ([`Sampling`]), `elicit` ([`Elicitation`]); `ctx` ([`Ctx`], whose era is one enum);
//! `classify`, `extract`, `tool_loop` (the judgment helpers, on top of `Ctx`); `tool`
//! (extractors, [`ToolHandler`]), `modern` (the replay runner), `task` (the tasks),
//! `listen` (`subscriptions/listen` for task status), `prompts`,
//! `resources`, `completion`; `dispatch` (the connection handler: era, method, registry);
//! `server` ([`Server`]); `builder` ([`ServerBuilder`]).

mod builder;
mod cache;
mod classify;
mod completion;
mod config;
mod ctx;
mod dispatch;
mod elicit;
mod error;
mod extract;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod listen;
pub mod metrics;
mod modern;
mod prompts;
mod resources;
mod round;
mod sampling;
mod server;
mod session;
mod state;
mod task;
mod tool;
mod tool_loop;
mod uri_template;
mod wire;

pub use builder::ServerBuilder;
pub use cache::SamplingCache;
pub use classify::{Classified, Classifier, DecidedBy};
pub use completion::CompletionRequest;
pub use config::ServerConfig;
pub use ctx::Ctx;
pub use elicit::{schema_for, Elicitation, Elicited};
pub use error::{ElicitError, RootsError, SampleError, ToolError};
pub use extract::{output_schema, parse_reply, ExtractError, Extracted};
pub use mcp_proto::logging::LoggingLevel;
pub use mcp_proto::tasks::TaskSupport;
pub use prompts::IntoPromptResult;
pub use resources::ResourceBody;
pub use sampling::Sampling;
pub use server::{ServeError, Server};
pub use state::{StateError, StateKey};
pub use tool::{
    input_schema, output_schema_of, Args, CallParts, FromCall, IntoToolResult, Json, State,
    TaskStart, ToolHandler,
};
pub use tool_loop::{LoopOutcome, ToolLoop, ToolUseRecord};
pub use uri_template::UriVars;
