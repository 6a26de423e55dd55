//! `mcp-sampling bridge` between the official SDKs' clients (the host) and servers of
//! either era, over stdio: a host without sampling gets our pipeline's answer, a host with
//! sampling answers itself (`--sampling host`), progress crosses the bridge, and the
//! printed desktop entry runs.

mod common;

use common::{bin, free_port, peer, python, run, server_everything, text, Listening};
use serde_json::Value;

const LONG: &str =
    "The quick brown fox jumps over the lazy dog. It does so every morning. The dog \
does not mind. Nobody knows why the fox keeps jumping. Some say it is for exercise. Others say it \
is for fun. The dog sleeps on. In the afternoon the fox rests under an oak tree. The dog wakes up \
and barks once. Then both of them go home for dinner.";

fn summarize() -> (String, String, Vec<String>) {
    let args = serde_json::json!({"text": LONG, "sentences": 1}).to_string();
    let server = vec![bin(), "serve".into(), "summarize".into()];
    ("summarize".into(), args, server)
}

fn everything() -> (String, String, Vec<String>) {
    let args = r#"{"prompt":"hi","maxTokens":20}"#.to_string();
    ("trigger-sampling-request".into(), args, server_everything())
}

/// Our bridge in front of `server`, with these flags.
fn bridge(flags: &[&str], server: Vec<String>) -> Vec<String> {
    let mut cmd = vec![bin(), "bridge".into()];
    cmd.extend(flags.iter().map(|f| f.to_string()));
    cmd.push("--".into());
    cmd.extend(server);
    cmd
}

/// The TypeScript SDK's client (with `client_flags`) calling `tool` through `server_cmd`.
fn typescript(client_flags: &[&str], tool: &str, args: &str, server_cmd: Vec<String>) -> Value {
    let mut cmd = vec!["node".into(), peer("node/client.mjs")];
    cmd.extend(client_flags.iter().map(|f| f.to_string()));
    cmd.extend([
        "--tool".into(),
        tool.into(),
        "--args".into(),
        args.into(),
        "--".into(),
    ]);
    cmd.extend(server_cmd);
    serde_json::from_slice(&run(&cmd).stdout).expect("the client prints JSON")
}

#[test]
fn a_typescript_host_without_sampling_gets_our_pipeline_s_answer() {
    let python_server = vec![python(), peer("python/sampling_server.py")];
    let cases = [
        (everything(), "auto"),
        (summarize(), "auto"),
        // The Python SDK's server, on 2026-07-28: the bridge runs the MRTR rounds.
        (
            (
                "resolve_sample".to_string(),
                r#"{"prompt":"hi"}"#.to_string(),
                python_server,
            ),
            "modern",
        ),
    ];
    for ((tool, args, server), era) in cases {
        let flags = [
            "--era",
            era,
            "--approve",
            "auto",
            "--provider",
            "fixed:FROM-BRIDGE",
        ];
        let out = typescript(&["--no-sampling"], &tool, &args, bridge(&flags, server));
        assert_eq!(out["samplingRequests"], 0, "{tool}: {out}");
        assert_ne!(out["result"]["isError"], true, "{tool}: {out}");
        assert!(
            text(&out["result"]).contains("FROM-BRIDGE"),
            "{tool}: {out}"
        );
    }
}

#[test]
fn a_typescript_host_with_sampling_answers_itself() {
    for (tool, args, server) in [everything(), summarize()] {
        let flags = ["--sampling", "host", "--provider", "fixed:NOT-USED"];
        let out = typescript(&["--reply", "ts-own"], &tool, &args, bridge(&flags, server));
        assert_eq!(out["samplingRequests"], 1, "{tool}: {out}");
        assert!(text(&out["result"]).contains("ts-own"), "{tool}: {out}");
        // The request reached the host as the server made it.
        assert!(out["lastSamplingRequest"]["maxTokens"].is_number(), "{out}");
    }
}

