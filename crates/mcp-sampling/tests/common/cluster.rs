//! Several processes on loopback: a real `redis-server` and a real HAProxy (both installed
//! by `scripts/test.sh`; a missing one fails the test), killed when dropped.

use super::{free_port, Listening};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen within 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `redis-server` on a free port, without persistence (a restart loses everything).
pub struct Redis {
    child: Option<Child>,
    port: u16,
    /// `redis://127.0.0.1:PORT`.
    pub url: String,
}

impl Redis {
    pub fn start() -> Redis {
        let port = free_port();
        let mut r = Redis {
            child: None,
            port,
            url: format!("redis://127.0.0.1:{port}"),
        };
        r.spawn();
        r
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}); scripts/test.sh installs it")
            });
        self.child = Some(child);
        wait_for_port(self.port, "redis-server");
    }

    /// Kills it (SIGKILL: everything it held is lost).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port, empty.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A replica of a built-in server on Streamable HTTP sharing `redis` and the secrets file.
pub fn replica(name: &str, redis: &Redis, secrets: &Path) -> Listening {
    let port = free_port();
    let mut cmd = Command::new(super::bin());
    cmd.args(["serve", name, "--http", &format!("127.0.0.1:{port}")])
        .args(["--redis", &redis.url])
        .arg("--state-secret-file")
        .arg(secrets)
        .env("RUST_LOG", "mcp_http=info");
    Listening::start(cmd, port)
}

/// HAProxy, round robin, no stickiness, in front of `backends`; killed when dropped.
pub struct Balancer {
    child: std::process::Child,
    pub url: String,
}

impl Balancer {
    /// `deploy/haproxy.cfg` as it is, its addresses replaced by `backends` and a free port.
    pub fn start(dir: &Path, backends: &[&Listening]) -> Balancer {
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

/// A modern `tools/call` of `summarize` on LONG with `extra` params (a retry's).
pub const LONG: &str = "Sampling lets a server borrow the client's model. The client decides which model answers. \
A person may review every request. Budgets keep costs in check. Rate limits stop runaway loops. \
The audit log records every decision. Nothing reaches the model without the host's consent. That is the point.";

pub fn call(extra: Value) -> Value {
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

pub async fn post(url: &str, body: &Value) -> Value {
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

/// A modern round one on `first`: the state and the answer to its input request.
pub async fn round_one(first: &str) -> Value {
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
