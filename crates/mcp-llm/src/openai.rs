//! [`OpenAi`]: any OpenAI-compatible Chat Completions endpoint (OpenAI, Ollama, vLLM,
//! llama.cpp's server, ...), as `openai:MODEL`.
//!
//! Request mapping (`POST {base}/chat/completions`):
//! - the system prompt is a first `system` message;
//! - a message of one text block has a string `content`; several blocks, or an image, make an
//!   array of parts (`text`, `image_url` with a `data:<mime>;base64,<data>` URL);
//! - an assistant message's `tool_use` blocks are its `tool_calls` (`type: function`, the input
//!   as a JSON string in `function.arguments`), its text the `content` (absent when there is
//!   none);
//! - each `tool_result` block of a user message is one `role: "tool"` message with its
//!   `tool_call_id` and its text (text blocks joined by newlines; the structured content as JSON
//!   when there is no block). Chat Completions has no error flag: a result with `isError` is
//!   sent as `Error: <text>`. Images in tool results cannot be sent (tool messages carry text
//!   only);
//! - the token limit goes in `max_completion_tokens` to `api.openai.com` (where `max_tokens`
//!   is deprecated and refused by reasoning models) and in `max_tokens` to every other
//!   endpoint (what compatible servers understand); see [`MaxTokensField`];
//! - `stop`, `temperature`, `tools` (`type: function`, `parameters` = `inputSchema`) and
//!   `tool_choice` (`auto`, `required`, `none`; sent only with tools) as given;
//! - a typed output (`_meta` `dev.mcp-sampling/output`, see [`crate::typed`]) is a
//!   `response_format` of type `json_schema`, and the answer's JSON becomes the reply text;
//! - audio cannot be sent (chat `input_audio` parts exist only for a few audio models).
//!
//! Reply mapping: `content` is a text block, `tool_calls` are `tool_use` blocks (their
//! `arguments` must be a JSON object, or empty for no arguments). `finish_reason`: `length` is
//! `maxTokens`; `tool_calls` (or any reply with tool calls) is `toolUse`; `stop` is `endTurn`,
//! or `stopSequence` when the server names the stop sequence it met (vLLM's `stop_reason`):
//! OpenAI itself says `stop` for both, and the text cannot tell, since the sequence is not
//! part of it. Other values are kept as they are. A refusal is its text with stop reason
//! `refusal`.

use crate::http::{
    env_var, estimate_input_tokens, http_builder_methods, tool_result_text, usage_or_estimate,
    Http, HttpConfig,
};
use crate::typed::{Typed, ANSWER};
use crate::{BoxFuture, Completion, Provider, ProviderError};
use mcp_proto::content::{Content, OneOrMany};
use mcp_proto::sampling::{
    CreateMessageParams, CreateMessageResult, Role, SamplingMessage, StopReason, ToolChoiceMode,
};
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// Which request field carries `maxTokens`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MaxTokensField {
    /// `max_completion_tokens` for `api.openai.com`, `max_tokens` for any other endpoint.
    #[default]
    Auto,
    /// Always `max_tokens` (deprecated by OpenAI; what most compatible servers read).
    MaxTokens,
    /// Always `max_completion_tokens` (OpenAI's current field; vLLM reads it too).
    MaxCompletionTokens,
}

/// An OpenAI-compatible Chat Completions provider (`openai`).
#[derive(Clone)]
pub struct OpenAi {
    http: Http,
    max_tokens_field: MaxTokensField,
}

impl std::fmt::Debug for OpenAi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAi")
            .field("config", self.http.config())
            .field("max_tokens_field", &self.max_tokens_field)
            .finish()
    }
}

impl OpenAi {
    /// The provider's name.
    pub const NAME: &'static str = "openai";
    /// OpenAI's API.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.openai.com/v1";

    /// A provider with this configuration.
    pub fn new(config: HttpConfig) -> Self {
        OpenAi {
            http: Http::new(Self::NAME, config),
            max_tokens_field: MaxTokensField::Auto,
        }
    }

    /// A provider configured from `OPENAI_BASE_URL` (default [`Self::DEFAULT_BASE_URL`]) and
    /// `OPENAI_API_KEY` (optional: local servers need none).
    pub fn from_env() -> Self {
        let mut config = HttpConfig::new(
            env_var("OPENAI_BASE_URL").unwrap_or_else(|| Self::DEFAULT_BASE_URL.into()),
        );
        config.api_key = env_var("OPENAI_API_KEY");
        Self::new(config)
    }

    http_builder_methods!();

    /// Chooses the field that carries `maxTokens`.
    pub fn with_max_tokens_field(mut self, field: MaxTokensField) -> Self {
        self.max_tokens_field = field;
        self
    }