#[test]
fn without_a_terminal_the_bridge_denies_and_says_why() {
    let (tool, args, server) = summarize();
    let mut cmd = vec!["node".into(), peer("node/client.mjs")];
    cmd.extend(["--no-sampling", "--tool", &tool, "--args", &args, "--"].map(String::from));
    cmd.extend(bridge(&["--era", "legacy"], server));
    let o = std::process::Command::new(&cmd[0])
        .args(&cmd[1..])
        .output()
        .expect("spawn");
    let out: Value = serde_json::from_slice(&o.stdout).expect("the client prints JSON");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("no terminal or console to ask on"),
        "{stderr}"
    );
    // The legacy server makes the rejection a tool error naming the reason.
    assert_eq!(out["result"]["isError"], true, "{out}");
    assert!(text(&out["result"]).contains("mode deny"), "{out}");
}

/// The Python client through the bridge to a legacy server, answering its sampling request
/// itself: in auto mode it speaks 2026-07-28 to the bridge (the request reaches it in an
/// `input_required` round), forced to the legacy era it is sent the request.
#[test]
fn a_python_host_through_the_bridge_to_a_legacy_server() {
    for (mode, version) in [("auto", "2026-07-28"), ("legacy", "2025-11-25")] {
        let (want, asked) = ("py-own", 1);
        let (tool, args, server) = summarize();
        let flags = [
            "--era",
            "legacy",
            "--approve",
            "auto",
            "--provider",
            "fixed:FROM-BRIDGE",
        ];
        let mut cmd = vec![
            python(),
            peer("python/client.py"),
            "--mode".into(),
            mode.into(),
            "--tool".into(),
            tool,
            "--args".into(),
            args,
            "--reply".into(),
            "py-own".into(),
            "--".into(),
        ];
        cmd.extend(bridge(&flags, server));
        let out: Value = serde_json::from_slice(&run(&cmd).stdout).expect("json");
        assert_eq!(out["protocolVersion"], version, "{mode}: {out}");
        assert_eq!(out["samplingRequests"], asked, "{mode}: {out}");
        assert_eq!(text(&out["result"]), want, "{mode}: {out}");
    }
}

#[test]
fn progress_crosses_the_bridge() {
    let flags = ["--approve", "auto", "--provider", "fixed:x"];
    let out = typescript(
        &["--no-sampling", "--progress"],
        "trigger-long-running-operation",
        r#"{"duration":0.2,"steps":2}"#,
        bridge(&flags, server_everything()),
    );
    assert_ne!(out["result"]["isError"], true, "{out}");
    // The bridge relays both before the answer (tests/bridge.rs of mcp-bridge checks the
    // order). The TypeScript SDK runs a notification's handler a microtask later but takes
    // a response at once, so when the last progress and the answer arrive in one read it
    // drops that progress ("unknown token"): one or two arrive.
    let count = out["progressCount"].as_u64().unwrap_or(0);
    assert!((1..=2).contains(&count), "{out}");
}

#[test]
fn the_printed_desktop_entry_runs_the_bridge() {
    let (tool, args, server) = summarize();
    let mut flags = vec![
        "--approve".to_string(),
        "auto".into(),
        "--provider".into(),
        "fixed:FROM-ENTRY".into(),
        "--print-config".into(),
        "notes".into(),
    ];
    flags.push("--".into());
    flags.extend(server);
    let mut cmd = vec![bin(), "bridge".into()];
    cmd.extend(flags);
    let printed: Value = serde_json::from_slice(&run(&cmd).stdout).expect("JSON");
    let entry = &printed["mcpServers"]["notes"];
    let command = entry["command"].as_str().expect("a command").to_string();
    let entry_args: Vec<String> = entry["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        entry_args.windows(2).any(|w| w == ["--name", "notes"]),
        "{entry}"
    );
    assert!(
        !entry_args.iter().any(|a| a.contains("print-config")),
        "{entry}"
    );
    let mut host_cmd = vec![command];
    host_cmd.extend(entry_args);
    let out = typescript(&["--no-sampling"], &tool, &args, host_cmd);
    assert_eq!(text(&out["result"]), "FROM-ENTRY", "{out}");
}

