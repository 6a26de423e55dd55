//! The client follows tasks (the tasks extension) of our own server, in memory: a task
//! that samples and elicits, input gathered before a task starts, a dropped call that
//! cancels its task, a call out of time, failing tasks, and clients or servers without the
//! extension.

use mcp_client::{
    AutoElicit, Client, ClientError, ClientOptions, EraChoice, SamplingError, SamplingHandler,
    SamplingRequest,
};
use mcp_proto::elicitation::{PropertySchema, PropertyType};
use mcp_proto::sampling::CreateMessageResult;
use mcp_rpc::{BoxFuture, RpcError};
use mcp_server::{
    Args, Ctx, Elicitation, Sampling, Server, ServerConfig, State, TaskStart, TaskSupport,
    ToolError,
};
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Q {
    q: String,
}

/// Two samples at once, one more, then a confirmation from the user.
async fn research(Args(a): Args<Q>, ctx: Ctx) -> Result<String, ToolError> {
    let (x, y) = tokio::join!(
        ctx.sample(Sampling::user(format!("{} one", a.q)).max_tokens(5)),
        ctx.sample(Sampling::user(format!("{} two", a.q)).max_tokens(5)),
    );
    let z = ctx
        .sample(Sampling::user(format!("{} three", a.q)).max_tokens(5))
        .await?;
    let form = Elicitation::new("Publish?").property(
        "confirm",
        PropertySchema::of(PropertyType::Boolean),
        true,
    );
    let ok = ctx.elicit(form).await?;
    let confirmed = ok.content.and_then(|c| c.get("confirm").cloned());
    Ok(format!(
        "{} {} {} confirm={} task={}",
        x?.text(),
        y?.text(),
        z.text(),
        confirmed.unwrap_or(Value::Null),
        ctx.is_task()
    ))
}

/// Asks a name in the call's own rounds, then goes on as a task that samples.
async fn named(_: Args<Map<String, Value>>, ctx: Ctx) -> Result<String, ToolError> {
    let form =
        Elicitation::new("Name?").property("name", PropertySchema::of(PropertyType::String), true);
    let r = ctx.elicit(form).await?;
    let name = r.content.and_then(|c| c.get("name").cloned());
    let became = ctx.run_as_task().await;
    let reply = ctx.sample(Sampling::user("greet").max_tokens(5)).await?;
    Ok(format!(
        "{} {} task={became}",
        reply.text(),
        name.unwrap_or(Value::Null)
    ))
}

/// Asks a name while asking to become a task: the question goes out first (in the call's
/// round), the task starts on the replay.
async fn both(_: Args<Map<String, Value>>, ctx: Ctx) -> Result<String, ToolError> {
    let form =
        Elicitation::new("Name?").property("name", PropertySchema::of(PropertyType::String), true);
    let (r, became) = tokio::join!(ctx.elicit(form), ctx.run_as_task());
    let name = r?.content.and_then(|c| c.get("name").cloned());
    Ok(format!("{} task={became}", name.unwrap_or(Value::Null)))
}

async fn broken(_: Args<Map<String, Value>>) -> Result<String, ToolError> {
    Err(ToolError::Protocol(mcp_proto::ErrorObject::internal(
        "broken on purpose",
    )))
}

async fn tool_error(_: Args<Map<String, Value>>) -> Result<String, ToolError> {
    Err(ToolError::failed("no luck"))
}

#[derive(Clone)]
struct Events(mpsc::UnboundedSender<&'static str>);

struct DropSignal(mpsc::UnboundedSender<&'static str>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.0.send("dropped");
    }
}

async fn forever(
    _: Args<Map<String, Value>>,
    State(ev): State<Events>,
) -> Result<String, ToolError> {
    let _signal = DropSignal(ev.0.clone());
    let _ = ev.0.send("started");
    std::future::pending::<()>().await;
    Ok("never".into())
}

fn task_server(events: Events) -> Server {
    use TaskStart::{AtCall, WhenHandlerAsks};
    use TaskSupport::{Optional, Required};
    Server::builder("tasks")
        .tool("research", "samples and asks", research)
        .task_support("research", Optional, AtCall)
        .tool("named", "asks, then a task", named)
        .task_support("named", Required, WhenHandlerAsks)
        .tool("both", "asks while becoming a task", both)
        .task_support("both", Required, WhenHandlerAsks)
        .tool("broken", "a protocol error", broken)
        .task_support("broken", Optional, AtCall)
        .tool("tool_error", "a tool error", tool_error)
        .task_support("tool_error", Optional, AtCall)
        .tool("forever", "never ends", forever)
        .task_support("forever", Optional, AtCall)
        .state(events)
        .config(ServerConfig {
            task_poll_interval: Duration::from_millis(20),
            ..Default::default()
        })
        .build()
}

/// Replies with the prompt upper-cased; records the requests.
#[derive(Default)]
struct Recorder(Mutex<Vec<SamplingRequest>>);

impl SamplingHandler for Recorder {
    fn create_message(
        &self,
        req: SamplingRequest,
    ) -> BoxFuture<Result<CreateMessageResult, SamplingError>> {
        let prompt = req.params.messages[0].content.as_slice()[0]
            .as_text()
            .unwrap_or("")
            .to_uppercase();
        self.0.lock().unwrap().push(req);
        Box::pin(std::future::ready(Ok(CreateMessageResult::from_text(
            "rec", prompt,
        ))))
    }
}

fn accept(values: Value) -> Option<Arc<dyn mcp_client::ElicitationHandler>> {
    Some(Arc::new(AutoElicit::Accept(
        values.as_object().unwrap().clone(),
    )))
}

