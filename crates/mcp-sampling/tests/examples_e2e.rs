//! Every built-in server end to end as a user runs it: `mcp-sampling call` starts
//! `mcp-sampling serve NAME` as a child, and the embedded model (installed by
//! `mcp-sampling model install`, which the test script runs first) answers every sampling
//! request through the host pipeline. The tiny model is often wrong; each case asserts what
//! must hold whatever it says (the server's fallbacks, its checks, its shape).

use serde_json::Value;
use std::process::Command;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_mcp-sampling")
}

/// Runs one tool of a built-in server with the embedded model; the tool result.
fn call(server: &[&str], tool: &str, args: &str) -> Value {
    let home = std::env::temp_dir().join(format!("mcp-sampling-e2e-{}", std::process::id()));
    let out = Command::new(bin())
        .env("XDG_DATA_HOME", &home)
        .args(["call", "--approve", "auto", "--provider", "local"])
        .args(["--tool", tool, "--args", args, "--", bin(), "serve"])
        .args(server)
        .output()
        .expect("run mcp-sampling");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{server:?} {tool}: exit {}\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"))
}

/// The structured result, after checking the call did not fail.
fn structured(result: &Value) -> &Value {
    assert_ne!(result["isError"], true, "{result}");
    &result["structuredContent"]
}

#[test]
fn smart_search_classifies_with_the_embedded_model() {
    let r = call(
        &["smart-search"],
        "intelligent_search",
        r#"{"query": "merino wool"}"#,
    );
    let s = structured(&r);
    let category = s["category"].as_str().unwrap_or_default();
    assert!(
        ["products", "users", "orders", "docs"].contains(&category),
        "{r}"
    );
    assert!(
        s["decided_by"]
            .as_str()
            .is_some_and(|d| d.starts_with("model:")),
        "{r}"
    );
    let r = call(
        &["smart-search"],
        "intelligent_search",
        r#"{"query": "order 10422"}"#,
    );
    assert_eq!(structured(&r)["decided_by"], "rule", "{r}");
}

#[test]
fn summarize_summarises_with_the_embedded_model() {
    let text = "The river rose through the night after three days of rain. ".repeat(8);
    let args = serde_json::json!({"text": text, "sentences": 1}).to_string();
    let r = call(&["summarize"], "summarize", &args);
    assert_ne!(r["isError"], true, "{r}");
    let summary = r["content"][0]["text"].as_str().unwrap_or_default();
    assert!(!summary.trim().is_empty(), "{r}");
}

#[test]
fn kb_searches_with_the_embedded_model() {
    let r = call(
        &["kb"],
        "search_kb",
        r#"{"query": "how do I install the embedded model"}"#,
    );
    let s = structured(&r);
    let strategy = s["strategy"].as_str().unwrap_or_default();
    assert!(
        ["keyword", "phrase", "fuzzy", "section", "split"].contains(&strategy),
        "{r}"
    );
    let by = s["decided_by"].as_str().unwrap_or_default();
    assert!(
        by.starts_with("model:") || by.starts_with("fallback ("),
        "{r}"
    );
    let passages = s["passages"].as_array().expect("passages");
    assert!(
        !passages.is_empty(),
        "a search that finds nothing is widened: {r}"
    );
    for p in passages {
        assert!(p["file"].is_string() && p["heading"].is_string(), "{p}");
        assert!(p["score"].is_number() && p["snippet"].is_string(), "{p}");
    }
    let r = call(&["kb"], "search_kb", r#"{"query": "max_samples_per_call"}"#);
    let s = structured(&r);
    assert_eq!(s["decided_by"], "rule", "{r}");
    assert_eq!(s["passages"][0]["file"], "limits-and-depth.md", "{r}");
}

/// [`call`] with host flags before the server command (`--elicit ...`).
fn call_with(flags: &[&str], server: &[&str], tool: &str, args: &str) -> Value {
    let home = std::env::temp_dir().join(format!("mcp-sampling-e2e-{}", std::process::id()));
    let out = Command::new(bin())
        .env("XDG_DATA_HOME", &home)
        .args(["call", "--approve", "auto", "--provider", "local"])
        .args(flags)
        .args(["--tool", tool, "--args", args, "--", bin(), "serve"])
        .args(server)
        .output()
        .expect("run mcp-sampling");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {}\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"))
}

#[test]
fn intake_checks_in_code_and_asks_the_person() {
    // A format error: code finds it before any model, the form fixes it; whatever the
    // model then says, the postcode stays fixed and the flow ends within its bound.
    let args = r#"{"name": "Ann Smith", "address": "221B Baker Street", "town": "London",
        "postcode": "12345", "date": "tomorrow", "phone": "07700 900123"}"#;
    let r = call_with(
        &["--elicit", r#"accept:{"postcode": "nw1 6xe"}"#],
        &["intake"],
        "submit_request",
        args,
    );
    let s = structured(&r);
    assert!(
        ["accepted", "rejected"].contains(&s["status"].as_str().unwrap_or_default()),
        "{r}"
    );
    assert_eq!(s["request"]["postcode"], "NW1 6XE", "{r}");
    let rounds = s["rounds"].as_u64().unwrap_or_default();
    assert!((1..=3).contains(&rounds), "{r}");
    let by = s["judged_by"].as_str().unwrap_or_default();
    assert!(
        by.starts_with("model:") || by.starts_with("fallback ("),
        "{r}"
    );
    // A declined form: the request is not accepted, and the problem is named.
    let r = call_with(
        &["--elicit", "decline"],
        &["intake"],
        "submit_request",
        r#"{"name": "Ann Smith", "date": "2020-01-01"}"#,
    );
    let s = structured(&r);
    assert_eq!(s["status"], "declined", "{r}");
    assert_eq!(s["problems"][0]["field"], "address", "{r}");
}
