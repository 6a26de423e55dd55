//! Elicitation and roots through a raw client: the wire of both eras, rounds shared with
//! sampling, replies checked, missing capabilities.

mod common;

use common::{initialize, modern_meta, reply};
use mcp_proto::elicitation::{PropertySchema, PropertyType};
use mcp_rpc::testing::RawPeer;
use mcp_server::{Args, Ctx, Elicitation, Elicited, Sampling, Server, ToolError};
use serde_json::{json, Value};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Topic {
    topic: String,
}

#[derive(serde::Deserialize, schemars::JsonSchema, Debug)]
struct Confirm {
    title: String,
    copies: Option<u32>,
}

fn form(default_title: &str) -> Elicitation {
    Elicitation::new("Confirm the title")
        .property(
            "title",
            PropertySchema::of(PropertyType::String).default_value(default_title),
            true,
        )
        .property(
            "copies",
            PropertySchema::of(PropertyType::Integer).range(Some(1.0), Some(9.0)),
            false,
        )
}

/// Samples a title, then asks the user to confirm it: two rounds on modern.
async fn sample_then_elicit(Args(a): Args<Topic>, ctx: Ctx) -> Result<String, ToolError> {
    let title = ctx
        .sample(Sampling::user(a.topic).max_tokens(5))
        .await?
        .text();
    let r = ctx.elicit(form(&title)).await?;
    Ok(format!("{:?} {}", r.action, json!(r.content)))
}

/// Samples and elicits together: one round on modern.
async fn both_at_once(Args(a): Args<Topic>, ctx: Ctx) -> Result<String, ToolError> {
    let s = ctx.sample(Sampling::user(a.topic).max_tokens(5));
    let e = ctx.elicit_as::<Confirm>("Confirm");
    let (s, e) = tokio::join!(s, e);
    let title = match e? {
        Elicited::Accepted(c) => format!("{} x{}", c.title, c.copies.unwrap_or(1)),
        other => format!("{other:?}"),
    };
    Ok(format!("{} / {title}", s?.text()))
}

async fn confirm(Args(a): Args<Topic>, ctx: Ctx) -> Result<String, ToolError> {
    Ok(format!("{:?}", ctx.elicit(form(&a.topic)).await?.action))
}

async fn roots(Args(_): Args<Topic>, ctx: Ctx) -> Result<String, ToolError> {
    let roots = ctx.list_roots().await?;
    Ok(roots
        .iter()
        .map(|r| r.uri.as_str())
        .collect::<Vec<_>>()
        .join(" "))
}

fn start() -> RawPeer {
    let (a, b) = mcp_rpc::memory();
    let s = Server::builder("elicit")
        .tool("sample_then_elicit", "two rounds", sample_then_elicit)
        .tool("both_at_once", "one round", both_at_once)
        .tool("roots", "lists roots", roots)
        .tool("confirm", "elicits only", confirm)
        .build();
    tokio::spawn(async move { s.serve(a, std::future::pending()).await });
    RawPeer::new(b)
}

fn call(id: Value, tool: &str, caps: Option<Value>) -> Value {
    let mut params = json!({"name": tool, "arguments": {"topic": "cats"}});
    if let Some(c) = caps {
        params["_meta"] = modern_meta(c);
    }
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params})
}

fn all_caps() -> Option<Value> {
    Some(json!({"sampling": {}, "elicitation": {}, "roots": {}}))
}

/// The methods of a round's input requests, by key.
fn methods(r: &Value) -> Vec<(String, String)> {
    let reqs = r["result"]["inputRequests"]
        .as_object()
        .unwrap_or_else(|| panic!("no inputRequests: {r}"));
    reqs.iter()
        .map(|(k, v)| (k.clone(), v["method"].as_str().unwrap().to_owned()))
        .collect()
}

fn retry(id: Value, tool: &str, prev: &Value, responses: Value) -> Value {
    let mut c = call(id, tool, all_caps());
    c["params"]["inputResponses"] = responses;
    c["params"]["requestState"] = prev["result"]["requestState"].clone();
    c
}

