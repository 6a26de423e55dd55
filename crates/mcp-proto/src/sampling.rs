//! `sampling/createMessage`: the request a server makes for an LLM completion, and its result.
//!
//! The payload is the same in both eras; only the way it travels differs (a server-to-client
//! request on legacy, an entry of `inputRequests` on modern).

use crate::capabilities::ClientCapabilities;
use crate::content::{Content, OneOrMany};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;

/// `user` or `assistant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The user (or the tool results sent back to the model).
    User,
    /// The model.
    Assistant,
}

/// One message of the conversation sent to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplingMessage {
    /// Who speaks.
    pub role: Role,
    /// One block or several.
    pub content: OneOrMany<Content>,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

impl SamplingMessage {
    /// A user message with one text block.
    pub fn user(text: impl Into<String>) -> Self {
        SamplingMessage {
            role: Role::User,
            content: Content::text(text).into(),
            meta: None,
        }
    }
    /// An assistant message with one text block.
    pub fn assistant(text: impl Into<String>) -> Self {
        SamplingMessage {
            role: Role::Assistant,
            content: Content::text(text).into(),
            meta: None,
        }
    }
}

/// A model name hint, matched as a substring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelHint {
    /// The hint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// What the server would like in a model. Advisory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelPreferences {
    /// Hints, in order of preference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hints: Option<Vec<ModelHint>>,
    /// 0..1: how much cheapness matters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_priority: Option<f64>,
    /// 0..1: how much speed matters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_priority: Option<f64>,
    /// 0..1: how much capability matters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intelligence_priority: Option<f64>,
}

/// A tool the model may call during this sampling request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SamplingTool {
    /// The tool's name.
    pub name: String,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of its input.
    pub input_schema: Value,
    /// Other fields (title, annotations, outputSchema, ...), kept as they came.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

/// How the model may use tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolChoiceMode {
    /// The model decides.
    Auto,
    /// The model must call at least one tool.
    Required,
    /// The model must not call tools.
    None,
}

/// `toolChoice`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolChoice {
    /// The mode (default `auto`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ToolChoiceMode>,
}

/// `includeContext` (the non-`none` values are deprecated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum IncludeContext {
    /// No context.
    None,
    /// Context from the requesting server.
    ThisServer,
    /// Context from all servers.
    AllServers,
}

/// The params of `sampling/createMessage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateMessageParams {
    /// The conversation.
    pub messages: Vec<SamplingMessage>,
    /// The most tokens to generate (required; the client must respect it).
    pub max_tokens: u64,
    /// A system prompt the client may use, change or ignore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    /// Model preferences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_preferences: Option<ModelPreferences>,
    /// Context inclusion (deprecated values other than `none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_context: Option<IncludeContext>,
    /// Temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// Provider-specific metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Tools the model may call (needs the client's `sampling.tools`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<SamplingTool>>,
    /// How the model may use the tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Request metadata (progress token, ...).
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

impl CreateMessageParams {
    /// A request with the given messages and token limit.
    pub fn new(messages: Vec<SamplingMessage>, max_tokens: u64) -> Self {
        CreateMessageParams {
            messages,
            max_tokens,
            system_prompt: None,
            model_preferences: None,
            include_context: None,
            temperature: None,
            stop_sequences: None,
            metadata: None,
            tools: None,
            tool_choice: None,
            meta: None,
        }
    }
}

/// Why generation stopped. An open set: unknown values are kept as they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum StopReason {
    /// The model ended its turn.
    EndTurn,
    /// A stop sequence was met.
    StopSequence,
    /// `maxTokens` was reached.
    MaxTokens,
    /// The model wants to use tools.
    ToolUse,
    /// Any other value.
    Other(String),
}

impl From<String> for StopReason {
    fn from(s: String) -> Self {
        match s.as_str() {
            "endTurn" => StopReason::EndTurn,
            "stopSequence" => StopReason::StopSequence,
            "maxTokens" => StopReason::MaxTokens,
            "toolUse" => StopReason::ToolUse,
            _ => StopReason::Other(s),
        }
    }
}

