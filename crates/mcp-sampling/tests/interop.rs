//! Interop over stdio with the official SDKs and reference server, in every era each speaks.
//!
//! The peers are pinned in `tests/peers/` and installed by `tests/peers/install.sh` (which
//! `scripts/test.sh` runs first). A missing peer fails the test; nothing is skipped.

mod common;

use common::{bin, peer, python, run, server_everything, text};
use serde_json::{json, Value};

/// `mcp-sampling call` against a server command; returns the CallToolResult.
fn our_call(era: &str, reply: &str, tool: &str, args: &str, server: Vec<String>) -> Value {
    our_call_with(era, reply, tool, args, &[], server)
}

/// The same, with more host flags (`--elicit`, `--root`).
fn our_call_with(
    era: &str,
    reply: &str,
    tool: &str,
    args: &str,
    flags: &[&str],
    server: Vec<String>,
) -> Value {
    let mut cmd: Vec<String> = vec![
        bin(),
        "call".into(),
        "--era".into(),
        era.into(),
        "--approve".into(),
        "auto".into(),
    ];
    cmd.extend(flags.iter().map(|f| f.to_string()));
    cmd.extend([
        "--provider".into(),
        format!("fixed:{reply}"),
        "--tool".into(),
        tool.into(),
        "--args".into(),
        args.into(),
        "--".into(),
    ]);
    cmd.extend(server);
    let out = run(&cmd);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not a CallToolResult ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

const LONG: &str = "The quick brown fox jumps over the lazy dog. It does so every morning. The dog does not mind. \
Nobody knows why the fox keeps jumping. Some say it is for exercise. Others say it is for fun. The dog sleeps on. \
In the afternoon the fox rests under an oak tree. The dog wakes up and barks once. Then both of them go home for dinner.";

fn summarize_args() -> String {
    serde_json::json!({"text": LONG, "sentences": 1}).to_string()
}

#[test]
fn our_client_against_server_everything_auto_and_legacy() {
    for era in ["auto", "legacy"] {
        let r = our_call(
            era,
            "reply-from-rust",
            "trigger-sampling-request",
            r#"{"prompt":"hi","maxTokens":20}"#,
            server_everything(),
        );
        assert_ne!(r["isError"], true, "{r}");
        let t = text(&r);
        assert!(
            t.contains("reply-from-rust") && t.contains("LLM sampling result"),
            "era {era}: {t}"
        );
    }
}

fn python_server() -> Vec<String> {
    vec![python(), peer("python/sampling_server.py")]
}

#[test]
fn our_client_against_python_server_legacy_create_message() {
    let r = our_call(
        "legacy",
        "R1",
        "legacy_sample",
        r#"{"prompt":"hi"}"#,
        python_server(),
    );
    assert_eq!(text(&r), "sampled: R1", "{r}");
}

#[test]
fn our_client_against_python_server_resolve_sample_both_eras() {
    for era in ["legacy", "auto", "modern"] {
        let r = our_call(
            era,
            "R2",
            "resolve_sample",
            r#"{"prompt":"hi"}"#,
            python_server(),
        );
        assert_eq!(text(&r), "sampled: R2", "era {era}: {r}");
        // The modern era's results carry the server's identity in _meta.
        assert_eq!(r["_meta"].is_object(), era != "legacy", "era {era}: {r}");
    }
}

#[test]
fn our_client_against_python_server_two_samplings_in_one_call() {
    for era in ["legacy", "modern"] {
        let r = our_call(
            era,
            "R3",
            "resolve_two",
            r#"{"prompt":"hi"}"#,
            python_server(),
        );
        assert_eq!(text(&r), "R3 | R3", "era {era}: {r}");
    }
}

#[test]
fn our_client_against_python_server_elicitation_both_eras() {
    let accept = r#"accept:{"name": "Ann"}"#;
    for era in ["legacy", "modern"] {
        // The form's default (guests = 2) is filled in by our host.
        let r = our_call_with(
            era,
            "R",
            "resolve_elicit",
            r#"{"prompt":"two"}"#,
            &["--elicit", accept],
            python_server(),
        );
        assert_eq!(text(&r), "elicited: Ann x2", "era {era}: {r}");
        let r = our_call_with(
            era,
            "R",
            "resolve_elicit",
            r#"{"prompt":"two"}"#,
            &["--elicit", "decline"],
            python_server(),
        );
        assert_eq!(text(&r), "elicited: decline", "era {era}: {r}");
        // Sampling and elicitation in one call (one round on the modern era).
        let r = our_call_with(
            era,
            "R4",
            "resolve_sample_elicit",
            r#"{"prompt":"x"}"#,
            &["--elicit", accept],
            python_server(),
        );
        assert_eq!(text(&r), "R4 / elicited: Ann x2", "era {era}: {r}");
    }
}

#[test]
fn our_client_against_python_server_roots_both_eras() {
    for era in ["legacy", "modern"] {
        let r = our_call_with(
            era,
            "R",
            "resolve_roots",
            r#"{"prompt":"x"}"#,
            &["--root", "/srv/a b", "--root", "/tmp"],
            python_server(),
        );
        assert_eq!(
            text(&r),
            "roots: file:///srv/a%20b file:///tmp",
            "era {era}: {r}"
        );
    }
}

fn our_server() -> Vec<String> {
    vec![bin(), "serve".into(), "summarize".into()]
}

#[test]
fn typescript_client_against_our_summarize() {
    let mut cmd = vec![
        "node".into(),
        peer("node/client.mjs"),
        "--tool".into(),
        "summarize".into(),
    ];
    cmd.extend([
        "--args".into(),
        summarize_args(),
        "--reply".into(),
        "ts-summary".into(),
        "--".into(),
    ]);
    cmd.extend(our_server());
    let out: Value = serde_json::from_slice(&run(&cmd).stdout).expect("json");
    assert_eq!(out["protocolVersion"], "2025-11-25", "{out}");
    assert_eq!(out["samplingRequests"], 1, "{out}");
    assert_eq!(text(&out["result"]), "ts-summary", "{out}");
    let req = &out["lastSamplingRequest"];
    assert_eq!(req["maxTokens"], 60, "{req}");
    assert!(
        req["systemPrompt"]
            .as_str()
            .is_some_and(|s| s.contains("summaries")),
        "{req}"
    );
}

#[test]
fn python_client_against_our_summarize_legacy_and_auto() {
    for (mode, version) in [("legacy", "2025-11-25"), ("auto", "2026-07-28")] {
        let mut cmd = vec![
            python(),
            peer("python/client.py"),
            "--mode".into(),
            mode.into(),
            "--tool".into(),
            "summarize".into(),
        ];
        cmd.extend([
            "--args".into(),
            summarize_args(),
            "--reply".into(),
            "py-summary".into(),
            "--".into(),
        ]);
        cmd.extend(our_server());
        let out: Value = serde_json::from_slice(&run(&cmd).stdout).expect("json");
        assert_eq!(out["protocolVersion"], version, "{out}");
        assert_eq!(out["samplingRequests"], 1, "mode {mode}: {out}");
        assert_eq!(text(&out["result"]), "py-summary", "mode {mode}: {out}");
        if mode == "auto" {
            assert_eq!(out["result"]["resultType"], "complete", "{out}");
        }
    }
}

#[test]
fn python_client_against_our_elicit_demo_legacy_and_auto() {
    let demo = vec![bin(), "serve".into(), "elicit-demo".into()];
    for (mode, version) in [("legacy", "2025-11-25"), ("auto", "2026-07-28")] {
        let mut cmd = vec![
            python(),
            peer("python/client.py"),
            "--mode".into(),
            mode.into(),
        ];
        cmd.extend([
            "--tool".into(),
            "book_table".into(),
            "--args".into(),
            r#"{"restaurant":"X"}"#.into(),
        ]);
        cmd.extend([
            "--elicit".into(),
            r#"{"name":"Py","date":"2025-05-05"}"#.into(),
            "--".into(),
        ]);
        cmd.extend(demo.clone());
        let out: Value = serde_json::from_slice(&run(&cmd).stdout).expect("json");
        assert_eq!(out["protocolVersion"], version, "{out}");
        assert_eq!(out["elicitationRequests"], 1, "{out}");
        let schema = &out["lastElicitationRequest"]["requestedSchema"];
        assert_eq!(schema["properties"]["date"]["format"], "date", "{out}");
        // The Python client sends no guests; our server fills in the schema's default.
        let booked = &out["result"]["structuredContent"]["booked"];
        assert_eq!(
            booked,
            &serde_json::json!({"date": "2025-05-05", "guests": 2, "name": "Py", "seating": "indoor"}),
            "{out}"
        );
        let mut cmd = vec![
            python(),
            peer("python/client.py"),
            "--mode".into(),
            mode.into(),
        ];
        cmd.extend([
            "--tool".into(),
            "list_roots".into(),
            "--root".into(),
            "file:///py/root".into(),
            "--".into(),
        ]);
        cmd.extend(demo.clone());
        let out: Value = serde_json::from_slice(&run(&cmd).stdout).expect("json");
        assert_eq!(
            out["result"]["structuredContent"]["roots"][0]["uri"], "file:///py/root",
            "{out}"
        );
    }
}

#[test]
fn short_text_is_not_sampled() {
    let mut cmd = vec![
        python(),
        peer("python/client.py"),
        "--mode".into(),
        "auto".into(),
        "--tool".into(),
        "summarize".into(),
    ];
    cmd.extend([
        "--args".into(),
        r#"{"text":"Short text."}"#.into(),
        "--".into(),
    ]);
    cmd.extend(our_server());
    let out: Value = serde_json::from_slice(&run(&cmd).stdout).expect("json");
    assert_eq!(out["samplingRequests"], 0, "{out}");
    assert_eq!(text(&out["result"]), "Short text.", "{out}");
}

/// The official clients know nothing of our typed-output extension: they get it in the
/// sampling request's `_meta`, ignore it, answer in free text, and our server parses that.
/// They also check the result against the tool's `outputSchema` (the TypeScript SDK after
/// `tools/list`, the Python SDK on its own), so the schema must match what is sent.
#[test]
fn official_clients_ignore_the_typed_output_extension_and_accept_the_output_schema() {
    let search = vec![bin(), "serve".into(), "smart-search".into()];
    let args = r#"{"query": "merino wool"}"#.to_string();
    let check = |who: &str, out: &Value| {
        assert!(out.get("error").is_none(), "{who}: {out}");
        assert_eq!(out["samplingRequests"], 1, "{who}: {out}");
        let meta = &out["lastSamplingRequest"]["_meta"]["dev.mcp-sampling/output"];
        assert_eq!(
            meta["choices"],
            json!(["products", "users", "orders", "docs"]),
            "{who}: the request carries the extension: {out}"
        );
        let found = &out["result"]["structuredContent"];
        assert_eq!(found["category"], "products", "{who}: {out}");
        let decided = found["decided_by"].as_str().unwrap_or_default();
        assert!(decided.starts_with("model:"), "{who}: {out}");
    };
    let mut ts = vec![
        "node".into(),
        peer("node/client.mjs"),
        "--list-tools".into(),
        "--tool".into(),
        "intelligent_search".into(),
        "--args".into(),
        args.clone(),
        "--reply".into(),
        "Products.".into(),
        "--".into(),
    ];
    ts.extend(search.clone());
    let out: Value = serde_json::from_slice(&run(&ts).stdout).expect("json");
    check("typescript", &out);
    let tool = out["tools"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["name"] == "intelligent_search"))
        .expect("listed");
    assert_eq!(tool["outputSchema"]["type"], "object", "{tool}");
    for mode in ["legacy", "auto"] {
        let mut py = vec![
            python(),
            peer("python/client.py"),
            "--mode".into(),
            mode.into(),
            "--tool".into(),
            "intelligent_search".into(),
            "--args".into(),
            args.clone(),
            "--reply".into(),
            "Products.".into(),
            "--".into(),
        ];
        py.extend(search.clone());
        let out: Value = serde_json::from_slice(&run(&py).stdout).expect("json");
        check(&format!("python {mode}"), &out);
    }
}
