//! The interactive host (`mcp-sampling host --config`) driven through its standard input: the
//! servers of the config, /tools and /call, and a chat model whose tool calls reach the servers
//! and whose servers' sampling requests go through the pipeline into the audit log.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_mcp-sampling")
}

const LONG: &str = "One sentence here. Another one follows. A third makes the point. A fourth adds colour. \
A fifth is long enough to pass the limit for short text, which is about two hundred and eighty characters. \
A sixth sentence closes the paragraph. A seventh one is here only to make sure of the length.";

fn tool_use(id: &str, name: &str) -> String {
    serde_json::json!({"role": "assistant", "model": "script", "stopReason": "toolUse",
        "content": [{"type": "tool_use", "id": id, "name": name, "input": {"text": LONG}}]})
    .to_string()
}

fn end_turn(text: &str) -> String {
    serde_json::json!({"role": "assistant", "model": "script", "stopReason": "endTurn",
        "content": {"type": "text", "text": text}})
    .to_string()
}

/// Runs the host with `input` on stdin; returns stdout and the audit rows.
fn run_host(dir: &Path, era: &str, input: &str) -> (String, Vec<Value>) {
    let config = dir.join("host.toml");
    std::fs::write(
        &config,
        format!(
            "[servers.sum]\ncommand = {:?}\nargs = [\"serve\", \"summarize\"]\n\n\
             [servers.missing]\ncommand = \"/nonexistent/server\"\n",
            bin()
        ),
    )
    .unwrap();
    let script = dir.join("chat.jsonl");
    let lines = [
        tool_use("t1", "sum__summarize"),
        end_turn("CHAT-DONE-1"),
        tool_use("t2", "nope__nothing"),
        end_turn("CHAT-DONE-2"),
    ];
    std::fs::write(&script, lines.join("\n")).unwrap();
    let audit = dir.join("audit.db");
    let mut child = Command::new(bin())
        .args([
            "host",
            "--era",
            era,
            "--approve",
            "auto",
            "--provider",
            "fixed:SUMMARY",
        ])
        .arg("--config")
        .arg(&config)
        .arg("--chat-provider")
        .arg(format!("script:{}", script.display()))
        .arg("--audit")
        .arg(&audit)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = Command::new(bin())
        .args(["audit", "--json", "--audit"])
        .arg(&audit)
        .output()
        .unwrap();
    assert!(rows.status.success());
    let rows = String::from_utf8_lossy(&rows.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (stdout, rows)
}

#[test]
fn lists_calls_and_chats_with_tools_on_both_eras() {
    for era in ["legacy", "modern"] {
        let dir = std::env::temp_dir().join(format!("mcp-host-{era}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let _ = std::fs::remove_file(dir.join("audit.db"));
        let call = format!("/call sum summarize {}", serde_json::json!({"text": LONG}));
        let input = format!(
            "/servers\n/tools\n/tools nowhere\n{call}\n/call sum\n/frobnicate\nplease summarize\nand now?\n/quit\nnever read\n"
        );
        let (out, rows) = run_host(&dir, era, &input);
        assert!(out.contains("cannot use the server missing"), "{out}");
        assert!(
            out.contains(&format!("connected to sum (1 tools, {era}")),
            "{out}"
        );
        assert!(out.contains("sum/summarize: Summarize text"), "{out}");
        // /call: the tool sampled, and the fixed provider's reply is the summary.
        assert!(
            out.contains("\nSUMMARY\n") || out.contains("> SUMMARY\n"),
            "{out}"
        );
        assert!(out.contains("usage: /call SERVER TOOL [JSON]"), "{out}");
        assert!(out.contains("unknown command /frobnicate"), "{out}");
        assert!(out.contains("no server \"nowhere\""), "{out}");
        // The chat model called the tool, then answered; an unknown tool went back to it as
        // an error result instead of stopping the host.
        assert!(out.contains("→ sum/summarize"), "{out}");
        assert!(
            out.contains("CHAT-DONE-1") && out.contains("CHAT-DONE-2"),
            "{out}"
        );
        assert!(!out.contains("never read"), "{out}");
        // Two sampling requests (the /call and the chat's tool call), both audited.
        assert_eq!(rows.len(), 2, "{rows:?}");
        for r in &rows {
            assert_eq!(r["outcome"], "ok", "{r}");
            assert_eq!(r["era"], era, "{r}");
        }
    }
}

#[test]
fn host_needs_a_config() {
    let o = Command::new(bin())
        .args(["host", "--approve", "auto"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("needs --config"));
}

/// `serve summarize --http 127.0.0.1:0`; its URL, and the child (killed by the caller).
fn http_server() -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = Command::new(bin())
        .args(["serve", "summarize", "--http", "127.0.0.1:0"])
        .stderr(Stdio::piped())
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
    (child, url)
}

#[test]
fn servers_of_the_config_may_be_http_urls() {
    let (mut server, url) = http_server();
    let dir = std::env::temp_dir().join(format!("mcp-host-url-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("host.toml");
    std::fs::write(
        &config,
        format!("[servers.web]\nurl = {url:?}\nheaders = {{ X-Caller = \"${{HOME}}\" }}\n\n[servers.both]\ncommand = \"x\"\nurl = {url:?}\n"),
    )
    .unwrap();
    let call = format!(
        "/call web summarize {}\n/quit\n",
        serde_json::json!({"text": LONG})
    );
    let mut child = Command::new(bin())
        .args([
            "host",
            "--approve",
            "auto",
            "--provider",
            "fixed:OVER-HTTP",
            "--config",
        ])
        .arg(&config)
        .arg("--audit")
        .arg(dir.join("audit.db"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(call.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("connected to web (1 tools"), "{stdout}");
    assert!(
        stdout.contains("needs either a command or a url"),
        "{stdout}"
    );
    assert!(stdout.contains("OVER-HTTP"), "{stdout}");
}

/// The embedded model (installed by `mcp-sampling model install`, as the test script does
/// first) cannot call tools: the host says so once, at the start, and chats without them.
#[test]
fn chats_with_the_embedded_model_without_tools() {
    let dir = std::env::temp_dir().join(format!("mcp-host-local-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("host.toml");
    std::fs::write(
        &config,
        format!(
            "[servers.sum]\ncommand = {:?}\nargs = [\"serve\", \"summarize\"]\n",
            bin()
        ),
    )
    .unwrap();
    let mut child = Command::new(bin())
        .env("XDG_DATA_HOME", &dir)
        .args(["host", "--approve", "auto", "--config"])
        .arg(&config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"Hello! What is the capital of France?\n/quit\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("connected to sum (1 tools"), "{stdout}");
    assert!(
        stdout.contains("chat model: local:smollm2-135m-instruct (the default)"),
        "{stdout}"
    );
    assert_eq!(
        stdout
            .matches("cannot call tools: it chats without them")
            .count(),
        1,
        "{stdout}"
    );
    assert!(!stdout.contains("error"), "{stdout}\n{stderr}");
    // The reply: what follows the first prompt, up to the next.
    let (_, after) = stdout
        .split_once("/help for commands.\n> ")
        .unwrap_or_else(|| panic!("no prompt: {stdout}"));
    let reply = after.split("\n> ").next().unwrap_or_default();
    assert!(!reply.trim().is_empty(), "no reply: {stdout}\n{stderr}");
    // No spinner when stderr is not a terminal.
    assert!(!stderr.contains("thinking"), "{stderr}");
}

/// At a terminal, a spinner on stderr shows the embedded model thinking (drawn by
/// tests/pty/drive.py's pseudo-terminal).
#[test]
fn at_a_terminal_a_spinner_shows_the_model_thinking() {
    let dir = std::env::temp_dir().join(format!("mcp-host-pty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("host.toml");
    std::fs::write(&config, "").unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/pty/drive.py");
    let steps = serde_json::json!([
        ["/help for commands.", "Hello!"],
        ["the chat model is thinking", "/quit"]
    ]);
    let o = Command::new("python3")
        .arg(&script)
        .arg(steps.to_string())
        .arg("--")
        .arg(bin())
        .args(["host", "--approve", "auto", "--config"])
        .arg(&config)
        .env("XDG_DATA_HOME", &dir)
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{screen}");
    assert!(screen.contains("chatting without tools"), "{screen}");
    assert!(!screen.contains("error"), "{screen}");
}