impl From<StopReason> for String {
    fn from(r: StopReason) -> String {
        match r {
            StopReason::EndTurn => "endTurn".into(),
            StopReason::StopSequence => "stopSequence".into(),
            StopReason::MaxTokens => "maxTokens".into(),
            StopReason::ToolUse => "toolUse".into(),
            StopReason::Other(s) => s,
        }
    }
}

/// The result of `sampling/createMessage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateMessageResult {
    /// Normally `assistant`.
    pub role: Role,
    /// One block or several.
    pub content: OneOrMany<Content>,
    /// The model that generated the message.
    pub model: String,
    /// Why generation stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<StopReason>,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

impl CreateMessageResult {
    /// An assistant text reply that ended its turn.
    pub fn from_text(model: impl Into<String>, text: impl Into<String>) -> Self {
        CreateMessageResult {
            role: Role::Assistant,
            content: Content::text(text).into(),
            model: model.into(),
            stop_reason: Some(StopReason::EndTurn),
            meta: None,
        }
    }

    /// All text blocks joined (the usual way to read a text reply).
    pub fn text(&self) -> String {
        let mut out = String::new();
        for c in self.content.as_slice() {
            if let Some(t) = c.as_text() {
                out.push_str(t);
            }
        }
        out
    }
}

/// A rule of sampling that a request breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// No messages.
    #[error("a sampling request needs at least one message")]
    NoMessages,
    /// maxTokens of zero.
    #[error("maxTokens must be at least 1")]
    ZeroMaxTokens,
    /// A user message mixes tool results with other content.
    #[error("message {0} mixes tool_result with other content; a message with tool results must hold only tool results")]
    MixedToolResults(usize),
    /// A block type that sampling messages cannot carry.
    #[error("message {0} has a {1} block, which sampling messages cannot carry")]
    BadBlock(usize, &'static str),
    /// A tool_use block in a user message, or a tool_result in an assistant one.
    #[error("message {0}: {1} blocks belong in {2} messages")]
    WrongRole(usize, &'static str, &'static str),
    /// Tool uses not answered by the next message.
    #[error(
        "message {0} has tool uses {1:?} that the next message does not answer with tool results"
    )]
    UnansweredToolUse(usize, Vec<String>),
    /// A tool result answering no tool use of the previous message.
    #[error("message {0} has a tool result for {1:?}, which the previous message did not request")]
    OrphanToolResult(usize, String),
    /// Tools requested without the client's `sampling.tools`.
    #[error("the request carries tools or toolChoice, but the client did not declare the sampling.tools capability")]
    ToolsNotDeclared,
    /// includeContext other than none without `sampling.context`.
    #[error("includeContext {0:?} needs the client's sampling.context capability")]
    ContextNotDeclared(IncludeContext),
}

