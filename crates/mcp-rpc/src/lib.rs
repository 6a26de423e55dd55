//! A symmetric JSON-RPC engine for MCP, and its byte-stream transports.
//!
//! - [`Connection`] / [`Peer`] (`engine`): either side sends requests; incoming requests run
//!   concurrently and can be cancelled; our requests have timeouts (reset by progress, capped
//!   by a hard maximum) and are cancelled at the peer when their future is dropped.
//! - `frame`: newline-delimited frames with a size limit.
//! - `outbox`: the single writer of a connection.
//! - [`sse`]: an incremental Server-Sent Events parser with a size limit per event (the
//!   Streamable HTTP transports' streams).
//! - [`transport`]: stdio, child process, in-memory pair.
//!
//! The engine knows nothing of MCP's eras or features: the server and host SDKs give it a
//! [`Handler`].

mod engine;
mod error;
pub mod frame;
mod outbox;
pub mod sse;
pub mod testing;
pub mod transport;

pub use engine::{
    BoxFuture, Config, Connection, Handler, Inbound, Peer, RawRequest, Request, RequestOptions,
};
pub use error::RpcError;
pub use outbox::{Closed, Hints, MessageSink, Route};
pub use transport::{memory, stdio, ChildProcess, Transport};
