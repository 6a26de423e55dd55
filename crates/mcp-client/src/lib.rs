//! MCP client SDK: connect to MCP servers of either era, call their tools, and answer their
//! sampling, elicitation and roots requests.
//!
//! - [`Client`] (`client`): era choice (`auto` probes with `server/discover` and falls back
//!   to `initialize`), tool calls, and the modern `input_required` loop (at most
//!   [`ClientOptions::max_rounds`] rounds). It also keeps the tools' `x-mcp-header`
//!   annotations and gives the transport each call's `Mcp-Param-*` headers as hints (with
//!   the `-32020` re-list and retry), and the negotiated legacy version.
//!   [`ClientOptions`] (`options`), [`ClientError`] (`error`) and the state shared with the
//!   handler of the server's requests (`state`) sit below it.
//! - [`SamplingHandler`] (defined in `mcp-proto`, re-exported): the one interface that
//!   answers sampling on both eras. The host pipeline of `mcp-host` is one.
//! - [`ElicitationHandler`] (`elicitation`): answers form-mode elicitation on both eras; the
//!   client fills in defaults and checks the reply against the schema before sending it.
//!   [`Roots`] (`roots`): the roots offered to servers; a change notifies legacy servers.
//!   Both are declared as capabilities only when set in [`ClientOptions`]; `inputs` routes
//!   the requests of both eras.
//! - `incoming`: server-to-client requests on the legacy era, validated before the handler
//!   sees them; replies fitted to old peers (one content block before `2025-11-25`).
//! - [`http`]: the Streamable HTTP client transport (both eras), used by
//!   [`Client::connect_http`]. It carries messages only; its failures reach the waiting
//!   request out of band ([`ClientError::Transport`]).
//!
//! Modules depend downwards only: `elicitation`, `roots`, `http` → `error`, `options`,
//! `state` → `inputs` → `incoming` → `client`.

mod client;
mod elicitation;
mod error;
pub mod http;
mod incoming;
mod inputs;
pub mod oauth;
mod options;
mod roots;
mod state;

pub use client::{Client, Progress};
pub use elicitation::{AutoElicit, ElicitationError, ElicitationHandler, ElicitationRequest};
pub use error::ClientError;
pub use http::{HttpOptions, HttpTransport};
pub use mcp_proto::handler::{
    BoxFuture, SamplingError, SamplingHandler, SamplingRequest, ToolCall,
};
pub use options::{ClientOptions, EraChoice, NotificationSink};
pub use roots::Roots;