    fn max_tokens_key(&self) -> &'static str {
        match self.max_tokens_field {
            MaxTokensField::MaxTokens => "max_tokens",
            MaxTokensField::MaxCompletionTokens => "max_completion_tokens",
            MaxTokensField::Auto => {
                let base = self.http.config().base_url.to_ascii_lowercase();
                let host = base
                    .split("://")
                    .nth(1)
                    .unwrap_or(&base)
                    .split(['/', ':'])
                    .next()
                    .unwrap_or("");
                if host == "api.openai.com" {
                    "max_completion_tokens"
                } else {
                    "max_tokens"
                }
            }
        }
    }
}

impl Provider for OpenAi {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn complete(
        &self,
        model: &str,
        params: &CreateMessageParams,
    ) -> BoxFuture<Result<Completion, ProviderError>> {
        let prepared = (|| {
            let body = request_body(model, params, self.max_tokens_key())?;
            let mut headers = vec![
                (CONTENT_TYPE, HeaderValue::from_static("application/json")),
                (ACCEPT, HeaderValue::from_static("application/json")),
            ];
            if let Some(key) = &self.http.config().api_key {
                headers.push((
                    AUTHORIZATION,
                    self.http
                        .header_value("API key", &format!("Bearer {key}"), true)?,
                ));
            }
            let body = serde_json::to_vec(&body).map_err(|e| {
                ProviderError::Unsupported(format!("cannot encode the request: {e}"))
            })?;
            Ok((headers, body))
        })();
        let http = self.http.clone();
        let url = self.http.config().url("/chat/completions");
        let model = model.to_string();
        let expect = Expect {
            stop_sequences: params.stop_sequences.clone().unwrap_or_default(),
            input_estimate: estimate_input_tokens(params),
            typed: Typed::of(params),
        };
        Box::pin(async move {
            let (headers, body) = prepared?;
            let reply = http.post_json(&url, headers, body).await?;
            parse_reply(reply, &model, &expect)
        })
    }
}

fn unsupported_block(index: usize, role: &str, block: &Content, why: &str) -> ProviderError {
    let what = match block {
        Content::Audio { mime_type, .. } => format!("audio ({mime_type})"),
        Content::Image { mime_type, .. } => format!("an image ({mime_type})"),
        other => format!("a {} block", other.kind()),
    };
    ProviderError::Unsupported(format!("message {index} ({role}) has {what}: {why}"))
}

const NO_AUDIO: &str = "the OpenAI-compatible provider does not send audio";

/// The Chat Completions request body.
fn request_body(
    model: &str,
    params: &CreateMessageParams,
    max_tokens_key: &str,
) -> Result<Value, ProviderError> {
    let mut messages = Vec::new();
    if let Some(system) = params.system_prompt.as_deref().filter(|s| !s.is_empty()) {
        messages.push(json!({"role": "system", "content": system}));
    }
    for (i, m) in params.messages.iter().enumerate() {
        push_message(&mut messages, i, m)?;
    }
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    body.insert("messages".into(), messages.into());
    body.insert(max_tokens_key.into(), params.max_tokens.into());
    if let Some(t) = params.temperature {
        body.insert("temperature".into(), t.into());
    }
    if let Some(stop) = params.stop_sequences.as_ref().filter(|s| !s.is_empty()) {
        body.insert("stop".into(), stop.clone().into());
    }
    if let Some(tools) = params.tools.as_ref().filter(|t| !t.is_empty()) {
        let tools: Vec<Value> = tools
            .iter()
            .map(|t| {
                let mut f = Map::new();
                f.insert("name".into(), t.name.clone().into());
                if let Some(d) = &t.description {
                    f.insert("description".into(), d.clone().into());
                }
                f.insert("parameters".into(), t.input_schema.clone());
                json!({"type": "function", "function": f})
            })
            .collect();
        body.insert("tools".into(), tools.into());
        if let Some(mode) = params.tool_choice.as_ref().and_then(|c| c.mode) {
            let mode = match mode {
                ToolChoiceMode::Auto => "auto",
                ToolChoiceMode::Required => "required",
                ToolChoiceMode::None => "none",
            };
            body.insert("tool_choice".into(), mode.into());
        }
    }
    if let Some(t) = Typed::of(params) {
        body.insert(
            "response_format".into(),
            json!({"type": "json_schema", "json_schema": {"name": ANSWER, "schema": t.schema, "strict": t.strict}}),
        );
    }
    Ok(Value::Object(body))
}

/// A text part.
fn text_part(text: &str) -> Value {
    json!({"type": "text", "text": text})
}

