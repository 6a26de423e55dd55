//! A console in another process: the discovery file, and the remote reviewer's questions
//! answered, withdrawn (with why) and cut off when the console goes away.

use mcp_console::{Console, Discovery, RemoteReviewer, TOKEN_HEADER};
use mcp_host::approval::{ReplyDecision, RequestDecision, Reviewer};
use mcp_host::FirstOf;
use mcp_proto::handler::SamplingRequest;
use mcp_proto::sampling::{CreateMessageParams, CreateMessageResult};
use mcp_proto::{BoxFuture, Era, SamplingMessage};
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

fn request() -> SamplingRequest {
    SamplingRequest {
        params: CreateMessageParams::new(vec![SamplingMessage::user("Summarise: cats nap.")], 64),
        server: "summarize".into(),
        era: Era::Modern,
        protocol_version: "2026-07-28".into(),
        tool_call: None,
    }
}

/// The console's event stream, read event by event.
struct Events(reqwest::Response, String);

impl Events {
    async fn open(c: &Console) -> Events {
        let url = format!("http://{}/api/events?token={}", c.addr(), c.token());
        Events(reqwest::get(url).await.unwrap(), String::new())
    }

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

async fn answer(c: &Console, id: &Value, body: Value) {
    let r = reqwest::Client::new()
        .post(format!("http://{}/api/pending/{id}", c.addr()))
        .header(TOKEN_HEADER, c.token())
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

#[test]
fn the_discovery_file_is_private_and_removed_only_by_its_console() {
    let dir = std::env::temp_dir().join(format!("mcp-console-disc-{}", std::process::id()));
    let path = dir.join("mcp-sampling").join("console.json");
    let d = Discovery {
        addr: "127.0.0.1:9".parse().unwrap(),
        token: "t".into(),
        url: "http://127.0.0.1:9/?token=t".into(),
        pid: 42,
    };
    d.write(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(Discovery::read(&path), Some(d.clone()));
    Discovery::remove_if_ours(&path, 43);
    assert!(path.exists());
    Discovery::remove_if_ours(&path, 42);
    assert!(!path.exists());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_stale_discovery_is_not_used() {
    let c = Console::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let mut d = c.discovery();
    d.token = "wrong".into();
    assert!(RemoteReviewer::connect(&d).await.is_err());
    let addr = c.addr();
    c.shutdown().await;
    d.addr = addr;
    assert!(RemoteReviewer::connect(&d).await.is_err());
}

/// A terminal that answers when told.
struct Gate(Mutex<Option<oneshot::Receiver<RequestDecision>>>);
impl Reviewer for Gate {
    fn review_request(&self, _r: &SamplingRequest, _m: &str) -> BoxFuture<RequestDecision> {
        let rx = self.0.lock().unwrap().take();
        Box::pin(async move {
            match rx {
                Some(rx) => rx.await.unwrap_or(RequestDecision::Reject("gone".into())),
                None => std::future::pending().await,
            }
        })
    }
    fn review_reply(
        &self,
        _r: &SamplingRequest,
        _c: &CreateMessageResult,
    ) -> BoxFuture<ReplyDecision> {
        Box::pin(std::future::pending())
    }
    fn place(&self) -> &'static str {
        "the terminal"
    }
}

#[tokio::test]
async fn remote_questions_are_answered_withdrawn_and_cut_off() {
    let c = Console::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let mut events = Events::open(&c).await;
    let remote: Arc<dyn Reviewer> =
        Arc::new(RemoteReviewer::connect(&c.discovery()).await.unwrap());

    // Answered in the console: an edit comes back as the edited request.
    let (r, req) = (remote.clone(), request());
    let asked = tokio::spawn(async move { r.review_request(&req, "m").await });
    let q = events.next("add").await;
    assert_eq!(
        (q["server"].as_str(), q["model"].as_str()),
        (Some("summarize"), Some("m"))
    );
    answer(
        &c,
        &q["id"],
        json!({"action": "edit", "text": "Summarise: dogs bark."}),
    )
    .await;
    let RequestDecision::Approve(Some(p)) = asked.await.unwrap() else {
        panic!("not an edit")
    };
    assert_eq!(
        p.messages[0].content,
        mcp_proto::OneOrMany::One(mcp_proto::Content::text("Summarise: dogs bark."))
    );

    // Answered at the terminal first: the page hears where.
    let (tx, rx) = oneshot::channel();
    let both = FirstOf::new(Arc::new(Gate(Mutex::new(Some(rx)))), remote.clone());
    let asked = tokio::spawn(both.review_request(&request(), "m"));
    let id = events.next("add").await["id"].clone();
    tx.send(RequestDecision::TrustServer).unwrap();
    assert_eq!(asked.await.unwrap(), RequestDecision::TrustServer);
    assert_eq!(
        events.next("gone").await,
        json!({"id": id, "why": "answered in the terminal"})
    );

    // Cancelled here: gone there.
    let (r, req) = (remote.clone(), request());
    let asked = tokio::spawn(async move { r.review_request(&req, "m").await });
    let id = events.next("add").await["id"].clone();
    asked.abort();
    assert_eq!(
        events.next("gone").await,
        json!({"id": id, "why": "cancelled"})
    );

    // The console goes away: the question is rejected, saying so.
    let (r, req) = (remote.clone(), request());
    let asked = tokio::spawn(async move { r.review_request(&req, "m").await });
    events.next("add").await;
    c.shutdown().await;
    let RequestDecision::Reject(why) = asked.await.unwrap() else {
        panic!("not rejected")
    };
    assert!(why.contains("the console did not answer"), "{why}");
}
