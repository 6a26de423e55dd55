//! [`Anthropic`]: the Anthropic Messages API, as `anthropic:MODEL`.
//!
//! Request mapping (`POST {base}/v1/messages`, headers `x-api-key`,
//! `anthropic-version: 2023-06-01`, `content-type: application/json`):
//! - `model`, `max_tokens`, `system` (when there is a system prompt), `temperature`,
//!   `stop_sequences`;
//! - each message keeps its role, its content always an array of blocks: `text`, `image`
//!   (`source: {type: base64, media_type, data}`), `tool_use` (`id`, `name`, `input`),
//!   `tool_result` (`tool_use_id`, `content` as text and image blocks, `is_error: true` when the
//!   result is an error). Embedded resources and resource links in a tool result are sent as
//!   their JSON text, the structured content as JSON text when there is no block;
//! - `tools` (`name`, `description`, `input_schema`) and `tool_choice` (`auto` → `{type: auto}`,
//!   `required` → `{type: any}`, `none` → `{type: none}`; sent only with tools);
//! - audio cannot be sent (the Messages API takes no audio).
//!
//! The request's `metadata` is not forwarded (Anthropic's `metadata` accepts only `user_id`).
//!
//! Reply mapping: `text` and `tool_use` blocks become MCP blocks (others, such as `thinking`,
//! are left out); `stop_reason` `end_turn`, `max_tokens`, `stop_sequence`, `tool_use` become
//! `endTurn`, `maxTokens`, `stopSequence`, `toolUse`, any other value is kept as it is. Input
//! tokens are `input_tokens` plus the cache's creation and read tokens.

use crate::http::{
    env_var, estimate_input_tokens, http_builder_methods, tool_result_text, usage_or_estimate,
    Http, HttpConfig,
};
use crate::typed::{Typed, ANSWER};
use crate::{BoxFuture, Completion, Provider, ProviderError};
use mcp_proto::content::{Content, OneOrMany};
use mcp_proto::sampling::{
    CreateMessageParams, CreateMessageResult, Role, StopReason, ToolChoiceMode,
};
use reqwest::header::{HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// The `anthropic-version` header sent.
pub const API_VERSION: &str = "2023-06-01";

/// The Anthropic Messages API provider (`anthropic`).
#[derive(Clone)]
pub struct Anthropic {
    http: Http,
}

impl std::fmt::Debug for Anthropic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Anthropic")
            .field("config", self.http.config())
            .finish()
    }
}

impl Anthropic {
    /// The provider's name.
    pub const NAME: &'static str = "anthropic";
    /// Anthropic's API.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.anthropic.com";

    /// A provider with this configuration. Without an API key every completion fails with
    /// [`ProviderError::NotConfigured`].
    pub fn new(config: HttpConfig) -> Self {
        Anthropic {
            http: Http::new(Self::NAME, config),
        }
    }

    /// A provider configured from `ANTHROPIC_BASE_URL` (default [`Self::DEFAULT_BASE_URL`])
    /// and `ANTHROPIC_API_KEY` (required; checked when completing, so that a host can list
    /// the provider before the key is set).
    pub fn from_env() -> Self {
        let mut config = HttpConfig::new(
            env_var("ANTHROPIC_BASE_URL").unwrap_or_else(|| Self::DEFAULT_BASE_URL.into()),
        );
        config.api_key = env_var("ANTHROPIC_API_KEY");
        Self::new(config)
    }

    http_builder_methods!();
}

impl Provider for Anthropic {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn complete(
        &self,
        model: &str,
        params: &CreateMessageParams,
    ) -> BoxFuture<Result<Completion, ProviderError>> {
        let prepared = (|| {
            let key = self.http.config().api_key.as_deref().ok_or_else(|| {
                ProviderError::NotConfigured("no Anthropic API key: set ANTHROPIC_API_KEY".into())
            })?;
            let headers = vec![
                (
                    HeaderName::from_static("x-api-key"),
                    self.http.header_value("API key", key, true)?,
                ),
                (
                    HeaderName::from_static("anthropic-version"),
                    HeaderValue::from_static(API_VERSION),
                ),
                (CONTENT_TYPE, HeaderValue::from_static("application/json")),
                (ACCEPT, HeaderValue::from_static("application/json")),
            ];
            let body = request_body(model, params)?;
            let body = serde_json::to_vec(&body).map_err(|e| {
                ProviderError::Unsupported(format!("cannot encode the request: {e}"))
            })?;
            Ok((headers, body))
        })();
        let http = self.http.clone();
        let url = self.http.config().url("/v1/messages");
        let model = model.to_string();
        let input_estimate = estimate_input_tokens(params);
        let typed = Typed::of(params);
        Box::pin(async move {
            let (headers, body) = prepared?;
            let reply = http.post_json(&url, headers, body).await?;
            let mut completion = parse_reply(reply, &model, input_estimate)?;
            if let Some(t) = typed {
                answer_as_text(&mut completion.result, &t);
            }
            Ok(completion)
        })
    }
}