#[tokio::test]
async fn modern_sample_then_elicit_takes_two_rounds() {
    let mut p = start();
    p.send(call(json!(1), "sample_then_elicit", all_caps()))
        .await;
    let r1 = p.recv().await;
    let m1 = methods(&r1);
    assert_eq!(m1.len(), 1, "{r1}");
    assert_eq!(m1[0].1, "sampling/createMessage");
    p.send(retry(
        json!(2),
        "sample_then_elicit",
        &r1,
        json!({ m1[0].0.clone(): reply("Cats") }),
    ))
    .await;
    let r2 = p.recv().await;
    let m2 = methods(&r2);
    assert_eq!(m2.len(), 1, "{r2}");
    assert_eq!(m2[0].1, "elicitation/create");
    let params = &r2["result"]["inputRequests"][&m2[0].0]["params"];
    assert_eq!(params["mode"], "form");
    assert_eq!(
        params["requestedSchema"]["properties"]["title"]["default"], "Cats",
        "{params}"
    );
    // The reply leaves out the title: the schema's default fills it in.
    let accept = json!({"action": "accept", "content": {"copies": 3}});
    p.send(retry(
        json!(3),
        "sample_then_elicit",
        &r2,
        json!({ m2[0].0.clone(): accept }),
    ))
    .await;
    let r3 = p.recv().await;
    assert_eq!(r3["result"]["resultType"], "complete", "{r3}");
    assert_eq!(
        r3["result"]["content"][0]["text"],
        r#"Accept {"copies":3,"title":"Cats"}"#
    );
}

#[tokio::test]
async fn modern_sample_and_elicit_together_take_one_round() {
    let mut p = start();
    p.send(call(json!(1), "both_at_once", all_caps())).await;
    let r1 = p.recv().await;
    let mut m = methods(&r1);
    m.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        m.iter().map(|x| x.1.as_str()).collect::<Vec<_>>(),
        ["elicitation/create", "sampling/createMessage"],
        "{r1}"
    );
    let answers = json!({
        m[0].0.clone(): {"action": "accept", "content": {"title": "Tom", "copies": 2}},
        m[1].0.clone(): reply("S"),
    });
    p.send(retry(json!(2), "both_at_once", &r1, answers)).await;
    let r2 = p.recv().await;
    assert_eq!(r2["result"]["content"][0]["text"], "S / Tom x2", "{r2}");

    // A declined form is a value, not an error.
    p.send(call(json!(3), "both_at_once", all_caps())).await;
    let r3 = p.recv().await;
    let mut m = methods(&r3);
    m.sort_by(|a, b| a.1.cmp(&b.1));
    let answers = json!({m[0].0.clone(): {"action": "decline"}, m[1].0.clone(): reply("S")});
    p.send(retry(json!(4), "both_at_once", &r3, answers)).await;
    let r4 = p.recv().await;
    assert_eq!(r4["result"]["content"][0]["text"], "S / Declined", "{r4}");
}

#[tokio::test]
async fn modern_invalid_replies_are_refused() {
    let mut p = start();
    p.send(call(json!(1), "both_at_once", all_caps())).await;
    let r1 = p.recv().await;
    let mut m = methods(&r1);
    m.sort_by(|a, b| a.1.cmp(&b.1));
    // copies must be an integer from the schema derived from `Confirm`.
    let answers = json!({
        m[0].0.clone(): {"action": "accept", "content": {"title": "T", "copies": "many"}},
        m[1].0.clone(): reply("S"),
    });
    p.send(retry(json!(2), "both_at_once", &r1, answers)).await;
    let r2 = p.recv().await;
    assert_eq!(r2["result"]["isError"], true, "{r2}");
    let text = r2["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("\"copies\" must be an integer"), "{text}");
    // Not an ElicitResult at all: refused as invalid params.
    let answers = json!({m[0].0.clone(): {"action": "maybe"}, m[1].0.clone(): reply("S")});
    p.send(retry(json!(3), "both_at_once", &r1, answers)).await;
    let r3 = p.recv().await;
    assert_eq!(r3["error"]["code"], -32602, "{r3}");
    assert!(
        r3["error"]["message"]
            .as_str()
            .unwrap()
            .contains("elicitation/create"),
        "{r3}"
    );
}