/// `content` from parts: a string for a single text part (empty for none), else the array.
fn parts_content(mut parts: Vec<Value>) -> Value {
    if parts.is_empty() {
        return Value::String(String::new());
    }
    if parts.len() == 1 && parts[0]["type"] == "text" {
        return parts.remove(0)["text"].take();
    }
    Value::Array(parts)
}

fn push_message(
    out: &mut Vec<Value>,
    index: usize,
    message: &SamplingMessage,
) -> Result<(), ProviderError> {
    let blocks = message.content.as_slice();
    match message.role {
        Role::User => {
            let mut tool_messages = Vec::new();
            let mut parts = Vec::new();
            for block in blocks {
                match block {
                    Content::Text { text, .. } => parts.push(text_part(text)),
                    Content::Image {
                        data, mime_type, ..
                    } => parts.push(json!({
                        "type": "image_url",
                        "image_url": {"url": format!("data:{mime_type};base64,{data}")}
                    })),
                    Content::ToolResult {
                        tool_use_id,
                        content,
                        structured_content,
                        is_error,
                        ..
                    } => {
                        let mut text =
                            tool_result_text(content, structured_content.as_ref(), |b| {
                                let why = if matches!(b, Content::Audio { .. }) {
                                    NO_AUDIO
                                } else {
                                    "Chat Completions tool messages carry only text"
                                };
                                unsupported_block(index, "tool_result", b, why)
                            })?;
                        if *is_error == Some(true) {
                            text = format!("Error: {text}");
                        }
                        tool_messages.push(json!({
                            "role": "tool",
                            "tool_call_id": tool_use_id,
                            "content": text,
                        }));
                    }
                    Content::Audio { .. } => {
                        return Err(unsupported_block(index, "user", block, NO_AUDIO))
                    }
                    other => {
                        return Err(unsupported_block(
                            index,
                            "user",
                            other,
                            "user messages carry text, images and tool results",
                        ))
                    }
                }
            }
            // Tool messages must follow the assistant's tool calls directly; anything else the
            // message held (which the spec forbids) comes after them.
            let had_results = !tool_messages.is_empty();
            out.extend(tool_messages);
            if !parts.is_empty() || !had_results {
                out.push(json!({"role": "user", "content": parts_content(parts)}));
            }
        }
        Role::Assistant => {
            let mut parts = Vec::new();
            let mut calls = Vec::new();
            for block in blocks {
                match block {
                    Content::Text { text, .. } => parts.push(text_part(text)),
                    Content::ToolUse {
                        id, name, input, ..
                    } => calls.push(json!({
                        "id": id,
                        "type": "function",
                        "function": {
                            "name": name,
                            "arguments": Value::Object(input.clone()).to_string(),
                        }
                    })),
                    Content::Audio { .. } => {
                        return Err(unsupported_block(index, "assistant", block, NO_AUDIO))
                    }
                    other => {
                        return Err(unsupported_block(
                            index,
                            "assistant",
                            other,
                            "assistant messages carry text and tool calls",
                        ))
                    }
                }
            }
            let mut m = Map::new();
            m.insert("role".into(), "assistant".into());
            if !parts.is_empty() || calls.is_empty() {
                m.insert("content".into(), parts_content(parts));
            }
            if !calls.is_empty() {
                m.insert("tool_calls".into(), calls.into());
            }
            out.push(Value::Object(m));
        }
    }
    Ok(())
}

#[derive(Deserialize)]
struct ChatReply {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<ChatUsage>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    message: Option<ReplyMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
    /// vLLM: the stop string (or token id) that ended generation, null otherwise.
    #[serde(default)]
    stop_reason: Option<Value>,
}

