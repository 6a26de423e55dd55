//! The floor of the benchmark: `bench_sampling` over stdio with no MCP library and no async
//! runtime. One thread reads lines, parses each into a `serde_json::Value`, and keeps a
//! counter of requests sent and answered; sampling requests are pre-built around their id;
//! output is flushed when no further complete line is already buffered. It answers only what
//! the benchmark's client sends (`initialize`, the tool call, `ping`), nothing else.

use mcp_proto::methods::{CallTool, CreateMessage, Initialize, Ping, Request};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, BufWriter, Write};

const PROMPT: &str = "Benchmark sampling round trip: please reply with the single word ok. This text pads to 100 bytes.";

/// The one tool call in progress.
struct Job {
    call_id: Value,
    n: u64,
    sent: u64,
    answered: u64,
}

fn main() -> std::io::Result<()> {
    let head = format!(
        r#"{{"jsonrpc":"2.0","method":"{}","params":{{"messages":[{{"role":"user","content":{{"type":"text","text":"{PROMPT}"}}}}],"maxTokens":16}},"id":"#,
        CreateMessage::METHOD
    );
    let mut input = BufReader::with_capacity(64 * 1024, std::io::stdin().lock());
    let mut out = BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let mut job: Option<Job> = None;
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        if let Ok(msg) = serde_json::from_slice::<Value>(&line) {
            handle(&msg, &mut job, &head, &mut out)?;
        }
        if !input.buffer().contains(&b'\n') {
            out.flush()?;
        }
    }
}

fn send(out: &mut impl Write, msg: &Value) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, msg)?;
    out.write_all(b"\n")
}

fn sample(out: &mut impl Write, head: &str, job: &mut Job) -> std::io::Result<()> {
    job.sent += 1;
    writeln!(out, "{head}{}}}", job.sent)
}

fn handle(
    msg: &Value,
    job: &mut Option<Job>,
    head: &str,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let id = msg.get("id").cloned();
    match (msg.get("method").and_then(Value::as_str), id) {
        (Some(m), Some(id)) if m == Initialize::METHOD => {
            let version = msg
                .pointer("/params/protocolVersion")
                .cloned()
                .unwrap_or(json!("2025-11-25"));
            send(
                out,
                &json!({"jsonrpc": "2.0", "id": id, "result": {
                "protocolVersion": version, "capabilities": {"tools": {}},
                "serverInfo": {"name": "bench-raw", "version": "0.1.0"}}}),
            )
        }
        (Some(m), Some(id)) if m == CallTool::METHOD => {
            let arg = |k: &str| {
                msg.pointer(&format!("/params/arguments/{k}"))
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
            };
            let mut j = Job {
                call_id: id,
                n: arg("n"),
                sent: 0,
                answered: 0,
            };
            for _ in 0..arg("concurrency").clamp(1, 4096).min(j.n) {
                sample(out, head, &mut j)?;
            }
            if j.n == 0 {
                return finish(out, &j);
            }
            *job = Some(j);
            Ok(())
        }
        (Some(m), Some(id)) if m == Ping::METHOD => {
            send(out, &json!({"jsonrpc": "2.0", "id": id, "result": {}}))
        }
        (Some(_), Some(id)) => send(
            out,
            &json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "method not found"}}),
        ),
        (None, Some(_)) => answered(out, job, head),
        _ => Ok(()),
    }
}

/// A reply to one of our sampling requests: send the next one, or the tool's result.
fn answered(out: &mut impl Write, job: &mut Option<Job>, head: &str) -> std::io::Result<()> {
    let Some(j) = job.as_mut() else { return Ok(()) };
    j.answered += 1;
    if j.sent < j.n {
        return sample(out, head, j);
    }
    if j.answered == j.n {
        let done = job.take();
        if let Some(j) = done {
            finish(out, &j)?;
        }
    }
    Ok(())
}

fn finish(out: &mut impl Write, j: &Job) -> std::io::Result<()> {
    send(
        out,
        &json!({"jsonrpc": "2.0", "id": j.call_id, "result": {
        "content": [{"type": "text", "text": format!("completed {} sampling round trips", j.answered)}]}}),
    )
}
