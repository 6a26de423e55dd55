//! The bridge's overhead, in memory: the same host (our client) and the `bench` server, once
//! connected directly and once through `mcp-bridge`; sampling round trips (the server's
//! `bench_sampling` tool, answered by the host, or by the bridge itself) and plain forwarded
//! requests (`tools/list`, one at a time). Prints one JSON line per case.
//! Run: `cargo bench -p mcp-sampling --bench bridge [-- N]`.

use mcp_bridge::{Bridge, BridgeOptions, SamplingMode};
use mcp_client::{Client, ClientOptions, EraChoice};
use mcp_examples::bench;
use mcp_host::testing::Fixed;
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Copy, Debug)]
enum Path {
    Direct,
    /// Sampling forwarded to the host.
    BridgedToHost,
    /// Sampling answered by the bridge.
    BridgedLocal,
}

fn main() {
    // `cargo bench` passes `--bench`; under `cargo test` this runs as a quick smoke test.
    let benching = std::env::args().any(|a| a == "--bench");
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(if benching { 20_000 } else { 100 });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    for path in [Path::Direct, Path::BridgedToHost, Path::BridgedLocal] {
        for c in [1u64, 32] {
            let secs = rt.block_on(sampling(path, n, c));
            println!(
                "{{\"case\":\"sampling\",\"path\":\"{path:?}\",\"n\":{n},\"concurrency\":{c},\"round_trips_per_sec\":{:.0},\"us_per_round_trip\":{:.2}}}",
                n as f64 / secs,
                secs * 1e6 / n as f64
            );
        }
    }
    for path in [Path::Direct, Path::BridgedToHost] {
        let m = n.min(5_000);
        let secs = rt.block_on(listing(path, m));
        println!(
            "{{\"case\":\"tools/list\",\"path\":\"{path:?}\",\"n\":{m},\"us_per_request\":{:.2}}}",
            secs * 1e6 / m as f64
        );
    }
}

/// The host's client, connected directly or through a bridge.
async fn host(path: Path) -> Client {
    let (a, b) = mcp_rpc::memory();
    let server = bench::server();
    tokio::spawn(async move { server.serve(a, std::future::pending()).await });
    let answer = Arc::new(Fixed("ok".into()));
    let legacy = ClientOptions {
        era: EraChoice::Legacy,
        ..Default::default()
    };
    let end = match path {
        Path::Direct => b,
        Path::BridgedToHost | Path::BridgedLocal => {
            let opts = BridgeOptions {
                sampling: match path {
                    Path::BridgedLocal => SamplingMode::Local,
                    _ => SamplingMode::Host,
                },
                local: answer.clone(),
                elicitation: None,
                roots: Vec::new(),
                client: legacy.clone(),
            };
            let bridge = Bridge::connect(opts, |h, o| Client::connect(b, h, o))
                .await
                .expect("the bridge connects");
            let (c, d) = mcp_rpc::memory();
            tokio::spawn(async move { bridge.serve(c).await });
            d
        }
    };
    Client::connect(end, answer, legacy).await.expect("connect")
}

async fn sampling(path: Path, n: u64, c: u64) -> f64 {
    let client = host(path).await;
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
    secs
}

async fn listing(path: Path, n: u64) -> f64 {
    let client = host(path).await;
    let start = Instant::now();
    for _ in 0..n {
        client.list_tools().await.expect("tools/list");
    }
    let secs = start.elapsed().as_secs_f64();
    client.close().await;
    secs
}
