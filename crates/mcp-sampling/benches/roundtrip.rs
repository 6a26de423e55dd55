//! In-memory sampling round trips: our host calls the `bench` server's `bench_sampling` tool
//! over an in-memory pipe and answers every sampling request at once. Prints one JSON line
//! per case. Run: `cargo bench -p mcp-sampling --bench roundtrip [-- N]`.
//!
//! Over stdio (a real process and pipes), use the side-by-side peers benchmark (kept outside
//! this repository) with `target/release/mcp-sampling serve bench` as our server.

use mcp_client::{Client, ClientOptions, EraChoice};
use mcp_host::testing::Fixed;
use std::sync::Arc;
use std::time::Instant;

use mcp_examples::bench;

fn main() {
    // `cargo bench` passes `--bench`; under `cargo test` this runs as a quick smoke test.
    let benching = std::env::args().any(|a| a == "--bench");
    let default_n = if benching { 20_000 } else { 200 };
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(default_n);
    for (flavor, threads) in [("current_thread", 1), ("multi_thread", 2)] {
        let rt = if threads == 1 {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        } else {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .enable_all()
                .build()
        }
        .expect("runtime");
        for c in [1u64, 32] {
            let rate = rt.block_on(run(n, c));
            println!(
                "{{\"transport\":\"memory\",\"runtime\":\"{flavor}\",\"n\":{n},\"concurrency\":{c},\"round_trips_per_sec\":{rate:.0}}}"
            );
        }
    }
}

async fn run(n: u64, c: u64) -> f64 {
    let (a, b) = mcp_rpc::memory();
    let server = bench::server();
    tokio::spawn(async move { server.serve(a, std::future::pending()).await });
    let opts = ClientOptions {
        era: EraChoice::Legacy,
        ..Default::default()
    };
    let client = Client::connect(b, Arc::new(Fixed("ok".into())), opts)
        .await
        .expect("connect");
    let args = serde_json::json!({"n": n, "concurrency": c});
    let start = Instant::now();
    let r = client
        .call_tool("bench_sampling", args.as_object().unwrap().clone())
        .await
        .expect("call");
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(
        r.text_content(),
        format!("completed {n} sampling round trips")
    );
    client.close().await;
    n as f64 / secs
}
