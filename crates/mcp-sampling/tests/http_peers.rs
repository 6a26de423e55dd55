//! The official SDK clients against our Streamable HTTP server (`serve summarize --http`):
//! the TypeScript SDK 1.32.2 (legacy), and the Python `mcp` 2.3.0 client in legacy and auto
//! (which becomes 2026-07-28 over HTTP), and our own client in every era. Each answers the tool's sampling request with its own
//! reply, which must come back as the summary. A missing peer fails the test.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

fn peer(rel: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/peers")
        .join(rel);
    assert!(
        p.exists(),
        "peer {} is not installed: run tests/peers/install.sh",
        p.display()
    );
    p.display().to_string()
}

/// Our server on a free loopback port; killed on drop.
struct Served {
    child: Child,
    url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve() -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-sampling"))
        .args(["serve", "summarize", "--http", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server");
    let stderr = child.stderr.take().unwrap();
    let mut line = String::new();
    BufReader::new(stderr).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Served { child, url }
}

const LONG: &str = "One sentence here. Another one follows. A third makes the point. A fourth adds colour. \
A fifth is long enough to pass the limit for short text, which is about two hundred and eighty characters. \
A sixth sentence closes the paragraph. A seventh one is here only to make sure of the length.";

fn args() -> String {
    serde_json::json!({"text": LONG, "sentences": 1}).to_string()
}

fn run(cmd: &mut Command) -> Value {
    let out = cmd.output().expect("spawn the peer");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "peer failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("one JSON line")
}

fn check(out: &Value, reply: &str, version: &str) {
    assert_eq!(out["protocolVersion"], version, "{out}");
    assert_eq!(out["samplingRequests"], 1, "{out}");
    assert_eq!(out["result"]["content"][0]["text"], reply, "{out}");
    let prompt = out["lastSamplingRequest"]["messages"][0]["content"]["text"]
        .as_str()
        .unwrap_or("");
    assert!(prompt.contains("A third makes the point"), "{out}");
}

#[test]
fn typescript_sdk_client_over_http() {
    let s = serve();
    let out = run(Command::new("node").arg(peer("node/client.mjs")).args([
        "--tool",
        "summarize",
        "--args",
        &args(),
        "--reply",
        "ts over http",
        "--url",
        &s.url,
    ]));
    check(&out, "ts over http", "2025-11-25");
}

#[test]
fn python_sdk_client_over_http_in_both_modes() {
    let s = serve();
    for (mode, version) in [("legacy", "2025-11-25"), ("auto", "2026-07-28")] {
        let reply = format!("py {mode} over http");
        let out = run(Command::new(peer("python/.venv/bin/python"))
            .arg(peer("python/client.py"))
            .args([
                "--mode",
                mode,
                "--tool",
                "summarize",
                "--args",
                &args(),
                "--reply",
                &reply,
                "--url",
                &s.url,
            ]));
        check(&out, &reply, version);
    }
}

#[test]
fn our_client_over_http_against_our_server_in_every_era() {
    let s = serve();
    for (era, version) in [
        ("legacy", "2025-11-25"),
        ("modern", "2026-07-28"),
        ("auto", "2026-07-28"),
    ] {
        let reply = format!("ours {era}");
        let data_home = std::env::temp_dir().join(format!("mcp-http-ours-{}", std::process::id()));
        let out = Command::new(env!("CARGO_BIN_EXE_mcp-sampling"))
            .args([
                "--log",
                "info",
                "call",
                "--era",
                era,
                "--approve",
                "auto",
                "--provider",
            ])
            .arg(format!("fixed:{reply}"))
            .args(["--tool", "summarize", "--args", &args(), "--url", &s.url])
            .env("XDG_DATA_HOME", data_home)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r["content"][0]["text"], reply, "{r}");
        assert!(stderr.contains(version), "{era}: {stderr}");
    }
}
