//! The servers measured and how one run of one of them goes.

use crate::stdio::Measured;
use crate::{BenchError, Sample};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// How the client talks to a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// Newline-delimited JSON on stdin/stdout.
    Stdio,
    /// Streamable HTTP at `http://127.0.0.1:{port}/mcp`.
    Http,
}

impl Transport {
    /// `stdio` or `http`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Stdio => "stdio",
            Self::Http => "http",
        }
    }
}

/// One server under test.
#[derive(Clone, Debug)]
pub struct Peer {
    /// Short label: `ours`, `rmcp`, `ts`.
    pub label: String,
    /// Its transport.
    pub transport: Transport,
    /// The program and its arguments; `{port}` in an argument is replaced by the port (HTTP).
    pub command: Vec<String>,
}

/// How long an HTTP server may take to accept connections.
const START_WAIT: Duration = Duration::from_secs(30);

/// Runs the job once against a fresh process of this server; `timeout` bounds the whole run.
pub async fn run_one(
    peer: &Peer,
    n: u64,
    concurrency: u64,
    timeout: Duration,
) -> Result<Sample, BenchError> {
    let port = match peer.transport {
        Transport::Stdio => 0,
        Transport::Http => free_port()?,
    };
    let mut child = spawn(peer, port)?;
    let pid = child.id().ok_or(BenchError::Closed)?;
    let job = async {
        match peer.transport {
            Transport::Stdio => crate::stdio::drive(&mut child, n, concurrency).await,
            Transport::Http => {
                crate::http::wait_ready(port, START_WAIT).await?;
                crate::http::drive(port, pid, n, concurrency).await
            }
        }
    };
    let measured: Result<Measured, BenchError> = tokio::time::timeout(timeout, job)
        .await
        .unwrap_or(Err(BenchError::Timeout(timeout.as_secs())));
    stop(&mut child, peer.transport).await;
    let m = measured?;
    let key = (peer.label.as_str(), peer.transport.name(), concurrency);
    Ok(Sample::new(key, m.outcome, m.cpu, m.rss_kib))
}

fn spawn(peer: &Peer, port: u16) -> Result<tokio::process::Child, BenchError> {
    let args: Vec<String> = peer
        .command
        .iter()
        .map(|a| a.replace("{port}", &port.to_string()))
        .collect();
    let (program, rest) = args
        .split_first()
        .ok_or_else(|| BenchError::protocol("an empty server command"))?;
    let stderr = if std::env::var_os("MCP_BENCH_STDERR").is_some() {
        Stdio::inherit()
    } else {
        Stdio::null()
    };
    let stdin = match peer.transport {
        Transport::Stdio => Stdio::piped(),
        Transport::Http => Stdio::null(),
    };
    let child = Command::new(program)
        .args(rest)
        .stdin(stdin)
        .stdout(if peer.transport == Transport::Stdio {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| BenchError::protocol(format!("cannot start {program}: {e}")))?;
    Ok(child)
}

/// Gives a stdio server (its stdin already closed) a moment to exit, then kills it; an HTTP
/// server is killed at once.
async fn stop(child: &mut tokio::process::Child, transport: Transport) {
    if transport == Transport::Stdio
        && tokio::time::timeout(Duration::from_secs(2), child.wait())
            .await
            .is_ok()
    {
        return;
    }
    let _ = child.kill().await;
}

/// A port nobody listens on right now (the server binds it next).
fn free_port() -> Result<u16, BenchError> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}
