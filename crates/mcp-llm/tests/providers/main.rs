//! The HTTP providers against a local scripted server: the exact wire format of requests,
//! the mapping of replies, retries, timeouts and cancellation.
//!
//! One test binary (one link on a small machine); the modules share the server.

mod anthropic;
mod env;
mod faults;
mod http;
mod openai;
mod server;
mod typed;

use mcp_proto::sampling::CreateMessageParams;
use serde_json::{json, Value};

/// A request with everything the providers map: system prompt, user text and image, an
/// assistant text and two tool uses, the user's two tool results (the second an error), tools,
/// tool choice, temperature, stop sequences and max tokens.
pub fn full_request() -> CreateMessageParams {
    serde_json::from_value(json!({
        "systemPrompt": "You are terse.",
        "maxTokens": 256,
        "temperature": 0.5,
        "stopSequences": ["END", "\n\n"],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "What is in this picture? And the weather in Paris and London?"},
                {"type": "image", "data": "iVBORw0KGgo=", "mimeType": "image/png"}
            ]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "A cat. Checking the weather."},
                {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {"city": "London", "units": "C"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "toolUseId": "call_1", "content": [{"type": "text", "text": "18°C, cloudy"}]},
                {"type": "tool_result", "toolUseId": "call_2", "content": [{"type": "text", "text": "station offline"}], "isError": true}
            ]}
        ],
        "tools": [{
            "name": "get_weather",
            "description": "Current weather for a city",
            "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}, "units": {"type": "string"}}, "required": ["city"]}
        }],
        "toolChoice": {"mode": "required"}
    }))
    .unwrap()
}

/// A one-message text request.
pub fn hello() -> CreateMessageParams {
    serde_json::from_value(json!({
        "maxTokens": 50,
        "messages": [{"role": "user", "content": {"type": "text", "text": "Say hello"}}]
    }))
    .unwrap()
}

/// Sets a field of a request given as JSON.
pub fn with(params: &CreateMessageParams, field: &str, value: Value) -> CreateMessageParams {
    let mut v = serde_json::to_value(params).unwrap();
    v[field] = value;
    serde_json::from_value(v).unwrap()
}
