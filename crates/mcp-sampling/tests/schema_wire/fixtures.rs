//! The test server and model the conversations run against.

use super::*;

// =======================================================================================
// The test server
// =======================================================================================

#[derive(Deserialize, JsonSchema)]
pub(crate) struct Ask {
    /// The question.
    pub(crate) question: String,
}

#[derive(Deserialize, JsonSchema)]
pub(crate) struct Echo {
    /// What to echo.
    pub(crate) text: String,
    /// How many times (default 1).
    pub(crate) times: Option<u32>,
    /// Tags, ignored (here for the array in the input schema).
    #[serde(default)]
    #[allow(dead_code)]
    pub(crate) tags: Vec<String>,
}

#[derive(Deserialize, JsonSchema)]
pub(crate) struct NoArgs {}

#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct Weather {
    pub(crate) city: String,
    pub(crate) celsius: f64,
}

pub(crate) fn lookup_tool(name: &str) -> SamplingTool {
    SamplingTool {
        name: name.into(),
        description: Some(format!("{name} a city")),
        input_schema: json!({
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"]
        }),
        extra: Map::new(),
    }
}

pub(crate) async fn ask(Args(a): Args<Ask>, ctx: Ctx) -> Result<String, ToolError> {
    let reply = ctx
        .sample(
            Sampling::user(a.question)
                .system("Answer in one sentence.")
                .max_tokens(10)
                .hint("haiku")
                .priorities(0.1, 0.9, 0.2),
        )
        .await?;
    Ok(reply.text())
}

pub(crate) async fn ask_twice(Args(a): Args<Ask>, ctx: Ctx) -> Result<String, ToolError> {
    let first = Sampling::user(format!("{} (first)", a.question)).max_tokens(10);
    let second = Sampling::user(format!("{} (second)", a.question))
        .max_tokens(20)
        .temperature(0.5)
        .stop("\n\n");
    let (x, y) = join(ctx.sample(first), ctx.sample(second)).await;
    Ok(format!("{} | {}", x?.text(), y?.text()))
}

pub(crate) async fn ask_with_tools(Args(a): Args<Ask>, ctx: Ctx) -> Result<String, ToolError> {
    let reply = ctx
        .sample(
            Sampling::user(a.question)
                .max_tokens(50)
                .tools(vec![lookup_tool("lookup")], Some(ToolChoiceMode::Auto)),
        )
        .await?;
    Ok(reply.text())
}

/// Offers `get_weather`; when the model uses it, sends the result back and asks again.
pub(crate) async fn tool_loop(Args(a): Args<Ask>, ctx: Ctx) -> Result<String, ToolError> {
    let tools = vec![lookup_tool("get_weather")];
    let first = ctx
        .sample(
            Sampling::user(a.question.clone())
                .max_tokens(50)
                .tools(tools.clone(), Some(ToolChoiceMode::Required)),
        )
        .await?;
    let uses: Vec<(String, String)> = first
        .content
        .as_slice()
        .iter()
        .filter_map(|c| match c {
            Content::ToolUse { id, name, .. } => Some((id.clone(), name.clone())),
            _ => None,
        })
        .collect();
    if uses.is_empty() {
        return Ok(first.text());
    }
    let results = uses
        .iter()
        .map(|(id, name)| Content::ToolResult {
            tool_use_id: id.clone(),
            content: vec![Content::text(format!("{name}: 18 degrees, cloudy"))],
            structured_content: Some(json!({"celsius": 18})),
            is_error: None,
            meta: None,
        })
        .collect();
    let second = ctx
        .sample(
            Sampling::user(a.question)
                .message(SamplingMessage {
                    role: Role::Assistant,
                    content: first.content.clone(),
                    meta: None,
                })
                .message(SamplingMessage {
                    role: Role::User,
                    content: OneOrMany::Many(results),
                    meta: None,
                })
                .max_tokens(50)
                .tools(tools, Some(ToolChoiceMode::None)),
        )
        .await?;
    Ok(second.text())
}

pub(crate) async fn echo(Args(a): Args<Echo>, _ctx: Ctx) -> Result<String, ToolError> {
    Ok(a.text.repeat(a.times.unwrap_or(1) as usize))
}

pub(crate) async fn weather(Args(_): Args<NoArgs>, _ctx: Ctx) -> Result<Json<Weather>, ToolError> {
    Ok(Json(Weather {
        city: "Paris".into(),
        celsius: 18.5,
    }))
}

pub(crate) async fn fail(Args(_): Args<NoArgs>, _ctx: Ctx) -> Result<String, ToolError> {
    Err(ToolError::failed("this tool always fails"))
}

/// Reports progress when the client asked for it.
pub(crate) async fn progress(Args(_): Args<NoArgs>, ctx: Ctx) -> Result<String, ToolError> {
    ctx.progress(1.0, Some(2.0), Some("half way"));
    ctx.progress(2.0, Some(2.0), None);
    Ok("done".into())
}

/// Never answers: the client gives up (its timeout) and cancels the call.
pub(crate) async fn slow(Args(_): Args<NoArgs>, _ctx: Ctx) -> Result<String, ToolError> {
    std::future::pending::<()>().await;
    Ok("too late".into())
}

