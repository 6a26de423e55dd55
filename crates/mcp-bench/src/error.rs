//! The one error type of a benchmark run.

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Spawning or talking to the server failed.
    #[error("i/o with the server: {0}")]
    Io(#[from] std::io::Error),
    /// The server sent something that is not what the job expects.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The server closed its side before the tool call's result.
    #[error("the server closed the connection before the tool result")]
    Closed,
    /// The run took longer than its time limit.
    #[error("the run took longer than {0} s")]
    Timeout(u64),
}

impl BenchError {
    /// A protocol error with this message.
    pub fn protocol(msg: impl Into<String>) -> Self {
        Self::Protocol(msg.into())
    }
}
