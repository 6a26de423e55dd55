//! [`ClientError`]: why a client operation failed.

use crate::elicitation::ElicitationError;
use crate::http::HttpError;
use mcp_proto::handler::SamplingError;
use mcp_rpc::RpcError;

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The request failed on the wire (error answer, timeout, closed).
    #[error(transparent)]
    Rpc(RpcError),
    /// The transport could not get the request to the server or its answer back (HTTP:
    /// connection refused, an HTTP error status, a stream cut beyond resumption). Only the
    /// transport reports it, out of band ([`RpcError::Transport`]); an error the server sends
    /// is always [`ClientError::Rpc`].
    #[error("cannot reach the server: {0}")]
    Transport(String),
    /// The server broke the protocol.
    #[error("protocol violation by the server: {0}")]
    Protocol(String),
    /// No protocol revision both sides speak.
    #[error("no protocol version in common: the server speaks {0:?}")]
    NoCommonVersion(Vec<String>),
    /// Our sampling handler declined or failed (modern: the call is not retried).
    #[error(transparent)]
    Sampling(#[from] SamplingError),
    /// Our elicitation handler failed (modern: the call is not retried).
    #[error(transparent)]
    Elicitation(#[from] ElicitationError),
    /// Modern: the server kept asking for input.
    #[error("the server asked for input more than {0} times; giving up on the call")]
    TooManyRounds(u32),
    /// Modern: the call became a task (the tasks extension) that ended without a result:
    /// cancelled, expired, or still running when the call's time ran out.
    #[error("the call's task {task_id} ended without a result: {why}")]
    Task {
        /// The server's id of the task.
        task_id: String,
        /// What happened.
        why: String,
    },
    /// The HTTP transport could not be set up.
    #[error(transparent)]
    Http(#[from] HttpError),
}

impl From<RpcError> for ClientError {
    fn from(e: RpcError) -> Self {
        match e {
            RpcError::Transport(why) => ClientError::Transport(why),
            e => ClientError::Rpc(e),
        }
    }
}
