use crate::server::{Reply, Server};
use crate::{full_request, hello, with};
use mcp_llm::openai::MaxTokensField;
use mcp_llm::{HttpConfig, OpenAi, Provider, ProviderError, Usage};
use mcp_proto::content::{Content, OneOrMany};
use mcp_proto::sampling::StopReason;
use serde_json::{json, Value};

fn provider(server: &Server) -> OpenAi {
    OpenAi::new(HttpConfig::new(format!("{}/v1", server.base))).with_api_key("sk-test")
}

fn text_reply(finish: &str) -> Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-2024-08-06",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": "Hello there", "refusal": null},
            "logprobs": null,
            "finish_reason": finish
        }],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
    })
}

#[tokio::test]
async fn request_wire_format() {
    let server = Server::start(vec![Reply::json(200, text_reply("stop"))]).await;
    provider(&server)
        .complete("gpt-4o", &full_request())
        .await
        .unwrap();
    let req = server.only_request();
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/v1/chat/completions");
    assert_eq!(req.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(req.header("accept"), Some("application/json"));
    assert_eq!(
        req.header("content-length"),
        Some(req.body.len().to_string().as_str())
    );
    assert_eq!(
        req.json(),
        json!({
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": [
                    {"type": "text", "text": "What is in this picture? And the weather in Paris and London?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
                ]},
                {"role": "assistant", "content": "A cat. Checking the weather.", "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"London\",\"units\":\"C\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": "18°C, cloudy"},
                {"role": "tool", "tool_call_id": "call_2", "content": "Error: station offline"}
            ],
            "max_tokens": 256,
            "temperature": 0.5,
            "stop": ["END", "\n\n"],
            "tools": [{"type": "function", "function": {
                "name": "get_weather",
                "description": "Current weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "units": {"type": "string"}}, "required": ["city"]}
            }}],
            "tool_choice": "required"
        })
    );
}

#[tokio::test]
async fn minimal_request_without_key_and_tool_choice_modes() {
    let server = Server::start(vec![Reply::json(200, text_reply("stop"))]).await;
    let p = OpenAi::new(HttpConfig::new(format!("{}/v1/", server.base)));
    p.complete("llama3.2", &hello()).await.unwrap();
    let req = server.only_request();
    assert_eq!(req.path, "/v1/chat/completions");
    assert_eq!(req.header("authorization"), None);
    assert_eq!(
        req.json(),
        json!({
            "model": "llama3.2",
            "messages": [{"role": "user", "content": "Say hello"}],
            "max_tokens": 50
        })
    );

    for (mode, wire) in [("auto", "auto"), ("none", "none"), ("required", "required")] {
        let server = Server::start(vec![Reply::json(200, text_reply("stop"))]).await;
        let params = with(&full_request(), "toolChoice", json!({"mode": mode}));
        provider(&server).complete("m", &params).await.unwrap();
        assert_eq!(server.only_request().json()["tool_choice"], wire);
    }
    // toolChoice without tools is not sent (the API refuses it).
    let server = Server::start(vec![Reply::json(200, text_reply("stop"))]).await;
    let params = with(&hello(), "toolChoice", json!({"mode": "auto"}));
    provider(&server).complete("m", &params).await.unwrap();
    let body = server.only_request().json();
    assert!(body.get("tool_choice").is_none() && body.get("tools").is_none());
}

#[tokio::test]
async fn max_completion_tokens_when_chosen() {
    let server = Server::start(vec![Reply::json(200, text_reply("stop"))]).await;
    provider(&server)
        .with_max_tokens_field(MaxTokensField::MaxCompletionTokens)
        .complete("o4-mini", &hello())
        .await
        .unwrap();
    let body = server.only_request().json();
    assert_eq!(body["max_completion_tokens"], 50);
    assert!(body.get("max_tokens").is_none());
}

