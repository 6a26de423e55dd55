//! The bridge in memory: our server behind it (either era), our client as the host in front
//! of it (declaring sampling or not). Sampling goes to the host or to the bridge's own
//! handler; progress, cancellation, log messages and `list_changed` cross it; the server is
//! named by its configured name.

use mcp_bridge::{Bridge, BridgeOptions, SamplingMode};
use mcp_client::{
    Client, ClientOptions, EraChoice, SamplingError, SamplingHandler, SamplingRequest,
};
use mcp_proto::methods::{CallTool, Notification as _, Progress, Request as _};
use mcp_proto::sampling::CreateMessageResult;
use mcp_proto::{BoxFuture, ClientCapabilities};
use mcp_rpc::testing::RawPeer;
use mcp_server::{Args, Ctx, Sampling, Server, ToolError};
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Q {
    q: String,
}

async fn ask(Args(a): Args<Q>, ctx: Ctx) -> Result<String, ToolError> {
    let reply = ctx.sample(Sampling::user(a.q).max_tokens(5)).await?;
    Ok(reply.text())
}

async fn count(ctx: Ctx) -> Result<String, ToolError> {
    for i in 1..=3 {
        ctx.progress(f64::from(i), Some(3.0), Some("counting"));
    }
    ctx.log(mcp_proto::logging::LoggingLevel::Info, "counted to three");
    Ok("3".into())
}

/// Sends `()` on the channel when the call is dropped (cancelled).
struct Dropped(Option<oneshot::Sender<()>>);

