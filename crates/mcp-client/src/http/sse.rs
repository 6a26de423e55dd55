//! The incremental Server-Sent Events parser of the Streamable HTTP transport: the
//! workspace's one SSE parser, [`mcp_rpc::sse`] (shared with the HTTP server's tests and bench).

pub use mcp_rpc::sse::{Event, Item, Parser};
