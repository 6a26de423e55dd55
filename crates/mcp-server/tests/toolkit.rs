//! The judgment toolkit through the real client on both eras: `Classifier` (rule, model,
//! fallback), `Ctx::extract` (repair round), the per-call input cap, the nesting depth, the
//! sampling cache and `ToolLoop`.

use mcp_client::{Client, ClientOptions, EraChoice};
use mcp_proto::content::Content;
use mcp_proto::ext::{depth_from_meta, ExpectedOutput};
use mcp_proto::sampling::ToolChoiceMode;
use mcp_proto::{
    BoxFuture, ClientCapabilities, CreateMessageResult, Era, SamplingError, SamplingHandler,
    SamplingRequest,
};
use mcp_server::{
    Args, Classifier, Ctx, Sampling, SamplingCache, Server, ServerConfig, State, ToolError,
    ToolLoop,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ERAS: [Era; 2] = [Era::Legacy, Era::Modern];

/// How a [`Scripted`] model answers the n-th request.
type ReplyFn =
    dyn Fn(&SamplingRequest, usize) -> Result<CreateMessageResult, SamplingError> + Send + Sync;

/// Answers with `reply(request, n)`, where n counts the requests; keeps every request.
struct Scripted {
    reply: Box<ReplyFn>,
    seen: Mutex<Vec<SamplingRequest>>,
}

impl Scripted {
    fn new(
        f: impl Fn(&SamplingRequest, usize) -> Result<CreateMessageResult, SamplingError>
            + Send
            + Sync
            + 'static,
    ) -> Arc<Scripted> {
        Arc::new(Scripted {
            reply: Box::new(f),
            seen: Mutex::new(Vec::new()),
        })
    }

    fn texts(replies: &'static [&'static str]) -> Arc<Scripted> {
        Scripted::new(move |_, n| {
            let text = replies.get(n).or(replies.last()).copied().unwrap_or("");
            Ok(CreateMessageResult::from_text("scripted-model", text))
        })
    }

    fn seen(&self) -> Vec<SamplingRequest> {
        self.seen.lock().unwrap().clone()
    }
}