impl Drop for Dropped {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// The `wait` tool's signals: it started, and it was dropped.
type Signals = Arc<Mutex<Option<(oneshot::Sender<()>, oneshot::Sender<()>)>>>;

fn server(signals: Signals) -> Server {
    Server::builder("claims-to-be-trusted")
        .tool("ask", "samples once", ask)
        .tool("count", "reports progress", count)
        .tool("wait", "waits until cancelled", move |_: Ctx| {
            let (started, dropped) = signals.lock().unwrap().take().unzip();
            let guard = Dropped(dropped);
            async move {
                let _guard = guard;
                if let Some(s) = started {
                    let _ = s.send(());
                }
                std::future::pending::<Result<String, ToolError>>().await
            }
        })
        .build()
}

/// Replies with a fixed text, and records the server name each request gave.
struct Answer(&'static str, Mutex<Vec<String>>);

impl SamplingHandler for Answer {
    fn create_message(
        &self,
        req: SamplingRequest,
    ) -> BoxFuture<Result<CreateMessageResult, SamplingError>> {
        self.1.lock().unwrap().push(req.server.to_string());
        let reply = CreateMessageResult::from_text("m", self.0);
        Box::pin(std::future::ready(Ok(reply)))
    }
}

struct Setup {
    host: Client,
    ours: Arc<Answer>,
    theirs: Arc<Answer>,
    notes: mpsc::UnboundedReceiver<(String, Option<Value>)>,
    started: oneshot::Receiver<()>,
    dropped: oneshot::Receiver<()>,
}

async fn setup(server_era: EraChoice, host_samples: bool, mode: SamplingMode) -> Setup {
    setup_with(server_era, EraChoice::Legacy, host_samples, mode).await
}

async fn setup_with(
    server_era: EraChoice,
    host_era: EraChoice,
    host_samples: bool,
    mode: SamplingMode,
) -> Setup {
    let (stx, started) = oneshot::channel();
    let (dtx, dropped) = oneshot::channel();
    let s = server(Arc::new(Mutex::new(Some((stx, dtx)))));
    let (a, b) = mcp_rpc::memory();
    tokio::spawn(async move { s.serve(a, std::future::pending()).await });
    let ours = Arc::new(Answer("from the bridge", Mutex::default()));
    let opts = BridgeOptions {
        sampling: mode,
        local: ours.clone(),
        elicitation: None,
        roots: Vec::new(),
        client: ClientOptions {
            era: server_era,
            name: Some("configured".into()),
            ..Default::default()
        },
    };
    let bridge = Bridge::connect(opts, |h, o| Client::connect(b, h, o))
        .await
        .expect("the bridge connects");
    host_of(bridge, host_era, host_samples, ours, (started, dropped)).await
}

async fn host_of(
    bridge: Bridge,
    host_era: EraChoice,
    host_samples: bool,
    ours: Arc<Answer>,
    (started, dropped): (oneshot::Receiver<()>, oneshot::Receiver<()>),
) -> Setup {
    let (c, d) = mcp_rpc::memory();
    tokio::spawn(async move { bridge.serve(c).await });
    let theirs = Arc::new(Answer("from the host", Mutex::default()));
    let (ntx, notes) = mpsc::unbounded_channel();
    let caps = if host_samples {
        ClientCapabilities::sampling(false)
    } else {
        ClientCapabilities::default()
    };
    let host = Client::connect(
        d,
        theirs.clone(),
        ClientOptions {
            era: host_era,
            capabilities: caps,
            notifications: Some(Arc::new(move |m: &str, p: Option<Value>| {
                let _ = ntx.send((m.to_string(), p));
            })),
            ..Default::default()
        },
    )
    .await
    .expect("the host connects to the bridge");
    Setup {
        host,
        ours,
        theirs,
        notes,
        started,
        dropped,
    }
}

fn q(text: &str) -> Map<String, Value> {
    json!({"q": text}).as_object().unwrap().clone()
}

fn text(r: &mcp_proto::tools::CallToolResult) -> String {
    r.content[0].as_text().unwrap_or_default().to_string()
}

#[tokio::test]
async fn a_host_without_sampling_gets_the_bridge_s_answer_in_every_pairing() {
    for host_era in [EraChoice::Legacy, EraChoice::Modern] {
        for era in [EraChoice::Legacy, EraChoice::Modern] {
            let s = setup_with(era, host_era, false, SamplingMode::Auto).await;
            let want = match host_era {
                EraChoice::Modern => mcp_proto::Era::Modern,
                _ => mcp_proto::Era::Legacy,
            };
            assert_eq!(s.host.era(), want);
            assert_eq!(s.host.server_info().unwrap().name, "claims-to-be-trusted");
            let r = s.host.call_tool("ask", q("hi")).await.unwrap();
            assert_eq!(
                text(&r),
                "from the bridge",
                "{host_era:?} host, {era:?} server"
            );
            // Named by its configured name, not by what it claims.
            assert_eq!(*s.ours.1.lock().unwrap(), vec!["configured".to_string()]);
            assert!(s.theirs.1.lock().unwrap().is_empty());
        }
    }
}

#[tokio::test]
async fn a_modern_host_answers_in_input_required_rounds() {
    for era in [EraChoice::Legacy, EraChoice::Modern] {
        let s = setup_with(era, EraChoice::Modern, true, SamplingMode::Auto).await;
        let r = s.host.call_tool("ask", q("hi")).await.unwrap();
        assert_eq!(text(&r), "from the host", "{era:?} server");
        assert!(s.ours.1.lock().unwrap().is_empty());
        assert_eq!(s.theirs.1.lock().unwrap().len(), 1);

        let s = setup_with(era, EraChoice::Modern, true, SamplingMode::Local).await;
        let r = s.host.call_tool("ask", q("hi")).await.unwrap();
        assert_eq!(text(&r), "from the bridge", "{era:?} server");
    }
}

#[tokio::test]
async fn a_forged_request_state_is_refused() {
    let s = setup_with(
        EraChoice::Legacy,
        EraChoice::Modern,
        true,
        SamplingMode::Auto,
    )
    .await;
    let params = json!({"name": "ask", "arguments": {"q": "hi"},
        "requestState": "00000000000000000000000000000000", "inputResponses": {}});
    let e = s
        .host
        .request(CallTool::METHOD, Some(params), None)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("unknown or expired requestState"),
        "{e}"
    );
}

#[tokio::test]
async fn a_host_that_samples_answers_itself_unless_local() {
    for era in [EraChoice::Legacy, EraChoice::Modern] {
        let s = setup(era, true, SamplingMode::Auto).await;
        let r = s.host.call_tool("ask", q("hi")).await.unwrap();
        assert_eq!(text(&r), "from the host", "{era:?}");
        assert!(s.ours.1.lock().unwrap().is_empty());

        let s = setup(era, true, SamplingMode::Local).await;
        let r = s.host.call_tool("ask", q("hi")).await.unwrap();
        assert_eq!(text(&r), "from the bridge", "{era:?}");
    }
}

#[tokio::test]
async fn host_mode_refuses_when_the_host_cannot_sample() {
    let s = setup(EraChoice::Legacy, false, SamplingMode::Host).await;
    let r = s.host.call_tool("ask", q("hi")).await.unwrap();
    assert_eq!(r.is_error, Some(true));
    assert!(
        text(&r).contains("did not declare sampling"),
        "{}",
        text(&r)
    );
    assert!(s.ours.1.lock().unwrap().is_empty());
}

#[tokio::test]
async fn progress_and_log_messages_cross_the_bridge() {
    for era in [EraChoice::Legacy, EraChoice::Modern] {
        let mut s = setup(era, false, SamplingMode::Auto).await;
        if era == EraChoice::Modern {
            // The modern server has no session: the bridge sends the level with each request.
            s.host
                .request("logging/setLevel", Some(json!({"level": "info"})), None)
                .await
                .unwrap();
        }
        let (tx, mut rx) = mpsc::unbounded_channel();
        let params = json!({"name": "count", "arguments": {}});
        let r = s
            .host
            .forward(CallTool::METHOD, Some(params), Some(tx))
            .await
            .unwrap();
        assert_eq!(r["content"][0]["text"], "3", "{era:?}: {r}");
        let mut seen = Vec::new();
        while seen.len() < 3 {
            let p = rx.recv().await.expect("progress");
            seen.push(p["progress"].as_f64().unwrap());
        }
        assert_eq!(seen, vec![1.0, 2.0, 3.0], "{era:?}");
        let (method, p) = s.notes.recv().await.expect("a log message");
        assert_eq!(method, "notifications/message", "{era:?}");
        assert_eq!(p.unwrap()["data"], "counted to three");
        assert_ne!(method, Progress::METHOD);
    }
}

#[tokio::test]
async fn cancelling_at_the_host_cancels_at_the_server() {
    for era in [EraChoice::Legacy, EraChoice::Modern] {
        let s = setup(era, false, SamplingMode::Auto).await;
        let call = s.host.call_tool("wait", Map::new());
        // Dropped once the server holds the call: the host sends notifications/cancelled.
        tokio::select! {
            _ = call => panic!("the call cannot finish"),
            started = s.started => started.expect("the server starts the call"),
        }
        s.dropped.await.expect("the server's call is dropped");
    }
}

#[tokio::test]
async fn the_server_s_list_changed_reaches_the_host() {
    let (a, b) = mcp_rpc::memory();
    let mut raw = RawPeer::new(a);
    let ours = Arc::new(Answer("from the bridge", Mutex::default()));
    let opts = BridgeOptions {
        sampling: SamplingMode::Auto,
        local: ours.clone(),
        elicitation: None,
        roots: Vec::new(),
        client: ClientOptions {
            era: EraChoice::Legacy,
            ..Default::default()
        },
    };
    let connect = tokio::spawn(Bridge::connect(opts, |h, o| Client::connect(b, h, o)));
    let init = raw.recv().await;
    assert_eq!(init["method"], "initialize");
    let caps = &init["params"]["capabilities"];
    assert!(
        caps.get("sampling").is_some(),
        "the server sees sampling: {caps}"
    );
    raw.send(json!({"jsonrpc": "2.0", "id": init["id"], "result": {
        "protocolVersion": "2025-11-25",
        "capabilities": {"tools": {"listChanged": true}},
        "serverInfo": {"name": "raw", "version": "1"}}}))
        .await;
    let bridge = connect.await.unwrap().expect("the bridge connects");
    let (_stx, started) = oneshot::channel();
    let (_dtx, dropped) = oneshot::channel();
    let mut s = host_of(bridge, EraChoice::Legacy, false, ours, (started, dropped)).await;
    let caps = s.host.server_capabilities();
    assert_eq!(caps.tools.as_ref().and_then(|t| t.list_changed), Some(true));
    raw.send(json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}))
        .await;
    let (method, _) = s.notes.recv().await.expect("a notification");
    assert_eq!(method, "notifications/tools/list_changed");
}
