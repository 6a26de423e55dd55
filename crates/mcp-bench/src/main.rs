//! `mcp-bench`: runs the side-by-side sampling benchmark and writes `BENCHMARKS.md` and its
//! chart. Run from the repository: `cargo run --release -p mcp-bench --features rmcp`.

use anyhow::{bail, Context, Result};
use clap::Parser;
use mcp_bench::peers::{run_one, Peer, Transport};
use mcp_bench::report::{self, Meta};
use mcp_bench::{chart, Sample};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[derive(Parser)]
#[command(about = "Side-by-side sampling round-trip benchmark: ours, rmcp, the TypeScript SDK")]
struct Args {
    /// Round trips per run.
    #[arg(long, default_value_t = 5000)]
    n: u64,
    /// Repetitions (servers interleaved within each).
    #[arg(long, default_value_t = 3)]
    reps: u64,
    /// Requests in flight (repeatable).
    #[arg(long = "concurrency", default_values_t = [1, 32])]
    concurrency: Vec<u64>,
    /// Only these servers (`raw`, `ours`, `rmcp`, `ts`; repeatable).
    #[arg(long)]
    only: Vec<String>,
    /// Only this transport (`stdio` or `http`).
    #[arg(long)]
    transport: Option<String>,
    /// The report.
    #[arg(long, default_value = "BENCHMARKS.md")]
    out: PathBuf,
    /// The chart (its path relative to the report's folder goes into the report).
    #[arg(long, default_value = "docs/benchmarks.svg")]
    svg: PathBuf,
    /// Per-run time limit, seconds.
    #[arg(long, default_value_t = 120)]
    timeout_s: u64,
}

/// The repository this binary was built from.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn main() -> Result<()> {
    let args = Args::parse();
    let bins = std::env::current_exe()?
        .parent()
        .context("no folder for this binary")?
        .to_path_buf();
    let peers = select(peers(&bins), &args);
    if peers.is_empty() {
        bail!("no server selected (--only takes raw, ours, rmcp or ts; --transport stdio or http)");
    }
    prepare(&bins, &peers)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (samples, failures) = rt.block_on(run_all(&peers, &args));
    if samples.is_empty() {
        bail!("every run failed:\n{}", failures.join("\n"));
    }
    write(&args, &samples, failures)
}

fn peers(bins: &Path) -> Vec<Peer> {
    let ours = bins.join("mcp-sampling").display().to_string();
    let rmcp = bins.join("mcp-bench-rmcp").display().to_string();
    let raw = bins.join("mcp-bench-raw").display().to_string();
    let js = repo()
        .join("tests/peers/node/bench-server.mjs")
        .display()
        .to_string();
    let peer = |label: &str, transport, cmd: &[&str]| Peer {
        label: label.to_owned(),
        transport,
        command: cmd.iter().map(|s| s.to_string()).collect(),
    };
    vec![
        peer("raw", Transport::Stdio, &[&raw]),
        peer("ours", Transport::Stdio, &[&ours, "serve", "bench"]),
        peer("rmcp", Transport::Stdio, &[&rmcp]),
        peer("ts", Transport::Stdio, &["node", &js]),
        peer(
            "ours",
            Transport::Http,
            &[&ours, "serve", "bench", "--http", "127.0.0.1:{port}"],
        ),
        peer("rmcp", Transport::Http, &[&rmcp, "--http", "{port}"]),
        peer("ts", Transport::Http, &["node", &js, "--http", "{port}"]),
    ]
}

fn select(all: Vec<Peer>, args: &Args) -> Vec<Peer> {
    all.into_iter()
        .filter(|p| args.only.is_empty() || args.only.contains(&p.label))
        .filter(|p| {
            args.transport
                .as_deref()
                .is_none_or(|t| t == p.transport.name())
        })
        .collect()
}