#[tokio::test]
async fn text_reply_maps_back() {
    let server = Server::start(vec![Reply::json(200, text_reply("stop"))]).await;
    let c = provider(&server)
        .complete("gpt-4o", &hello())
        .await
        .unwrap();
    assert_eq!(
        c.result.content,
        OneOrMany::One(Content::text("Hello there"))
    );
    assert_eq!(c.result.model, "gpt-4o-2024-08-06");
    assert_eq!(c.result.stop_reason, Some(StopReason::EndTurn));
    assert_eq!(
        c.usage,
        Usage {
            input_tokens: 12,
            output_tokens: 3
        }
    );
}

#[tokio::test]
async fn tool_calls_map_to_tool_use() {
    let reply = json!({
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant",
            "content": null,
            "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
                {"id": "call_b", "type": "function", "function": {"name": "now", "arguments": ""}}
            ]
        }}],
        "usage": {"prompt_tokens": 40, "completion_tokens": 20}
    });
    let server = Server::start(vec![Reply::json(200, reply)]).await;
    let c = provider(&server)
        .complete("gpt-4o-mini", &full_request())
        .await
        .unwrap();
    assert_eq!(c.result.stop_reason, Some(StopReason::ToolUse));
    let expected: Vec<Content> = serde_json::from_value(json!([
        {"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "call_b", "name": "now", "input": {}}
    ]))
    .unwrap();
    assert_eq!(c.result.content, OneOrMany::Many(expected));
    assert_eq!(c.usage.input_tokens, 40);
    assert_eq!(c.usage.output_tokens, 20);
}

#[tokio::test]
async fn text_and_tool_call_with_stop_finish_is_tool_use() {
    // Some servers (older Ollama) say "stop" even when the model called tools.
    let reply = json!({
        "model": "qwen3",
        "choices": [{"finish_reason": "stop", "message": {
            "role": "assistant",
            "content": "Let me look.",
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
        }}]
    });
    let server = Server::start(vec![Reply::json(200, reply)]).await;
    let c = provider(&server).complete("qwen3", &hello()).await.unwrap();
    assert_eq!(c.result.stop_reason, Some(StopReason::ToolUse));
    let blocks = c.result.content.as_slice();
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[0], Content::text("Let me look."));
    assert!(matches!(&blocks[1], Content::ToolUse { id, name, .. } if id == "c1" && name == "f"));
    // No usage in the reply: estimated.
    assert!(c.usage.input_tokens > 0 && c.usage.output_tokens > 0);
}

#[tokio::test]
async fn finish_reasons() {
    let stop_params = with(&hello(), "stopSequences", json!(["END"]));
    let cases: Vec<(Value, StopReason)> = vec![
        (text_reply("length"), StopReason::MaxTokens),
        (text_reply("stop"), StopReason::EndTurn),
        (
            text_reply("content_filter"),
            StopReason::Other("content_filter".into()),
        ),
        // vLLM names the stop string it met.
        (
            {
                let mut r = text_reply("stop");
                r["choices"][0]["stop_reason"] = json!("END");
                r
            },
            StopReason::StopSequence,
        ),
        // vLLM: null stop_reason is the end-of-sequence token.
        (
            {
                let mut r = text_reply("stop");
                r["choices"][0]["stop_reason"] = Value::Null;
                r
            },
            StopReason::EndTurn,
        ),
    ];
    for (reply, expected) in cases {
        let server = Server::start(vec![Reply::json(200, reply.clone())]).await;
        let c = provider(&server).complete("m", &stop_params).await.unwrap();
        assert_eq!(c.result.stop_reason, Some(expected), "reply {reply}");
    }
}

#[tokio::test]
async fn refusal_is_text_with_stop_reason_refusal() {
    let reply = json!({"model": "gpt-4o", "choices": [{"finish_reason": "stop", "message": {
        "role": "assistant", "content": null, "refusal": "I can't help with that."
    }}]});
    let server = Server::start(vec![Reply::json(200, reply)]).await;
    let c = provider(&server)
        .complete("gpt-4o", &hello())
        .await
        .unwrap();
    assert_eq!(c.result.text(), "I can't help with that.");
    assert_eq!(
        c.result.stop_reason,
        Some(StopReason::Other("refusal".into()))
    );
}

