//! Every built-in server, in process over the in-memory transport, through the real client
//! SDK, on both eras: each is listed in the registry, lists its tools, and answers a call
//! whose sampling (or elicitation) a scripted handler answers.

use mcp_client::{AutoElicit, Client, ClientOptions, EraChoice, SamplingError, SamplingRequest};
use mcp_proto::{BoxFuture, CreateMessageResult, Era};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Replies `text` to every sampling request.
fn replying(text: &'static str) -> Arc<dyn mcp_client::SamplingHandler> {
    Arc::new(
        move |_: SamplingRequest| -> BoxFuture<Result<CreateMessageResult, SamplingError>> {
            Box::pin(std::future::ready(Ok(CreateMessageResult::from_text(
                "scripted", text,
            ))))
        },
    )
}

async fn connect(name: &str, era: Era, reply: &'static str, opts: ClientOptions) -> Client {
    let example = mcp_examples::find(name).expect("registered");
    let (a, b) = mcp_rpc::memory();
    let server = (example.build)(&mcp_examples::Options::default()).expect("builds");
    tokio::spawn(async move { server.serve(a, std::future::pending()).await });
    let opts = ClientOptions {
        era: match era {
            Era::Legacy => EraChoice::Legacy,
            Era::Modern => EraChoice::Modern,
        },
        ..opts
    };
    let client = Client::connect(b, replying(reply), opts)
        .await
        .expect("connects");
    assert_eq!(client.era(), era);
    client
}

fn args(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("an object")
}

const ERAS: [Era; 2] = [Era::Legacy, Era::Modern];

#[test]
fn the_registry_names_each_server_once() {
    let names: Vec<&str> = mcp_examples::REGISTRY.iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        [
            "summarize",
            "smart-search",
            "kb",
            "triage",
            "sql",
            "email-tones",
            "code-review",
            "intake",
            "agent",
            "elicit-demo",
            "bench",
        ]
    );
    for e in mcp_examples::REGISTRY {
        assert!(!e.about.is_empty(), "{} has a description", e.name);
        let server = (e.build)(&mcp_examples::Options::default()).expect("builds");
        assert_eq!(server.info().name, e.name);
    }
    assert!(mcp_examples::find("nope").is_none());
}

#[tokio::test]
async fn summarize_samples_long_text_only() {
    for era in ERAS {
        let c = connect(
            "summarize",
            era,
            "A short summary.",
            ClientOptions::default(),
        )
        .await;
        let long = "The fox jumps over the dog. ".repeat(40);
        let r = c
            .call_tool("summarize", args(json!({"text": long, "sentences": 1})))
            .await
            .expect("called");
        assert_eq!(r.text_content(), "A short summary.", "{era:?}");
        let r = c
            .call_tool("summarize", args(json!({"text": "Short."})))
            .await
            .expect("called");
        assert_eq!(
            r.text_content(),
            "Short.",
            "short text needs no model ({era:?})"
        );
        c.close().await;
    }
}

#[tokio::test]
async fn smart_search_asks_the_model_only_when_rules_cannot_decide() {
    for era in ERAS {
        let c = connect("smart-search", era, "products", ClientOptions::default()).await;
        let r = c
            .call_tool(
                "intelligent_search",
                args(json!({"query": "red running shoes"})),
            )
            .await
            .expect("called");
        let found = r.structured_content.expect("structured");
        assert_eq!(found["category"], "products", "{era:?}: {found}");
        assert_eq!(found["rows"][0]["name"], "Red running shoes");
        let r = c
            .call_tool("intelligent_search", args(json!({"query": "order 10422"})))
            .await
            .expect("called");
        let found = r.structured_content.expect("structured");
        assert_eq!(found["category"], "orders");
        assert_eq!(found["rows"][0]["customer"], "Grace Hopper");
        c.close().await;
    }
}

#[tokio::test]
async fn elicit_demo_books_with_the_form_filled_in() {
    for era in ERAS {
        let mut values = Map::new();
        values.insert("name".into(), json!("Ada"));
        values.insert("date".into(), json!("2030-01-02"));
        values.insert("guests".into(), json!(2));
        values.insert("email".into(), json!("ada@example.com"));
        let opts = ClientOptions {
            elicitation: Some(Arc::new(AutoElicit::Accept(values))),
            ..Default::default()
        };
        let c = connect("elicit-demo", era, "unused", opts).await;
        let r = c
            .call_tool("book_table", args(json!({"restaurant": "Chez Nous"})))
            .await
            .expect("called");
        let booked = r.structured_content.expect("structured");
        assert_eq!(booked["booked"]["name"], "Ada", "{era:?}: {booked}");
        assert_eq!(
            booked["booked"]["seating"], "indoor",
            "the default is filled in"
        );
        c.close().await;
    }
}

#[tokio::test]
async fn bench_makes_the_round_trips_it_is_asked_for() {
    for era in ERAS {
        let c = connect("bench", era, "ok", ClientOptions::default()).await;
        let r = c
            .call_tool("bench_sampling", args(json!({"n": 5, "concurrency": 2})))
            .await
            .expect("called");
        assert_eq!(
            r.text_content(),
            "completed 5 sampling round trips",
            "{era:?}"
        );
        c.close().await;
    }
}

/// Every tool of every built-in server refuses a call nested deeper than the servers serve
/// (the seed's "max reasoning depth exceeded"), on both eras, before it samples anything.
#[tokio::test]
async fn every_tool_refuses_calls_past_the_maximum_depth() {
    for era in ERAS {
        for e in mcp_examples::REGISTRY {
            let c = connect(e.name, era, "never used", ClientOptions::default()).await;
            let tools = c.list_tools().await.expect("listed").tools;
            assert!(!tools.is_empty(), "{} has tools", e.name);
            for t in tools {
                let r = c
                    .call_tool_at_depth(&t.name, Map::new(), 10)
                    .await
                    .expect("answered");
                assert_eq!(r.is_error, Some(true), "{} {}: {r:?}", e.name, t.name);
                assert!(
                    r.text_content().contains("max reasoning depth exceeded"),
                    "{} {} on {era:?}: {}",
                    e.name,
                    t.name,
                    r.text_content()
                );
            }
            c.close().await;
        }
    }
}