impl SamplingHandler for Scripted {
    fn create_message(
        &self,
        req: SamplingRequest,
    ) -> BoxFuture<Result<CreateMessageResult, SamplingError>> {
        let n = {
            let mut seen = self.seen.lock().unwrap();
            seen.push(req.clone());
            seen.len() - 1
        };
        Box::pin(std::future::ready((self.reply)(&req, n)))
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Intent {
    Products,
    Orders,
}

#[derive(Deserialize, JsonSchema)]
struct Q {
    q: String,
}

#[derive(Serialize, JsonSchema)]
struct Decision {
    label: String,
    decided_by: String,
}

async fn classify(
    Args(a): Args<Q>,
    State(c): State<Arc<Classifier<Intent>>>,
    ctx: Ctx,
) -> Result<mcp_server::Json<Decision>, ToolError> {
    let out = c.classify(&ctx, &a.q).await?;
    Ok(mcp_server::Json(Decision {
        label: out.label,
        decided_by: out.decided_by.to_string(),
    }))
}

#[derive(Deserialize, JsonSchema, Serialize, Debug)]
struct Verdict {
    ok: bool,
    fields: Vec<String>,
}

async fn extract(Args(a): Args<Q>, ctx: Ctx) -> Result<String, ToolError> {
    let out = ctx
        .extract_checked::<Verdict, _>(Sampling::user(a.q), |v| {
            match v.ok || !v.fields.is_empty() {
                true => Ok(()),
                false => Err("a verdict that is not ok must name the fields at fault".into()),
            }
        })
        .await?;
    Ok(format!(
        "{} {:?} repaired={}",
        out.value.ok, out.value.fields, out.repaired
    ))
}

async fn many(Args(a): Args<Q>, ctx: Ctx) -> Result<String, ToolError> {
    let n: u32 = a.q.parse().unwrap_or(1);
    for i in 0..n {
        ctx.sample(Sampling::user(format!("question {i}")).max_tokens(5))
            .await?;
    }
    Ok(format!("{n} samples at depth {}", ctx.depth()))
}

async fn twice(Args(a): Args<Q>, ctx: Ctx) -> Result<String, ToolError> {
    let first = ctx.sample(Sampling::user(a.q.clone())).await?.text();
    let second = ctx.sample(Sampling::user(a.q)).await?.text();
    Ok(format!("{first} {second}"))
}

async fn agent(
    Args(a): Args<Q>,
    ctx: Ctx,
) -> Result<mcp_server::Json<mcp_server::LoopOutcome>, ToolError> {
    let schema = json!({"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]});
    let out = ToolLoop::new(Sampling::user(a.q))
        .tool(
            "add",
            "Adds two numbers",
            schema,
            |input: Map<String, Value>| async move {
                let n = |k: &str| {
                    input
                        .get(k)
                        .and_then(Value::as_f64)
                        .ok_or(format!("{k} is not a number"))
                };
                Ok(json!(n("a")? + n("b")?))
            },
        )
        .max_rounds(3)
        .run(&ctx)
        .await?;
    Ok(mcp_server::Json(out))
}

fn server(cache: bool) -> Server {
    let classifier = Classifier::new("Classify the query.")
        .label(Intent::Products, "products", "things we sell")
        .label(Intent::Orders, "orders", "")
        .example("red shoes", Intent::Products)
        .rule(|q| q.contains('#').then_some(Intent::Orders))
        .fallback(|_| Intent::Products);
    let mut b = Server::builder("toolkit")
        .config(ServerConfig {
            max_samples_per_call: 3,
            max_depth: 2,
            ..Default::default()
        })
        .state(Arc::new(classifier))
        .tool("classify", "classify", classify)
        .tool("extract", "extract", extract)
        .tool("many", "samples q times", many)
        .tool("twice", "asks the same twice", twice)
        .tool("agent", "tool loop", agent);
    if cache {
        b = b.sampling_cache(SamplingCache::new(Duration::from_secs(60), 16));
    }
    b.build()
}

async fn connect(
    era: Era,
    handler: Arc<Scripted>,
    caps: Option<ClientCapabilities>,
    cache: bool,
) -> Client {
    let (a, b) = mcp_rpc::memory();
    let s = server(cache);
    tokio::spawn(async move { s.serve(a, std::future::pending()).await });
    let opts = ClientOptions {
        era: match era {
            Era::Legacy => EraChoice::Legacy,
            Era::Modern => EraChoice::Modern,
        },
        capabilities: caps.unwrap_or_else(|| ClientCapabilities::sampling(true)),
        ..Default::default()
    };
    Client::connect(b, handler, opts).await.expect("connects")
}

fn args(q: &str) -> Map<String, Value> {
    json!({"q": q}).as_object().cloned().unwrap()
}

async fn structured(c: &Client, tool: &str, q: &str) -> Value {
    let r = c
        .call_tool(tool, args(q))
        .await
        .expect("the call completes");
    assert_ne!(r.is_error, Some(true), "{r:?}");
    r.structured_content.expect("structured")
}

async fn text(c: &Client, tool: &str, q: &str) -> (String, bool) {
    let r = c
        .call_tool(tool, args(q))
        .await
        .expect("the call completes");
    let t = r
        .content
        .iter()
        .filter_map(Content::as_text)
        .collect::<String>();
    (t, r.is_error == Some(true))
}

#[tokio::test]
async fn classify_by_rule_model_and_fallback() {
    for era in ERAS {
        let h = Scripted::texts(&["Orders.", "no idea", "x"]);
        let c = connect(era, h.clone(), None, false).await;
        let d = structured(&c, "classify", "order #5").await;
        assert_eq!(
            (d["label"].as_str(), d["decided_by"].as_str()),
            (Some("orders"), Some("rule"))
        );
        assert!(h.seen().is_empty(), "a rule needs no model");
        let d = structured(&c, "classify", "where is my parcel").await;
        assert_eq!(d["label"], "orders", "{era}");
        assert_eq!(d["decided_by"], "model:scripted-model");
        let req = &h.seen()[0];
        assert_eq!(
            ExpectedOutput::from_meta(req.params.meta.as_ref()),
            Some(ExpectedOutput::Choices(vec![
                "products".into(),
                "orders".into()
            ]))
        );
        assert_eq!(depth_from_meta(req.params.meta.as_ref()), Some(0));
        let d = structured(&c, "classify", "something").await;
        assert_eq!(d["label"], "products");
        assert_eq!(
            d["decided_by"],
            "fallback (the model answered \"no idea\", none of the labels)"
        );
    }
}

#[tokio::test]
async fn classify_falls_back_when_refused_or_unable() {
    for era in ERAS {
        let h = Scripted::new(|_, _| Err(SamplingError::Rejected("not today".into())));
        let c = connect(era, h, None, false).await;
        if era == Era::Legacy {
            let d = structured(&c, "classify", "tents").await;
            assert!(
                d["decided_by"]
                    .as_str()
                    .unwrap()
                    .starts_with("fallback (the client declined"),
                "{d}"
            );
        } else {
            // Modern: a declined request is never sent back (the spec's error handling for
            // input_required: the client does not retry), so the call ends at the client.
            let r = c.call_tool("classify", args("tents")).await;
            assert!(
                matches!(
                    r,
                    Err(mcp_client::ClientError::Sampling(SamplingError::Rejected(
                        _
                    )))
                ),
                "{r:?}"
            );
        }
        let c = connect(
            era,
            Scripted::texts(&["orders"]),
            Some(ClientCapabilities::default()),
            false,
        )
        .await;
        let d = structured(&c, "classify", "tents").await;
        assert_eq!(d["decided_by"], "fallback (the client cannot sample)");
    }
}

#[tokio::test]
async fn extract_repairs_once_then_gives_up() {
    for era in ERAS {
        let h = Scripted::texts(&[
            r#"{"ok": false, "fields": []}"#,
            "```json\n{\"ok\": false, \"fields\": [\"date\"]}\n```",
        ]);
        let c = connect(era, h.clone(), None, false).await;
        let (t, err) = text(&c, "extract", "check it").await;
        assert!(!err, "{t}");
        assert_eq!(t, "false [\"date\"] repaired=true");
        let seen = h.seen();
        assert!(seen[0]
            .params
            .system_prompt
            .as_deref()
            .unwrap()
            .contains("JSON Schema"));
        let repair = seen[1].params.messages.last().unwrap().content.as_slice()[0]
            .as_text()
            .unwrap()
            .to_owned();
        assert!(repair.contains("must name the fields at fault"), "{repair}");
        let c = connect(era, Scripted::texts(&["nope", "still nope"]), None, false).await;
        let (t, err) = text(&c, "extract", "check it").await;
        assert!(
            err && t.contains("not valid even after a repair round"),
            "{t}"
        );
    }
}

#[tokio::test]
async fn input_cap_holds_on_both_eras() {
    for era in ERAS {
        let h = Scripted::texts(&["a"]);
        let c = connect(era, h.clone(), None, false).await;
        let (t, err) = text(&c, "many", "3").await;
        assert!(!err, "{t}");
        let (t, err) = text(&c, "many", "10").await;
        assert!(err, "{era}: {t}");
        assert!(t.contains("limit"), "{t}");
    }
}

#[tokio::test]
async fn depth_travels_and_is_capped() {
    for era in ERAS {
        let h = Scripted::texts(&["a"]);
        let c = connect(era, h.clone(), None, false).await;
        let r = c.call_tool_at_depth("many", args("1"), 2).await.unwrap();
        assert_ne!(r.is_error, Some(true), "{r:?}");
        let req = h.seen().pop().unwrap();
        assert_eq!(depth_from_meta(req.params.meta.as_ref()), Some(2));
        assert_eq!(req.tool_call.as_ref().map(|t| t.depth), Some(2), "{era}");
        let r = c.call_tool_at_depth("many", args("1"), 3).await.unwrap();
        assert_eq!(r.is_error, Some(true));
        let t = r.content[0].as_text().unwrap();
        assert!(t.contains("max reasoning depth exceeded"), "{t}");
        assert_eq!(h.seen().len(), 1, "the refused call sampled nothing");
    }
}

#[tokio::test]
async fn the_cache_answers_a_repeated_request() {
    for era in ERAS {
        let h = Scripted::texts(&["one", "two"]);
        let c = connect(era, h.clone(), None, true).await;
        let (t, _) = text(&c, "twice", "same").await;
        assert_eq!(t, "one one");
        let (t, _) = text(&c, "twice", "same").await;
        assert_eq!(t, "one one", "{era}: a later call hits too");
        assert_eq!(h.seen().len(), 1, "{era}");
        let h = Scripted::texts(&["one", "two"]);
        let c = connect(era, h.clone(), None, false).await;
        let (t, _) = text(&c, "twice", "same").await;
        assert_eq!(t, "one two", "no cache unless asked for");
    }
}

fn tool_use(id: &str, a: f64, b: f64) -> CreateMessageResult {
    let input = json!({"a": a, "b": b}).as_object().cloned().unwrap();
    CreateMessageResult {
        content: Content::ToolUse {
            id: id.into(),
            name: "add".into(),
            input,
            meta: None,
        }
        .into(),
        stop_reason: Some(mcp_proto::sampling::StopReason::ToolUse),
        ..CreateMessageResult::from_text("m", "")
    }
}

#[tokio::test]
async fn the_tool_loop_runs_tools_and_forces_an_answer() {
    for era in ERAS {
        let h = Scripted::new(|req, n| {
            let last = req.params.messages.last().unwrap();
            match n {
                0 => Ok(tool_use("t1", 1.0, 2.0)),
                _ => {
                    let result = match &last.content.as_slice()[0] {
                        Content::ToolResult { content, .. } => {
                            content[0].as_text().unwrap_or("").to_owned()
                        }
                        _ => "no result".into(),
                    };
                    Ok(CreateMessageResult::from_text(
                        "m",
                        format!("the sum is {result}"),
                    ))
                }
            }
        });
        let c = connect(era, h.clone(), None, false).await;
        let out = structured(&c, "agent", "1 + 2?").await;
        assert_eq!(out["text"], "the sum is 3.0", "{era}: {out}");
        assert_eq!(out["rounds"], 2);
        assert_eq!(out["tool_uses"][0]["output"], 3.0);
        // A model that never stops calling tools gets toolChoice none on the last round.
        let h = Scripted::new(|_, n| Ok(tool_use(&format!("t{n}"), 1.0, 1.0)));
        let c = connect(era, h.clone(), None, false).await;
        let out = structured(&c, "agent", "loop").await;
        assert_eq!(out["rounds"], 3);
        assert_eq!(out["forced_final"], true);
        let seen = h.seen();
        let modes: Vec<_> = seen
            .iter()
            .map(|r| r.params.tool_choice.as_ref().and_then(|c| c.mode))
            .collect();
        assert_eq!(modes.last(), Some(&Some(ToolChoiceMode::None)), "{era}");
    }
}
