//! The web console in a real browser: Debian's headless Chromium, driven over WebDriver
//! (chromedriver). A tool call through `call --console` (and one of the TypeScript client
//! through `bridge --console`) waits for the person; the page shows
//! the request; approve lets it complete, an edit reaches the model (the `echo` provider
//! answers with the prompt it got), a reject reaches the server as the user-rejected error.
//! Screenshots of the pending request and of the audit page go to
//! `<target dir>/console-screenshots/`. Without chromium and chromedriver the test fails
//! (scripts/test.sh installs them).

use base64::Engine;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const LONG: &str = "One sentence here. Another one follows. A third makes the point. A fourth adds colour. \
A fifth is long enough to pass the limit for short text, which is about two hundred and eighty characters. \
A sixth sentence closes the paragraph. A seventh one is here only to make sure of the length. \
And an eighth, for good measure, ends it.";

/// The W3C name of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_mcp-sampling")
}

fn screenshots() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(&tmp).join("console-screenshots")
}

/// chromedriver, killed when dropped.
struct Driver {
    child: Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

impl Driver {
    async fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is not installed: apt-get install chromium chromium-driver (scripts/test.sh does)");
        // Wait for its "started successfully" line.
        let out = child.stdout.take().expect("chromedriver's stdout");
        let mut lines = BufReader::new(out).lines();
        let ready = lines
            .by_ref()
            .map_while(Result::ok)
            .any(|l| l.contains("started successfully"));
        assert!(ready, "chromedriver did not start");
        std::thread::spawn(move || lines.for_each(drop));
        let mut d = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            http: reqwest::Client::new(),
        };
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1100"]
        }}}});
        let s = d.call("POST", "/session", Some(caps)).await;
        d.session = s["sessionId"]
            .as_str()
            .expect("a WebDriver session (is chromium installed?)")
            .to_owned();
        // Finding an element waits up to this long for it to appear.
        d.cmd("POST", "/timeouts", Some(json!({"implicit": 30_000})))
            .await;
        d
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let req = match method {
            "POST" => self
                .http
                .post(&url)
                .header("content-type", "application/json")
                .body(body.unwrap_or(json!({})).to_string()),
            "DELETE" => self.http.delete(&url),
            _ => self.http.get(&url),
        };
        let r = req.send().await.expect("chromedriver answers");
        let status = r.status();
        let v: Value =
            serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path}: {status} {v}");
        v["value"].clone()
    }

    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
            .await
    }

    async fn open(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url }))).await;
    }

    /// The element `css` selects, once it is on the page.
    async fn find(&self, css: &str) -> String {
        let v = self
            .cmd(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_owned()
    }

    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd("POST", &format!("/element/{e}/click"), None).await;
    }

    async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.cmd("GET", &format!("/element/{e}/text"), None)
            .await
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.cmd("POST", &format!("/element/{e}/clear"), None).await;
        self.cmd(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn screenshot(&self, name: &str) -> PathBuf {
        let b64 = self.cmd("GET", "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or(""))
            .expect("a PNG");
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        let dir = screenshots();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, png).unwrap();
        path
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `mcp-sampling call --console` on summarize, with the echo provider, away from any
/// terminal (setsid): the console alone reviews. Returns the process and the console's URL.
fn call(data: &std::path::Path) -> (Child, String, mpsc::Receiver<String>) {
    call_with(
        data,
        "summarize",
        json!({"text": LONG, "sentences": 1}),
        "summarize",
    )
}

/// [`call`] of `tool` with `args` on the built-in `server`.
fn call_with(
    data: &std::path::Path,
    tool: &str,
    args: Value,
    server: &str,
) -> (Child, String, mpsc::Receiver<String>) {
    let args = args.to_string();
    let child = Command::new("setsid")
        .arg(bin())
        .args([
            "call",
            "--console",
            "--provider",
            "echo",
            "--tool",
            tool,
            "--args",
            &args,
            "--",
            bin(),
            "serve",
            server,
        ])
        .env("XDG_DATA_HOME", data)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mcp-sampling");
    with_console_url(child)
}

/// The official TypeScript client, declaring no sampling, calling summarize through
/// `mcp-sampling bridge --console` (away from any terminal): the bridge's console reviews.
fn bridged_call(data: &std::path::Path) -> (Child, String, mpsc::Receiver<String>) {
    let client =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/node/client.mjs");
    assert!(
        client.exists(),
        "the TypeScript peer is not installed: run tests/peers/install.sh"
    );
    let args = json!({"text": LONG, "sentences": 1}).to_string();
    let child = Command::new("node")
        .arg(client)
        .args([
            "--no-sampling",
            "--tool",
            "summarize",
            "--args",
            &args,
            "--",
        ])
        .args([
            "setsid",
            bin(),
            "bridge",
            "--console",
            "--provider",
            "echo",
            "--",
        ])
        .args([bin(), "serve", "summarize"])
        .env("XDG_DATA_HOME", data)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the TypeScript client");
    with_console_url(child)
}

/// Reads the console's URL from the child's stderr (the rest is kept for the end).
fn with_console_url(mut child: Child) -> (Child, String, mpsc::Receiver<String>) {
    let err = child.stderr.take().expect("stderr");
    let (url_tx, url_rx) = mpsc::channel();
    let (rest_tx, rest_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("console: ") {
                let _ = url_tx.send(url.to_owned());
            }
            all.push_str(&line);
            all.push('\n');
        }
        let _ = rest_tx.send(all);
    });
    let url = url_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the console's URL on stderr");
    (child, url, rest_rx)
}