fn unsupported(index: usize, role: &str, block: &Content, why: &str) -> ProviderError {
    let what = match block {
        Content::Audio { mime_type, .. } => format!("audio ({mime_type})"),
        other => format!("a {} block", other.kind()),
    };
    ProviderError::Unsupported(format!("message {index} ({role}) has {what}: {why}"))
}

const NO_AUDIO: &str = "the Anthropic Messages API takes no audio";

fn image_block(data: &str, mime_type: &str) -> Value {
    json!({
        "type": "image",
        "source": {"type": "base64", "media_type": mime_type, "data": data},
    })
}

/// The Messages API request body.
fn request_body(model: &str, params: &CreateMessageParams) -> Result<Value, ProviderError> {
    let mut messages = Vec::with_capacity(params.messages.len());
    for (index, m) in params.messages.iter().enumerate() {
        let role = match m.role {
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        let mut blocks = Vec::new();
        for block in m.content.as_slice() {
            blocks.push(match block {
                Content::Text { text, .. } => json!({"type": "text", "text": text}),
                Content::Image {
                    data, mime_type, ..
                } => image_block(data, mime_type),
                Content::ToolUse {
                    id, name, input, ..
                } if m.role == Role::Assistant => {
                    json!({"type": "tool_use", "id": id, "name": name, "input": input})
                }
                Content::ToolResult {
                    tool_use_id,
                    content,
                    structured_content,
                    is_error,
                    ..
                } if m.role == Role::User => {
                    let content = tool_result_content(index, content, structured_content.as_ref())?;
                    let mut r = Map::new();
                    r.insert("type".into(), "tool_result".into());
                    r.insert("tool_use_id".into(), tool_use_id.clone().into());
                    r.insert("content".into(), content.into());
                    if *is_error == Some(true) {
                        r.insert("is_error".into(), true.into());
                    }
                    Value::Object(r)
                }
                Content::Audio { .. } => return Err(unsupported(index, role, block, NO_AUDIO)),
                other => {
                    return Err(unsupported(
                        index,
                        role,
                        other,
                        "not allowed in this message",
                    ))
                }
            });
        }
        messages.push(json!({"role": role, "content": blocks}));
    }

    let mut body = Map::new();
    body.insert("model".into(), model.into());
    body.insert("max_tokens".into(), params.max_tokens.into());
    if let Some(system) = params.system_prompt.as_deref().filter(|s| !s.is_empty()) {
        body.insert("system".into(), system.into());
    }
    body.insert("messages".into(), messages.into());
    if let Some(t) = params.temperature {
        body.insert("temperature".into(), t.into());
    }
    if let Some(stop) = params.stop_sequences.as_ref().filter(|s| !s.is_empty()) {
        body.insert("stop_sequences".into(), stop.clone().into());
    }
    if let Some(tools) = params.tools.as_ref().filter(|t| !t.is_empty()) {
        let tools: Vec<Value> = tools
            .iter()
            .map(|t| {
                let mut o = Map::new();
                o.insert("name".into(), t.name.clone().into());
                if let Some(d) = &t.description {
                    o.insert("description".into(), d.clone().into());
                }
                o.insert("input_schema".into(), t.input_schema.clone());
                Value::Object(o)
            })
            .collect();
        body.insert("tools".into(), tools.into());
        if let Some(mode) = params.tool_choice.as_ref().and_then(|c| c.mode) {
            let kind = match mode {
                ToolChoiceMode::Auto => "auto",
                ToolChoiceMode::Required => "any",
                ToolChoiceMode::None => "none",
            };
            body.insert("tool_choice".into(), json!({"type": kind}));
        }
    } else if let Some(t) = Typed::of(params) {
        let tool = json!({"name": ANSWER, "description": "Give the answer in the required shape.", "input_schema": t.schema});
        body.insert("tools".into(), json!([tool]));
        body.insert(
            "tool_choice".into(),
            json!({"type": "tool", "name": ANSWER}),
        );
    }
    Ok(Value::Object(body))
}

/// A forced `answer` tool use becomes the reply's text, and the reply an ended turn.
fn answer_as_text(result: &mut CreateMessageResult, typed: &Typed) {
    let answer = result.content.as_slice().iter().find_map(|b| match b {
        Content::ToolUse { name, input, .. } if name == ANSWER => {
            Some(typed.text_of(&Value::Object(input.clone())))
        }
        _ => None,
    });
    if let Some(text) = answer {
        result.content = OneOrMany::One(Content::text(text));
        result.stop_reason = Some(StopReason::EndTurn);
    }
}

/// A tool result's content blocks: text and images as they are, anything else as text.
fn tool_result_content(
    index: usize,
    content: &[Content],
    structured: Option<&Value>,
) -> Result<Vec<Value>, ProviderError> {
    let mut out = Vec::with_capacity(content.len());
    for block in content {
        match block {
            Content::Image {
                data, mime_type, ..
            } => out.push(image_block(data, mime_type)),
            Content::Audio { .. } => {
                return Err(unsupported(index, "tool_result", block, NO_AUDIO))
            }
            other => {
                let text = tool_result_text(std::slice::from_ref(other), None, |b| {
                    unsupported(index, "tool_result", b, "not allowed in a tool result")
                })?;
                out.push(json!({"type": "text", "text": text}));
            }
        }
    }
    if out.is_empty() {
        if let Some(s) = structured {
            out.push(json!({"type": "text", "text": s.to_string()}));
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct MessageReply {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    content: Vec<Value>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<MessageUsage>,
}

#[derive(Deserialize)]
struct MessageUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

/// Maps a Messages API reply to a completion.
fn parse_reply(
    reply: Value,
    model: &str,
    input_estimate: u64,
) -> Result<Completion, ProviderError> {
    if reply.get("type").and_then(Value::as_str) == Some("error") {
        return Err(ProviderError::Api {
            provider: Anthropic::NAME.into(),
            status: 200,
            message: crate::http::json_error_message(&reply).unwrap_or_else(|| reply.to_string()),
        });
    }
    let reply: MessageReply = serde_json::from_value(reply)
        .map_err(|e| ProviderError::BadReply(format!("not a message: {e}")))?;
    let mut blocks = Vec::new();
    for block in &reply.content {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => {
                let text = block.get("text").and_then(Value::as_str).ok_or_else(|| {
                    ProviderError::BadReply(format!("a text block without text: {block}"))
                })?;
                blocks.push(Content::text(text));
            }
            Some("tool_use") => {
                let field = |name: &str| {
                    block.get(name).and_then(Value::as_str).ok_or_else(|| {
                        ProviderError::BadReply(format!("a tool_use block without {name}: {block}"))
                    })
                };
                let input = match block.get("input") {
                    Some(Value::Object(o)) => o.clone(),
                    None | Some(Value::Null) => Map::new(),
                    Some(other) => {
                        return Err(ProviderError::BadReply(format!(
                            "the input of tool_use {:?} is not an object: {other}",
                            block.get("name")
                        )))
                    }
                };
                blocks.push(Content::ToolUse {
                    id: field("id")?.to_string(),
                    name: field("name")?.to_string(),
                    input,
                    meta: None,
                });
            }
            other => {
                tracing::debug!(kind = ?other, "skipping a reply block that MCP cannot carry");
            }
        }
    }
    if blocks.is_empty() {
        blocks.push(Content::text(""));
    }
    let stop_reason = reply.stop_reason.map(|r| match r.as_str() {
        "end_turn" => StopReason::EndTurn,
        "max_tokens" => StopReason::MaxTokens,
        "stop_sequence" => StopReason::StopSequence,
        "tool_use" => StopReason::ToolUse,
        _ => StopReason::Other(r),
    });
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
    let input = usage.and_then(|u| {
        u.input_tokens.map(|n| {
            n + u.cache_creation_input_tokens.unwrap_or(0) + u.cache_read_input_tokens.unwrap_or(0)
        })
    });
    let usage = usage_or_estimate(
        input,
        usage.and_then(|u| u.output_tokens),
        input_estimate,
        &result,
    );
    Ok(Completion { result, usage })
}
