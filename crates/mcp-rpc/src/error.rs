//! The engine's error type.

use mcp_proto::ErrorObject;
use std::time::Duration;

/// Why a request we sent did not produce a result.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RpcError {
    /// The peer answered with an error.
    #[error("the peer answered with an error: {0}")]
    Remote(ErrorObject),
    /// No answer within the timeout (the request was cancelled at the peer).
    #[error("no answer within {0:?}; the request was cancelled")]
    Timeout(Duration),
    /// The connection closed before the answer came.
    #[error("the connection closed before the answer came")]
    Closed,
    /// The params could not be encoded, or the result decoded.
    #[error("{0}")]
    Codec(String),
    /// The message transport could not get the request to the peer or its answer back (an
    /// HTTP error status, a refused connection, a stream cut beyond resumption). Only the
    /// transport gives it, out of band ([`crate::Inbound::fail`]): nothing the peer sends
    /// becomes this error.
    #[error("the transport failed: {0}")]
    Transport(String),
}

impl RpcError {
    /// The peer's error object, if the peer answered with one.
    pub fn remote(&self) -> Option<&ErrorObject> {
        match self {
            RpcError::Remote(e) => Some(e),
            _ => None,
        }
    }
}
