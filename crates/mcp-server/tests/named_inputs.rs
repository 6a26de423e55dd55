//! Input requests named by the handler (`Elicitation::key`, `Sampling::key`,
//! `list_roots_keyed`), replies offered without a `requestState`, and `input_required` on
//! `prompts/get`.

mod common;

use common::{initialize, modern_meta, reply};
use mcp_proto::elicitation::{PropertySchema, PropertyType};
use mcp_rpc::testing::RawPeer;
use mcp_server::{Args, Ctx, Elicitation, Sampling, Server, ToolError};
use serde_json::{json, Map, Value};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct NoArgs {}

fn name_form() -> Elicitation {
    Elicitation::new("What is your name?")
        .property("name", PropertySchema::of(PropertyType::String), true)
        .key("user_name")
}

async fn greet(_: Args<NoArgs>, ctx: Ctx) -> Result<String, ToolError> {
    let r = ctx.elicit(name_form()).await?;
    let name = r.content.and_then(|c| c.get("name").cloned());
    Ok(format!("Hello, {}!", name.unwrap_or_default()))
}

/// One request of each kind, named, in one round.
async fn all_three(_: Args<NoArgs>, ctx: Ctx) -> Result<String, ToolError> {
    let s = ctx.sample(Sampling::user("Greet").max_tokens(5).key("greeting"));
    let (e, s, r) = tokio::join!(
        ctx.elicit(name_form()),
        s,
        ctx.list_roots_keyed(Some("roots"))
    );
    Ok(format!("{:?} {} {}", e?.action, s?.text(), r?.len()))
}

async fn same_key_twice(_: Args<NoArgs>, ctx: Ctx) -> Result<String, ToolError> {
    let (a, b) = tokio::join!(ctx.elicit(name_form()), ctx.elicit(name_form()));
    Ok(format!("{:?} {:?}", a?.action, b?.action))
}

async fn prompt(_: Map<String, Value>, ctx: Ctx) -> Result<String, ToolError> {
    let form = Elicitation::new("Context?")
        .property("context", PropertySchema::of(PropertyType::String), true)
        .key("user_context");
    let r = ctx.elicit(form).await?;
    Ok(format!("Use this context: {}", json!(r.content)))
}

fn start() -> RawPeer {
    let (a, b) = mcp_rpc::memory();
    let s = Server::builder("named")
        .tool("greet", "elicits user_name", greet)
        .tool("all_three", "one round of three", all_three)
        .tool("same_key_twice", "a bug", same_key_twice)
        .prompt_with_ctx("ctx_prompt", "elicits user_context", &[], prompt)
        .build();
    tokio::spawn(async move { s.serve(a, std::future::pending()).await });
    RawPeer::new(b)
}

fn request(id: &str, method: &str, name: &str, extra: Value) -> Value {
    let caps = json!({"sampling": {}, "elicitation": {}, "roots": {}});
    let mut params = json!({"name": name, "_meta": modern_meta(caps)});
    if method == "tools/call" {
        params["arguments"] = json!({});
    }
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        params[k] = v;
    }
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

async fn ask(p: &mut RawPeer, id: &str, method: &str, name: &str, extra: Value) -> Value {
    p.send(request(id, method, name, extra)).await;
    let r = p.recv().await;
    assert_eq!(r["id"], id, "{r}");
    r
}

fn accept(content: Value) -> Value {
    json!({"action": "accept", "content": content})
}

#[tokio::test]
async fn named_keys_and_replies_offered_without_state() {
    let mut p = start();
    let r = ask(&mut p, "1", "tools/call", "greet", json!({})).await;
    assert_eq!(r["result"]["resultType"], "input_required", "{r}");
    assert_eq!(
        r["result"]["inputRequests"]["user_name"]["method"],
        "elicitation/create"
    );
    // Retry with the state.
    let responses = json!({"user_name": accept(json!({"name": "Ann"}))});
    let state = r["result"]["requestState"].clone();
    let extra = json!({"inputResponses": responses, "requestState": state});
    let r = ask(&mut p, "2", "tools/call", "greet", extra).await;
    assert_eq!(r["result"]["content"][0]["text"], "Hello, \"Ann\"!", "{r}");
    // The same reply offered cold, with keys nobody asked for: taken, extras ignored.
    let offered = json!({"user_name": accept(json!({"name": "Bo"})), "other": 1});
    let r = ask(
        &mut p,
        "3",
        "tools/call",
        "greet",
        json!({"inputResponses": offered}),
    )
    .await;
    assert_eq!(r["result"]["content"][0]["text"], "Hello, \"Bo\"!", "{r}");
    // Only a wrong key: asked again.
    let wrong = json!({"inputResponses": {"wrong_key": accept(json!({"name": "X"}))}});
    let r = ask(&mut p, "4", "tools/call", "greet", wrong).await;
    assert_eq!(r["result"]["resultType"], "input_required", "{r}");
    // An offered reply that is not an ElicitResult: a protocol error.
    let bad = json!({"inputResponses": {"user_name": 12345}});
    let r = ask(&mut p, "5", "tools/call", "greet", bad).await;
    assert_eq!(r["error"]["code"], -32602, "{r}");
    let msg = r["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("user_name") && msg.contains("elicitation"),
        "{r}"
    );
}

