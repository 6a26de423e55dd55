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
    call_with(&[], server, tool, args)
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
fn agent_answers_from_facts_gathered_in_code_for_the_embedded_model() {
    // The embedded model cannot call tools, so the host does not declare sampling with
    // tools, and the server looks the facts up itself before it asks once.
    let r = call(
        &["agent"],
        "research",
        r#"{"question": "Has order 10421 shipped?"}"#,
    );
    let s = structured(&r);
    assert_eq!(s["rounds"], 1, "{r}");
    assert_eq!(s["tool_uses"], serde_json::json!([]), "{r}");
    let gathered = s["gathered"].as_array().expect("facts");
    assert!(
        gathered
            .iter()
            .any(|f| f["tool"] == "order_status" && f["output"]["status"] == "shipped"),
        "{r}"
    );
    assert!(
        !s["answer"].as_str().unwrap_or_default().trim().is_empty(),
        "{r}"
    );
}

#[test]
fn email_tones_checks_the_embedded_models_draft() {
    let args = r#"{"to": "Sam", "points": ["the invoice 4471 is overdue", "pay by 15 May"], "tones": ["concise"]}"#;
    let r = call(&["email-tones"], "draft_email", args);
    let s = structured(&r);
    let v = &s["variants"][0];
    assert_eq!(v["tone"], "concise", "{r}");
    assert_eq!(v["max_words"], 90, "{r}");
    let missing = v["missing"].as_array().map(Vec::len).unwrap_or(99);
    let words = v["words"].as_u64().unwrap_or_default();
    let ok = missing == 0 && v["too_long"] == false && words > 0 && v["error"].is_null();
    assert_eq!(v["passed"], ok, "the verdict follows the checks: {r}");
    if !ok {
        assert_eq!(v["re_asked"], true, "a failing draft is asked again: {r}");
    }
    assert_eq!(s["all_passed"], ok, "{r}");
}

#[test]
fn code_review_decides_trivial_files_in_code_and_asks_the_embedded_model() {
    let diff = "diff --git a/Cargo.lock b/Cargo.lock\n--- a/Cargo.lock\n+++ b/Cargo.lock\n@@ -1 +1 @@\n-version = 3\n+version = 4\ndiff --git a/src/stats.c b/src/stats.c\n--- a/src/stats.c\n+++ b/src/stats.c\n@@ -1,2 +1,3 @@\n double mean(const double *xs, size_t n) {\n+    if (n == 0) return 0.0;\n     double s = 0;\n";
    let args = serde_json::json!({ "diff": diff }).to_string();
    let r = call(&["code-review"], "categorize_diff", &args);
    let s = structured(&r);
    assert_eq!(s["files"][0]["decided_by"], "rule", "{r}");
    assert_eq!(s["files"][0]["category"], "chore", "{r}");
    let by = s["files"][1]["decided_by"].as_str().unwrap_or_default();
    assert!(
        by.starts_with("model:") || by.starts_with("fallback ("),
        "{r}"
    );
    let category = s["files"][1]["category"].as_str().unwrap_or_default();
    let known = [
        "bug-fix",
        "feature",
        "refactor",
        "performance",
        "security-sensitive",
        "docs",
        "tests",
        "chore",
    ];
    assert!(known.contains(&category), "{r}");
    assert_eq!(s["summary"]["files"], 2, "{r}");
    assert_eq!(s["summary"]["decided_in_code"], 1, "{r}");
}

#[test]
fn sql_checks_whatever_the_embedded_model_writes() {
    let r = call(
        &["sql"],
        "ask_database",
        r#"{"question": "How many books are there?"}"#,
    );
    if r["isError"] == true {
        // The tiny model may write SQL that fails twice or that the gate refuses: a clear error.
        let text = r["content"][0]["text"].as_str().unwrap_or_default();
        assert!(
            text.contains("refused") || text.contains("repair round"),
            "{r}"
        );
    } else {
        let s = &r["structuredContent"];
        assert!(
            s["decided_by"]
                .as_str()
                .is_some_and(|d| d.starts_with("model:")),
            "{r}"
        );
        assert!(s["row_count"].as_u64().is_some_and(|n| n <= 200), "{r}");
        let sql = s["sql"]
            .as_str()
            .unwrap_or_default()
            .trim_start()
            .to_ascii_uppercase();
        assert!(sql.starts_with("SELECT") || sql.starts_with("WITH"), "{r}");
    }
    let r = call(
        &["sql"],
        "ask_database",
        r#"{"question": "SELECT count(*) FROM books"}"#,
    );
    let s = structured(&r);
    assert_eq!(
        (s["rows"][0][0].clone(), s["decided_by"].clone()),
        (Value::from(40), Value::from("rule")),
        "{r}"
    );
    let r = call(
        &["sql"],
        "ask_database",
        r#"{"question": "DROP TABLE books"}"#,
    );
    assert_eq!(r["isError"], true, "{r}");
}

#[test]
fn triage_decides_with_rules_the_model_or_the_fallback() {
    let db = std::env::temp_dir().join(format!(
        "mcp-sampling-e2e-triage-{}.sqlite",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&db);
    let db_arg = db.to_string_lossy().into_owned();
    let server = ["triage", "--db", db_arg.as_str()];
    let r = call(
        &server,
        "triage_ticket",
        r#"{"subject": "Refund", "body": "Please refund my March invoice.", "customer": "Acme Bakery"}"#,
    );
    let s = structured(&r);
    assert!(
        ["P1", "P2", "P3", "P4"].contains(&s["priority"].as_str().unwrap_or_default()),
        "{r}"
    );
    let by = s["decided_by"].as_str().unwrap_or_default();
    assert!(
        by.starts_with("model:") || by.starts_with("fallback ("),
        "{r}"
    );
    let r = call(
        &server,
        "triage_ticket",
        r#"{"subject": "API is down", "body": "Every call returns 503.", "customer": "ops@northwind.example"}"#,
    );
    let s = structured(&r);
    assert_eq!(
        (s["priority"].clone(), s["decided_by"].clone()),
        (Value::from("P1"), Value::from("rule")),
        "{r}"
    );
    let r = call(&server, "list_tickets", "{}");
    assert_eq!(
        structured(&r)["count"],
        2,
        "kept in the --db file across runs: {r}"
    );
    let _ = std::fs::remove_file(&db);
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
