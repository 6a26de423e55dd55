//! The host SDK against our own server in memory: both eras, auto, validation, limits.

use mcp_client::{
    Client, ClientError, ClientOptions, EraChoice, SamplingError, SamplingHandler, SamplingRequest,
};
use mcp_host::approval::{Approval, Mode};
use mcp_host::testing::Fixed;
use mcp_host::Host;
use mcp_proto::sampling::CreateMessageResult;
use mcp_proto::Era;
use mcp_rpc::testing::RawPeer;
use mcp_rpc::BoxFuture;
use mcp_server::{Args, Ctx, Sampling, Server, ToolError};
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Q {
    q: String,
}

async fn ask(Args(a): Args<Q>, ctx: Ctx) -> Result<String, ToolError> {
    let first = ctx.sample(Sampling::user(a.q.clone()).max_tokens(5));
    let second = ctx.sample(Sampling::user(format!("{} again", a.q)).max_tokens(5));
    let (x, y) = tokio::join!(first, second);
    Ok(format!("{} + {} ({})", x?.text(), y?.text(), ctx.era()))
}

fn server() -> Server {
    Server::builder("mem")
        .tool("ask", "asks twice", ask)
        .build()
}

/// Records what the handler saw, and replies with the prompt upper-cased.
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

async fn connect(era: EraChoice, handler: Arc<dyn SamplingHandler>) -> Client {
    let (a, b) = mcp_rpc::memory();
    let s = server();
    tokio::spawn(async move { s.serve(a, std::future::pending()).await });
    Client::connect(
        b,
        handler,
        ClientOptions {
            era,
            ..Default::default()
        },
    )
    .await
    .expect("connect")
}

fn args(q: &str) -> Map<String, Value> {
    json!({"q": q}).as_object().unwrap().clone()
}

#[tokio::test]
async fn one_handler_serves_both_eras() {
    for (choice, era) in [
        (EraChoice::Legacy, Era::Legacy),
        (EraChoice::Modern, Era::Modern),
        (EraChoice::Auto, Era::Modern),
    ] {
        let rec = Arc::new(Recorder::default());
        let client = connect(choice, rec.clone()).await;
        assert_eq!(client.era(), era);
        assert_eq!(client.server_info().map(|i| i.name.as_str()), Some("mem"));
        let tools = client.list_tools().await.unwrap();
        assert_eq!(tools.tools[0].name, "ask");
        let r = client.call_tool("ask", args("hi")).await.unwrap();
        assert_eq!(r.text_content(), format!("HI + HI AGAIN ({era})"));
        let seen = std::mem::take(&mut *rec.0.lock().unwrap());
        assert_eq!(seen.len(), 2);
        for s in seen.iter() {
            assert_eq!(s.era, era);
            assert_eq!(&*s.server, "mem");
            assert_eq!(
                s.tool_call.as_ref().map(|c| c.name.as_str()),
                Some("ask"),
                "the tool call is known"
            );
        }
        client.close().await;
    }
}

#[tokio::test]
async fn deny_is_user_rejection_on_legacy_and_no_retry_on_modern() {
    let deny = || {
        Arc::new(
            Host::builder()
                .approval(Approval::new(Mode::Deny, vec![], None))
                .provider(Arc::new(Fixed("x".into())), vec![Fixed::model()])
                .build()
                .expect("the host builds"),
        )
    };
    let legacy = connect(EraChoice::Legacy, deny()).await;
    let r = legacy.call_tool("ask", args("hi")).await.unwrap();
    assert_eq!(r.is_error, Some(true));
    assert!(
        r.text_content().contains("declined"),
        "{}",
        r.text_content()
    );
    let modern = connect(EraChoice::Modern, deny()).await;
    let e = modern.call_tool("ask", args("hi")).await.unwrap_err();
    assert!(
        matches!(e, ClientError::Sampling(SamplingError::Rejected(_))),
        "{e}"
    );
}

