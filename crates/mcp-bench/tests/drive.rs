//! The client drives our bench server (`mcp-sampling serve bench`, the debug build) through a
//! tiny job over stdio and Streamable HTTP, and the report and chart come out well formed.
//! No timing is asserted.

use mcp_bench::chart;
use mcp_bench::peers::{run_one, Peer, Transport};
use mcp_bench::report::{self, Meta};
use mcp_bench::Sample;
use std::path::PathBuf;
use std::time::Duration;

/// `mcp-sampling` of this build profile, built first when it is missing.
fn mcp_sampling() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/PROFILE/deps");
    let bin = profile_dir.join("mcp-sampling");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = std::process::Command::new(cargo)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .args(["build", "-p", "mcp-sampling", "--bin", "mcp-sampling"])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building mcp-sampling failed");
    }
    assert!(bin.exists(), "{} is missing", bin.display());
    bin
}

fn ours(transport: Transport) -> Peer {
    let bin = mcp_sampling().display().to_string();
    let mut command = vec![bin, "serve".to_owned(), "bench".to_owned()];
    if transport == Transport::Http {
        command.extend(["--http".to_owned(), "127.0.0.1:{port}".to_owned()]);
    }
    Peer {
        label: "ours".to_owned(),
        transport,
        command,
    }
}

async fn check(transport: Transport, concurrency: u64) -> Sample {
    let sample = run_one(&ours(transport), 20, concurrency, Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("{transport:?} c={concurrency}: {e}"));
    assert_eq!(sample.n, 20);
    assert_eq!(sample.transport, transport.name());
    assert!(sample.round_trips_per_sec > 0.0);
    assert!(sample.peak_rss_kib > 0, "the server's VmHWM was read");
    assert!(sample.p99_us >= sample.p50_us);
    sample
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drives_our_server_over_stdio_and_http() {
    for transport in [Transport::Stdio, Transport::Http] {
        for c in [1, 4] {
            check(transport, c).await;
        }
    }
}

#[tokio::test]
async fn a_failing_server_is_an_error_not_a_hang() {
    let peer = Peer {
        label: "none".to_owned(),
        transport: Transport::Stdio,
        command: vec![
            mcp_sampling().display().to_string(),
            "serve".to_owned(),
            "no-such-server".to_owned(),
        ],
    };
    let err = run_one(&peer, 20, 1, Duration::from_secs(30))
        .await
        .expect_err("no such server");
    // It exits at once: its output ends (or our first write finds the pipe closed).
    assert!(
        matches!(
            err,
            mcp_bench::BenchError::Closed | mcp_bench::BenchError::Io(_)
        ),
        "{err}"
    );
}

fn sample(server: &str, transport: &str, c: u64, rate: f64) -> Sample {
    Sample {
        server: server.to_owned(),
        transport: transport.to_owned(),
        concurrency: c,
        n: 20,
        round_trips_per_sec: rate,
        cpu_us_per_round_trip: 12.5,
        peak_rss_kib: 20480,
        p50_us: 30.0,
        p99_us: 80.0,
    }
}

#[test]
fn the_report_and_chart_are_well_formed() {
    let samples = vec![
        sample("ours", "stdio", 1, 20000.0),
        sample("rmcp", "stdio", 1, 10000.0),
        sample("ours", "stdio", 1, 22000.0),
        sample("rmcp", "stdio", 1, 12000.0),
        sample("a<b|c", "http", 32, 5000.0),
    ];
    let rows = report::summarize(&samples);
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0].round_trips_per_sec, 21000.0,
        "the median of two runs"
    );
    let meta = Meta {
        facts: vec!["CPU: test".to_owned()],
        n: 20,
        reps: 2,
        command: "mcp-bench --n 20".to_owned(),
        failures: vec!["ts http c=1 rep 1: timed out".to_owned()],
        chart: "docs/benchmarks.svg".to_owned(),
    };
    let md = report::markdown(&meta, &rows);
    assert!(md.contains("## stdio, 1 in flight") && md.contains("## http, 32 in flight"));
    assert!(md.contains("| ours | 21000 | 1.91x |"), "{md}");
    assert!(md.contains("a<b\\|c"), "a pipe in a cell is escaped");
    assert!(md.contains("![round trips per second](docs/benchmarks.svg)"));
    assert!(md.contains("## Failed runs"));
    // Every table line has as many cells as its header.
    for table in md.split("\n\n").filter(|b| b.starts_with("| server")) {
        let cells: Vec<usize> = table
            .lines()
            .map(|l| l.replace("\\|", "").matches('|').count())
            .collect();
        assert!(cells.iter().all(|c| *c == cells[0]), "{table}");
    }
    let svg = chart::svg(&rows);
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert!(
        svg.contains("a&lt;b|c") && !svg.contains("a<b"),
        "labels are escaped"
    );
    assert_eq!(
        svg.matches("<rect").count(),
        1 + 3 + 2 * 3,
        "background, legend, the bars of two metrics"
    );
    assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
    assert_eq!(
        svg.matches("<title>").count(),
        svg.matches("</title>").count()
    );
}
