//! A scripted HTTP/1.1 server for the HTTP transport tests: raw TCP, one request per
//! connection (`Connection: close`), answers chosen by the test's async function. A streamed
//! body is sent chunk by chunk as the test produces it and cut when the test drops its
//! sender; the server notices when the client closes such a stream.

#![allow(dead_code)]

use mcp_rpc::BoxFuture;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    /// Lower-cased names.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The JSON-RPC method of the body, if any.
    pub fn rpc_method(&self) -> Option<String> {
        self.json()
            .get("method")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
}

/// A body: whole, or streamed (the stream ends when the sender is dropped). `closed` is told
/// when the client closes the connection while the stream is open.
pub enum Body {
    Bytes(Vec<u8>),
    Stream {
        chunks: mpsc::UnboundedReceiver<Vec<u8>>,
        closed: Option<tokio::sync::oneshot::Sender<()>>,
    },
}

/// An answer.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Reply {
    pub fn json(value: &Value) -> Reply {
        Reply {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Body::Bytes(value.to_string().into_bytes()),
        }
    }

    pub fn status(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: Body::Bytes(body.as_bytes().to_vec()),
        }
    }

    pub fn accepted() -> Reply {
        Reply {
            status: 202,
            headers: Vec::new(),
            body: Body::Bytes(Vec::new()),
        }
    }

    /// An event stream fed through the returned sender.
    pub fn sse() -> (Reply, mpsc::UnboundedSender<Vec<u8>>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let reply = Reply {
            status: 200,
            headers: vec![("Content-Type".into(), "text/event-stream".into())],
            body: Body::Stream {
                chunks: rx,
                closed: None,
            },
        };
        (reply, tx)
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// An SSE event carrying `message` (with an id if given).
pub fn event(id: Option<&str>, message: &Value) -> Vec<u8> {
    let mut s = String::new();
    if let Some(id) = id {
        s.push_str(&format!("id: {id}\n"));
    }
    s.push_str(&format!("data: {message}\n\n"));
    s.into_bytes()
}

pub type Script = Arc<dyn Fn(Req) -> BoxFuture<Reply> + Send + Sync>;

/// A running scripted server: its URL and every request it saw.
pub struct Scripted {
    pub url: String,
    pub log: Arc<Mutex<Vec<Req>>>,
    /// How many requests were logged so far (changes with each).
    arrived: watch::Receiver<usize>,
}

impl Scripted {
    pub async fn start(script: Script) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/mcp", listener.local_addr().expect("addr"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let log2 = log.clone();
        let (arrived_tx, arrived) = watch::channel(0);
        let arrived_tx = Arc::new(arrived_tx);
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let script = script.clone();
                let log = log2.clone();
                let arrived = arrived_tx.clone();
                tokio::spawn(async move { serve(conn, script, log, arrived).await });
            }
        });
        Scripted { url, log, arrived }
    }

    /// Waits for the first request whose JSON-RPC method is `method` (panics after 10 s).
    pub async fn wait_for(&self, method: &str) -> Req {
        let mut arrived = self.arrived.clone();
        let found = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Some(r) = self.calls(method).into_iter().next() {
                    return r;
                }
                arrived.changed().await.expect("the server is gone");
            }
        });
        found
            .await
            .unwrap_or_else(|_| panic!("no {method} request within 10 s"))
    }

    pub fn requests(&self) -> Vec<Req> {
        self.log.lock().unwrap().clone()
    }

    /// The requests whose JSON-RPC method is `method`.
    pub fn calls(&self, method: &str) -> Vec<Req> {
        self.requests()
            .into_iter()
            .filter(|r| r.rpc_method().as_deref() == Some(method))
            .collect()
    }
}

async fn read_request(conn: &mut TcpStream) -> Option<Req> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let method = lines.next()?.split(' ').next()?.to_owned();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Req {
        method,
        headers,
        body,
    })
}

async fn serve(
    mut conn: TcpStream,
    script: Script,
    log: Arc<Mutex<Vec<Req>>>,
    arrived: Arc<watch::Sender<usize>>,
) {
    let Some(req) = read_request(&mut conn).await else {
        return;
    };
    log.lock().unwrap().push(req.clone());
    arrived.send_modify(|n| *n += 1);
    let reply = script(req).await;
    let mut head = format!(
        "HTTP/1.1 {} Scripted\r\nConnection: close\r\n",
        reply.status
    );
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    match reply.body {
        Body::Bytes(b) => {
            head.push_str(&format!("Content-Length: {}\r\n\r\n", b.len()));
            let _ = conn.write_all(head.as_bytes()).await;
            let _ = conn.write_all(&b).await;
        }
        Body::Stream {
            mut chunks,
            mut closed,
        } => {
            head.push_str("\r\n");
            if conn.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let mut probe = [0u8; 64];
            loop {
                tokio::select! {
                    c = chunks.recv() => match c {
                        Some(c) => {
                            if conn.write_all(&c).await.is_err() {
                                break;
                            }
                        }
                        None => break,
                    },
                    n = conn.read(&mut probe) => {
                        if matches!(n, Ok(0) | Err(_)) {
                            if let Some(tx) = closed.take() {
                                let _ = tx.send(());
                            }
                            break;
                        }
                    }
                }
            }
        }
    }
    let _ = conn.shutdown().await;
}

/// A stream reply that reports when the client closes it.
pub fn sse_watched() -> (
    Reply,
    mpsc::UnboundedSender<Vec<u8>>,
    tokio::sync::oneshot::Receiver<()>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (ctx, crx) = tokio::sync::oneshot::channel();
    let reply = Reply {
        status: 200,
        headers: vec![("Content-Type".into(), "text/event-stream".into())],
        body: Body::Stream {
            chunks: rx,
            closed: Some(ctx),
        },
    };
    (reply, tx, crx)
}
