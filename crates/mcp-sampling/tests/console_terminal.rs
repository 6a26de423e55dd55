//! The terminal and the web console together (`call --console` at a terminal): whichever
//! answers first wins, and the other says so. Here the console approves the request (the
//! terminal prints "answered in the console"), then the terminal sends the reply (the page's
//! question goes away as "answered in the terminal").

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const LONG: &str = "One sentence here. Another one follows. A third makes the point. A fourth adds colour. \
A fifth is long enough to pass the limit for short text, which is about two hundred and eighty characters. \
A sixth sentence closes the paragraph. A seventh one is here only to make sure of the length. \
And an eighth, for good measure, ends it.";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_mcp-sampling")
}

/// The console's event stream, read event by event.
struct Events(reqwest::Response, String);

impl Events {
    /// The next event named `name` (others are skipped), as JSON.
    async fn next(&mut self, name: &str) -> Value {
        loop {
            while let Some(end) = self.1.find("\n\n") {
                let block: String = self.1.drain(..end + 2).collect();
                let mut event = "message";
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(e) = line.strip_prefix("event: ") {
                        event = e;
                    } else if let Some(d) = line.strip_prefix("data: ") {
                        data.push_str(d);
                    }
                }
                if event == name {
                    return serde_json::from_str(&data).unwrap();
                }
            }
            let chunk = self.0.chunk().await.unwrap().expect("the stream ended");
            self.1.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_answer_wins_and_the_other_side_is_told() {
    let dir = std::env::temp_dir().join(format!("mcp-console-tty-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/pty/drive.py");
    let args = json!({"text": LONG, "sentences": 1}).to_string();
    let steps = json!([["answered in the console", ""], ["[s]end", "s"]]);
    let mut child = Command::new("python3")
        .arg(&script)
        .arg(steps.to_string())
        .args([
            "--",
            bin(),
            "call",
            "--console",
            "--provider",
            "echo",
            "--tool",
            "summarize",
            "--args",
            &args,
        ])
        .arg("--audit")
        .arg(dir.join("audit.db"))
        .args(["--", bin(), "serve", "summarize"])
        .env("DRIVE_TEE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 drives the terminal");
    let err = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if let Some(at) = line.find("console: http://") {
                let url: String = line[at..].trim_start_matches("console: ").trim().to_owned();
                let _ = tx.send(url);
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the console's URL");
    let (base, token) = url.split_once("/?token=").expect("a URL with its token");
    let events = reqwest::get(format!("{base}/api/events?token={token}"))
        .await
        .unwrap();
    let mut events = Events(events, String::new());
    let q = events.next("add").await;
    assert_eq!(q["kind"], "request");
    let approve = reqwest::Client::new()
        .post(format!("{base}/api/pending/{}", q["id"]))
        .header("x-console-token", token)
        .header("content-type", "application/json")
        .body(json!({"action": "approve"}).to_string())
        .send()
        .await
        .unwrap();
    assert!(approve.status().is_success());
    let gone = events.next("gone").await;
    assert_eq!(gone, json!({"id": q["id"], "why": "answered"}));
    let reply = events.next("add").await;
    assert_eq!(reply["kind"], "reply");
    let gone = events.next("gone").await;
    assert_eq!(
        gone,
        json!({"id": reply["id"], "why": "answered in the terminal"})
    );
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    // drive.py marks what it waited for as <...>.
    assert!(screen.contains("<answered in the console>"), "{screen}");
    assert!(screen.contains("(press Enter to go on)"), "{screen}");
    assert!(
        screen.contains("echo: Summarize the following text"),
        "{screen}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
