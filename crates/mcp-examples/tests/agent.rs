//! `agent` in process on both eras: the model's tool uses are run by the server against the
//! shop's database, the cap forces an answer, and a client without tool support gets an
//! answer from facts the server gathered in code.

mod common;

use common::{args, connect, request_text, ERAS};
use mcp_client::{SamplingError, SamplingRequest};
use mcp_proto::content::Content;
use mcp_proto::sampling::{StopReason, ToolChoiceMode};
use mcp_proto::ClientCapabilities;
use mcp_proto::{BoxFuture, CreateMessageResult, SamplingHandler};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// Answers the n-th request with `reply(request, n)`; keeps the requests.
struct Model {
    reply: fn(&SamplingRequest, usize) -> CreateMessageResult,
    seen: Mutex<Vec<SamplingRequest>>,
}

impl Model {
    fn new(reply: fn(&SamplingRequest, usize) -> CreateMessageResult) -> Arc<Model> {
        Arc::new(Model {
            reply,
            seen: Mutex::new(Vec::new()),
        })
    }

    fn seen(&self) -> Vec<SamplingRequest> {
        self.seen.lock().unwrap().clone()
    }
}

impl SamplingHandler for Model {
    fn create_message(
        &self,
        req: SamplingRequest,
    ) -> BoxFuture<Result<CreateMessageResult, SamplingError>> {
        let mut seen = self.seen.lock().unwrap();
        let out = (self.reply)(&req, seen.len());
        seen.push(req);
        Box::pin(std::future::ready(Ok(out)))
    }
}

fn tool_use(id: &str, name: &str, input: Value) -> CreateMessageResult {
    CreateMessageResult {
        content: Content::ToolUse {
            id: id.into(),
            name: name.into(),
            input: input.as_object().cloned().unwrap(),
            meta: None,
        }
        .into(),
        stop_reason: Some(StopReason::ToolUse),
        ..CreateMessageResult::from_text("scripted", "")
    }
}

/// The text of the tool result the last message carries.
fn last_result(req: &SamplingRequest) -> String {
    let last = req.params.messages.last().unwrap();
    match &last.content.as_slice()[0] {
        Content::ToolResult { content, .. } => content[0].as_text().unwrap_or("").to_owned(),
        other => panic!("not a tool result: {other:?}"),
    }
}

async fn research(c: &mcp_client::Client, question: &str, rounds: Option<u32>) -> Value {
    let r = c
        .call_tool(
            "research",
            args(json!({"question": question, "max_rounds": rounds})),
        )
        .await
        .expect("called");
    assert_ne!(r.is_error, Some(true), "{r:?}");
    r.structured_content.expect("structured")
}

#[tokio::test]
async fn the_model_looks_things_up_with_the_servers_tools() {
    for era in ERAS {
        let model = Model::new(|req, n| match n {
            0 => tool_use(
                "q1",
                "quote",
                json!({"items": [{"product": "Ultralight tent", "quantity": 2}]}),
            ),
            1 => tool_use("p1", "read_policy", json!({"topic": "warranty"})),
            _ => CreateMessageResult::from_text("scripted", format!("Done: {}", last_result(req))),
        });
        let opts = mcp_examples::Options::default();
        let c = connect("agent", &opts, era, model.clone(), None).await;
        let out = research(&c, "What do two tents cost, and their warranty?", None).await;
        assert_eq!(out["rounds"], 3, "{era:?}: {out}");
        assert_eq!(out["tool_uses"][0]["output"]["total"], 640.0, "{out}");
        assert!(
            out["answer"].as_str().unwrap().contains("two year"),
            "{out}"
        );
        assert_eq!(out["forced_final"], false);
        let seen = model.seen();
        let tools = seen[0].params.tools.as_ref().expect("tools offered");
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["search_products", "order_status", "read_policy", "quote"]
        );
        c.close().await;
    }
}

#[tokio::test]
async fn a_failing_tool_is_shown_to_the_model_and_the_cap_forces_an_answer() {
    for era in ERAS {
        let model = Model::new(|_, n| {
            tool_use(&format!("o{n}"), "order_status", json!({"number": "99999"}))
        });
        let opts = mcp_examples::Options::default();
        let c = connect("agent", &opts, era, model.clone(), None).await;
        let out = research(&c, "Where is order 99999?", Some(2)).await;
        assert_eq!(out["rounds"], 2, "{era:?}: {out}");
        assert_eq!(out["forced_final"], true);
        assert_eq!(out["tool_uses"][0]["error"], "there is no order 99999");
        let seen = model.seen();
        assert_eq!(last_result(&seen[1]), "there is no order 99999");
        let mode = seen[1].params.tool_choice.as_ref().and_then(|c| c.mode);
        assert_eq!(
            mode,
            Some(ToolChoiceMode::None),
            "the last round forbids tools"
        );
        c.close().await;
    }
}

#[tokio::test]
async fn a_client_without_tools_gets_facts_gathered_in_code() {
    for era in ERAS {
        let model = Model::new(|req, _| {
            let asked = request_text(req);
            let knows = asked.contains("\"status\":\"shipped\"") && req.params.tools.is_none();
            CreateMessageResult::from_text("scripted", if knows { "It has shipped." } else { "?" })
        });
        let opts = mcp_examples::Options::default();
        let example = mcp_examples::find("agent").unwrap();
        let server = (example.build)(&opts).unwrap();
        let (a, b) = mcp_rpc::memory();
        tokio::spawn(async move { server.serve(a, std::future::pending()).await });
        let copts = mcp_client::ClientOptions {
            era: match era {
                mcp_proto::Era::Legacy => mcp_client::EraChoice::Legacy,
                mcp_proto::Era::Modern => mcp_client::EraChoice::Modern,
            },
            capabilities: ClientCapabilities::sampling(false),
            ..Default::default()
        };
        let c = mcp_client::Client::connect(b, model.clone(), copts)
            .await
            .unwrap();
        let out = research(&c, "Has order 10421 shipped?", None).await;
        assert_eq!(out["answer"], "It has shipped.", "{era:?}: {out}");
        assert_eq!(out["rounds"], 1);
        assert!(
            out["gathered"].as_array().is_some_and(|g| !g.is_empty()),
            "{out}"
        );
        c.close().await;
    }
}

#[tokio::test]
async fn bad_questions_are_refused_before_sampling() {
    for era in ERAS {
        let model = Model::new(|_, _| CreateMessageResult::from_text("scripted", "no"));
        let opts = mcp_examples::Options::default();
        let c = connect("agent", &opts, era, model.clone(), None).await;
        let long = "why ".repeat(600);
        for (q, rounds, why) in [
            ("  ", None, "the question is empty"),
            (long.as_str(), None, "longer than 2000"),
            ("tents?", Some(0), "max_rounds must be 1 to 8"),
            ("tents?", Some(9), "max_rounds must be 1 to 8"),
        ] {
            let r = c
                .call_tool(
                    "research",
                    args(json!({"question": q, "max_rounds": rounds})),
                )
                .await
                .expect("answered");
            assert_eq!(r.is_error, Some(true), "{r:?}");
            assert!(r.text_content().contains(why), "{}", r.text_content());
        }
        assert!(model.seen().is_empty());
        c.close().await;
    }
}
