//! `mcp-sampling console`: one console for the user's other processes. A `call` with no
//! terminal finds it through the discovery file and asks there; with no console and no
//! terminal the default (deny) applies and says why; the file goes when the console stops.

use serde_json::json;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use mcp_console::testing::{answer, Events};

const LONG: &str = "One sentence here. Another one follows. A third makes the point. A fourth adds colour. \
A fifth is long enough to pass the limit for short text, which is about two hundred and eighty characters. \
A sixth sentence closes the paragraph. A seventh one is here only to make sure of the length. \
And an eighth, for good measure, ends it.";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_mcp-sampling")
}

/// `call` on summarize with the echo provider, away from any terminal, in `dir`'s
/// runtime and data directories.
fn call(dir: &Path) -> Command {
    let args = json!({"text": LONG, "sentences": 1}).to_string();
    let mut c = Command::new("setsid");
    c.arg(bin())
        .args([
            "call",
            "--provider",
            "echo",
            "--tool",
            "summarize",
            "--args",
            &args,
            "--",
            bin(),
            "serve",
            "summarize",
        ])
        .env("XDG_RUNTIME_DIR", dir.join("run"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .stdin(Stdio::null());
    c
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_ask_the_user_s_console_and_without_one_are_denied_saying_why() {
    let dir = std::env::temp_dir().join(format!("mcp-console-standalone-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);

    // No console, no terminal: denied, and the message says why.
    let o = tokio::task::spawn_blocking({
        let mut c = call(&dir);
        move || c.output().unwrap()
    })
    .await
    .unwrap();
    let (out, err) = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(err.contains("no terminal and no console to ask"), "{err}");

    // The console: it writes the discovery file and prints its URL.
    let mut console: Child = Command::new(bin())
        .arg("console")
        .env("XDG_RUNTIME_DIR", dir.join("run"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = BufReader::new(console.stderr.take().unwrap()).lines();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("console: ") {
                let _ = tx.send(url.to_owned());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the console's URL");
    let (base, token) = url.split_once("/?token=").expect("a URL with its token");
    let file = dir.join("run/mcp-sampling/console.json");
    assert!(file.exists());
    let mut events = Events::open(base, token).await;

    // A call finds it, asks there, and completes when the request and the reply are answered.
    let mut child = call(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let q = events.next("add").await;
    assert_eq!(
        (q["kind"].as_str(), q["server"].as_str()),
        (Some("request"), Some("mcp-sampling serve summarize"))
    );
    answer(
        base,
        token,
        &q["id"],
        json!({"action": "edit", "text": "Say: the remote edit arrived"}),
    )
    .await;
    let r = events.next("add").await;
    assert_eq!(r["kind"], "reply");
    answer(base, token, &r["id"], json!({"action": "send"})).await;
    let (ok, out, err) = tokio::task::spawn_blocking(move || {
        let (mut out, mut err) = (String::new(), String::new());
        let _ = child.stdout.take().unwrap().read_to_string(&mut out);
        let _ = child.stderr.take().unwrap().read_to_string(&mut err);
        (child.wait().unwrap().success(), out, err)
    })
    .await
    .unwrap();
    assert!(ok, "{err}");
    assert!(out.contains("echo: Say: the remote edit arrived"), "{out}");
    assert!(err.contains("also asked in the console at"), "{err}");

    // A process that goes away while its question waits: the question leaves the page.
    let mut child = call(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let q = events.next("add").await;
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(
        events.next("gone").await,
        json!({"id": q["id"], "why": "cancelled"})
    );

    // SIGTERM: the console stops and takes its discovery file with it.
    let pid = console.id().to_string();
    assert!(Command::new("kill").arg(&pid).status().unwrap().success());
    let status = tokio::task::spawn_blocking(move || console.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success());
    assert!(!file.exists());
    let _ = std::fs::remove_dir_all(&dir);
}
