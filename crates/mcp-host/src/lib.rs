//! Host (client) SDK: connect to MCP servers of either era, call their tools, and answer
//! their sampling requests.
//!
//! - [`Client`] (`client`): era choice (`auto` probes with `server/discover` and falls back
//!   to `initialize`), tool calls, and the modern `input_required` loop (at most
//!   [`ClientOptions::max_rounds`] rounds).
//! - [`SamplingHandler`] (`handler`): the one interface that answers sampling on both eras.
//! - `incoming`: server-to-client requests on the legacy era, validated before the handler
//!   sees them; replies fitted to old peers (one content block before `2025-11-25`).
//! - [`pipeline`]: the [`Host`](pipeline::Host) that answers sampling through policy,
//!   routing, approval, a provider and the audit log.
//! - [`providers`]: the `fixed:` and `script:` testing providers.
//! - [`http`]: the Streamable HTTP client transport (both eras) and
//!   [`Client::connect_http`].

mod client;
mod handler;
pub mod http;
mod incoming;
pub mod pipeline;
pub mod providers;

pub use client::{Client, ClientError, ClientOptions, EraChoice};
pub use handler::{SamplingError, SamplingHandler, SamplingRequest, ToolCall};
pub use http::{HttpOptions, HttpTransport};
