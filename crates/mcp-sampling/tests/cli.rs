//! The `mcp-sampling` command as a user runs it: providers, approval, and clear errors.

use serde_json::Value;
use std::process::{Command, Output};

/// The binary, with its audit log kept out of the user's own data directory.
fn command() -> Command {
    let mut c = Command::new(bin());
    c.env(
        "XDG_DATA_HOME",
        std::env::temp_dir().join(format!("mcp-sampling-cli-{}", std::process::id())),
    );
    c
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_mcp-sampling")
}

const LONG: &str = "One sentence here. Another one follows. A third makes the point. A fourth adds colour. \
A fifth is long enough to pass the limit for short text, which is about two hundred and eighty characters. \
A sixth sentence closes the paragraph. A seventh one is here only to make sure of the length. \
And an eighth, for good measure, ends it.";

fn call(extra: &[&str], server: &[&str]) -> Output {
    let args = serde_json::json!({"text": LONG, "sentences": 1}).to_string();
    let mut cmd = command();
    cmd.args(["call", "--tool", "summarize", "--args", &args])
        .args(extra)
        .arg("--")
        .args(server);
    cmd.output().expect("run mcp-sampling")
}

fn ours() -> Vec<&'static str> {
    vec![bin(), "serve", "summarize"]
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn script_provider_replies_in_order() {
    let dir = std::env::temp_dir().join(format!("mcp-sampling-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("replies.jsonl");
    std::fs::write(
        &script,
        "# replies, one per line\n{\"role\":\"assistant\",\"content\":{\"type\":\"text\",\"text\":\"scripted\"},\"model\":\"s\"}\n",
    )
    .unwrap();
    for era in ["legacy", "modern"] {
        let provider = format!("script:{}", script.display());
        let o = call(
            &["--era", era, "--approve", "auto", "--provider", &provider],
            &ours(),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let r: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(r["content"][0]["text"], "scripted", "{r}");
    }
    std::fs::write(&script, "{\"role\":\"assistant\"}\n").unwrap();
    let provider = format!("script:{}", script.display());
    let o = call(&["--approve", "auto", "--provider", &provider], &ours());
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("replies.jsonl:1: not a CreateMessageResult"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn each_reply_s_figures_go_to_stderr_and_verbose_says_why_the_model() {
    let o = call(&["--approve", "auto", "--provider", "fixed:x"], &ours());
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    // An HTTP or testing provider does not time the prompt apart: only what is known.
    assert!(err.contains("sampling: reply, "), "{err}");
    assert!(err.contains("ms end to end"), "{err}");
    assert!(!err.contains("tokens/s"), "{err}");
    assert!(!err.contains("because"), "{err}");
    // Nothing drawn for a terminal when stderr is piped.
    assert!(!err.contains('\r') && !err.contains('\u{1b}'), "{err:?}");
    let o = call(
        &["--approve", "auto", "--provider", "fixed:x", "-v"],
        &ours(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("sampling: mcp-sampling serve summarize asks for a completion"),
        "{err}"
    );
    assert!(
        err.contains("sampling: model fixed:fixed, because ")
            && err.contains("(the only model configured)"),
        "{err}"
    );
    assert!(err.contains("sampling: approved by mode auto"), "{err}");
    // stdout is the result alone.
    let _: Value = serde_json::from_slice(&o.stdout).unwrap();
}

#[test]
fn deny_is_the_default_and_reaches_the_server() {
    // One report on both eras: exit status 3 and the same sentence.
    let said = "the host rejected a sampling request of this call: sampling for ";
    let o = call(&["--era", "legacy", "--provider", "fixed:x"], &ours());
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains(said), "{}", stderr(&o));
    // Legacy: the server heard of it and answered; its answer is printed.
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["isError"], true, "{r}");
    assert!(
        r["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("User rejected"),
        "{r}"
    );
    // Modern: the call ends there (the server is not asked again), nothing on stdout.
    let o = call(&["--era", "modern", "--provider", "fixed:x"], &ours());
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains(said), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
}

#[test]
fn bad_input_is_one_clear_sentence() {
    let mut cmd = command();
    let o = cmd
        .args([
            "call",
            "--tool",
            "t",
            "--args",
            "{oops",
            "--provider",
            "fixed:x",
            "--",
            "true",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--args is not valid JSON"),
        "{}",
        stderr(&o)
    );
    let o = call(&["--provider", "fixed:x"], &["/no/such/server"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("cannot start the server"),
        "{}",
        stderr(&o)
    );
    let o = call(&["--provider", "gpt:9"], &ours());
    assert!(!o.status.success());
    assert!(stderr(&o).contains("unknown provider"), "{}", stderr(&o));
    // A server that exits at once.
    let o = call(&["--provider", "fixed:x"], &["true"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("cannot connect"), "{}", stderr(&o));
}

/// The demo with the embedded model (installed by the test script): every step, the model
/// the router picked and why, and the reply's figures.
#[test]
fn demo_shows_the_route_and_each_reply_s_figures() {
    let o = command()
        .args(["demo", "--query", "red running shoes size 42"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}\n{}", stderr(&o));
    assert!(
        out.contains("↳ model local:smollm2-135m-instruct: hint \"haiku\"")
            && out.contains("(the only model configured)"),
        "{out}"
    );
    let figures = out
        .lines()
        .find(|l| l.contains(" out tokens"))
        .unwrap_or_else(|| panic!("no figures: {out}"));
    // Prompt and generation apart when the provider times them, else the latency alone.
    assert!(
        figures.contains("; prompt ") || figures.contains("ms end to end"),
        "{figures}"
    );
    assert!(out.contains("1 queries, 0 failed"), "{out}");
}

/// The demo's own five queries, with the embedded model: each lands in the right table (one
/// by rule, four by the model's choice, which the worked examples decide).
#[test]
fn the_demo_s_queries_land_in_the_right_tables() {
    let o = Command::new(bin()).args(["demo"]).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success(), "{out}\n{}", stderr(&o));
    let mut got = Vec::new();
    let mut query = None;
    for line in out.lines() {
        if let Some(q) = line.trim().strip_prefix("▶ ") {
            query = Some(q.trim_matches('"').to_string());
        } else if let Some(rest) = line.trim().strip_prefix("⇒ searched ") {
            let table = rest.split_whitespace().next().unwrap_or("").to_string();
            got.push((query.take().unwrap_or_default(), table));
        }
    }
    let want = [
        ("red running shoes size 42", "products"),
        ("where is order 10422", "orders"),
        ("how long does shipping take", "docs"),
        ("customer who lives in London", "users"),
        ("a tent for two people", "products"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(q, t)| (q.to_string(), t.to_string()))
        .collect();
    assert_eq!(got, want, "{out}");
}

/// The stdio shutdown: requests piped into `serve` and stdin closed right after are all
/// answered before it exits (they used to be dropped at the end of input).
#[test]
fn serve_answers_what_it_read_before_stdin_closed() {
    use std::io::Write;
    let mut child = Command::new(bin())
        .args(["serve", "summarize"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let list = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;
    writeln!(stdin, "{init}\n{list}").unwrap();
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let ids: Vec<i64> = out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["id"].as_i64())
        .collect();
    assert_eq!(ids.len(), 2, "{out}");
    assert!(ids.contains(&1) && ids.contains(&2), "{out}");
}

/// Messages that name what the user did: a missing script's OS error once; `mode = "ask"`
/// from a config (not `--approve ask`, which was never passed); the demo's real approval
/// mode; `audit --audit` like every other command.
#[test]
fn messages_name_what_the_user_did() {
    let o = call(
        &["--approve", "auto", "--provider", "script:nope.jsonl"],
        &ours(),
    );
    let e = stderr(&o);
    assert!(!o.status.success());
    assert_eq!(e.matches("No such file").count(), 1, "{e}");

    let dir = std::env::temp_dir().join(format!("mcp-cfg-ask-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("host.toml");
    std::fs::write(&cfg, "[approval]\nmode = \"ask\"\n").unwrap();
    let args = serde_json::json!({"text": LONG, "sentences": 1}).to_string();
    // setsid: no controlling terminal, so nobody can be asked.
    let o = Command::new("setsid")
        .arg(bin())
        .args(["call", "--tool", "summarize", "--args", &args, "--config"])
        .arg(&cfg)
        .args(["--", bin(), "serve", "summarize"])
        .env("XDG_DATA_HOME", &dir)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let e = stderr(&o);
    assert!(!o.status.success());
    assert!(
        e.contains("mode = \"ask\" in") && !e.contains("--approve ask"),
        "{e}"
    );

    let o = command()
        .args(["demo", "--approve", "deny", "--provider", "fixed:products"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("approval: deny"), "{out}");

    let o = command()
        .args(["audit", "--audit"])
        .arg(dir.join("none.db"))
        .output()
        .unwrap();
    assert!(stderr(&o).contains("pass --audit FILE"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `serve --http` with the OAuth flags: requests without a valid token get the challenge,
/// and the metadata document names the configured resource, issuer and scopes. (Tokens
/// that pass are mcp-http's tests/oauth_resource.rs, with an authorization server.)
#[test]
fn serve_with_oauth_flags_challenges_and_serves_its_metadata() {
    use std::io::BufRead;
    let mut child = command()
        .args(["serve", "summarize", "--http", "127.0.0.1:0"])
        .args(["--auth-resource", "https://mcp.example.com/mcp"])
        .args(["--auth-issuer", "http://127.0.0.1:9", "--auth-scope", "mcp"])
        .args(["--auth-tool-scope", "summarize=write"])
        .env_remove("MCP_BEARER_TOKEN")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let http = reqwest::Client::new();
    let init = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let post = |token: Option<&str>| {
        let mut r = http
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(init.to_string());
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let metadata = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";
    rt.block_on(async {
        let r = post(None).await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(
            r.headers()["www-authenticate"],
            format!("Bearer scope=\"mcp\", resource_metadata=\"{metadata}\"").as_str()
        );
        let r = post(Some("not-a-jwt")).await.unwrap();
        assert_eq!(r.status(), 401);
        let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(
            challenge.starts_with("Bearer error=\"invalid_token\""),
            "{challenge}"
        );
        let doc = url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp");
        let doc: Value =
            serde_json::from_slice(&http.get(doc).send().await.unwrap().bytes().await.unwrap())
                .unwrap();
        assert_eq!(doc["resource"], "https://mcp.example.com/mcp");
        assert_eq!(
            doc["authorization_servers"],
            serde_json::json!(["http://127.0.0.1:9"])
        );
        assert_eq!(doc["scopes_supported"], serde_json::json!(["mcp"]));
        assert_eq!(doc["resource_name"], "mcp-sampling summarize");
    });
    let _ = child.kill();
    let _ = child.wait();
}
