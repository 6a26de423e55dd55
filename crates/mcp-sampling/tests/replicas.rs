//! Modern `requestState` across replicas: two `serve --http` processes that share a secrets
//! file continue each other's calls (round one on one, round two on the other); a replica
//! with another secret refuses the state; a rotated file still opens the old states.

mod common;

use common::{bin, free_port, Listening};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

const LONG: &str = "Sampling lets a server borrow the client's model. The client decides which model answers. \
A person may review every request. Budgets keep costs in check. Rate limits stop runaway loops. \
The audit log records every decision. Nothing reaches the model without the host's consent. That is the point.";

fn replica(secrets: &Path) -> Listening {
    let port = free_port();
    let mut cmd = Command::new(bin());
    cmd.args(["serve", "summarize", "--http", &format!("127.0.0.1:{port}")])
        .arg("--state-secret-file")
        .arg(secrets);
    Listening::start(cmd, port)
}

fn call(extra: Value) -> Value {
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {"sampling": {}}
    });
    let mut params =
        json!({"name": "summarize", "arguments": {"text": LONG, "sentences": 1}, "_meta": meta});
    if let (Some(p), Value::Object(e)) = (params.as_object_mut(), extra) {
        p.extend(e);
    }
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params})
}

async fn post(url: &str, body: &Value) -> Value {
    let r = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "summarize")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
}

/// Round one on `first`: the state and the answer to its input request.
async fn round_one(first: &str) -> Value {
    let body = post(first, &call(json!({}))).await;
    let result = &body["result"];
    assert_eq!(result["resultType"], "input_required", "{body}");
    let (key, _) = result["inputRequests"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .unwrap();
    let reply = json!({"role": "assistant", "model": "m", "content": {"type": "text", "text": "A summary."}});
    json!({"inputResponses": {key.clone(): reply}, "requestState": result["requestState"]})
}

#[tokio::test]
async fn replicas_sharing_secrets_continue_each_other_s_calls() {
    let dir = std::env::temp_dir().join(format!("mcp-replicas-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let shared = dir.join("shared.secrets");
    std::fs::write(&shared, "first secret, long enough\n").unwrap();
    let other = dir.join("other.secrets");
    std::fs::write(&other, "another secret entirely\n").unwrap();
    let (a, b, c) = (replica(&shared), replica(&shared), replica(&other));

    let round_two = round_one(&a.url).await;
    let done = post(&b.url, &call(round_two.clone())).await;
    assert_eq!(done["result"]["resultType"], "complete", "{done}");
    assert_eq!(done["result"]["content"][0]["text"], "A summary.", "{done}");

    let refused = post(&c.url, &call(round_two.clone())).await;
    let why = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(
        why.contains("requestState failed verification"),
        "{refused}"
    );

    // Rotation: a new secret on top; the state sealed with the old one still opens.
    let rotated = dir.join("rotated.secrets");
    std::fs::write(
        &rotated,
        "a newer secret for sealing\nfirst secret, long enough\n",
    )
    .unwrap();
    let d = replica(&rotated);
    let done = post(&d.url, &call(round_two)).await;
    assert_eq!(done["result"]["resultType"], "complete", "{done}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_short_or_empty_secret_file_is_refused() {
    let dir = std::env::temp_dir().join(format!("mcp-replicas-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (text, said) in [("short\n", "too short"), ("\n\n", "holds no secret")] {
        let f = dir.join("bad.secrets");
        std::fs::write(&f, text).unwrap();
        let o = Command::new(bin())
            .args(["serve", "summarize", "--state-secret-file"])
            .arg(&f)
            .output()
            .unwrap();
        assert!(!o.status.success());
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains(said), "{e}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// HAProxy, round robin, no stickiness, in front of `backends`; killed when dropped.
struct Balancer {
    child: std::process::Child,
    url: String,
}

impl Balancer {
    /// `deploy/haproxy.cfg` as it is, its addresses replaced by `backends` and a free port.
    fn start(dir: &Path, backends: &[&Listening]) -> Balancer {
        let port = free_port();
        let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/haproxy.cfg");
        let mut cfg = std::fs::read_to_string(deploy).unwrap();
        cfg = cfg.replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
        assert_eq!(backends.len(), 3, "the file has three replicas");
        for (i, b) in backends.iter().enumerate() {
            let addr = b.url.trim_start_matches("http://").trim_end_matches("/mcp");
            cfg = cfg.replace(&format!("127.0.0.1:808{}", i + 1), addr);
        }
        let file = dir.join("haproxy.cfg");
        std::fs::write(&file, cfg).unwrap();
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&file)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start haproxy ({e}); scripts/test.sh installs it"));
        // Ready when its port accepts connections.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "haproxy did not listen within 10 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Balancer {
            child,
            url: format!("http://127.0.0.1:{port}/mcp"),
        }
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The modern `tools/call` POSTs a replica served, from its `/metrics`.
async fn calls_served(replica: &Listening) -> u64 {
    let url = replica.url.replace("/mcp", "/metrics");
    let text = reqwest::get(&url).await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|l| {
            l.starts_with(
                "mcp_http_requests_total{era=\"modern\",method=\"tools/call\",status=\"200\"}",
            )
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Three replicas behind a round-robin balancer without stickiness: every modern call's two
/// rounds land on different replicas, and all 30 calls complete.
#[tokio::test]
async fn modern_calls_complete_behind_a_round_robin_balancer() {
    let dir = std::env::temp_dir().join(format!("mcp-balanced-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let shared = dir.join("shared.secrets");
    std::fs::write(&shared, "the secret all replicas share\n").unwrap();
    let replicas = [replica(&shared), replica(&shared), replica(&shared)];
    let lb = Balancer::start(&dir, &replicas.iter().collect::<Vec<_>>());
    for _ in 0..30 {
        let round_two = round_one(&lb.url).await;
        let done = post(&lb.url, &call(round_two)).await;
        assert_eq!(done["result"]["content"][0]["text"], "A summary.", "{done}");
    }
    // 60 POSTs, round robin: 20 each, so no call's two rounds met the same replica.
    for r in &replicas {
        assert_eq!(calls_served(r).await, 20);
    }
    let _ = std::fs::remove_dir_all(dir);
}