#[derive(Deserialize)]
struct ReplyMessage {
    #[serde(default)]
    content: Option<Value>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCall>>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct ToolCall {
    #[serde(default)]
    id: Option<String>,
    function: FunctionCall,
}

#[derive(Deserialize)]
struct FunctionCall {
    name: String,
    #[serde(default)]
    arguments: Option<Value>,
}

#[derive(Deserialize)]
struct ChatUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

/// What reading the reply needs from the request.
struct Expect {
    stop_sequences: Vec<String>,
    input_estimate: u64,
    /// The typed output asked for: the answer's JSON becomes the reply text.
    typed: Option<Typed>,
}

/// Maps a Chat Completions reply to a completion.
fn parse_reply(reply: Value, model: &str, expect: &Expect) -> Result<Completion, ProviderError> {
    if reply.get("choices").is_none() {
        if let Some(message) = crate::http::json_error_message(&reply) {
            return Err(ProviderError::Api {
                provider: OpenAi::NAME.into(),
                status: 200,
                message,
            });
        }
    }
    let reply: ChatReply = serde_json::from_value(reply)
        .map_err(|e| ProviderError::BadReply(format!("not a chat completion: {e}")))?;
    let Some(choice) = reply.choices.into_iter().next() else {
        return Err(ProviderError::BadReply("the reply has no choices".into()));
    };
    let message = choice
        .message
        .ok_or_else(|| ProviderError::BadReply("the reply's first choice has no message".into()))?;

    let mut blocks = Vec::new();
    let text = match message.content {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s,
        // Some servers answer with an array of parts.
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        Some(other) => {
            return Err(ProviderError::BadReply(format!(
                "the message content is neither text nor parts: {other}"
            )))
        }
    };
    let refused = text.is_empty() && message.refusal.as_deref().is_some_and(|r| !r.is_empty());
    if refused {
        blocks.push(Content::text(message.refusal.clone().unwrap_or_default()));
    } else if let Some(t) = expect.typed.as_ref().filter(|_| !text.is_empty()) {
        blocks.push(Content::text(t.text_of_json(&text)));
    } else if !text.is_empty() {
        blocks.push(Content::text(text));
    }
    let calls = message.tool_calls.unwrap_or_default();
    for (i, call) in calls.iter().enumerate() {
        let input = match &call.function.arguments {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(o)) => o.clone(),
            Some(Value::String(s)) if s.trim().is_empty() => Map::new(),
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(Value::Object(o)) => o,
                Ok(other) => {
                    return Err(ProviderError::BadReply(format!(
                        "the arguments of tool call {:?} are not a JSON object: {other}",
                        call.function.name
                    )))
                }
                Err(e) => {
                    return Err(ProviderError::BadReply(format!(
                        "the arguments of tool call {:?} are not JSON ({e}): {s}",
                        call.function.name
                    )))
                }
            },
            Some(other) => {
                return Err(ProviderError::BadReply(format!(
                    "the arguments of tool call {:?} are not a JSON object: {other}",
                    call.function.name
                )))
            }
        };
        let id = call
            .id
            .clone()
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| format!("call_{i}"));
        blocks.push(Content::ToolUse {
            id,
            name: call.function.name.clone(),
            input,
            meta: None,
        });
    }
    if blocks.is_empty() {
        blocks.push(Content::text(""));
    }

    let stop_reason = match choice.finish_reason.as_deref() {
        Some("length") => Some(StopReason::MaxTokens),
        _ if !calls.is_empty() => Some(StopReason::ToolUse),
        Some("tool_calls" | "function_call") => Some(StopReason::ToolUse),
        _ if refused => Some(StopReason::Other("refusal".into())),
        Some("stop") => {
            let met = choice.stop_reason.as_ref().and_then(Value::as_str);
            if met.is_some_and(|s| expect.stop_sequences.iter().any(|a| a == s)) {
                Some(StopReason::StopSequence)
            } else {
                Some(StopReason::EndTurn)
            }
        }
        Some(other) => Some(StopReason::Other(other.to_string())),
        None => None,
    };

    let result = CreateMessageResult {
        role: Role::Assistant,
        content: if blocks.len() == 1 {
            OneOrMany::One(blocks.remove(0))
        } else {
            OneOrMany::Many(blocks)
        },
        model: reply
            .model
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| model.to_string()),
        stop_reason,
        meta: None,
    };
    let usage = reply.usage.as_ref();
    let usage = usage_or_estimate(
        usage.and_then(|u| u.prompt_tokens),
        usage.and_then(|u| u.completion_tokens),
        expect.input_estimate,
        &result,
    );
    Ok(Completion { result, usage })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_tokens_field_follows_the_endpoint() {
        let p = OpenAi::new(HttpConfig::new(OpenAi::DEFAULT_BASE_URL));
        assert_eq!(p.max_tokens_key(), "max_completion_tokens");
        let p = p.with_base_url("http://localhost:11434/v1");
        assert_eq!(p.max_tokens_key(), "max_tokens");
        let p = p.with_max_tokens_field(MaxTokensField::MaxCompletionTokens);
        assert_eq!(p.max_tokens_key(), "max_completion_tokens");
        let p = OpenAi::new(HttpConfig::new("https://API.openai.com:443/v1"))
            .with_max_tokens_field(MaxTokensField::MaxTokens);
        assert_eq!(p.max_tokens_key(), "max_tokens");
        let p = p.with_max_tokens_field(MaxTokensField::Auto);
        assert_eq!(p.max_tokens_key(), "max_completion_tokens");
    }
}