#[tokio::test]
async fn auto_falls_back_to_legacy_when_discover_is_refused() {
    let (a, b) = mcp_rpc::memory();
    let mut raw = RawPeer::new(a);
    let client = tokio::spawn(Client::connect(
        b,
        Arc::new(Fixed("f".into())),
        ClientOptions::default(),
    ));
    let probe = raw.recv().await;
    assert_eq!(probe["method"], "server/discover");
    assert_eq!(
        probe["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"],
        "2026-07-28"
    );
    raw.send(json!({"jsonrpc":"2.0","id":probe["id"],"error":{"code":-32601,"message":"Method not found"}})).await;
    let init = raw.recv().await;
    assert_eq!(init["method"], "initialize");
    assert_eq!(
        init["params"]["capabilities"]["sampling"],
        json!({"tools": {}})
    );
    raw.send(json!({"jsonrpc":"2.0","id":init["id"],"result":{
        "protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"old","version":"1"}}}))
        .await;
    let initialized = raw.recv().await;
    assert_eq!(initialized["method"], "notifications/initialized");
    let client = client.await.unwrap().unwrap();
    assert_eq!(
        (client.era(), client.protocol_version()),
        (Era::Legacy, "2025-06-18")
    );

    // A 2025-06-18 peer gets single content blocks; invalid requests get -32602.
    raw.send(
        json!({"jsonrpc":"2.0","id":1,"method":"sampling/createMessage","params":{
        "messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"maxTokens":5}}),
    )
    .await;
    let r = raw.recv().await;
    assert_eq!(
        r["result"]["content"],
        json!({"type":"text","text":"f"}),
        "{r}"
    );
    raw.send(json!({"jsonrpc":"2.0","id":2,"method":"sampling/createMessage","params":{
        "messages":[{"role":"assistant","content":{"type":"tool_use","id":"a","name":"t","input":{}}},
                    {"role":"user","content":[{"type":"text","text":"x"},{"type":"tool_result","toolUseId":"a","content":[]}]}],
        "maxTokens":5}}))
        .await;
    let r = raw.recv().await;
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("mixes tool_result"),
        "{r}"
    );
    raw.send(
        json!({"jsonrpc":"2.0","id":3,"method":"sampling/createMessage","params":{"maxTokens":5}}),
    )
    .await;
    assert_eq!(raw.recv().await["error"]["code"], -32602);
    raw.send(json!({"jsonrpc":"2.0","id":4,"method":"roots/list"}))
        .await;
    assert_eq!(raw.recv().await["error"]["code"], -32601);
}

/// Legacy sampling requests take the engine's raw fast path (params parsed once, straight
/// into their type); what it leaves to the full parse, and every error, reads as before.
#[tokio::test]
async fn legacy_sampling_on_the_fast_path_keeps_ids_and_errors() {
    let (a, b) = mcp_rpc::memory();
    let mut raw = RawPeer::new(a);
    let opts = ClientOptions {
        era: EraChoice::Legacy,
        ..Default::default()
    };
    let client = tokio::spawn(Client::connect(b, Arc::new(Fixed("f".into())), opts));
    let init = raw.recv().await;
    raw.send(json!({"jsonrpc":"2.0","id":init["id"],"result":{
        "protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"s","version":"1"}}}))
        .await;
    let _initialized = raw.recv().await;
    let _client = client.await.unwrap().unwrap();
    let msgs = json!([{"role":"user","content":{"type":"text","text":"hi"}}]);
    // A string id comes back as it was.
    raw.send(
        json!({"jsonrpc":"2.0","id":"s-1","method":"sampling/createMessage",
        "params":{"messages":msgs,"maxTokens":5}}),
    )
    .await;
    let r = raw.recv().await;
    assert_eq!(
        (&r["id"], &r["result"]["content"]["text"]),
        (&json!("s-1"), &json!("f")),
        "{r}"
    );
    // An escaped method name is left to the full parse, and answered the same.
    let escaped = concat!(
        r#"{"jsonrpc":"2.0","id":2,"method":"sampling\/createMessage","params":{"#,
        r#""messages":[{"role":"user","content":{"type":"text","text":"hi"}}],"maxTokens":5}}"#,
        "\n"
    );
    raw.write_raw(escaped.as_bytes()).await;
    let r = raw.recv().await;
    assert_eq!(r["result"]["content"]["text"], "f", "{r}");
    // Params of the wrong shape: -32602 naming the problem; params that are not an object
    // or an array: -32600, as ever.
    for (params, code, says) in [
        (
            json!({"messages":msgs,"maxTokens":"five"}),
            -32602,
            "invalid sampling/createMessage params",
        ),
        (json!([]), -32602, "invalid sampling/createMessage params"),
        (json!({"maxTokens":5}), -32602, "messages"),
        (json!(7), -32600, "params"),
    ] {
        raw.send(json!({"jsonrpc":"2.0","id":3,"method":"sampling/createMessage","params":params}))
            .await;
        let r = raw.recv().await;
        assert_eq!(r["error"]["code"], code, "{r}");
        assert_eq!(r["id"], 3, "{r}");
        let message = r["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{r}");
    }
    // No params at all: -32602 too.
    raw.send(json!({"jsonrpc":"2.0","id":4,"method":"sampling/createMessage"}))
        .await;
    assert_eq!(raw.recv().await["error"]["code"], -32602);
}

#[tokio::test]
async fn tools_in_sampling_need_the_declared_capability() {
    let (a, b) = mcp_rpc::memory();
    let mut raw = RawPeer::new(a);
    let mut opts = ClientOptions {
        era: EraChoice::Legacy,
        ..Default::default()
    };
    opts.capabilities = mcp_proto::ClientCapabilities::sampling(false);
    let client = tokio::spawn(Client::connect(b, Arc::new(Fixed("f".into())), opts));
    let init = raw.recv().await;
    raw.send(json!({"jsonrpc":"2.0","id":init["id"],"result":{
        "protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"s","version":"1"}}}))
        .await;
    let _initialized = raw.recv().await;
    let _client = client.await.unwrap().unwrap();
    raw.send(
        json!({"jsonrpc":"2.0","id":1,"method":"sampling/createMessage","params":{
        "messages":[{"role":"user","content":{"type":"text","text":"hi"}}],"maxTokens":5,
        "tools":[{"name":"t","inputSchema":{"type":"object"}}]}}),
    )
    .await;
    let r = raw.recv().await;
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sampling.tools"),
        "{r}"
    );
}

#[tokio::test]
async fn modern_client_gives_up_after_max_rounds() {
    let (a, b) = mcp_rpc::memory();
    let mut raw = RawPeer::new(a);
    let opts = ClientOptions {
        era: EraChoice::Modern,
        max_rounds: 3,
        ..Default::default()
    };
    let task = tokio::spawn(async move {
        let client = Client::connect(b, Arc::new(Fixed("f".into())), opts).await?;
        client.call_tool("loop", Map::new()).await
    });
    let d = raw.recv().await;
    raw.send(json!({"jsonrpc":"2.0","id":d["id"],"result":{"resultType":"complete","supportedVersions":["2026-07-28"],
        "capabilities":{"tools":{}},"ttlMs":0,"cacheScope":"private"}}))
        .await;
    let mut states = Vec::new();
    for round in 0..4 {
        let call = raw.recv().await;
        assert_eq!(call["method"], "tools/call");
        if round > 0 {
            assert_eq!(
                call["params"]["requestState"],
                format!("state-{}", round - 1),
                "echoed exactly"
            );
            assert_eq!(
                call["params"]["inputResponses"]["k"]["content"]["text"],
                "f"
            );
        }
        states.push(call["id"].clone());
        raw.send(json!({"jsonrpc":"2.0","id":call["id"],"result":{"resultType":"input_required",
            "inputRequests":{"k":{"method":"sampling/createMessage","params":{
                "messages":[{"role":"user","content":{"type":"text","text":"again"}}],"maxTokens":5}}},
            "requestState": format!("state-{round}")}}))
            .await;
    }
    let e = task.await.unwrap().unwrap_err();
    assert!(matches!(e, ClientError::TooManyRounds(3)), "{e}");
    let ids: std::collections::HashSet<String> = states.iter().map(|v| v.to_string()).collect();
    assert_eq!(ids.len(), 4, "every retry has a new id");
}

#[tokio::test]
async fn dropping_a_client_ends_its_connection() {
    let (a, b) = mcp_rpc::memory();
    let s = server();
    let served = tokio::spawn(async move { s.serve(a, std::future::pending()).await });
    let client = Client::connect(b, Arc::new(Fixed("x".into())), ClientOptions::default())
        .await
        .expect("connect");
    drop(client);
    let ended = tokio::time::timeout(std::time::Duration::from_secs(5), served).await;
    assert!(
        ended.is_ok(),
        "the server still has a connection after the client was dropped"
    );
}

async fn sampled_prompt(args: Map<String, Value>, ctx: Ctx) -> Result<String, ToolError> {
    let topic = args
        .get("topic")
        .and_then(Value::as_str)
        .unwrap_or("nothing");
    let idea = ctx
        .sample(Sampling::user(format!("an idea about {topic}")).max_tokens(5))
        .await?;
    Ok(format!("Write about {topic}: {}", idea.text()))
}

#[tokio::test]
async fn prompts_that_sample_work_on_both_eras() {
    for era in [EraChoice::Legacy, EraChoice::Modern] {
        let (a, b) = mcp_rpc::memory();
        let s = Server::builder("prompts")
            .prompt_with_ctx(
                "idea",
                "samples an idea",
                &[("topic", true)],
                sampled_prompt,
            )
            .build();
        tokio::spawn(async move { s.serve(a, std::future::pending()).await });
        let opts = ClientOptions {
            era,
            ..Default::default()
        };
        let client = Client::connect(b, Arc::new(Fixed("sails".into())), opts)
            .await
            .expect("connect");
        let r = client
            .get_prompt("idea", args_of(json!({"topic": "boats"})))
            .await;
        let r = r.unwrap_or_else(|e| panic!("{era:?}: {e}"));
        let text = r["messages"][0]["content"]["text"]
            .as_str()
            .unwrap_or_default();
        assert_eq!(text, "Write about boats: sails", "{era:?}: {r}");
        client.close().await;
    }
}

fn args_of(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}