/// The Python client (a host with forms and roots) through the bridge to our elicit-demo
/// server: its form and (legacy host) its roots are the host's, on both of the server's eras
/// and from a modern host too.
#[test]
fn forms_and_roots_are_the_host_s() {
    let demo = vec![bin(), "serve".into(), "elicit-demo".into()];
    let pairs = [
        ("legacy", "legacy"),
        ("legacy", "modern"),
        ("auto", "legacy"),
    ];
    for (mode, era) in pairs {
        let host = |extra: &[&str]| {
            let mut cmd = vec![
                python(),
                peer("python/client.py"),
                "--mode".into(),
                mode.into(),
            ];
            cmd.extend(extra.iter().map(|s| s.to_string()));
            cmd.push("--".into());
            cmd.extend(bridge(&["--era", era], demo.clone()));
            let out: Value = serde_json::from_slice(&run(&cmd).stdout).expect("json");
            out
        };
        let out = host(&[
            "--tool",
            "book_table",
            "--args",
            r#"{"restaurant":"X"}"#,
            "--elicit",
            r#"{"name":"Py","date":"2025-05-05"}"#,
        ]);
        assert_eq!(
            out["elicitationRequests"], 1,
            "{mode} host, {era} server: {out}"
        );
        assert_eq!(
            out["result"]["structuredContent"]["booked"]["name"], "Py",
            "{mode} host, {era} server: {out}"
        );
        if mode == "auto" {
            // A modern host's roots are not asked for: the bridge's own are offered.
            continue;
        }
        let out = host(&["--tool", "list_roots", "--root", "file:///py/root"]);
        assert_eq!(
            out["result"]["structuredContent"]["roots"][0]["uri"], "file:///py/root",
            "{mode} host, {era} server: {out}"
        );
    }
}

/// The bridge on Streamable HTTP: the TypeScript client (no sampling) over HTTP, the server a
/// child per session; and a host with sampling answers itself, its sampling request riding
/// the call's stream.
#[test]
fn the_bridge_serves_hosts_over_streamable_http() {
    let (tool, args, server) = summarize();
    for (client_flags, sampling, want) in [
        (vec!["--no-sampling"], "auto", "FROM-HTTP-BRIDGE"),
        (vec!["--reply", "ts-http-own"], "host", "ts-http-own"),
    ] {
        let port = free_port();
        let mut cmd = std::process::Command::new(bin());
        cmd.args([
            "bridge",
            "--http",
            &format!("127.0.0.1:{port}"),
            "--sampling",
            sampling,
        ]);
        cmd.args([
            "--approve",
            "auto",
            "--provider",
            "fixed:FROM-HTTP-BRIDGE",
            "--",
        ]);
        cmd.args(&server);
        let bridge = Listening::start(cmd, port);
        let mut flags = client_flags.clone();
        flags.extend(["--url", bridge.url.as_str()]);
        let mut cmd = vec!["node".into(), peer("node/client.mjs")];
        cmd.extend(flags.iter().map(|f| f.to_string()));
        cmd.extend(["--tool".into(), tool.clone(), "--args".into(), args.clone()]);
        let out: Value = serde_json::from_slice(&run(&cmd).stdout).expect("JSON");
        assert_eq!(out["protocolVersion"], "2025-11-25", "{out}");
        assert_eq!(text(&out["result"]), want, "{sampling}: {out}");
    }
}

/// The server side over Streamable HTTP: the bridge (on stdio) in front of our summarize
/// served with `serve --http`, both eras of the server.
#[test]
fn the_bridge_reaches_a_server_over_streamable_http() {
    let port = free_port();
    let mut cmd = std::process::Command::new(bin());
    cmd.args(["serve", "summarize", "--http", &format!("127.0.0.1:{port}")]);
    let server = Listening::start(cmd, port);
    let (tool, args, _) = summarize();
    for era in ["legacy", "modern"] {
        let mut flags = vec![bin(), "bridge".into(), "--era".into(), era.into()];
        flags.extend(["--approve", "auto", "--provider", "fixed:OVER-HTTP"].map(String::from));
        flags.extend(["--url".into(), server.url.clone()]);
        let out = typescript(&["--no-sampling"], &tool, &args, flags);
        assert_eq!(text(&out["result"]), "OVER-HTTP", "{era}: {out}");
    }
}
