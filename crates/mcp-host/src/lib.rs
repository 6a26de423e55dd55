//! The host's sampling pipeline: the [`Host`] that answers servers' sampling requests through
//! policy, model routing, approval by a person, a provider and an audit log.
//!
//! It plugs into the client SDK (`mcp-client`) as its [`SamplingHandler`]; it does not
//! depend on it. Each stage is its own module and usable alone:
//!
//! - [`policy`]: per server: allowed or not, rate limit, concurrency cap, `maxTokens` clamp,
//!   daily token and cost budgets, tools and `includeContext` allowed, nesting depth.
//! - [`routing`]: the model catalog and the router that reads `modelPreferences`;
//!   [`routing::catalog_entry`] describes any `provider:model`.
//! - [`approval`]: modes, rules and the [`Reviewer`](approval::Reviewer) a person answers;
//!   [`FirstOf`] asks two reviewers and takes the first answer.
//! - [`audit`]: every request in SQLite; and the policy's counts (rate limiters, budgets,
//!   reservations), shared by every process on the same file.
//! - [`config`]: the host's configuration file (TOML, or Claude Desktop's JSON).
//! - [`context`]: the recent exchanges `includeContext` adds, kept per server.
//! - [`inspect`]: what a reviewer must see: hidden characters revealed, claims flagged.
//! - [`pipeline`]: [`Host`], the composition, and the [`Event`]s it reports.
//! - [`answer_with`]: the one-liner that turns a provider into a handler (no pipeline).
//! - [`testing`]: the `fixed:`, `script:` and `echo` providers, for tests and demos.

pub mod approval;
pub mod audit;
pub mod config;
pub mod context;
mod direct;
mod first_of;
pub mod inspect;
pub mod pipeline;
pub mod policy;
pub mod routing;
pub mod testing;

pub use direct::{answer_with, ProviderHandler};
pub use first_of::FirstOf;
pub use mcp_proto::handler::{SamplingError, SamplingHandler, SamplingRequest, ToolCall};
pub use pipeline::{BuildError, Event, Host, HostBuilder};
