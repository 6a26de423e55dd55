//! The client over stdio: newline-delimited JSON on the server's stdin and stdout.

use crate::stats::{Outcome, Turnaround};
use crate::wire::{self, Incoming};
use crate::BenchError;
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::process::{Child, ChildStdin, ChildStdout};

/// The server's CPU time and peak memory around the timed window.
pub struct Measured {
    /// What the client saw.
    pub outcome: Outcome,
    /// Server CPU time inside the window.
    pub cpu: Duration,
    /// Server peak RSS, KiB, read after the result.
    pub rss_kib: u64,
}

/// Reads the server's CPU time, or zero where /proc cannot tell.
pub fn cpu(pid: u32) -> Duration {
    crate::proc::cpu_time(pid).unwrap_or_default()
}

/// The longest line read from the server.
const MAX_LINE: u64 = 8 * 1024 * 1024;

struct Lines {
    reader: BufReader<ChildStdout>,
    line: Vec<u8>,
}

impl Lines {
    /// The next non-empty line, or `Closed` at the end of the output.
    async fn next(&mut self) -> Result<&[u8], BenchError> {
        loop {
            self.line.clear();
            let mut limited = (&mut self.reader).take(MAX_LINE);
            if limited.read_until(b'\n', &mut self.line).await? == 0 {
                return Err(BenchError::Closed);
            }
            if self.line.len() as u64 == MAX_LINE && self.line.last() != Some(&b'\n') {
                return Err(BenchError::protocol("a line of more than 8 MiB"));
            }
            if self.line.iter().any(|b| !b.is_ascii_whitespace()) {
                return Ok(&self.line);
            }
        }
    }

    /// Whether another complete line is already buffered (then replies wait to go out together).
    fn more_buffered(&self) -> bool {
        self.reader.buffer().contains(&b'\n')
    }
}

async fn send(out: &mut (impl AsyncWrite + Unpin), msg: &Value) -> Result<(), BenchError> {
    let mut bytes = serde_json::to_vec(msg).map_err(|e| BenchError::protocol(e.to_string()))?;
    bytes.push(b'\n');
    out.write_all(&bytes).await?;
    out.flush().await?;
    Ok(())
}

/// Runs the job against a spawned server (stdin and stdout piped): the handshake, then the
/// timed tool call. The child's stdin is closed when this returns.
pub async fn drive(child: &mut Child, n: u64, concurrency: u64) -> Result<Measured, BenchError> {
    let pid = child.id().ok_or(BenchError::Closed)?;
    let stdin = child.stdin.take().ok_or(BenchError::Closed)?;
    let stdout = child.stdout.take().ok_or(BenchError::Closed)?;
    let mut out = BufWriter::with_capacity(64 * 1024, stdin);
    let mut lines = Lines {
        reader: BufReader::with_capacity(64 * 1024, stdout),
        line: Vec::new(),
    };
    send(&mut out, &wire::initialize()).await?;
    let init = wait_response(&mut lines, &mut out, wire::INIT_ID).await?;
    wire::check_initialized(&init)?;
    send(&mut out, &wire::initialized()).await?;
    let cpu0 = cpu(pid);
    let started = Instant::now();
    send(&mut out, &wire::call(n, concurrency)).await?;
    let (result, sampled, latencies) = timed_loop(&mut lines, &mut out).await?;
    let elapsed = started.elapsed();
    let cpu = cpu(pid).saturating_sub(cpu0);
    let rss_kib = crate::proc::peak_rss_kib(pid).unwrap_or(0);
    wire::check_result(&result, n)?;
    if sampled != n {
        return Err(BenchError::protocol(format!(
            "{sampled} sampling requests, not {n}"
        )));
    }
    let outcome = Outcome {
        sampling_requests: sampled,
        elapsed,
        latencies,
    };
    Ok(Measured {
        outcome,
        cpu,
        rss_kib,
    })
}

async fn wait_response(
    lines: &mut Lines,
    out: &mut BufWriter<ChildStdin>,
    id: u64,
) -> Result<Value, BenchError> {
    loop {
        match wire::classify(lines.next().await?)? {
            Incoming::Response(got, msg) if got == id => return Ok(msg),
            Incoming::Sampling(rid) => {
                out.write_all(&wire::sampling_reply(&rid)).await?;
                out.flush().await?;
            }
            Incoming::OtherRequest(rid) => {
                out.write_all(&wire::empty_reply(&rid)).await?;
                out.flush().await?;
            }
            _ => {}
        }
    }
}

/// Answers sampling requests until the tool call's response; returns it, the number of
/// sampling requests and the turnarounds.
async fn timed_loop(
    lines: &mut Lines,
    out: &mut BufWriter<ChildStdin>,
) -> Result<(Value, u64, Vec<Duration>), BenchError> {
    let mut turnaround = Turnaround::default();
    let mut sampled = 0u64;
    let mut unflushed = 0usize;
    loop {
        let incoming = wire::classify(lines.next().await?)?;
        let now = Instant::now();
        match incoming {
            Incoming::Sampling(id) => {
                sampled += 1;
                turnaround.request(now);
                out.write_all(&wire::sampling_reply(&id)).await?;
                unflushed += 1;
            }
            Incoming::OtherRequest(id) => out.write_all(&wire::empty_reply(&id)).await?,
            Incoming::Response(wire::CALL_ID, msg) => {
                return Ok((msg, sampled, turnaround.into_samples()))
            }
            _ => {}
        }
        if !lines.more_buffered() {
            out.flush().await?;
            let at = Instant::now();
            for _ in 0..std::mem::take(&mut unflushed) {
                turnaround.replied(at);
            }
        }
    }
}
