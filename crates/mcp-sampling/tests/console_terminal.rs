//! The terminal and the web console together (`call --console` at a terminal): whichever
//! answers first wins, and the other says so. Here the console approves the request (the
//! terminal prints "answered in the console"), then the terminal sends the reply (the page's
//! question goes away as "answered in the terminal").

use serde_json::json;
use std::io::Read;
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

use mcp_console::testing::{answer, Events};

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
    // What the terminal shows, as it comes (drive.py's DRIVE_TEE): the console's URL, then
    // the request's prompt (its last line has no newline: read bytes, not lines).
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut err, mut seen, mut buf) = (err, String::new(), [0u8; 4096]);
        let (mut url_sent, mut prompt_sent) = (false, false);
        while let Ok(n @ 1..) = err.read(&mut buf) {
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            if !url_sent {
                let url = seen
                    .split_once("console: http://")
                    .and_then(|(_, rest)| rest.split_once('\n'));
                if let Some((url, _)) = url {
                    url_sent = tx.send(format!("http://{}", url.trim())).is_ok();
                }
            }
            if url_sent && !prompt_sent && seen.contains("[t]rust this server") {
                prompt_sent = tx.send("prompt".to_owned()).is_ok();
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the console's URL");
    let (base, token) = url.split_once("/?token=").expect("a URL with its token");
    // The console answers once the terminal shows the question (else the terminal never
    // shows it, and has nothing to say).
    let shown = rx.recv_timeout(Duration::from_secs(60));
    assert_eq!(shown.as_deref(), Ok("prompt"));
    let mut events = Events::open(base, token).await;
    let q = events.next("add").await;
    assert_eq!(q["kind"], "request");
    answer(base, token, &q["id"], json!({"action": "approve"})).await;
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
