//! The host pipeline end to end through `mcp-sampling call`: policy refusals, budgets that
//! survive a restart, approval (in a real terminal), and the audit rows of all of it.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_mcp-sampling")
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mcp-pipeline-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const LONG: &str = "Sampling lets a server borrow the client's model. The client decides which model answers. \
A person may review every request. Budgets keep costs in check. Rate limits stop runaway loops. \
The audit log records every decision. Nothing reaches the model without the host's consent. That is the point.";

fn call(
    dir: &Path,
    config: &str,
    provider: &str,
    tool: &str,
    args: &str,
    server: &[&str],
) -> Output {
    let cfg = dir.join("host.toml");
    std::fs::write(&cfg, config).unwrap();
    Command::new(bin())
        .args([
            "call",
            "--era",
            "legacy",
            "--provider",
            provider,
            "--tool",
            tool,
            "--args",
            args,
        ])
        .arg("--config")
        .arg(&cfg)
        .arg("--audit")
        .arg(dir.join("audit.db"))
        .args(server)
        .output()
        .unwrap()
}

/// The tool's result: `call` printed it, and ended with 0, or with 3 when the host rejected
/// a sampling request (the legacy server answered anyway).
fn result(o: &Output) -> Value {
    let stderr = String::from_utf8_lossy(&o.stderr);
    let rejected = stderr.contains("the host rejected a sampling request of this call");
    assert_eq!(
        o.status.code(),
        Some(if rejected { 3 } else { 0 }),
        "stderr: {stderr}"
    );
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

fn audit(dir: &Path) -> Vec<Value> {
    let o = Command::new(bin())
        .args(["audit", "--json", "--audit"])
        .arg(dir.join("audit.db"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn text(r: &Value) -> String {
    r["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn the_rate_limit_refuses_the_excess() {
    let dir = scratch("rate");
    let cfg = "[approval]\nmode = \"auto\"\n[policy.servers.bench]\nrequests_per_minute = 60\nburst = 2\n";
    let r = result(&call(
        &dir,
        cfg,
        "fixed:ok",
        "bench_sampling",
        r#"{"n":3,"concurrency":1}"#,
        &["--name", "bench", "--", bin(), "serve", "bench"],
    ));
    assert_eq!(r["isError"], true, "{r}");
    assert!(
        text(&r).contains("rate limit of 60 requests per minute (burst 2) exceeded"),
        "{r}"
    );
    let rows = audit(&dir);
    let decisions: Vec<&str> = rows
        .iter()
        .map(|r| r["decision"].as_str().unwrap())
        .collect();
    assert_eq!(decisions, ["approved", "approved", "refused"], "{rows:?}");
    assert_eq!(rows[2]["decided_by"], "policy");
    assert_eq!(rows[0]["model"], "fixed:fixed");
    assert!(rows[0]["tokens_in"].as_i64().unwrap() > 0);
}

/// Each `call` is its own process; the rate limit is counted in the audit log they share.
#[test]
fn a_rate_limit_holds_across_processes() {
    let dir = scratch("rate-processes");
    let cfg = "[approval]\nmode = \"auto\"\n[policy.servers.summarize]\nrequests_per_minute = 2\n";
    let args = serde_json::json!({"text": LONG, "sentences": 1}).to_string();
    let server = ["--name", "summarize", "--", bin(), "serve", "summarize"];
    let run = || result(&call(&dir, cfg, "fixed:ok", "summarize", &args, &server));
    assert_eq!(text(&run()), "ok");
    assert_eq!(text(&run()), "ok");
    let third = run();
    assert_eq!(third["isError"], true, "{third}");
    assert!(
        text(&third).contains("rate limit of 2 requests per minute (burst 2) exceeded"),
        "{third}"
    );
}

/// A request that could overspend the budget is refused before it is sent: nothing is spent.
#[test]
fn a_budget_is_never_overspent() {
    let dir = scratch("overspend");
    let cfg = "[approval]\nmode = \"auto\"\n[policy.servers.summarize]\ndaily_token_budget = 100\n";
    let args = serde_json::json!({"text": LONG, "sentences": 1}).to_string();
    let server = ["--name", "summarize", "--", bin(), "serve", "summarize"];
    let r = result(&call(&dir, cfg, "fixed:ok", "summarize", &args, &server));
    assert!(
        text(&r).contains("daily token budget of 100: this request may use up to 501 tokens (its prompt and maxTokens), and 0 are used or reserved today"),
        "{r}"
    );
    let rows = audit(&dir);
    assert_eq!(
        (rows.len(), rows[0]["decision"].as_str()),
        (1, Some("refused"))
    );
    assert_eq!(
        (
            rows[0]["tokens_in"].as_i64(),
            rows[0]["tokens_out"].as_i64()
        ),
        (Some(0), Some(0))
    );
}

#[test]
fn a_daily_budget_survives_a_restart() {
    let dir = scratch("budget");
    // The request may use up to 501 tokens (441 for its prompt, 60 of maxTokens), and uses
    // about 100: one fits in 550, a second does not.
    let cfg = "[approval]\nmode = \"auto\"\n[policy.servers.summarize]\ndaily_token_budget = 550\n";
    let args = serde_json::json!({"text": LONG, "sentences": 1}).to_string();
    let server = ["--name", "summarize", "--", bin(), "serve", "summarize"];
    let first = result(&call(
        &dir,
        cfg,
        "fixed:A summary.",
        "summarize",
        &args,
        &server,
    ));
    assert_eq!(text(&first), "A summary.", "{first}");
    // A new process, the same database: today's usage is remembered.
    let second = result(&call(
        &dir,
        cfg,
        "fixed:A summary.",
        "summarize",
        &args,
        &server,
    ));
    assert_eq!(second["isError"], true, "{second}");
    assert!(
        text(&second).contains("daily token budget of 550: this request may use up to 501 tokens"),
        "{second}"
    );
    let rows = audit(&dir);
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0]["decision"].as_str(), rows[1]["decision"].as_str()),
        (Some("approved"), Some("refused"))
    );
    assert!(rows[1]["outcome"]
        .as_str()
        .unwrap()
        .contains("daily token budget"));
}

#[test]
fn deny_reaches_the_server_as_user_rejection_and_is_audited() {
    let dir = scratch("deny");
    let args = serde_json::json!({"text": LONG, "sentences": 1}).to_string();
    let r = result(&call(
        &dir,
        "[approval]\nmode = \"deny\"\n",
        "fixed:x",
        "summarize",
        &args,
        &["--", bin(), "serve", "summarize"],
    ));
    assert!(text(&r).contains("User rejected sampling request"), "{r}");
    let rows = audit(&dir);
    assert_eq!(
        (rows[0]["decision"].as_str(), rows[0]["decided_by"].as_str()),
        (Some("rejected"), Some("mode deny"))
    );
    assert_eq!(
        rows[0]["model"], "fixed:fixed",
        "routed before the decision, so the person sees the model"
    );
    assert_eq!(
        rows[0]["prompt"],
        Value::Null,
        "prompts are not kept by default"
    );
    assert_eq!(rows[0]["prompt_sha256"].as_str().unwrap().len(), 64);
}

fn drive(dir: &Path, steps: Value, provider: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/pty/drive.py");
    let args = serde_json::json!({"text": LONG, "sentences": 1}).to_string();
    let o = Command::new("python3")
        .arg(&script)
        .arg(steps.to_string())
        .args([
            "--",
            bin(),
            "call",
            "--era",
            "modern",
            "--provider",
            provider,
            "--tool",
            "summarize",
            "--args",
            &args,
            "--audit",
        ])
        .arg(dir.join("audit.db"))
        .args(["--", bin(), "serve", "summarize"])
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.code().is_some(), "{screen}");
    screen
}

#[test]
fn the_terminal_review_approves_edits_and_rejects() {
    let dir = scratch("pty");
    // Approve the request, then send the reply.
    let screen = drive(
        &dir,
        serde_json::json!([["[t]rust", "a"], ["[s]end", "s"]]),
        "echo",
    );
    // A bare command is known by its command line; the name the server claims is flagged.
    assert!(
        screen.contains("sampling request from server \"mcp-sampling serve summarize\""),
        "{screen}"
    );
    assert!(
        screen.contains("│ ⚠ the server calls itself \"summarize\", but is configured as \"mcp-sampling serve summarize\""),
        "{screen}"
    );
    assert!(
        screen.contains("system: You write faithful, concise summaries."),
        "{screen}"
    );
    assert!(
        screen.contains("maxTokens: 60   routed to: echo:echo"),
        "{screen}"
    );
    assert!(
        screen.contains("\"text\":\"echo: Summarize the following text"),
        "{screen}"
    );
    // Edit the prompt: the edited text is what reaches the model.
    let screen = drive(
        &dir,
        serde_json::json!([
            ["[t]rust", "e"],
            ["empty line", "Say EDITED."],
            ["", ""],
            ["[s]end", "s"]
        ]),
        "echo",
    );
    assert!(
        screen.contains("\"text\":\"echo: Say EDITED.\""),
        "{screen}"
    );
    // Edit the reply.
    let screen = drive(
        &dir,
        serde_json::json!([
            ["[t]rust", "a"],
            ["[s]end", "e"],
            ["empty line", "A better reply."],
            ["", ""]
        ]),
        "echo",
    );
    assert!(screen.contains("\"text\":\"A better reply.\""), "{screen}");
    // Reject: on the modern era the call is not retried, and the command says why.
    let screen = drive(&dir, serde_json::json!([["[t]rust", "r"]]), "echo");
    assert!(screen.contains("the user rejected the request"), "{screen}");
    let rows = audit(&dir);
    let decisions: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["decision"].as_str().unwrap(),
                r["decided_by"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        decisions,
        [
            ("approved", "user"),
            ("edited", "user"),
            ("reply edited", "user"),
            ("rejected", "user")
        ]
    );
}

/// A server is known by its entry in the config, whatever it calls itself: a rule written
/// for `summarize` does not approve an entry named `imposter` that runs a server reporting
/// the name `summarize`, and the audit log names each by its entry.
#[test]
fn rules_and_the_audit_use_the_configured_name() {
    let dir = scratch("identity");
    let config = format!(
        r#"
[approval]
mode = "deny"
[[approval.rules]]
server = "summarize"
action = "auto"
[servers.summarize]
command = "{bin}"
args = ["serve", "summarize"]
[servers.imposter]
command = "{bin}"
args = ["serve", "summarize"]
"#,
        bin = bin()
    );
    let cfg = dir.join("host.toml");
    std::fs::write(&cfg, config).unwrap();
    let args = serde_json::json!({"text": LONG, "sentences": 1}).to_string();
    let run = |server: &str| {
        Command::new(bin())
            .args(["call", "--era", "legacy", "--provider", "fixed:SUMMARY"])
            .args(["--tool", "summarize", "--args", &args, "--server", server])
            .arg("--config")
            .arg(&cfg)
            .arg("--audit")
            .arg(dir.join("audit.db"))
            .output()
            .unwrap()
    };
    assert_eq!(text(&result(&run("summarize"))), "SUMMARY");
    let r = result(&run("imposter"));
    assert_eq!(r["isError"], true, "{r}");
    let rows = audit(&dir);
    let servers: Vec<&str> = rows.iter().filter_map(|r| r["server"].as_str()).collect();
    assert!(
        servers.contains(&"summarize") && servers.contains(&"imposter"),
        "{rows:?}"
    );
}

/// A `[[models]]` entry for a model the provider already lists replaces its entry: its
/// prices are the ones the audit log charges.
#[test]
fn a_models_entry_replaces_the_catalog_s() {
    let dir = scratch("models");
    let cfg = r#"
[approval]
mode = "auto"
[[models]]
provider = "fixed"
id = "fixed"
price_in = 1000.0
price_out = 2000.0
speed = 1.0
intelligence = 0.1
context = 8192
class = "small"
"#;
    let args = serde_json::json!({"text": LONG, "sentences": 1}).to_string();
    let server = ["--", bin(), "serve", "summarize"];
    let r = result(&call(&dir, cfg, "fixed:ok", "summarize", &args, &server));
    assert_eq!(text(&r), "ok");
    let row = &audit(&dir)[0];
    let (tin, tout) = (
        row["tokens_in"].as_f64().unwrap(),
        row["tokens_out"].as_f64().unwrap(),
    );
    let cost = row["cost"].as_f64().unwrap();
    assert!(cost > 0.0, "{row}");
    assert!(
        (cost - (tin * 1000.0 + tout * 2000.0) / 1e6).abs() < 1e-12,
        "{row}"
    );
}