#[tokio::test]
async fn modern_missing_capabilities_are_32021() {
    let mut p = start();
    // The handler waits for both: the sampling request it can make goes out first; the
    // missing capability ends the call on the retry (a handler may catch NotSupported and
    // fall back, so a pending handler is not cut short).
    let sampling_only = Some(json!({"sampling": {}}));
    p.send(call(json!(1), "both_at_once", sampling_only.clone()))
        .await;
    let r1 = p.recv().await;
    let m = methods(&r1);
    assert_eq!(m.len(), 1, "{r1}");
    let mut c = call(json!(11), "both_at_once", sampling_only);
    c["params"]["inputResponses"] = json!({ m[0].0.clone(): reply("S") });
    c["params"]["requestState"] = r1["result"]["requestState"].clone();
    p.send(c).await;
    let r = p.recv().await;
    assert_eq!(r["error"]["code"], -32021, "{r}");
    assert_eq!(
        r["error"]["data"]["requiredCapabilities"],
        json!({"elicitation": {}})
    );
    p.send(call(json!(2), "roots", Some(json!({"elicitation": {}}))))
        .await;
    let r = p.recv().await;
    assert_eq!(r["error"]["code"], -32021, "{r}");
    assert_eq!(
        r["error"]["data"]["requiredCapabilities"],
        json!({"roots": {}})
    );
    // URL mode only does not allow form mode.
    p.send(call(
        json!(3),
        "confirm",
        Some(json!({"elicitation": {"url": {}}})),
    ))
    .await;
    let r = p.recv().await;
    assert_eq!(r["error"]["code"], -32021, "{r}");
    assert_eq!(
        r["error"]["data"]["requiredCapabilities"],
        json!({"elicitation": {}})
    );
    p.send(call(
        json!(4),
        "confirm",
        Some(json!({"elicitation": {"form": {}}})),
    ))
    .await;
    let r = p.recv().await;
    assert_eq!(methods(&r)[0].1, "elicitation/create", "{r}");
}

#[tokio::test]
async fn modern_roots_round() {
    let mut p = start();
    p.send(call(json!(1), "roots", all_caps())).await;
    let r1 = p.recv().await;
    let m = methods(&r1);
    assert_eq!(m[0].1, "roots/list", "{r1}");
    let roots = json!({"roots": [{"uri": "file:///a", "name": "a"}, {"uri": "file:///b"}]});
    p.send(retry(
        json!(2),
        "roots",
        &r1,
        json!({ m[0].0.clone(): roots }),
    ))
    .await;
    let r2 = p.recv().await;
    assert_eq!(
        r2["result"]["content"][0]["text"], "file:///a file:///b",
        "{r2}"
    );
    // A root that is not a file:// URI is refused.
    p.send(call(json!(3), "roots", all_caps())).await;
    let r3 = p.recv().await;
    let bad = json!({"roots": [{"uri": "https://example.com"}]});
    p.send(retry(
        json!(4),
        "roots",
        &r3,
        json!({ m[0].0.clone(): bad }),
    ))
    .await;
    let r4 = p.recv().await;
    assert_eq!(r4["result"]["isError"], true, "{r4}");
}

#[tokio::test]
async fn legacy_elicitation_and_roots_are_requests_tied_to_the_call() {
    let mut p = start();
    initialize(
        &mut p,
        json!({"sampling": {}, "elicitation": {}, "roots": {"listChanged": true}}),
    )
    .await;
    p.send(call(json!("c1"), "sample_then_elicit", None)).await;
    let s = p.recv().await;
    assert_eq!(s["method"], "sampling/createMessage", "{s}");
    p.send(json!({"jsonrpc": "2.0", "id": s["id"], "result": reply("Dogs")}))
        .await;
    let e = p.recv().await;
    assert_eq!(e["method"], "elicitation/create", "{e}");
    assert_eq!(
        e["params"]["requestedSchema"]["properties"]["title"]["default"],
        "Dogs"
    );
    p.send(json!({"jsonrpc": "2.0", "id": e["id"], "result": {"action": "cancel"}}))
        .await;
    let r = p.recv().await;
    assert_eq!(r["id"], "c1");
    assert_eq!(r["result"]["content"][0]["text"], "Cancel null", "{r}");

    p.send(call(json!("c2"), "roots", None)).await;
    let q = p.recv().await;
    assert_eq!(q["method"], "roots/list", "{q}");
    let roots = json!({"roots": [{"uri": "file:///w"}]});
    p.send(json!({"jsonrpc": "2.0", "id": q["id"], "result": roots}))
        .await;
    let r = p.recv().await;
    assert_eq!(r["result"]["content"][0]["text"], "file:///w", "{r}");
    // The roots notification is accepted silently.
    p.send(json!({"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}))
        .await;
}

#[tokio::test]
async fn legacy_without_capability_is_a_tool_error() {
    let mut p = start();
    initialize(&mut p, json!({"sampling": {}})).await;
    p.send(call(json!("c"), "both_at_once", None)).await;
    // The sampling request goes out; elicitation fails at once, so the call ends with a
    // tool error whatever the sampling reply.
    let mut result = None;
    while result.is_none() {
        let m = p.recv().await;
        if m["method"] == "sampling/createMessage" {
            p.send(json!({"jsonrpc": "2.0", "id": m["id"], "result": reply("S")}))
                .await;
        } else {
            result = Some(m);
        }
    }
    let r = result.unwrap();
    assert_eq!(r["result"]["isError"], true, "{r}");
    let text = r["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("does not support MCP elicitation"), "{text}");
}
