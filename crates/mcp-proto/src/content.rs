//! Content blocks, shared by tool results, prompts and sampling messages.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One content block. Sampling messages use `text`, `image`, `audio`, `tool_use` and
/// `tool_result`; tool results and prompts use `text`, `image`, `audio`, `resource_link` and
/// `resource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Content {
    /// Text.
    Text {
        /// The text.
        text: String,
        /// Optional annotations (audience, priority, lastModified).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        annotations: Option<Value>,
        /// Metadata.
        #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
        meta: Option<Value>,
    },
    /// A base64-encoded image.
    Image {
        /// Base64 data.
        data: String,
        /// The MIME type, such as `image/png`.
        #[serde(rename = "mimeType")]
        mime_type: String,
        /// Optional annotations.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        annotations: Option<Value>,
        /// Metadata.
        #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
        meta: Option<Value>,
    },
    /// Base64-encoded audio.
    Audio {
        /// Base64 data.
        data: String,
        /// The MIME type, such as `audio/wav`.
        #[serde(rename = "mimeType")]
        mime_type: String,
        /// Optional annotations.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        annotations: Option<Value>,
        /// Metadata.
        #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
        meta: Option<Value>,
    },
    /// A link to a resource (tool results and prompts).
    ResourceLink(Value),
    /// An embedded resource (tool results and prompts).
    Resource(Value),
    /// A model's request to call a tool (sampling only).
    ToolUse {
        /// Identifies this tool use; the matching result carries it as `toolUseId`.
        id: String,
        /// The tool's name.
        name: String,
        /// The arguments.
        input: serde_json::Map<String, Value>,
        /// Metadata.
        #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
        meta: Option<Value>,
    },
    /// The result of a tool use, sent back to the model (sampling only).
    ToolResult {
        /// The `id` of the tool use this answers.
        #[serde(rename = "toolUseId")]
        tool_use_id: String,
        /// The result's content blocks.
        content: Vec<Content>,
        /// A structured result.
        #[serde(
            rename = "structuredContent",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        structured_content: Option<Value>,
        /// Whether the tool use failed.
        #[serde(rename = "isError", default, skip_serializing_if = "Option::is_none")]
        is_error: Option<bool>,
        /// Metadata.
        #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
        meta: Option<Value>,
    },
}

impl Content {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        Content::Text {
            text: text.into(),
            annotations: None,
            meta: None,
        }
    }

    /// An image block: `data` is base64, `mime_type` such as `image/png`.
    pub fn image(data: impl Into<String>, mime_type: impl Into<String>) -> Self {
        Content::Image {
            data: data.into(),
            mime_type: mime_type.into(),
            annotations: None,
            meta: None,
        }
    }

    /// An audio block: `data` is base64, `mime_type` such as `audio/wav`.
    pub fn audio(data: impl Into<String>, mime_type: impl Into<String>) -> Self {
        Content::Audio {
            data: data.into(),
            mime_type: mime_type.into(),
            annotations: None,
            meta: None,
        }
    }

    /// An embedded resource (tool results and prompts).
    pub fn embedded(contents: crate::resources::ResourceContents) -> Self {
        Content::Resource(serde_json::json!({ "resource": contents }))
    }

    /// The text of a text block.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Content::Text { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The wire name of the block's type.
    pub fn kind(&self) -> &'static str {
        match self {
            Content::Text { .. } => "text",
            Content::Image { .. } => "image",
            Content::Audio { .. } => "audio",
            Content::ResourceLink(_) => "resource_link",
            Content::Resource(_) => "resource",
            Content::ToolUse { .. } => "tool_use",
            Content::ToolResult { .. } => "tool_result",
        }
    }
}

/// A single item or an array of them, as sampling messages and results carry content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    /// One item.
    One(T),
    /// An array.
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    /// The items as a slice.
    pub fn as_slice(&self) -> &[T] {
        match self {
            OneOrMany::One(t) => std::slice::from_ref(t),
            OneOrMany::Many(v) => v,
        }
    }

    /// Turns an array of exactly one item into that item (for peers older than `2025-11-25`,
    /// which know only single content blocks). Returns `Err(self)` for any other array length.
    pub fn into_single(self) -> Result<T, Self> {
        match self {
            OneOrMany::One(t) => Ok(t),
            OneOrMany::Many(mut v) if v.len() == 1 => Ok(v.remove(0)),
            many => Err(many),
        }
    }
}

impl<T> From<T> for OneOrMany<T> {
    fn from(t: T) -> Self {
        OneOrMany::One(t)
    }
}
