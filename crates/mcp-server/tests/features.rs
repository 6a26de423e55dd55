//! Logging, completion, resource templates and binary resources, subscriptions, prompts
//! with any content, on both eras, through a raw client.

mod common;

use common::{initialize, modern_meta};
use mcp_proto::content::Content;
use mcp_proto::prompts::PromptMessage;
use mcp_rpc::testing::RawPeer;
use mcp_server::{Args, CompletionRequest, Ctx, LoggingLevel, Server, ToolError, UriVars};
use serde_json::{json, Value};
use std::time::Duration;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Empty {}

async fn chatty(_: Args<Empty>, ctx: Ctx) -> Result<String, ToolError> {
    ctx.log(LoggingLevel::Debug, "debug detail");
    ctx.log(LoggingLevel::Info, "info note");
    ctx.log(LoggingLevel::Error, json!({"error": "bad"}));
    Ok("done".into())
}

async fn touch(_: Args<Empty>, ctx: Ctx) -> Result<String, ToolError> {
    let sent = ctx.notify_resource_updated("mem://watched");
    Ok(format!("sent: {sent}"))
}

fn server() -> Server {
    Server::builder("features")
        .tool("chatty", "Logs at three levels", chatty)
        .tool("touch", "Changes mem://watched", touch)
        .resource("mem://watched", "watched", "text/plain", || async {
            Ok("now")
        })
        .resource(
            "mem://bytes",
            "bytes",
            "application/octet-stream",
            || async { Ok(vec![0u8, 1, 2, 255]) },
        )
        .resource_template(
            "mem://items/{id}/v{version}",
            "item",
            "application/json",
            |v: UriVars| async move {
                let id = v.get("id").unwrap_or_default().to_owned();
                let version = v.get("version").unwrap_or_default().to_owned();
                Ok(json!({"id": id, "version": version}).to_string())
            },
        )
        .template_completer(
            "mem://items/{id}/v{version}",
            |r: CompletionRequest| async move { Ok(r.filter(["1", "2", "10"])) },
        )
        .resource_subscriptions()
        .prompt(
            "greet",
            "Greets",
            &[("name", true), ("style", false)],
            |a| async move {
                let name = a
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                Ok(vec![
                    PromptMessage::user(Content::text(format!("Greet {name}"))),
                    PromptMessage::user(Content::image("AAAA", "image/png")),
                ])
            },
        )
        .prompt_completer("greet", |r: CompletionRequest| async move {
            let all: Vec<String> = (0..150).map(|i| format!("{}{i}", r.value)).collect();
            Ok(all)
        })
        .build()
}

fn start() -> RawPeer {
    let (a, b) = mcp_rpc::memory();
    let s = server();
    tokio::spawn(async move { s.serve(a, std::future::pending()).await });
    RawPeer::new(b)
}

async fn request(p: &mut RawPeer, id: i64, method: &str, params: Value) -> Value {
    p.send(json!({"jsonrpc":"2.0","id":id,"method":method,"params":params}))
        .await;
    p.recv().await
}

/// Sends a request and collects the notifications that come before its answer.
async fn with_notes(p: &mut RawPeer, id: i64, method: &str, params: Value) -> (Vec<Value>, Value) {
    p.send(json!({"jsonrpc":"2.0","id":id,"method":method,"params":params}))
        .await;
    let mut notes = Vec::new();
    loop {
        let m = p.recv().await;
        if m.get("id") == Some(&json!(id)) {
            return (notes, m);
        }
        notes.push(m);
    }
}

fn levels(notes: &[Value]) -> Vec<&str> {
    notes
        .iter()
        .filter(|n| n["method"] == "notifications/message")
        .map(|n| n["params"]["level"].as_str().unwrap_or("?"))
        .collect()
}

#[tokio::test]
async fn legacy_logging_follows_set_level() {
    let mut p = start();
    initialize(&mut p, json!({})).await;
    let call = json!({"name": "chatty", "arguments": {}});
    let (notes, r) = with_notes(&mut p, 1, "tools/call", call.clone()).await;
    assert_eq!(r["result"]["content"][0]["text"], "done", "{r}");
    assert_eq!(levels(&notes), ["debug", "info", "error"]);
    let r = request(&mut p, 2, "logging/setLevel", json!({"level": "info"})).await;
    assert_eq!(r["result"], json!({}), "{r}");
    let (notes, _) = with_notes(&mut p, 3, "tools/call", call).await;
    assert_eq!(levels(&notes), ["info", "error"]);
    assert_eq!(notes[1]["params"]["data"], json!({"error": "bad"}));
    let r = request(&mut p, 4, "logging/setLevel", json!({"level": "loud"})).await;
    assert_eq!(r["error"]["code"], -32602, "{r}");
}

#[tokio::test]
async fn modern_logging_needs_the_meta_level() {
    let mut p = start();
    let mut params = json!({"name": "chatty", "arguments": {}, "_meta": modern_meta(json!({}))});
    let (notes, r) = with_notes(&mut p, 1, "tools/call", params.clone()).await;
    assert_eq!(r["result"]["resultType"], "complete", "{r}");
    assert!(levels(&notes).is_empty(), "{notes:?}");
    params["_meta"]["io.modelcontextprotocol/logLevel"] = json!("warning");
    let (notes, _) = with_notes(&mut p, 2, "tools/call", params.clone()).await;
    assert_eq!(levels(&notes), ["error"]);
    params["_meta"]["io.modelcontextprotocol/logLevel"] = json!("chatty");
    let r = request(&mut p, 3, "tools/call", params).await;
    assert_eq!(r["error"]["code"], -32602, "{r}");
    let meta = modern_meta(json!({}));
    let r = request(
        &mut p,
        4,
        "logging/setLevel",
        json!({"level": "info", "_meta": meta}),
    )
    .await;
    assert_eq!(r["error"]["code"], -32601, "{r}");
}

