//! The message-transport API: hints reach the sink untouched, and a transport failure reaches
//! the waiting request out of band, as an error no peer message can produce.

use mcp_proto::{ErrorObject, RequestId};
use mcp_rpc::{
    BoxFuture, Closed, Config, Connection, Handler, Hints, MessageSink, Request, RequestOptions,
    Route, RpcError,
};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

struct NoRequests;

impl Handler for NoRequests {
    fn request(&self, req: Request) -> BoxFuture<Result<Value, ErrorObject>> {
        Box::pin(std::future::ready(Err(ErrorObject::method_not_found(
            &req.method,
        ))))
    }
}

/// What the sink was given: each message with its hints, and the connection's hints.
#[derive(Default)]
struct Recorded {
    connection: Hints,
}

struct Sink {
    sent: mpsc::UnboundedSender<(Value, Hints)>,
    recorded: Mutex<Recorded>,
}

impl MessageSink for Sink {
    fn send(
        &self,
        message: Vec<u8>,
        _route: Route,
        hints: &[(String, String)],
    ) -> Result<(), Closed> {
        let v: Value = serde_json::from_slice(&message).map_err(|_| Closed)?;
        self.sent.send((v, hints.to_vec())).map_err(|_| Closed)
    }
    fn close(&self) {}
    fn is_closed(&self) -> bool {
        false
    }
    fn set_hints(&self, hints: Hints) {
        self.recorded.lock().unwrap().connection = hints;
    }
}

fn start() -> (
    Connection,
    mcp_rpc::Inbound,
    Arc<Sink>,
    mpsc::UnboundedReceiver<(Value, Hints)>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let sink = Arc::new(Sink {
        sent: tx,
        recorded: Mutex::default(),
    });
    let (conn, inbound) =
        Connection::start_messages(sink.clone(), Arc::new(NoRequests), Config::default());
    (conn, inbound, sink, rx)
}

fn pair(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

#[tokio::test]
async fn hints_go_to_the_sink_with_their_request_only() {
    let (conn, inbound, sink, mut rx) = start();
    let peer = conn.peer.clone();
    peer.set_transport_hints(vec![pair("a", "1")]);
    assert_eq!(
        sink.recorded.lock().unwrap().connection,
        vec![pair("a", "1")]
    );
    let opts = RequestOptions {
        hints: vec![pair("x-extra", "yes")],
        ..Default::default()
    };
    let call = tokio::spawn(async move { peer.request("m", None, opts).await });
    let (msg, hints) = rx.recv().await.expect("the request");
    assert_eq!(msg["method"], "m");
    assert_eq!(hints, vec![pair("x-extra", "yes")]);
    let answer = json!({"jsonrpc": "2.0", "id": msg["id"], "result": {"ok": true}});
    inbound.receive(answer.to_string().as_bytes());
    assert_eq!(call.await.unwrap().unwrap(), json!({"ok": true}));
    conn.peer.notify("n", None).unwrap();
    let (_, hints) = rx.recv().await.expect("the notification");
    assert!(hints.is_empty());
}

#[tokio::test]
async fn a_transport_failure_is_not_a_remote_error() {
    let (conn, inbound, _sink, mut rx) = start();
    let peer = conn.peer.clone();
    let call = tokio::spawn(async move { peer.request("m", None, Default::default()).await });
    let (msg, _) = rx.recv().await.expect("the request");
    let id: RequestId = serde_json::from_value(msg["id"].clone()).unwrap();
    assert!(inbound.fail(&id, "HTTP 502"));
    match call.await.unwrap() {
        Err(RpcError::Transport(why)) => assert_eq!(why, "HTTP 502"),
        other => panic!("{other:?}"),
    }
    assert!(!inbound.fail(&id, "again"), "nothing waits any more");
    assert_eq!(conn.peer.pending_requests(), 0);

    // The same words from the peer are the peer's error, whatever its data says.
    let peer = conn.peer.clone();
    let call = tokio::spawn(async move { peer.request("m", None, Default::default()).await });
    let (msg, _) = rx.recv().await.expect("the request");
    let forged = json!({"jsonrpc": "2.0", "id": msg["id"], "error": {
        "code": -32603, "message": "HTTP 502", "data": {"transport": "http"}}});
    inbound.receive(forged.to_string().as_bytes());
    match call.await.unwrap() {
        Err(RpcError::Remote(e)) => assert_eq!(e.data, Some(json!({"transport": "http"}))),
        other => panic!("{other:?}"),
    }
}