/// Waits for the call to end: (success, stdout, stderr).
fn finish(mut child: Child, stderr: mpsc::Receiver<String>) -> (bool, String, String) {
    let mut out = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut out);
    }
    let ok = child.wait().map(|s| s.success()).unwrap_or(false);
    (ok, out, stderr.recv().unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_approves_edits_and_rejects_in_the_browser() {
    let data = std::env::temp_dir().join(format!("mcp-console-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let d = Driver::start().await;

    // Approve: the request is shown, then its reply, sent as it is.
    let (child, url, err) = call(&data);
    d.open(&url).await;
    let head = d.text("article[data-kind=request] .card-head").await;
    // A bare command is known by its command line, and the name it claims is shown beside.
    assert!(
        head.contains(
            "mcp-sampling serve summarize (calls itself summarize) asks for a completion"
        ),
        "{head}"
    );
    let body = d.text("article[data-kind=request] .card-body").await;
    assert!(
        body.contains("Summarize the following text") && body.contains("echo:echo"),
        "{body}"
    );
    let shot = d.screenshot("pending-request.png").await;
    d.click("article[data-kind=request] [data-testid=approve]")
        .await;
    let reply = d.text("article[data-kind=reply] .card-body").await;
    assert!(
        reply.contains("echo: Summarize the following text"),
        "{reply}"
    );
    let cards = d
        .cmd(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": "article.card"})),
        )
        .await;
    assert_eq!(
        cards.as_array().map(Vec::len),
        Some(1),
        "the answered request left the page"
    );
    d.screenshot("pending-reply.png").await;
    d.click("article[data-kind=reply] [data-testid=send]").await;
    let (ok, out, e) = finish(child, err);
    assert!(ok, "{e}");
    assert!(out.contains("echo: Summarize the following text"), "{out}");

    // Through the bridge: a host without sampling (the TypeScript client) waits while the
    // bridge's console shows its server's request; approve and send complete the call.
    let (child, url, err) = bridged_call(&data);
    d.open(&url).await;
    let head = d.text("article[data-kind=request] .card-head").await;
    assert!(head.contains("asks for a completion"), "{head}");
    d.screenshot("bridged-request.png").await;
    d.click("article[data-kind=request] [data-testid=approve]")
        .await;
    d.click("article[data-kind=reply] [data-testid=send]").await;
    let (ok, out, e) = finish(child, err);
    assert!(ok, "{e}");
    let out: Value = serde_json::from_str(out.trim()).unwrap_or_default();
    assert_eq!(out["samplingRequests"], 0, "{out}");
    let text = out["result"]["content"][0]["text"].as_str().unwrap_or("");
    assert!(text.contains("echo: Summarize the following text"), "{out}");

    // Reject, with a reason: the server gets the user-rejected error.
    let (child, url, err) = call(&data);
    d.open(&url).await;
    d.click("article[data-kind=request] [data-testid=reject]")
        .await;
    d.type_into("[data-testid=reject-reason]", "not this one")
        .await;
    d.click("[data-testid=reject-confirm]").await;
    let (ok, out, e) = finish(child, err);
    assert!(!ok, "{out}");
    assert!(
        e.contains("the host rejected a sampling request of this call: not this one"),
        "{e}"
    );

    // Edit the prompt: the model gets the edited text. Meanwhile, the audit page.
    let (child, url, err) = call(&data);
    d.open(&url).await;
    d.find("article[data-kind=request] [data-testid=approve]")
        .await;
    d.click("#tab-audit").await;
    // Three requests so far: approved, approved through the bridge, rejected.
    d.find("body[data-audit-loaded='3'] #chart svg rect").await;
    let rows = d.text("#rows").await;
    assert!(
        rows.contains("approved") && rows.contains("rejected"),
        "{rows}"
    );
    let audit_shot = d.screenshot("audit.png").await;
    d.click("#tab-pending").await;
    d.click("article[data-kind=request] [data-testid=edit]")
        .await;
    d.type_into(
        "[data-testid=edit-text]",
        "Say only: the edited prompt arrived",
    )
    .await;
    d.click("[data-testid=approve-edited]").await;
    d.click("article[data-kind=reply] [data-testid=send]").await;
    let (ok, out, e) = finish(child, err);
    assert!(ok, "{e}");
    assert!(
        out.contains("echo: Say only: the edited prompt arrived"),
        "{out}"
    );

    // A server's form: an incomplete answer is asked again, saying what is missing; then
    // the values reach the server.
    let (child, url, err) = call_with(
        &data,
        "book_table",
        json!({"restaurant": "Chez Test"}),
        "elicit-demo",
    );
    d.open(&url).await;
    let form = d.text("article[data-kind=form] .card-body").await;
    assert!(
        form.contains("Book a table at Chez Test") && form.contains("Guests"),
        "{form}"
    );
    let form_shot = d.screenshot("form.png").await;
    d.click("article[data-kind=form] [data-testid=form-submit]")
        .await;
    let error = d.text("[data-testid=form-error]").await;
    assert!(error.contains("name"), "{error}");
    d.screenshot("form-error.png").await;
    d.type_into("[data-testid=field-name]", "Ann").await;
    let set_date = "document.querySelector('[data-testid=field-date]').value = '2026-12-24'";
    d.cmd(
        "POST",
        "/execute/sync",
        Some(json!({"script": set_date, "args": []})),
    )
    .await;
    d.click("article[data-kind=form] [data-testid=form-submit]")
        .await;
    let (ok, out, e) = finish(child, err);
    assert!(ok, "{e}");
    let result: Value = serde_json::from_str(out.trim()).unwrap_or_default();
    let booked = serde_json::from_str::<Value>(result["content"][0]["text"].as_str().unwrap_or(""))
        .unwrap_or_default();
    assert_eq!(
        booked["booked"],
        json!({"name": "Ann", "date": "2026-12-24", "guests": 2, "seating": "indoor"}),
        "{out}"
    );

    d.cmd("DELETE", "", None).await;
    eprintln!("form screenshot: {}", form_shot.display());
    eprintln!(
        "screenshots: {} and {}",
        shot.display(),
        audit_shot.display()
    );
    let _ = std::fs::remove_dir_all(&data);
}