#[tokio::test]
async fn templates_blobs_and_capabilities() {
    let mut p = start();
    let meta = modern_meta(json!({}));
    let r = request(&mut p, 1, "server/discover", json!({"_meta": meta})).await;
    let caps = &r["result"]["capabilities"];
    assert_eq!(caps["completions"], json!({}), "{r}");
    assert_eq!(caps["logging"], json!({}), "{r}");
    assert!(caps["resources"].get("subscribe").is_none(), "modern: {r}");
    let read = |uri: &str| json!({"uri": uri, "_meta": meta});
    let r = request(&mut p, 2, "resources/read", read("mem://items/7/v2")).await;
    let c = &r["result"]["contents"][0];
    assert_eq!(c["uri"], "mem://items/7/v2", "{r}");
    assert_eq!(c["mimeType"], "application/json");
    let v: Value = serde_json::from_str(c["text"].as_str().unwrap()).unwrap();
    assert_eq!(v, json!({"id": "7", "version": "2"}));
    assert_eq!(r["result"]["ttlMs"], 0);
    let r = request(&mut p, 3, "resources/read", read("mem://bytes")).await;
    assert_eq!(r["result"]["contents"][0]["blob"], "AAEC/w==", "{r}");
    let r = request(&mut p, 4, "resources/read", read("mem://items/7/x2")).await;
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert_eq!(r["error"]["data"]["uri"], "mem://items/7/x2");
    let r = request(
        &mut p,
        5,
        "resources/templates/list",
        json!({"_meta": meta}),
    )
    .await;
    let t = &r["result"]["resourceTemplates"][0];
    assert_eq!(t["uriTemplate"], "mem://items/{id}/v{version}", "{r}");
    assert_eq!(r["result"]["cacheScope"], "private");
}

#[tokio::test]
async fn completion_for_prompts_and_templates() {
    let mut p = start();
    initialize(&mut p, json!({})).await;
    let ask = |r: Value, name: &str, value: &str| json!({"ref": r, "argument": {"name": name, "value": value}});
    let tref = json!({"type": "ref/resource", "uri": "mem://items/{id}/v{version}"});
    let r = request(
        &mut p,
        1,
        "completion/complete",
        ask(tref.clone(), "id", "1"),
    )
    .await;
    assert_eq!(
        r["result"]["completion"]["values"],
        json!(["1", "10"]),
        "{r}"
    );
    let r = request(&mut p, 2, "completion/complete", ask(tref, "nope", "1")).await;
    assert_eq!(r["result"]["completion"]["values"], json!([]), "{r}");
    let pref = json!({"type": "ref/prompt", "name": "greet"});
    let r = request(&mut p, 3, "completion/complete", ask(pref, "name", "x")).await;
    let c = &r["result"]["completion"];
    assert_eq!(c["values"].as_array().map(Vec::len), Some(100), "{r}");
    assert_eq!(
        (c["total"].clone(), c["hasMore"].clone()),
        (json!(150), json!(true))
    );
    let unknown = json!({"type": "ref/prompt", "name": "nope"});
    let r = request(&mut p, 4, "completion/complete", ask(unknown, "a", "")).await;
    assert_eq!(r["error"]["code"], -32602, "{r}");
}

#[tokio::test]
async fn prompts_with_content_and_required_arguments() {
    let mut p = start();
    initialize(&mut p, json!({})).await;
    let r = request(&mut p, 1, "prompts/get", json!({"name": "greet"})).await;
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("name"));
    let params = json!({"name": "greet", "arguments": {"name": "Ada"}});
    let r = request(&mut p, 2, "prompts/get", params).await;
    let m = &r["result"]["messages"];
    assert_eq!(m[0]["content"]["text"], "Greet Ada", "{r}");
    assert_eq!(
        m[1]["content"],
        json!({"type": "image", "data": "AAAA", "mimeType": "image/png"})
    );
    assert_eq!(r["result"]["description"], "Greets");
    let r = request(&mut p, 3, "prompts/list", json!({})).await;
    let args = &r["result"]["prompts"][0]["arguments"];
    assert_eq!(args[1], json!({"name": "style", "required": false}), "{r}");
}

#[tokio::test]
async fn legacy_subscriptions_are_tracked() {
    let mut p = start();
    initialize(&mut p, json!({})).await;
    let touch = json!({"name": "touch", "arguments": {}});
    let r = request(&mut p, 1, "tools/call", touch.clone()).await;
    assert_eq!(r["result"]["content"][0]["text"], "sent: false", "{r}");
    let sub = json!({"uri": "mem://watched"});
    let r = request(&mut p, 2, "resources/subscribe", sub.clone()).await;
    assert_eq!(r["result"], json!({}), "{r}");
    let (notes, r) = with_notes(&mut p, 3, "tools/call", touch.clone()).await;
    assert_eq!(r["result"]["content"][0]["text"], "sent: true", "{r}");
    assert_eq!(notes[0]["method"], "notifications/resources/updated");
    assert_eq!(notes[0]["params"]["uri"], "mem://watched");
    let r = request(&mut p, 4, "resources/unsubscribe", sub).await;
    assert_eq!(r["result"], json!({}), "{r}");
    let r = request(&mut p, 5, "tools/call", touch).await;
    assert_eq!(r["result"]["content"][0]["text"], "sent: false", "{r}");
    assert!(p.try_recv(Duration::from_millis(50)).await.is_none());
    let r = request(
        &mut p,
        6,
        "resources/subscribe",
        json!({"uri": "mem://none"}),
    )
    .await;
    assert_eq!(r["error"]["code"], -32002, "{r}");
}
