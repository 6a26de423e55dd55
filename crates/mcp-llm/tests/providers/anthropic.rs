use crate::server::{Reply, Server};
use crate::{full_request, hello, with};
use mcp_llm::{Anthropic, HttpConfig, Provider, ProviderError, Usage};
use mcp_proto::content::{Content, OneOrMany};
use mcp_proto::sampling::StopReason;
use serde_json::{json, Value};

fn provider(server: &Server) -> Anthropic {
    Anthropic::new(HttpConfig::new(&server.base)).with_api_key("sk-ant-test")
}

fn reply(content: Value, stop_reason: &str) -> Value {
    json!({
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": {"input_tokens": 21, "output_tokens": 7}
    })
}

fn text_reply(stop_reason: &str) -> Value {
    reply(json!([{"type": "text", "text": "Hi!"}]), stop_reason)
}

#[tokio::test]
async fn request_wire_format() {
    let server = Server::start(vec![Reply::json(200, text_reply("end_turn"))]).await;
    provider(&server)
        .complete("claude-sonnet-4-5", &full_request())
        .await
        .unwrap();
    let req = server.only_request();
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/v1/messages");
    assert_eq!(req.header("x-api-key"), Some("sk-ant-test"));
    assert_eq!(req.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(req.header("authorization"), None);
    assert_eq!(
        req.json(),
        json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 256,
            "system": "You are terse.",
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "What is in this picture? And the weather in Paris and London?"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
                ]},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "A cat. Checking the weather."},
                    {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {"city": "London", "units": "C"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "call_1", "content": [{"type": "text", "text": "18°C, cloudy"}]},
                    {"type": "tool_result", "tool_use_id": "call_2", "content": [{"type": "text", "text": "station offline"}], "is_error": true}
                ]}
            ],
            "temperature": 0.5,
            "stop_sequences": ["END", "\n\n"],
            "tools": [{
                "name": "get_weather",
                "description": "Current weather for a city",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}, "units": {"type": "string"}}, "required": ["city"]}
            }],
            "tool_choice": {"type": "any"}
        })
    );
}

#[tokio::test]
async fn minimal_request_and_tool_choice_modes() {
    let server = Server::start(vec![Reply::json(200, text_reply("end_turn"))]).await;
    provider(&server)
        .complete("claude-haiku-4-5", &hello())
        .await
        .unwrap();
    assert_eq!(
        server.only_request().json(),
        json!({
            "model": "claude-haiku-4-5",
            "max_tokens": 50,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Say hello"}]}]
        })
    );
    for (mode, wire) in [("auto", "auto"), ("none", "none"), ("required", "any")] {
        let server = Server::start(vec![Reply::json(200, text_reply("end_turn"))]).await;
        let params = with(&full_request(), "toolChoice", json!({"mode": mode}));
        provider(&server).complete("m", &params).await.unwrap();
        assert_eq!(
            server.only_request().json()["tool_choice"],
            json!({"type": wire})
        );
    }
}

#[tokio::test]
async fn tool_result_images_and_structured_content() {
    let server = Server::start(vec![Reply::json(200, text_reply("end_turn"))]).await;
    let params = serde_json::from_value(json!({"maxTokens": 10, "messages": [
        {"role": "user", "content": {"type": "text", "text": "go"}},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "a", "name": "shot", "input": {}},
            {"type": "tool_use", "id": "b", "name": "temp", "input": {}}
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "toolUseId": "a", "content": [
                {"type": "text", "text": "here"},
                {"type": "image", "data": "R0lG", "mimeType": "image/gif"}
            ], "isError": false},
            {"type": "tool_result", "toolUseId": "b", "content": [], "structuredContent": {"c": 18}}
        ]}
    ]}))
    .unwrap();
    provider(&server).complete("m", &params).await.unwrap();
    assert_eq!(
        server.only_request().json()["messages"][2],
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "a", "content": [
                {"type": "text", "text": "here"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/gif", "data": "R0lG"}}
            ]},
            {"type": "tool_result", "tool_use_id": "b", "content": [{"type": "text", "text": "{\"c\":18}"}]}
        ]})
    );
}

