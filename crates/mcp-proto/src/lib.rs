//! MCP protocol types for both eras of the Model Context Protocol.
//!
//! This crate has no async runtime and no I/O: it is the vocabulary that the engine
//! (`mcp-rpc`), the server SDK and the host SDK share.
//!
//! - [`clock`]: the [`Clock`](clock::Clock) that the SDKs' time-dependent code reads (a
//!   [`ManualClock`](clock::ManualClock) in tests).
//! - [`methods`]: every method as a type ([`methods::Request`], [`methods::Notification`]:
//!   name, params, result, eras) and the dispatch enums; no method name is spelled elsewhere.
//! - [`jsonrpc`]: the JSON-RPC 2.0 envelope (request, notification, response), ids, error
//!   objects and the error codes MCP uses; a parser that tells garbage from a bad request.
//! - [`version`]: protocol revisions and the two eras (legacy `initialize` handshake, modern
//!   per-request `_meta`).
//! - [`content`]: content blocks shared by tool results and sampling messages.
//! - [`sampling`]: `sampling/createMessage` params and result, model preferences, tools in
//!   sampling, and the validation rules both sides apply.
//! - [`capabilities`], [`lifecycle`]: capabilities, `initialize`, `server/discover`, `_meta`.
//! - [`tools`], [`resources`], [`prompts`], [`completion`], [`logging`]: server features.
//! - [`mrtr`]: multi round-trip requests (`input_required`, `inputResponses`, `requestState`).
//! - [`subscriptions`]: `subscriptions/listen` (the filter, the acknowledgement, the tag).
//! - [`tasks`]: the tasks extension (`io.modelcontextprotocol/tasks`): task handles, their
//!   status, `tasks/get|update|cancel`, a tool's `execution.taskSupport`.
//! - [`handler`]: [`SamplingHandler`], the one trait that answers a sampling request (a
//!   host's client, a server's own model, a provider behind an adapter), and [`BoxFuture`].
//! - [`ext`]: this project's own `_meta` extensions: the expected output of a sampling
//!   request (typed output) and the nesting depth of a tool call.
//! - [`trace`]: W3C trace context (`traceparent`, `tracestate`) in `_meta`, read into and
//!   written from `tracing` spans with the `otel` feature (SEP-414).
//! - [`form`]: the form of a form-mode elicitation (its schema, the subset check, a reply
//!   checked against it, defaults); [`elicitation`]: `elicitation/create` params and result,
//!   on top of it; [`roots`]: `roots/list`.

pub mod capabilities;
pub mod clock;
pub mod completion;
pub mod content;
pub mod elicitation;
pub mod ext;
pub mod form;
pub mod handler;
pub mod jsonrpc;
pub mod lifecycle;
pub mod logging;
pub mod methods;
pub mod mrtr;
pub mod prompts;
pub mod resources;
pub mod roots;
pub mod sampling;
pub mod subscriptions;
pub mod tasks;
pub mod tools;
pub mod trace;
pub mod version;

pub use capabilities::{ClientCapabilities, SamplingCapability, ServerCapabilities};
pub use content::{Content, OneOrMany};
pub use elicitation::{ElicitAction, ElicitRequestParams, ElicitResult, RequestedSchema};
pub use handler::{BoxFuture, SamplingError, SamplingHandler, SamplingRequest, ToolCall};
pub use jsonrpc::{ErrorObject, Message, RequestId};
pub use lifecycle::{Implementation, RequestMeta};
pub use roots::{ListRootsResult, Root};
pub use sampling::{CreateMessageParams, CreateMessageResult, SamplingMessage};
pub use version::{Era, ProtocolVersion};
