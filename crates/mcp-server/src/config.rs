//! [`ServerConfig`] (limits and defaults), and [`Env`]: what every request of a server may
//! need besides its registries (identity, limits, the state key, the server's own model).

use crate::cache::SamplingCache;
use crate::state::StateKey;
use mcp_proto::clock::{Clock, SystemClock};
use mcp_proto::{Implementation, SamplingHandler};
use mcp_rpc::Config;
use std::sync::Arc;
use std::time::Duration;

/// Server limits and defaults.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Legacy: how long `ctx.sample` waits for the client (default 5 minutes: a person may
    /// review the request).
    pub sampling_timeout: Duration,
    /// Modern: how long a `requestState` stays valid (default 30 minutes).
    pub state_ttl: Duration,
    /// Legacy: how long `ctx.elicit` waits for the user (default 10 minutes).
    pub elicitation_timeout: Duration,
    /// Most input requests (sampling, elicitation, roots) one tool call may make, on both
    /// eras (default 64). Past it, `ctx.sample` fails with [`SampleError::Limit`](crate::SampleError::Limit).
    pub max_samples_per_call: u32,
    /// The deepest nested call this server serves (default 3). A call's depth travels in
    /// its `_meta` ([`mcp_proto::ext::DEPTH_KEY`]): 0 for a call a person started, n + 1
    /// for a call a model made while answering a sampling request of depth n. Deeper calls
    /// get the tool error "max reasoning depth exceeded", which stops sampling loops across
    /// hops.
    pub max_depth: u32,
    /// Modern: most `input_required` rounds for one tool call (default 32).
    pub max_rounds: u32,
    /// Tasks (the tasks extension): how long after its creation a task is kept, running or
    /// not (its `ttlMs`; default 1 hour). Past it the task is stopped and forgotten.
    pub task_ttl: Duration,
    /// Tasks: the polling interval suggested to clients (`pollIntervalMs`; default 500 ms).
    pub task_poll_interval: Duration,
    /// Tasks: the most a server keeps at once (default 1024). When full, the oldest finished
    /// one makes room; when all run, a call that would make a task gets `-32603`.
    pub max_tasks: usize,
    /// The engine's limits (frame size, timeouts).
    pub rpc: Config,
    /// Where the time comes from for `requestState` expiry (default: the system clock; tests
    /// pass a [`ManualClock`](mcp_proto::clock::ManualClock)).
    pub clock: Arc<dyn Clock>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            sampling_timeout: Duration::from_secs(300),
            state_ttl: Duration::from_secs(1800),
            elicitation_timeout: Duration::from_secs(600),
            max_samples_per_call: 64,
            max_rounds: 32,
            max_depth: 3,
            task_ttl: Duration::from_secs(3600),
            task_poll_interval: Duration::from_millis(500),
            max_tasks: 1024,
            rpc: Config::default(),
            clock: Arc::new(SystemClock),
        }
    }
}

/// What a request's context and the modern runner read from the server.
pub(crate) struct Env {
    pub info: Implementation,
    pub config: ServerConfig,
    /// Seals modern `requestState`.
    pub key: StateKey,
    /// The server's own model, used when the client cannot sample.
    pub direct: Option<Arc<dyn SamplingHandler>>,
    /// Sampling replies kept for identical requests, if the server opted in.
    pub cache: Option<Arc<SamplingCache>>,
    /// Counters for operators.
    pub metrics: Arc<crate::metrics::Metrics>,
}