#[tokio::test]
async fn named_requests_of_every_kind_share_a_round() {
    let mut p = start();
    let r = ask(&mut p, "1", "tools/call", "all_three", json!({})).await;
    let reqs = r["result"]["inputRequests"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let keys: Vec<_> = reqs.keys().cloned().collect();
    assert_eq!(keys, ["greeting", "roots", "user_name"], "{r}");
    assert_eq!(reqs["roots"]["method"], "roots/list");
    let responses = json!({
        "user_name": accept(json!({"name": "Ann"})),
        "greeting": reply("Hi"),
        "roots": {"roots": [{"uri": "file:///a"}]}
    });
    let state = r["result"]["requestState"].clone();
    let extra = json!({"inputResponses": responses, "requestState": state});
    let r = ask(&mut p, "2", "tools/call", "all_three", extra).await;
    assert_eq!(r["result"]["content"][0]["text"], "Accept Hi 1", "{r}");
    // A key used twice in one call is the handler's bug, reported as a tool error.
    let r = ask(&mut p, "3", "tools/call", "same_key_twice", json!({})).await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    let text = r["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(text.contains("user_name"), "{r}");
}

#[tokio::test]
async fn prompts_get_asks_for_input_on_both_eras() {
    let mut p = start();
    let r = ask(&mut p, "1", "prompts/get", "ctx_prompt", json!({})).await;
    assert_eq!(r["result"]["resultType"], "input_required", "{r}");
    let state = r["result"]["requestState"].clone();
    // The state is bound to prompts/get of this prompt: not usable for a tool call.
    let foreign = json!({"requestState": state.clone(), "inputResponses": {}});
    let r2 = ask(&mut p, "2", "tools/call", "greet", foreign).await;
    assert_eq!(r2["error"]["code"], -32602, "{r2}");
    let responses = json!({"user_context": accept(json!({"context": "tests"}))});
    let extra = json!({"inputResponses": responses, "requestState": state});
    let r = ask(&mut p, "3", "prompts/get", "ctx_prompt", extra).await;
    assert_eq!(r["result"]["resultType"], "complete", "{r}");
    let text = &r["result"]["messages"][0]["content"]["text"];
    assert_eq!(text, "Use this context: {\"context\":\"tests\"}", "{r}");
    // Without the elicitation capability: -32021.
    let mut no_caps = request("4", "prompts/get", "ctx_prompt", json!({}));
    no_caps["params"]["_meta"] = modern_meta(json!({}));
    p.send(no_caps).await;
    let r = p.recv().await;
    assert_eq!(r["error"]["code"], -32021, "{r}");

    // Legacy: an elicitation/create request tied to the prompts/get.
    let mut p = start();
    initialize(&mut p, json!({"elicitation": {}})).await;
    let get = json!({"jsonrpc": "2.0", "id": "g", "method": "prompts/get",
        "params": {"name": "ctx_prompt"}});
    p.send(get).await;
    let e = p.recv().await;
    assert_eq!(e["method"], "elicitation/create", "{e}");
    let answer = accept(json!({"context": "legacy"}));
    p.send(json!({"jsonrpc": "2.0", "id": e["id"], "result": answer}))
        .await;
    let r = p.recv().await;
    assert_eq!(r["id"], "g", "{r}");
    let text = &r["result"]["messages"][0]["content"]["text"];
    assert_eq!(text, "Use this context: {\"context\":\"legacy\"}", "{r}");
}