/// Checks a sampling request against the spec's rules, and against what the client
/// declared (when `caps` is given): tool results alone in their message, every tool use
/// answered by the next message, tools only with `sampling.tools`.
pub fn validate(
    params: &CreateMessageParams,
    caps: Option<&ClientCapabilities>,
) -> Result<(), Invalid> {
    if params.messages.is_empty() {
        return Err(Invalid::NoMessages);
    }
    if params.max_tokens == 0 {
        return Err(Invalid::ZeroMaxTokens);
    }
    if let Some(caps) = caps {
        let sampling = caps.sampling.as_ref();
        if (params.tools.is_some() || params.tool_choice.is_some())
            && sampling.and_then(|s| s.tools.as_ref()).is_none()
        {
            return Err(Invalid::ToolsNotDeclared);
        }
        if let Some(ctx @ (IncludeContext::ThisServer | IncludeContext::AllServers)) =
            params.include_context
        {
            if sampling.and_then(|s| s.context.as_ref()).is_none() {
                return Err(Invalid::ContextNotDeclared(ctx));
            }
        }
    }
    let mut open: Vec<String> = Vec::new();
    for (i, m) in params.messages.iter().enumerate() {
        let blocks = m.content.as_slice();
        let results = blocks
            .iter()
            .filter(|b| matches!(b, Content::ToolResult { .. }))
            .count();
        if results > 0 && results != blocks.len() {
            return Err(Invalid::MixedToolResults(i));
        }
        let mut answered = HashSet::new();
        for b in blocks {
            match (b, m.role) {
                (Content::ResourceLink(_) | Content::Resource(_), _) => {
                    return Err(Invalid::BadBlock(i, b.kind()))
                }
                (Content::ToolUse { .. }, Role::User) => {
                    return Err(Invalid::WrongRole(i, "tool_use", "assistant"))
                }
                (Content::ToolResult { .. }, Role::Assistant) => {
                    return Err(Invalid::WrongRole(i, "tool_result", "user"))
                }
                (Content::ToolResult { tool_use_id, .. }, Role::User) => {
                    if !open.contains(tool_use_id) {
                        return Err(Invalid::OrphanToolResult(i, tool_use_id.clone()));
                    }
                    answered.insert(tool_use_id.as_str());
                }
                _ => {}
            }
        }
        if !open.is_empty() {
            let missing: Vec<String> = open
                .iter()
                .filter(|id| !answered.contains(id.as_str()))
                .cloned()
                .collect();
            if !missing.is_empty() {
                return Err(Invalid::UnansweredToolUse(i - 1, missing));
            }
        }
        open = blocks
            .iter()
            .filter_map(|b| match b {
                Content::ToolUse { id, .. } => Some(id.clone()),
                _ => None,
            })
            .collect();
    }
    // Tool uses in the last message are fine only in a result, never in a request.
    if !open.is_empty() {
        return Err(Invalid::UnansweredToolUse(params.messages.len() - 1, open));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> CreateMessageParams {
        serde_json::from_value(v).unwrap()
    }

    fn tools_caps() -> ClientCapabilities {
        serde_json::from_value(json!({"sampling": {"tools": {}}})).unwrap()
    }

    #[test]
    fn tool_loop_is_valid() {
        let p = parse(
            json!({"maxTokens": 10, "tools": [{"name":"w","inputSchema":{"type":"object"}}], "messages": [
                {"role":"user","content":{"type":"text","text":"weather?"}},
                {"role":"assistant","content":[{"type":"tool_use","id":"a","name":"w","input":{}},{"type":"tool_use","id":"b","name":"w","input":{}}]},
                {"role":"user","content":[{"type":"tool_result","toolUseId":"a","content":[]},{"type":"tool_result","toolUseId":"b","content":[]}]}
            ]}),
        );
        assert_eq!(validate(&p, Some(&tools_caps())), Ok(()));
        assert_eq!(
            validate(&p, Some(&ClientCapabilities::default())),
            Err(Invalid::ToolsNotDeclared)
        );
    }

    #[test]
    fn broken_tool_loops_are_refused() {
        let mixed = parse(json!({"maxTokens": 10, "messages": [
            {"role":"assistant","content":{"type":"tool_use","id":"a","name":"w","input":{}}},
            {"role":"user","content":[{"type":"text","text":"x"},{"type":"tool_result","toolUseId":"a","content":[]}]}
        ]}));
        assert_eq!(validate(&mixed, None), Err(Invalid::MixedToolResults(1)));
        let missing = parse(json!({"maxTokens": 10, "messages": [
            {"role":"user","content":{"type":"text","text":"go"}},
            {"role":"assistant","content":[{"type":"tool_use","id":"a","name":"w","input":{}},{"type":"tool_use","id":"b","name":"w","input":{}}]},
            {"role":"user","content":{"type":"tool_result","toolUseId":"a","content":[]}}
        ]}));
        assert_eq!(
            validate(&missing, None),
            Err(Invalid::UnansweredToolUse(1, vec!["b".into()]))
        );
        let orphan = parse(json!({"maxTokens": 10, "messages": [
            {"role":"user","content":{"type":"tool_result","toolUseId":"z","content":[]}}
        ]}));
        assert_eq!(
            validate(&orphan, None),
            Err(Invalid::OrphanToolResult(0, "z".into()))
        );
    }

    #[test]
    fn stop_reason_is_open() {
        let r: CreateMessageResult = serde_json::from_value(json!({
            "role":"assistant","content":{"type":"text","text":"hi"},"model":"m","stopReason":"refusal"
        }))
        .unwrap();
        assert_eq!(r.stop_reason, Some(StopReason::Other("refusal".into())));
        assert_eq!(serde_json::to_value(&r).unwrap()["stopReason"], "refusal");
    }
}