/// Builds the Rust servers next to this binary (same profile) and installs the Node peers
/// when they are missing.
fn prepare(bins: &Path, peers: &[Peer]) -> Result<()> {
    let release = bins.ends_with("release");
    let missing =
        |label: &str, bin: &str| peers.iter().any(|p| p.label == label) && !bins.join(bin).exists();
    if missing("ours", "mcp-sampling")
        || missing("rmcp", "mcp-bench-rmcp")
        || missing("raw", "mcp-bench-raw")
    {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(repo()).args([
            "build",
            "-p",
            "mcp-sampling",
            "-p",
            "mcp-bench",
            "--features",
            "mcp-bench/rmcp",
            "--bins",
        ]);
        if release {
            cmd.arg("--release");
        }
        eprintln!("building the servers: {cmd:?}");
        if !cmd.status()?.success() {
            bail!("building the servers failed");
        }
    }
    let sdk = repo().join("tests/peers/node/node_modules/@modelcontextprotocol/sdk");
    if peers.iter().any(|p| p.label == "ts") && !sdk.exists() {
        let script = repo().join("tests/peers/node/install.sh");
        eprintln!("installing the Node peers: {}", script.display());
        if !Command::new("bash").arg(script).status()?.success() {
            bail!("installing the Node peers failed (needs node >= 20 and npm)");
        }
    }
    Ok(())
}

/// Every repetition runs every server at every concurrency, interleaved.
async fn run_all(peers: &[Peer], args: &Args) -> (Vec<Sample>, Vec<String>) {
    let mut samples = Vec::new();
    let mut failures = Vec::new();
    let timeout = Duration::from_secs(args.timeout_s);
    for rep in 1..=args.reps {
        for &c in &args.concurrency {
            for peer in peers {
                let what = format!("{} {} c={c} rep {rep}", peer.label, peer.transport.name());
                match run_one(peer, args.n, c, timeout).await {
                    Ok(s) => {
                        eprintln!("{what}: {:.0} round trips/s", s.round_trips_per_sec);
                        samples.push(s);
                    }
                    Err(e) => {
                        eprintln!("{what}: FAILED: {e}");
                        failures.push(format!("{what}: {e}"));
                    }
                }
            }
        }
    }
    (samples, failures)
}

fn write(args: &Args, samples: &[Sample], failures: Vec<String>) -> Result<()> {
    let rows = report::summarize(samples);
    let out_dir = args
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let chart_rel = pathdiff(&args.svg, out_dir);
    let meta = Meta {
        facts: facts(),
        n: args.n,
        reps: args.reps,
        command: format!(
            "cargo run --release -p mcp-bench --features rmcp -- {}",
            std::env::args().skip(1).collect::<Vec<_>>().join(" ")
        ),
        failures,
        chart: chart_rel,
    };
    if let Some(dir) = args.svg.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.svg, chart::svg(&rows))?;
    std::fs::write(&args.out, report::markdown(&meta, &rows))?;
    eprintln!("wrote {} and {}", args.out.display(), args.svg.display());
    Ok(())
}

/// The chart's path as the report links it (relative when the report sits in the current folder).
fn pathdiff(svg: &Path, out_dir: &Path) -> String {
    svg.strip_prefix(out_dir)
        .unwrap_or(svg)
        .display()
        .to_string()
}

/// Machine facts and versions.
fn facts() -> Vec<String> {
    let run = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_else(|| "unknown".to_owned())
    };
    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|t| {
        t.lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
    });
    let mem = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| {
        t.lines()
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|k| k.parse::<u64>().ok())
    });
    let sdk = std::fs::read_to_string(
        repo().join("tests/peers/node/node_modules/@modelcontextprotocol/sdk/package.json"),
    )
    .ok()
    .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
    .and_then(|v| v.get("version").and_then(|v| v.as_str()).map(str::to_owned));
    vec![
        format!("CPU: {} ({} cores available)", cpu.unwrap_or_else(|| "unknown".into()), std::thread::available_parallelism().map_or(0, |n| n.get())),
        format!("memory: {} GiB", mem.map_or(0, |k| k / 1024 / 1024)),
        format!("kernel: {}", run("uname", &["-sr"])),
        format!("date: {}", run("date", &["-u", "+%Y-%m-%d %H:%M UTC"])),
        format!("ours: mcp-sampling {} ({})", env!("CARGO_PKG_VERSION"), run("git", &["-C", &repo().display().to_string(), "rev-parse", "--short", "HEAD"])),
        format!("rmcp: {} (crates.io; Cargo.lock)", RMCP_VERSION),
        format!("TypeScript SDK: @modelcontextprotocol/sdk {} (tests/peers/node/package-lock.json), Node {}", sdk.unwrap_or_else(|| "unknown".into()), run("node", &["--version"])),
        format!("rustc: {}", run("rustc", &["--version"])),
    ]
}

/// The rmcp version the peer is built with (kept with the dependency in Cargo.toml).
const RMCP_VERSION: &str = "3.11";
