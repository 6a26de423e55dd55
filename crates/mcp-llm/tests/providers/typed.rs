//! The typed-output extension on the wire: a request whose `_meta` carries the expected
//! output (`dev.mcp-sampling/output`) reaches OpenAI-compatible endpoints as a
//! `response_format` JSON schema and Anthropic as a forced `answer` tool, and the structured
//! answer comes back as the reply's text.

use crate::hello;
use crate::server::{Reply, Server};
use mcp_llm::{Anthropic, HttpConfig, OpenAi, Provider};
use mcp_proto::ext::ExpectedOutput;
use mcp_proto::sampling::{CreateMessageParams, StopReason};
use serde_json::{json, Value};

fn expecting(out: ExpectedOutput) -> CreateMessageParams {
    let mut p = hello();
    out.write_to(&mut p.meta);
    p
}

fn verdict_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"plausible": {"type": "boolean"}, "fields": {"type": "array", "items": {"type": "string"}}},
        "required": ["plausible", "fields"]
    })
}

fn openai_reply(content: &str) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}
    })
}

fn anthropic_reply(input: Value) -> Value {
    json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "answer", "input": input}],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 9, "output_tokens": 4}
    })
}

#[tokio::test]
async fn openai_gets_a_strict_enum_for_choices_and_answers_the_bare_choice() {
    let server = Server::start(vec![Reply::json(
        200,
        openai_reply(r#"{"answer":"orders"}"#),
    )])
    .await;
    let p = OpenAi::new(HttpConfig::new(format!("{}/v1", server.base)));
    let out = ExpectedOutput::Choices(vec!["products".into(), "orders".into()]);
    let c = p.complete("gpt-4o-mini", &expecting(out)).await.unwrap();
    assert_eq!(
        server.only_request().json()["response_format"],
        json!({"type": "json_schema", "json_schema": {
            "name": "answer",
            "strict": true,
            "schema": {
                "type": "object",
                "properties": {"answer": {"type": "string", "enum": ["products", "orders"]}},
                "required": ["answer"],
                "additionalProperties": false
            }
        }})
    );
    assert_eq!(c.result.text(), "orders");
}

#[tokio::test]
async fn openai_gets_an_object_schema_as_it_is() {
    let body = r#"{"plausible":false,"fields":["date"]}"#;
    let server = Server::start(vec![Reply::json(200, openai_reply(body))]).await;
    let p = OpenAi::new(HttpConfig::new(format!("{}/v1", server.base)));
    let c = p
        .complete(
            "gpt-4o-mini",
            &expecting(ExpectedOutput::Schema(verdict_schema())),
        )
        .await
        .unwrap();
    let sent = server.only_request().json();
    assert_eq!(
        sent["response_format"]["json_schema"]["schema"],
        verdict_schema()
    );
    assert_eq!(sent["response_format"]["json_schema"]["strict"], false);
    let reply: Value = serde_json::from_str(&c.result.text()).unwrap();
    assert_eq!(reply, json!({"plausible": false, "fields": ["date"]}));
}

#[tokio::test]
async fn anthropic_is_forced_to_an_answer_tool_whose_use_becomes_the_text() {
    let server = Server::start(vec![Reply::json(
        200,
        anthropic_reply(json!({"plausible": true, "fields": []})),
    )])
    .await;
    let p = Anthropic::new(HttpConfig::new(&server.base)).with_api_key("k");
    let c = p
        .complete(
            "claude-haiku-4-5",
            &expecting(ExpectedOutput::Schema(verdict_schema())),
        )
        .await
        .unwrap();
    let sent = server.only_request().json();
    assert_eq!(
        sent["tool_choice"],
        json!({"type": "tool", "name": "answer"})
    );
    assert_eq!(sent["tools"][0]["name"], "answer");
    assert_eq!(sent["tools"][0]["input_schema"], verdict_schema());
    assert_eq!(sent["tools"].as_array().map(Vec::len), Some(1));
    assert_eq!(c.result.stop_reason, Some(StopReason::EndTurn));
    let reply: Value = serde_json::from_str(&c.result.text()).unwrap();
    assert_eq!(reply, json!({"plausible": true, "fields": []}));
}

#[tokio::test]
async fn anthropic_choices_come_back_as_the_bare_label() {
    let server = Server::start(vec![Reply::json(
        200,
        anthropic_reply(json!({"answer": "docs"})),
    )])
    .await;
    let p = Anthropic::new(HttpConfig::new(&server.base)).with_api_key("k");
    let out = ExpectedOutput::Choices(vec!["docs".into(), "users".into()]);
    let c = p
        .complete("claude-haiku-4-5", &expecting(out))
        .await
        .unwrap();
    let sent = server.only_request().json();
    assert_eq!(
        sent["tools"][0]["input_schema"]["properties"]["answer"]["enum"],
        json!(["docs", "users"])
    );
    assert_eq!(c.result.text(), "docs");
}

#[tokio::test]
async fn a_request_without_the_extension_asks_for_no_format() {
    let server = Server::start(vec![Reply::json(200, openai_reply("hi"))]).await;
    let p = OpenAi::new(HttpConfig::new(format!("{}/v1", server.base)));
    p.complete("gpt-4o-mini", &hello()).await.unwrap();
    assert!(server
        .only_request()
        .json()
        .get("response_format")
        .is_none());
}
