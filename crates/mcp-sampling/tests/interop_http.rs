//! Interop over Streamable HTTP with the official servers: `server-everything` (TypeScript
//! SDK, legacy era with sessions) and the Python SDK's `mcp` 2.3 server (both eras on one
//! endpoint); our host answers their sampling requests with a fixed reply. And the other way:
//! the TypeScript SDK 1.32.2 client (legacy), the Python `mcp` 2.3.0 client (legacy and auto,
//! which becomes 2026-07-28) and our own client in every era against our server
//! (`serve summarize --http`); each answers the tool's sampling request with its own reply,
//! which must come back as the summary.
//!
//! The peers are pinned in `tests/peers/` and installed by `tests/peers/install.sh`. A
//! missing peer fails the test; nothing is skipped.

mod common;

use common::{free_port, peer, Listening as Peer};
use mcp_client::{Client, ClientOptions, EraChoice, HttpOptions};
use mcp_host::testing::Fixed;
use mcp_proto::Era;
use serde_json::{json, Map, Value};
use std::process::Command;
use std::sync::Arc;

impl Peer {
    fn server_everything() -> Peer {
        let port = free_port();
        let mut cmd = Command::new("node");
        cmd.arg(peer(
            "node/node_modules/@modelcontextprotocol/server-everything/dist/index.js",
        ))
        .arg("streamableHttp")
        .env("PORT", port.to_string());
        Peer::start(cmd, port)
    }

    fn ours() -> Peer {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcp-sampling"));
        cmd.args(["serve", "summarize", "--http", &format!("127.0.0.1:{port}")]);
        Peer::start(cmd, port)
    }

    fn python() -> Peer {
        let port = free_port();
        let mut cmd = Command::new(peer("python/.venv/bin/python"));
        cmd.arg(peer("python/sampling_server.py"))
            .arg("--http")
            .arg(port.to_string());
        Peer::start(cmd, port)
    }
}

async fn connect(url: &str, era: EraChoice, reply: &str) -> Client {
    let opts = ClientOptions {
        era,
        ..Default::default()
    };
    Client::connect_http(
        url,
        HttpOptions::default(),
        Arc::new(Fixed(reply.into())),
        opts,
    )
    .await
    .unwrap_or_else(|e| panic!("connect to {url} ({era:?}): {e}"))
}

fn args(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

fn text(r: &mcp_proto::tools::CallToolResult) -> String {
    r.content
        .first()
        .and_then(|c| c.as_text())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_everything_over_http_legacy_and_auto() {
    let server = Peer::server_everything();
    for era in [EraChoice::Legacy, EraChoice::Auto] {
        let client = connect(&server.url, era, "reply-over-http").await;
        assert_eq!(client.era(), Era::Legacy, "{era:?}");
        assert_eq!(client.protocol_version(), "2025-11-25", "{era:?}");
        let tools = client.list_tools().await.expect("tools/list");
        assert!(
            tools
                .tools
                .iter()
                .any(|t| t.name == "trigger-sampling-request"),
            "{era:?}: {:?}",
            tools.tools.iter().map(|t| &t.name).collect::<Vec<_>>()
        );
        let r = client
            .call_tool(
                "trigger-sampling-request",
                args(json!({"prompt": "hi", "maxTokens": 20})),
            )
            .await
            .expect("tools/call");
        let t = text(&r);
        assert!(
            t.contains("reply-over-http") && t.contains("LLM sampling result"),
            "{era:?}: {t}"
        );
        client.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_server_over_http_legacy() {
    let server = Peer::python();
    let client = connect(&server.url, EraChoice::Legacy, "P1").await;
    assert_eq!(client.era(), Era::Legacy);
    for (tool, want) in [
        ("legacy_sample", "sampled: P1"),
        ("resolve_sample", "sampled: P1"),
        ("resolve_two", "P1 | P1"),
    ] {
        let r = client
            .call_tool(tool, args(json!({"prompt": "hi"})))
            .await
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
        assert_eq!(text(&r), want, "{tool}");
    }
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_server_over_http_modern_and_auto() {
    let server = Peer::python();
    for era in [EraChoice::Modern, EraChoice::Auto] {
        let client = connect(&server.url, era, "P2").await;
        assert_eq!(client.era(), Era::Modern, "{era:?}");
        let tools = client.list_tools().await.expect("tools/list");
        assert!(
            tools.tools.iter().any(|t| t.name == "resolve_two"),
            "{era:?}"
        );
        for (tool, want) in [
            ("resolve_sample", "sampled: P2"),
            ("resolve_two", "P2 | P2"),
        ] {
            let r = client
                .call_tool(tool, args(json!({"prompt": "hi"})))
                .await
                .unwrap_or_else(|e| panic!("{era:?} {tool}: {e}"));
            assert_eq!(text(&r), want, "{era:?} {tool}");
        }
        client.close().await;
    }
}

/// The CLI's `--url`: one call against server-everything over HTTP.
#[test]
fn cli_call_with_url() {
    let server = Peer::server_everything();
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-sampling"))
        .args(["call", "--approve", "auto", "--provider", "fixed:cli-http"])
        .args(["--tool", "trigger-sampling-request"])
        .args(["--args", r#"{"prompt":"hi","maxTokens":20}"#])
        .args(["--url", &server.url])
        .env(
            "XDG_DATA_HOME",
            std::env::temp_dir().join(format!("mcp-sampling-http-{}", std::process::id())),
        )
        .output()
        .expect("run mcp-sampling");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).expect("a CallToolResult");
    let t = r["content"][0]["text"].as_str().unwrap_or_default();
    assert!(t.contains("cli-http"), "{t}");
}

/// `--url` cannot be combined with a server command.
#[test]
fn cli_url_conflicts_with_a_command() {
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-sampling"))
        .args([
            "call",
            "--tool",
            "x",
            "--url",
            "http://127.0.0.1:1/mcp",
            "--",
            "true",
        ])
        .output()
        .expect("run mcp-sampling");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--url") && err.contains("cannot be used with"),
        "{err}"
    );
}

const LONG: &str = "One sentence here. Another one follows. A third makes the point. A fourth adds colour. \
A fifth is long enough to pass the limit for short text, which is about two hundred and eighty characters. \
A sixth sentence closes the paragraph. A seventh one is here only to make sure of the length.";

fn summarize_args() -> String {
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
    let s = Peer::ours();
    let out = run(Command::new("node").arg(peer("node/client.mjs")).args([
        "--tool",
        "summarize",
        "--args",
        &summarize_args(),
        "--reply",
        "ts over http",
        "--url",
        &s.url,
    ]));
    check(&out, "ts over http", "2025-11-25");
}

#[test]
fn python_sdk_client_over_http_in_both_modes() {
    let s = Peer::ours();
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
                &summarize_args(),
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
    let s = Peer::ours();
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
            .args([
                "--tool",
                "summarize",
                "--args",
                &summarize_args(),
                "--url",
                &s.url,
            ])
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
