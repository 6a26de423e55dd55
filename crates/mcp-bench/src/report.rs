//! `BENCHMARKS.md`: medians per server, transport and concurrency, as tables.

use crate::Sample;
use std::fmt::Write;

/// The medians of one server's runs at one transport and concurrency.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Server label.
    pub server: String,
    /// `stdio` or `http`.
    pub transport: String,
    /// Requests in flight.
    pub concurrency: u64,
    /// Runs the medians are taken over.
    pub runs: usize,
    /// Median round trips per second.
    pub round_trips_per_sec: f64,
    /// Median server CPU per round trip, µs.
    pub cpu_us: f64,
    /// Median peak RSS, KiB.
    pub peak_rss_kib: f64,
    /// Median of the runs' p50 turnaround, µs.
    pub p50_us: f64,
    /// Median of the runs' p99 turnaround, µs.
    pub p99_us: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// Groups samples by (transport, concurrency, server), in the order first seen, and takes medians.
pub fn summarize(samples: &[Sample]) -> Vec<Row> {
    let mut keys: Vec<(String, u64, String)> = Vec::new();
    for s in samples {
        let key = (s.transport.clone(), s.concurrency, s.server.clone());
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.into_iter()
        .map(|(transport, concurrency, server)| {
            let runs: Vec<&Sample> = samples
                .iter()
                .filter(|s| {
                    s.transport == transport && s.concurrency == concurrency && s.server == server
                })
                .collect();
            let m = |f: fn(&Sample) -> f64| median(runs.iter().map(|s| f(s)).collect());
            Row {
                runs: runs.len(),
                round_trips_per_sec: m(|s| s.round_trips_per_sec),
                cpu_us: m(|s| s.cpu_us_per_round_trip),
                peak_rss_kib: m(|s| s.peak_rss_kib as f64),
                p50_us: m(|s| s.p50_us),
                p99_us: m(|s| s.p99_us),
                server,
                transport,
                concurrency,
            }
        })
        .collect()
}

/// What the report says about where and how it was measured.
pub struct Meta {
    /// Lines of machine facts and versions (each becomes a list item).
    pub facts: Vec<String>,
    /// Round trips per run.
    pub n: u64,
    /// Repetitions.
    pub reps: u64,
    /// The command that produced the report.
    pub command: String,
    /// Runs that failed, one line each.
    pub failures: Vec<String>,
    /// Path of the chart, relative to the report.
    pub chart: String,
}

/// A table cell's text: `|` would end the cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The whole report.
pub fn markdown(meta: &Meta, rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmarks: sampling round trips\n");
    let _ = writeln!(
        out,
        "Produced by `{}` (crate `mcp-bench`). Do not edit by hand.\n",
        cell(&meta.command)
    );
    out.push_str(METHOD);
    let _ = writeln!(
        out,
        "\nEach run: n = {} round trips; {} repetitions, servers interleaved; medians.\n",
        meta.n, meta.reps
    );
    let _ = writeln!(out, "## Machine and versions\n");
    for f in &meta.facts {
        let _ = writeln!(out, "- {}", f);
    }
    let _ = writeln!(out, "\n![round trips per second]({})\n", meta.chart);
    for (transport, c) in groups(rows) {
        tables(&mut out, rows, &transport, c);
    }
    if !meta.failures.is_empty() {
        let _ = writeln!(out, "## Failed runs\n");
        for f in &meta.failures {
            let _ = writeln!(out, "- {}", f);
        }
        out.push('\n');
    }
    out
}

/// The (transport, concurrency) pairs in order.
pub fn groups(rows: &[Row]) -> Vec<(String, u64)> {
    let mut seen = Vec::new();
    for r in rows {
        let key = (r.transport.clone(), r.concurrency);
        if !seen.contains(&key) {
            seen.push(key);
        }
    }
    seen
}

fn tables(out: &mut String, rows: &[Row], transport: &str, c: u64) {
    let group: Vec<&Row> = rows
        .iter()
        .filter(|r| r.transport == transport && r.concurrency == c)
        .collect();
    let base = group
        .iter()
        .find(|r| r.server == "rmcp")
        .map(|r| r.round_trips_per_sec);
    let _ = writeln!(out, "## {transport}, {c} in flight\n");
    let _ = writeln!(out, "| server | round trips/s | vs rmcp | CPU µs / round trip | peak RSS MiB | p50 µs | p99 µs | runs |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in group {
        let ratio = match base {
            Some(b) if b > 0.0 => format!("{:.2}x", r.round_trips_per_sec / b),
            _ => "–".to_owned(),
        };
        let _ = writeln!(
            out,
            "| {} | {:.0} | {} | {:.1} | {:.1} | {:.0} | {:.0} | {} |",
            cell(&r.server),
            r.round_trips_per_sec,
            ratio,
            r.cpu_us,
            r.peak_rss_kib / 1024.0,
            r.p50_us,
            r.p99_us,
            r.runs
        );
    }
    out.push('\n');
}

const METHOD: &str = "\
## Method

One neutral client (`crates/mcp-bench`: tokio and serde_json, no MCP library, its own minimal
HTTP/1.1 client) drives every server through the same job. It starts a fresh server process per
run, sends `initialize` (protocol 2025-11-25, the sampling capability) and
`notifications/initialized`, then the timed `tools/call bench_sampling {n, concurrency}`. The
tool makes n `sampling/createMessage` requests (a ~100-byte user message, `maxTokens` 16) with
at most `concurrency` in flight; the client answers each at once with a fixed reply. Over
Streamable HTTP the requests arrive as server-sent events on the tool call's response and
each reply is POSTed on one of min(concurrency, 64) keep-alive connections (TCP_NODELAY)
opened before the clock starts.

- **round trips/s**: n divided by the time from writing the tool call to reading its result.
- **CPU µs / round trip**: the server's CPU time (all its threads, `/proc/PID/task/*/schedstat`)
  inside that window, divided by n.
- **peak RSS**: the server's `VmHWM` read after the result.
- **p50 / p99**: the server's turnaround: from our writing a reply to reading the next
  sampling request, replies and new requests paired first in, first out (each reply frees the
  slot the next request fills). At 1 in flight this is the whole round trip minus the client's
  own reaction; the first `concurrency` requests are not timed.
- **vs rmcp**: round trips/s over rmcp's at the same transport and concurrency.

The servers: `raw` is the floor (`mcp-bench-raw`: stdio only, no MCP library, no async runtime,
one thread and a counter); `ours` is `mcp-sampling serve bench` (with `--http`); `rmcp` the official Rust SDK
(`mcp-bench-rmcp`, its `#[tool]` macros, stdio transport, Streamable HTTP service under axum
with TCP_NODELAY); `ts` the official TypeScript SDK (`tests/peers/node/bench-server.mjs`,
`McpServer`, `StdioServerTransport`, `StreamableHTTPServerTransport` on `node:http`). All three
run the same tool. The machine may be shared and noisy; compare rows of one run only.
Known limit: `rmcp` over stdio uses its default `transport::stdio()`, which is several times
slower here than rmcp over async pipes (not measured yet); against that faster variant our
stdio lead is far smaller (about 0.9x at 1 in flight, 1.9x at 32, in a side-by-side run).
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(vec![]), 0.0);
    }
}