#[tokio::test]
async fn bad_tool_arguments_are_bad_replies() {
    for args in ["[1, 2]", "{not json", "\"text\""] {
        let reply = json!({"model": "m", "choices": [{"finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": null,
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": args}}]
        }}]});
        let server = Server::start(vec![Reply::json(200, reply)]).await;
        let err = provider(&server).complete("m", &hello()).await.unwrap_err();
        assert!(
            matches!(&err, ProviderError::BadReply(m) if m.contains("\"f\"")),
            "{args}: {err:?}"
        );
        assert_eq!(server.requests().len(), 1, "bad replies are not retried");
    }
}

#[tokio::test]
async fn malformed_replies() {
    for (reply, needle) in [
        (json!({"model": "m", "choices": []}), "no choices"),
        (json!({"object": "list"}), "no choices"),
        (json!({"choices": "nope"}), "not a chat completion"),
    ] {
        let server = Server::start(vec![Reply::json(200, reply)]).await;
        let err = provider(&server).complete("m", &hello()).await.unwrap_err();
        assert!(
            matches!(&err, ProviderError::BadReply(m) if m.contains(needle)),
            "{err:?}"
        );
    }
    // An error object in a 200 answer (some compatible servers) is an API error.
    let server = Server::start(vec![Reply::json(
        200,
        json!({"error": {"message": "model is loading"}}),
    )])
    .await;
    let err = provider(&server).complete("m", &hello()).await.unwrap_err();
    assert_eq!(
        err,
        ProviderError::Api {
            provider: "openai".into(),
            status: 200,
            message: "model is loading".into()
        }
    );
}

#[tokio::test]
async fn audio_is_unsupported_before_any_request() {
    let server = Server::start(vec![Reply::json(200, text_reply("stop"))]).await;
    let params = serde_json::from_value(json!({"maxTokens": 10, "messages": [
        {"role": "user", "content": {"type": "audio", "data": "UklGRg==", "mimeType": "audio/wav"}}
    ]}))
    .unwrap();
    let err = provider(&server).complete("m", &params).await.unwrap_err();
    assert!(
        matches!(&err, ProviderError::Unsupported(m) if m.contains("audio (audio/wav)") && m.contains("message 0")),
        "{err:?}"
    );
    // An image in a tool result cannot go in a tool message either.
    let params = serde_json::from_value(json!({"maxTokens": 10, "messages": [
        {"role": "user", "content": {"type": "text", "text": "draw"}},
        {"role": "assistant", "content": {"type": "tool_use", "id": "a", "name": "draw", "input": {}}},
        {"role": "user", "content": {"type": "tool_result", "toolUseId": "a", "content": [
            {"type": "image", "data": "iVBORw0KGgo=", "mimeType": "image/png"}
        ]}}
    ]}))
    .unwrap();
    let err = provider(&server).complete("m", &params).await.unwrap_err();
    assert!(
        matches!(&err, ProviderError::Unsupported(m) if m.contains("image") && m.contains("message 2")),
        "{err:?}"
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn tool_result_with_structured_content_only() {
    let server = Server::start(vec![Reply::json(200, text_reply("stop"))]).await;
    let params = serde_json::from_value(json!({"maxTokens": 10, "messages": [
        {"role": "user", "content": {"type": "text", "text": "t?"}},
        {"role": "assistant", "content": {"type": "tool_use", "id": "a", "name": "temp", "input": {}}},
        {"role": "user", "content": {"type": "tool_result", "toolUseId": "a", "content": [], "structuredContent": {"c": 18}}}
    ]}))
    .unwrap();
    provider(&server).complete("m", &params).await.unwrap();
    let body = server.only_request().json();
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": "t?"},
            {"role": "assistant", "tool_calls": [{"id": "a", "type": "function", "function": {"name": "temp", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "a", "content": "{\"c\":18}"}
        ])
    );
}