#[tokio::test]
async fn text_reply_maps_back() {
    let server = Server::start(vec![Reply::json(200, text_reply("end_turn"))]).await;
    let c = provider(&server)
        .complete("claude", &hello())
        .await
        .unwrap();
    assert_eq!(c.result.content, OneOrMany::One(Content::text("Hi!")));
    assert_eq!(c.result.model, "claude-sonnet-4-5-20250929");
    assert_eq!(c.result.stop_reason, Some(StopReason::EndTurn));
    assert_eq!(
        c.usage,
        Usage {
            input_tokens: 21,
            output_tokens: 7
        }
    );
}

#[tokio::test]
async fn tool_use_maps_back() {
    let mut r = reply(
        json!([
            {"type": "thinking", "thinking": "hmm", "signature": "x"},
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
        ]),
        "tool_use",
    );
    r["usage"] = json!({"input_tokens": 5, "output_tokens": 30, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 1000});
    let server = Server::start(vec![Reply::json(200, r)]).await;
    let c = provider(&server)
        .complete("claude", &full_request())
        .await
        .unwrap();
    assert_eq!(c.result.stop_reason, Some(StopReason::ToolUse));
    let expected: Vec<Content> = serde_json::from_value(json!([
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
    ]))
    .unwrap();
    assert_eq!(c.result.content, OneOrMany::Many(expected));
    assert_eq!(
        c.usage,
        Usage {
            input_tokens: 1105,
            output_tokens: 30
        }
    );
}

#[tokio::test]
async fn stop_reasons() {
    for (wire, expected) in [
        ("end_turn", StopReason::EndTurn),
        ("max_tokens", StopReason::MaxTokens),
        ("stop_sequence", StopReason::StopSequence),
        ("tool_use", StopReason::ToolUse),
        ("refusal", StopReason::Other("refusal".into())),
        ("pause_turn", StopReason::Other("pause_turn".into())),
    ] {
        let server = Server::start(vec![Reply::json(200, text_reply(wire))]).await;
        let c = provider(&server)
            .complete("claude", &hello())
            .await
            .unwrap();
        assert_eq!(c.result.stop_reason, Some(expected), "{wire}");
    }
}

#[tokio::test]
async fn missing_key_is_not_configured() {
    let server = Server::start(vec![Reply::json(200, text_reply("end_turn"))]).await;
    let p = Anthropic::new(HttpConfig::new(&server.base));
    let err = p.complete("claude", &hello()).await.unwrap_err();
    assert!(
        matches!(&err, ProviderError::NotConfigured(m) if m.contains("ANTHROPIC_API_KEY")),
        "{err:?}"
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn audio_is_unsupported() {
    let server = Server::start(vec![Reply::json(200, text_reply("end_turn"))]).await;
    let params = serde_json::from_value(json!({"maxTokens": 10, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "transcribe"}, {"type": "audio", "data": "SUQz", "mimeType": "audio/mpeg"}]}
    ]}))
    .unwrap();
    let err = provider(&server)
        .complete("claude", &params)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ProviderError::Unsupported(m) if m.contains("audio (audio/mpeg)")),
        "{err:?}"
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn api_errors_carry_the_message() {
    let server = Server::start(vec![Reply::json(
        401,
        json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}),
    )])
    .await;
    let err = provider(&server)
        .complete("claude", &hello())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ProviderError::Api {
            provider: "anthropic".into(),
            status: 401,
            message: "invalid x-api-key".into()
        }
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn overloaded_529_is_retried() {
    let server = Server::start(vec![
        Reply::json(
            529,
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        ),
        Reply::json(200, text_reply("end_turn")),
    ])
    .await;
    let p = provider(&server).with_backoff(
        std::time::Duration::from_millis(10),
        std::time::Duration::from_millis(50),
    );
    let c = p.complete("claude", &hello()).await.unwrap();
    assert_eq!(c.result.text(), "Hi!");
    assert_eq!(server.requests().len(), 2);
}
