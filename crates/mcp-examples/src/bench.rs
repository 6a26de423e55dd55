//! `bench`: the sampling round-trip benchmark server (driven by the side-by-side peers
//! benchmark, kept outside this repository).

use futures_util::future::join_all;
use mcp_server::{Args, Ctx, Sampling, Server, ServerConfig, ToolError};
use schemars::JsonSchema;
use serde::Deserialize;
use std::sync::atomic::{AtomicU64, Ordering};

/// The same ~100-byte prompt every peer of the benchmark sends.
const PROMPT: &str = "Benchmark sampling round trip: please reply with the single word ok. This text pads to 100 bytes.";

/// The most round trips one call may ask for: the per-call sampling cap of this server (a
/// benchmark is one long call; other servers keep the default cap of 64).
pub const MAX_N: u64 = 10_000_000;

#[derive(Deserialize, JsonSchema)]
struct Bench {
    /// How many sampling requests.
    n: u64,
    /// Most requests in flight at once.
    concurrency: u64,
}

async fn bench_sampling(Args(a): Args<Bench>, ctx: Ctx) -> Result<String, ToolError> {
    if a.n > MAX_N {
        return Err(ToolError::failed(format!("n must be at most {MAX_N}")));
    }
    let started = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    let workers = a.concurrency.clamp(1, 4096).min(a.n.max(1));
    let worker = || async {
        while started.fetch_add(1, Ordering::Relaxed) < a.n {
            ctx.sample(Sampling::user(PROMPT).max_tokens(16)).await?;
            done.fetch_add(1, Ordering::Relaxed);
        }
        Ok::<(), ToolError>(())
    };
    for r in join_all((0..workers).map(|_| worker())).await {
        r?;
    }
    Ok(format!(
        "completed {} sampling round trips",
        done.load(Ordering::Relaxed)
    ))
}

/// Builds the server.
pub fn server() -> Server {
    let config = ServerConfig {
        max_samples_per_call: MAX_N as u32,
        ..ServerConfig::default()
    };
    Server::builder("bench")
        .config(config)
        .tool(
            "bench_sampling",
            "Performs n sampling round trips, at most `concurrency` in flight",
            bench_sampling,
        )
        .build()
}