/// Samples with a short timeout; the test model is slow for this prompt (legacy: the server
/// gives up and cancels its request).
pub(crate) async fn ask_slow(Args(_): Args<NoArgs>, ctx: Ctx) -> Result<String, ToolError> {
    let reply = ctx
        .sample(
            Sampling::user(SLOW_PROMPT)
                .max_tokens(5)
                .timeout(Duration::from_millis(200)),
        )
        .await?;
    Ok(reply.text())
}

/// A structured result that is an array (allowed on 2026-07-28; 2025-11-25 wants an object).
pub(crate) async fn users(
    Args(_): Args<NoArgs>,
    _ctx: Ctx,
) -> Result<Json<Vec<Weather>>, ToolError> {
    Ok(Json(vec![Weather {
        city: "Paris".into(),
        celsius: 18.5,
    }]))
}

pub(crate) fn test_server() -> Server {
    Server::builder("t")
        .instructions("A server for schema tests.")
        .tool("ask", "Asks the client's LLM one question", ask)
        .tool("ask_twice", "Asks two questions at once", ask_twice)
        .tool("ask_with_tools", "Asks with a tool offered", ask_with_tools)
        .tool(
            "tool_loop",
            "Asks, runs the tool the model uses, asks again",
            tool_loop,
        )
        .tool("echo", "Echoes its text", echo)
        .tool("weather", "Structured weather", weather)
        .tool("fail", "Always fails", fail)
        .tool("progress", "Reports progress", progress)
        .tool("slow", "Never answers in time", slow)
        .tool("ask_slow", "Samples with a short timeout", ask_slow)
        .tool("users", "An array as structured content", users)
        .resource("mem://notes", "notes", "text/plain", || async {
            Ok("some notes".to_string())
        })
        .prompt(
            "greet",
            "Greets someone",
            &[("name", true), ("tone", false)],
            |args| async move {
                let name = args
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("you")
                    .to_owned();
                Ok(format!("Say hello to {name}."))
            },
        )
        .prompt_completer("greet", |r: mcp_server::CompletionRequest| async move {
            Ok(r.filter(["Ada", "Alan", "Grace"]))
        })
        .resource_template(
            "mem://notes/{day}",
            "notes by day",
            "text/plain",
            |v: mcp_server::UriVars| async move {
                Ok(format!("notes of {}", v.get("day").unwrap_or_default()))
            },
        )
        .build()
}

/// A model for the tests: uses `get_weather` when it is offered and not yet answered;
/// otherwise replies like `Fixed`.
pub(crate) fn weather_model() -> Arc<dyn SamplingHandler> {
    let fixed = Fixed(FIXED_REPLY.into());
    Arc::new(
        move |req: SamplingRequest| -> BoxFuture<Result<CreateMessageResult, SamplingError>> {
            let offered = req
                .params
                .tools
                .iter()
                .flatten()
                .any(|t| t.name == "get_weather");
            let answered = req.params.messages.last().is_some_and(|m| {
                m.content
                    .as_slice()
                    .iter()
                    .any(|c| matches!(c, Content::ToolResult { .. }))
            });
            let slow = req.params.messages.first().is_some_and(|m| {
                m.content
                    .as_slice()
                    .iter()
                    .any(|c| c.as_text() == Some(SLOW_PROMPT))
            });
            if slow {
                // Never answers: the server gives up (its timeout) and cancels the request.
                return Box::pin(std::future::pending());
            }
            if offered && !answered {
                let mut input = Map::new();
                input.insert("city".into(), json!("Paris"));
                let reply = CreateMessageResult {
                    role: Role::Assistant,
                    content: OneOrMany::Many(vec![Content::ToolUse {
                        id: "call_1".into(),
                        name: "get_weather".into(),
                        input,
                        meta: None,
                    }]),
                    model: "weather-model".into(),
                    stop_reason: Some(StopReason::ToolUse),
                    meta: None,
                };
                Box::pin(std::future::ready(Ok(reply)))
            } else {
                fixed.create_message(req)
            }
        },
    )
}

pub(crate) fn options(era: EraChoice) -> ClientOptions {
    ClientOptions {
        era,
        probe_timeout: Duration::from_secs(5),
        ..Default::default()
    }
}

/// Connects a client to the test server in memory, recording the wire.
pub(crate) async fn connect(
    opts: ClientOptions,
    handler: Arc<dyn SamplingHandler>,
) -> (Client, tokio::task::JoinHandle<()>, Recording) {
    let (client_end, server_end, rec) = tee_memory();
    let server = test_server();
    let task = tokio::spawn(async move {
        let served = server.serve(server_end, std::future::pending()).await;
        served.expect("the server serves until the client leaves");
    });
    let client = Client::connect(client_end, handler, opts)
        .await
        .expect("the client connects");
    (client, task, rec)
}

/// Closes the client's output and waits for the server to see the end of its input.
pub(crate) async fn finish(client: Client, server: tokio::task::JoinHandle<()>) {
    client.peer().close();
    drop(client);
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server stops when its input ends")
        .expect("the server task did not panic");
}

pub(crate) fn args(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("arguments are an object")
}

pub(crate) fn remote_code(e: &ClientError) -> Option<i64> {
    match e {
        ClientError::Rpc(RpcError::Remote(o)) => Some(o.code),
        _ => None,
    }
}