async fn connect(server: Server, handler: Arc<dyn SamplingHandler>, opts: ClientOptions) -> Client {
    let (a, b) = mcp_rpc::memory();
    tokio::spawn(async move { server.serve(a, std::future::pending()).await });
    Client::connect(b, handler, opts).await.expect("connect")
}

fn opts(era: EraChoice) -> ClientOptions {
    ClientOptions {
        era,
        elicitation: accept(json!({"confirm": true, "name": "Ada"})),
        ..Default::default()
    }
}

fn events() -> (Events, mpsc::UnboundedReceiver<&'static str>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Events(tx), rx)
}

fn q(text: &str) -> Map<String, Value> {
    json!({"q": text}).as_object().unwrap().clone()
}

fn remote_code(e: &ClientError) -> i64 {
    match e {
        ClientError::Rpc(RpcError::Remote(e)) => e.code,
        other => panic!("expected the server's error, got {other}"),
    }
}

#[tokio::test]
async fn a_task_that_samples_and_asks_is_followed_to_its_result() {
    let (ev, _rx) = events();
    let rec = Arc::new(Recorder::default());
    let client = connect(task_server(ev), rec.clone(), opts(EraChoice::Modern)).await;
    assert!(mcp_proto::tasks::server_declares(
        client.server_capabilities()
    ));
    let r = client.call_tool("research", q("go")).await.unwrap();
    assert_eq!(
        r.text_content(),
        "GO ONE GO TWO GO THREE confirm=true task=true"
    );
    let seen = rec.0.lock().unwrap();
    assert_eq!(seen.len(), 3, "each request answered once");
    for s in seen.iter() {
        assert_eq!(
            s.tool_call.as_ref().map(|c| c.name.as_str()),
            Some("research")
        );
    }
}

#[tokio::test]
async fn input_before_the_task_then_the_task() {
    let (ev, _rx) = events();
    let rec = Arc::new(Recorder::default());
    let client = connect(task_server(ev), rec, opts(EraChoice::Modern)).await;
    let r = client.call_tool("named", Map::new()).await.unwrap();
    assert_eq!(r.text_content(), "GREET \"Ada\" task=true");
    let r = client.call_tool("both", Map::new()).await.unwrap();
    assert_eq!(r.text_content(), "\"Ada\" task=true");
}

#[tokio::test]
async fn dropping_the_call_cancels_the_task() {
    let (ev, mut rx) = events();
    let client = Arc::new(
        connect(
            task_server(ev),
            Arc::new(Recorder::default()),
            opts(EraChoice::Modern),
        )
        .await,
    );
    let c = client.clone();
    let call = tokio::spawn(async move { c.call_tool("forever", Map::new()).await });
    assert_eq!(rx.recv().await, Some("started"));
    call.abort();
    assert_eq!(
        rx.recv().await,
        Some("dropped"),
        "tasks/cancel stopped the tool"
    );
}

#[tokio::test]
async fn a_call_out_of_time_cancels_its_task() {
    let (ev, mut rx) = events();
    let opts = ClientOptions {
        call_timeout: Duration::from_millis(300),
        ..opts(EraChoice::Modern)
    };
    let client = connect(task_server(ev), Arc::new(Recorder::default()), opts).await;
    let e = client.call_tool("forever", Map::new()).await.unwrap_err();
    assert!(
        matches!(&e, ClientError::Task { why, .. } if why.contains("still running")),
        "{e}"
    );
    assert_eq!(rx.recv().await, Some("started"));
    assert_eq!(rx.recv().await, Some("dropped"));
}

#[tokio::test]
async fn failing_tasks() {
    let (ev, _rx) = events();
    let client = connect(
        task_server(ev),
        Arc::new(Recorder::default()),
        opts(EraChoice::Modern),
    )
    .await;
    let e = client.call_tool("broken", Map::new()).await.unwrap_err();
    assert_eq!(remote_code(&e), -32603, "{e}");
    assert!(e.to_string().contains("broken on purpose"), "{e}");
    let r = client.call_tool("tool_error", Map::new()).await.unwrap();
    assert_eq!(r.is_error, Some(true));
    assert!(r.text_content().contains("no luck"));
}

#[tokio::test]
async fn without_the_extension() {
    // A client that does not declare it: optional task tools run as plain calls (their
    // input through input_required rounds), a required one is refused with -32021.
    let (ev, _rx) = events();
    let no_tasks = ClientOptions {
        tasks: false,
        ..opts(EraChoice::Modern)
    };
    let client = connect(task_server(ev), Arc::new(Recorder::default()), no_tasks).await;
    let r = client.call_tool("research", q("go")).await.unwrap();
    assert!(
        r.text_content().ends_with("task=false"),
        "{}",
        r.text_content()
    );
    let e = client.call_tool("named", Map::new()).await.unwrap_err();
    assert_eq!(remote_code(&e), -32021, "{e}");

    // A legacy session: plain calls too.
    let (ev, _rx) = events();
    let legacy = connect(
        task_server(ev),
        Arc::new(Recorder::default()),
        opts(EraChoice::Legacy),
    )
    .await;
    let r = legacy.call_tool("research", q("go")).await.unwrap();
    assert!(
        r.text_content().ends_with("task=false"),
        "{}",
        r.text_content()
    );

    // A server without task tools: no extension declared, calls as before.
    let plain = Server::builder("plain")
        .tool("research", "samples and asks", research)
        .build();
    let client = connect(
        plain,
        Arc::new(Recorder::default()),
        opts(EraChoice::Modern),
    )
    .await;
    assert!(!mcp_proto::tasks::server_declares(
        client.server_capabilities()
    ));
    let r = client.call_tool("research", q("go")).await.unwrap();
    assert!(
        r.text_content().ends_with("task=false"),
        "{}",
        r.text_content()
    );
}
