//! The tasks extension over the wire (a raw client, modern era): a tool that runs as a task,
//! its input requests through `tasks/get` and `tasks/update`, cancellation that stops the
//! tool, expiry, the table's limit, and every kind of bad input.

use mcp_proto::clock::ManualClock;
use mcp_rpc::testing::RawPeer;
use mcp_server::{
    Args, Ctx, Sampling, Server, ServerConfig, State, TaskStart, TaskSupport, ToolError,
};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;

const EXT: &str = "io.modelcontextprotocol/tasks";

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Ask {
    q: String,
}

async fn ask(Args(a): Args<Ask>, ctx: Ctx) -> Result<String, ToolError> {
    let reply = ctx.sample(Sampling::user(a.q).max_tokens(10)).await?;
    Ok(format!(
        "answer: {} (task: {})",
        reply.text(),
        ctx.is_task()
    ))
}

async fn fails(Args(_): Args<Ask>) -> Result<String, ToolError> {
    Err(ToolError::Protocol(mcp_proto::ErrorObject::internal(
        "broken on purpose",
    )))
}

async fn panics(Args(a): Args<Ask>) -> Result<String, ToolError> {
    if a.q == "hi" {
        panic!("this tool panics on purpose");
    }
    Ok(a.q)
}

/// Says when it starts, then waits forever; says when its future is dropped.
#[derive(Clone)]
struct Events(mpsc::UnboundedSender<&'static str>);

struct DropSignal(mpsc::UnboundedSender<&'static str>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.0.send("dropped");
    }
}

async fn forever(Args(_): Args<Ask>, State(ev): State<Events>) -> Result<String, ToolError> {
    let _signal = DropSignal(ev.0.clone());
    let _ = ev.0.send("started");
    std::future::pending::<()>().await;
    Ok("never".into())
}

fn server(config: ServerConfig, events: Events) -> Server {
    Server::builder("tasks")
        .tool("ask", "Samples once (a task)", ask)
        .task_support("ask", TaskSupport::Optional, TaskStart::AtCall)
        .tool("fails", "A protocol error (only as a task)", fails)
        .task_support("fails", TaskSupport::Required, TaskStart::AtCall)
        .tool("panics", "Panics (a task)", panics)
        .task_support("panics", TaskSupport::Optional, TaskStart::AtCall)
        .tool("forever", "Never ends (a task)", forever)
        .task_support("forever", TaskSupport::Optional, TaskStart::AtCall)
        .state(events)
        .config(config)
        .build()
}

fn start(config: ServerConfig) -> (RawPeer, mpsc::UnboundedReceiver<&'static str>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (a, b) = mcp_rpc::memory();
    let s = server(config, Events(tx));
    tokio::spawn(async move { s.serve(a, std::future::pending()).await });
    (RawPeer::new(b), rx)
}

fn meta(tasks: bool) -> Value {
    let mut caps = json!({"sampling": {}});
    if tasks {
        caps["extensions"] = json!({EXT: {}});
    }
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": caps,
    })
}

/// Sends a request and returns its answer (the raw peer gets no other traffic here).
async fn rpc(p: &mut RawPeer, id: u64, method: &str, mut params: Value, tasks: bool) -> Value {
    params["_meta"] = meta(tasks);
    p.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
        .await;
    let r = p.recv().await;
    assert_eq!(r["id"], id, "{r}");
    r
}

async fn call(p: &mut RawPeer, id: u64, tool: &str, tasks: bool) -> Value {
    let params = json!({"name": tool, "arguments": {"q": "hi"}});
    rpc(p, id, "tools/call", params, tasks).await
}

/// Polls `tasks/get` (yielding between polls) until the task has status `want`.
async fn until(p: &mut RawPeer, id: &str, want: &str) -> Value {
    for n in 0..10_000 {
        let r = rpc(p, 1000 + n, "tasks/get", json!({"taskId": id}), true).await;
        if r["result"]["status"] == want {
            return r["result"].clone();
        }
        tokio::task::yield_now().await;
    }
    panic!("task {id} never reached {want}");
}

