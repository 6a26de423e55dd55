//! A console in another process: the discovery file, and the remote reviewer's questions
//! answered, withdrawn (with why) and cut off when the console goes away.

use mcp_console::testing::{self, Events, Gate};
use mcp_console::{Console, Discovery, RemoteReviewer};
use mcp_host::approval::{RequestDecision, Reviewer};
use mcp_host::FirstOf;
use mcp_proto::handler::SamplingRequest;
use mcp_proto::sampling::CreateMessageParams;
use mcp_proto::{Era, SamplingMessage};
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

fn request() -> SamplingRequest {
    SamplingRequest {
        params: CreateMessageParams::new(vec![SamplingMessage::user("Summarise: cats nap.")], 64),
        server: "summarize".into(),
        claims: None,
        era: Era::Modern,
        protocol_version: "2026-07-28".into(),
        tool_call: None,
    }
}

fn base(c: &Console) -> String {
    format!("http://{}", c.addr())
}

async fn answer(c: &Console, id: &Value, body: Value) {
    testing::answer(&base(c), c.token(), id, body).await
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

#[tokio::test]
async fn remote_questions_are_answered_withdrawn_and_cut_off() {
    let c = Console::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let mut events = Events::open(&base(&c), c.token()).await;
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
    let (gate, tx) = Gate::new();
    let both = FirstOf::new(Arc::new(gate), remote.clone());
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
