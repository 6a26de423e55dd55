//! Benchmark support (not shipped): a neutral client that drives a sampling benchmark server
//! over stdio or Streamable HTTP without any MCP library, and the writer of `BENCHMARKS.md`
//! and its chart.
//!
//! The job is the same for every server: `initialize` (protocol 2025-11-25, the sampling
//! capability), `notifications/initialized`, then `tools/call bench_sampling {"n", "concurrency"}`;
//! every `sampling/createMessage` the server sends during the call is answered at once with
//! a fixed reply. The clock runs from writing the tool call to reading its result.

pub mod chart;
pub mod error;
pub mod http;
pub mod peers;
pub mod proc;
pub mod report;
pub mod stats;
pub mod stdio;
pub mod wire;

pub use error::BenchError;
pub use stats::{Outcome, Sample};