fn error_code(r: &Value) -> i64 {
    r["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("expected an error: {r}"))
}

fn expect_error(r: &Value, code: i64, needle: &str) {
    assert_eq!(error_code(r), code, "{r}");
    let message = r["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "{needle:?} not in {r}");
}

fn fast() -> ServerConfig {
    ServerConfig {
        task_poll_interval: Duration::from_millis(20),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_task_asks_for_input_and_completes() {
    let (mut p, _ev) = start(fast());
    let d = rpc(&mut p, 1, "server/discover", json!({}), true).await;
    assert!(
        d["result"]["capabilities"]["extensions"][EXT].is_object(),
        "{d}"
    );
    let list = rpc(&mut p, 2, "tools/list", json!({}), true).await;
    let ask_def = &list["result"]["tools"][0];
    assert_eq!(ask_def["name"], "ask");
    assert_eq!(ask_def["execution"]["taskSupport"], "optional", "{list}");

    let created = call(&mut p, 3, "ask", true).await["result"].clone();
    assert_eq!(created["resultType"], "task", "{created}");
    assert_eq!(created["status"], "working");
    assert_eq!(created["ttlMs"], 3_600_000);
    assert_eq!(created["pollIntervalMs"], 20);
    assert!(created.get("requestState").is_none() && created.get("content").is_none());
    let id = created["taskId"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32, "128 random bits: {id}");

    let waiting = until(&mut p, &id, "input_required").await;
    let requests = waiting["inputRequests"].as_object().unwrap();
    assert_eq!(requests.len(), 1, "{waiting}");
    let (key, req) = requests.iter().next().unwrap();
    assert_eq!(req["method"], "sampling/createMessage");
    assert_eq!(waiting["resultType"], "complete");

    let reply = json!({"role": "assistant", "content": {"type": "text", "text": "first"},
        "model": "m", "stopReason": "endTurn"});
    let update = json!({"taskId": id, "inputResponses": {key.clone(): reply}});
    let ack = rpc(&mut p, 4, "tasks/update", update, true).await;
    assert_eq!(ack["result"]["resultType"], "complete", "{ack}");
    assert!(
        ack["result"].get("status").is_none(),
        "an ack, not a task: {ack}"
    );

    // A second answer to the same request is ignored (the extension's rule), with the
    // same ack; the task keeps the first.
    let again = json!({"role": "assistant", "content": {"type": "text", "text": "second"},
        "model": "m", "stopReason": "endTurn"});
    let update = json!({"taskId": id, "inputResponses": {key.clone(): again, "never-asked": {}}});
    let ack = rpc(&mut p, 5, "tasks/update", update, true).await;
    assert_eq!(ack["result"]["resultType"], "complete", "{ack}");

    let done = until(&mut p, &id, "completed").await;
    assert_eq!(
        done["result"]["content"][0]["text"], "answer: first (task: true)",
        "{done}"
    );
    assert!(done.get("error").is_none() && done.get("inputRequests").is_none());
    // Cancelling a finished task changes nothing (and is still acknowledged).
    let ack = rpc(&mut p, 6, "tasks/cancel", json!({"taskId": id}), true).await;
    assert_eq!(ack["result"]["resultType"], "complete", "{ack}");
    assert_eq!(until(&mut p, &id, "completed").await, done);
}

#[tokio::test]
async fn a_reply_of_the_wrong_shape_is_refused_and_not_delivered() {
    let (mut p, _ev) = start(fast());
    let created = call(&mut p, 1, "ask", true).await;
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let waiting = until(&mut p, &id, "input_required").await;
    let key = waiting["inputRequests"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let bad = json!({"taskId": id, "inputResponses": {key.clone(): {"role": "assistant"}}});
    let r = rpc(&mut p, 2, "tasks/update", bad, true).await;
    expect_error(&r, -32602, &format!("inputResponses[{key:?}]"));
    let still = until(&mut p, &id, "input_required").await;
    assert!(still["inputRequests"][&key].is_object(), "{still}");
}

#[tokio::test]
async fn unknown_tasks_and_the_missing_extension() {
    let (mut p, _ev) = start(fast());
    for (n, method) in ["tasks/get", "tasks/update", "tasks/cancel"]
        .iter()
        .enumerate()
    {
        let params = json!({"taskId": "no-such-task", "inputResponses": {}});
        let id = n as u64 * 10;
        let r = rpc(&mut p, id, method, params.clone(), true).await;
        expect_error(&r, -32602, "no task \"no-such-task\"");
        // Without the extension declared: -32021 naming it, before any lookup.
        let r = rpc(&mut p, id + 1, method, params, false).await;
        expect_error(&r, -32021, EXT);
        let required = &r["error"]["data"]["requiredCapabilities"]["extensions"][EXT];
        assert!(required.is_object(), "{r}");
    }
    // The removed methods of the earlier tasks design, and malformed params.
    for method in ["tasks/result", "tasks/list"] {
        let r = rpc(&mut p, 40, method, json!({"taskId": "x"}), true).await;
        assert_eq!(error_code(&r), -32601, "{r}");
    }
    let r = rpc(&mut p, 41, "tasks/get", json!({"task": "x"}), true).await;
    expect_error(&r, -32602, "taskId");
    let r = rpc(&mut p, 42, "tasks/update", json!({"taskId": "x"}), true).await;
    expect_error(&r, -32602, "inputResponses");

    // A required-task tool without the extension: -32021; an optional one runs as a plain call
    // (here it samples: input_required, not a task).
    let r = call(&mut p, 50, "fails", false).await;
    expect_error(&r, -32021, "runs only as a task");
    let r = call(&mut p, 51, "ask", false).await;
    assert_eq!(r["result"]["resultType"], "input_required", "{r}");
    assert!(r["result"].get("taskId").is_none());
    // tools/list without the extension still shows task support (it is the tool's nature).
    let list = rpc(&mut p, 52, "tools/list", json!({}), false).await;
    assert_eq!(
        list["result"]["tools"][1]["execution"]["taskSupport"],
        "required"
    );
}

#[tokio::test]
async fn legacy_sessions_have_no_tasks() {
    let (mut p, _ev) = start(fast());
    p.send(
        json!({"jsonrpc":"2.0","id":"init","method":"initialize","params":{
        "protocolVersion":"2025-11-25","capabilities":{"sampling":{}, "extensions": {EXT: {}}},
        "clientInfo":{"name":"raw","version":"1"}}}),
    )
    .await;
    let init = p.recv().await;
    assert!(
        init["result"]["capabilities"].get("extensions").is_none(),
        "{init}"
    );
    p.send(json!({"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"taskId":"x"}}))
        .await;
    assert_eq!(error_code(&p.recv().await), -32601);
    p.send(json!({"jsonrpc":"2.0","id":2,"method":"tools/list"}))
        .await;
    let list = p.recv().await;
    assert!(
        list["result"]["tools"][0].get("execution").is_none(),
        "{list}"
    );
}

#[tokio::test]
async fn a_failed_task_carries_the_error() {
    let (mut p, _ev) = start(fast());
    let created = call(&mut p, 1, "fails", true).await;
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let failed = until(&mut p, &id, "failed").await;
    assert_eq!(failed["error"]["code"], -32603, "{failed}");
    assert_eq!(failed["statusMessage"], "broken on purpose");
    assert!(failed.get("result").is_none());
    // A panic in the tool fails its task (the server goes on).
    let created = call(&mut p, 2, "panics", true).await;
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let failed = until(&mut p, &id, "failed").await;
    assert_eq!(failed["error"]["code"], -32603, "{failed}");
    assert_eq!(failed["error"]["message"], "the tool panicked");
}

#[tokio::test]
async fn cancel_stops_the_tool() {
    let (mut p, mut ev) = start(fast());
    let created = call(&mut p, 1, "forever", true).await;
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    assert_eq!(ev.recv().await, Some("started"));
    let ack = rpc(&mut p, 2, "tasks/cancel", json!({"taskId": id}), true).await;
    assert_eq!(ack["result"]["resultType"], "complete", "{ack}");
    assert_eq!(
        ev.recv().await,
        Some("dropped"),
        "the tool's future is dropped"
    );
    let t = until(&mut p, &id, "cancelled").await;
    assert!(t.get("result").is_none() && t.get("error").is_none(), "{t}");
    let ack = rpc(&mut p, 3, "tasks/cancel", json!({"taskId": id}), true).await;
    assert_eq!(ack["result"]["resultType"], "complete", "idempotent: {ack}");
}

#[tokio::test]
async fn an_expired_task_is_stopped_and_gone() {
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let config = ServerConfig {
        task_ttl: Duration::from_secs(60),
        clock: clock.clone(),
        ..fast()
    };
    let (mut p, mut ev) = start(config);
    let created = call(&mut p, 1, "forever", true).await;
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    assert_eq!(created["result"]["ttlMs"], 60_000);
    assert_eq!(ev.recv().await, Some("started"));
    clock.advance(Duration::from_secs(59));
    until(&mut p, &id, "working").await;
    clock.advance(Duration::from_secs(1));
    let r = rpc(&mut p, 2, "tasks/get", json!({"taskId": id}), true).await;
    expect_error(&r, -32602, "has expired");
    assert_eq!(
        ev.recv().await,
        Some("dropped"),
        "an expired task is stopped"
    );
    let r = rpc(&mut p, 3, "tasks/get", json!({"taskId": id}), true).await;
    expect_error(&r, -32602, "no task");
}

#[tokio::test]
async fn the_table_is_bounded() {
    let config = ServerConfig {
        max_tasks: 1,
        ..fast()
    };
    let (mut p, mut ev) = start(config);
    let first = call(&mut p, 1, "forever", true).await;
    assert_eq!(ev.recv().await, Some("started"));
    let r = call(&mut p, 2, "forever", true).await;
    expect_error(&r, -32603, "already runs 1 tasks");
    // Once the first has ended, it makes room.
    let id = first["result"]["taskId"].as_str().unwrap().to_owned();
    rpc(&mut p, 3, "tasks/cancel", json!({"taskId": id}), true).await;
    let r = call(&mut p, 4, "forever", true).await;
    assert_eq!(r["result"]["resultType"], "task", "{r}");
}

/// Reads messages until the answer to request `id`; returns it and the notifications before it.
async fn answer_of(p: &mut RawPeer, id: u64) -> (Value, Vec<Value>) {
    let mut notes = Vec::new();
    loop {
        let m = p.recv().await;
        if m.get("method").is_some() {
            notes.push(m);
        } else {
            assert_eq!(m["id"], id, "{m}");
            return (m, notes);
        }
    }
}

fn send(id: u64, method: &str, mut params: Value, tasks: bool) -> Value {
    params["_meta"] = meta(tasks);
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

#[tokio::test]
async fn status_notifications_on_a_listen_stream() {
    let (mut p, _ev) = start(fast());
    let created = call(&mut p, 1, "ask", true).await;
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    let waiting = until(&mut p, &id, "input_required").await;
    let key = waiting["inputRequests"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();

    let filter =
        json!({"notifications": {"taskIds": [id, "no-such-task"], "toolsListChanged": true}});
    p.send(send(10, "subscriptions/listen", filter, true)).await;
    let ack = p.recv().await;
    assert_eq!(
        ack["method"], "notifications/subscriptions/acknowledged",
        "{ack}"
    );
    assert_eq!(
        ack["params"]["notifications"],
        json!({"taskIds": [id]}),
        "{ack}"
    );
    assert_eq!(
        ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        10
    );
    let first = p.recv().await;
    assert_eq!(first["method"], "notifications/tasks", "{first}");
    assert_eq!(first["params"]["status"], "input_required");
    assert!(
        first["params"]["inputRequests"][&key].is_object(),
        "{first}"
    );
    assert!(
        first["params"].get("resultType").is_none(),
        "a notification: {first}"
    );

    let reply = json!({"role": "assistant", "content": {"type": "text", "text": "hello"},
        "model": "m", "stopReason": "endTurn"});
    let update = json!({"taskId": id, "inputResponses": {key: reply}});
    p.send(send(11, "tasks/update", update, true)).await;
    let (ack, mut notes) = answer_of(&mut p, 11).await;
    assert_eq!(ack["result"]["resultType"], "complete", "{ack}");
    // The stream ends (an empty result) once the task it follows has ended.
    let (end, more) = answer_of(&mut p, 10).await;
    notes.extend(more);
    assert_eq!(end["result"]["resultType"], "complete", "{end}");
    assert_eq!(
        end["result"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        10
    );
    let last = notes.last().expect("a notification of the end");
    assert_eq!(last["params"]["status"], "completed", "{notes:?}");
    assert_eq!(
        last["params"]["result"]["content"][0]["text"],
        "answer: hello (task: true)"
    );
    for n in &notes {
        assert_eq!(n["method"], "notifications/tasks", "{n}");
        assert_eq!(
            n["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
            10
        );
    }

    // Task ids without the extension: -32021; a stream that follows nothing ends at once.
    let filter = json!({"notifications": {"taskIds": [id]}});
    let r = rpc(&mut p, 12, "subscriptions/listen", filter, false).await;
    expect_error(&r, -32021, "taskIds");
    p.send(send(
        13,
        "subscriptions/listen",
        json!({"notifications": {}}),
        true,
    ))
    .await;
    let (end, notes) = answer_of(&mut p, 13).await;
    assert_eq!(notes.len(), 1, "only the acknowledgement: {notes:?}");
    assert_eq!(notes[0]["params"]["notifications"], json!({}));
    assert_eq!(end["result"]["resultType"], "complete");
    let r = rpc(&mut p, 14, "subscriptions/listen", json!({}), true).await;
    expect_error(&r, -32602, "notifications");
}

#[tokio::test(start_paused = true)]
async fn work_past_its_ttl_is_stopped_even_unpolled() {
    let config = ServerConfig {
        task_ttl: Duration::from_secs(60),
        ..fast()
    };
    let (mut p, mut ev) = start(config);
    let created = call(&mut p, 1, "forever", true).await;
    let id = created["result"]["taskId"].as_str().unwrap().to_owned();
    assert_eq!(ev.recv().await, Some("started"));
    // Tokio's clock is paused: it jumps to the TTL's timer once everything else waits.
    assert_eq!(ev.recv().await, Some("dropped"));
    // The server's own clock (the system's) has not reached the TTL: the task is still
    // there, failed.
    let failed = until(&mut p, &id, "failed").await;
    assert!(
        failed["statusMessage"].as_str().unwrap().contains("ttlMs"),
        "{failed}"
    );
}
