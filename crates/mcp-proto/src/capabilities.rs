//! What each side declares it can do.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The client's `sampling` capability.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SamplingCapability {
    /// Present when the client accepts `tools` and `toolChoice` in sampling requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Value>,
    /// Present when the client honours `includeContext` (deprecated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
}

/// Capabilities a client declares (in `initialize` on legacy, in every request's `_meta`
/// on modern).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientCapabilities {
    /// Sampling support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling: Option<SamplingCapability>,
    /// Elicitation support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elicitation: Option<Value>,
    /// Roots support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roots: Option<Value>,
    /// Experimental capabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experimental: Option<Value>,
    /// Extensions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Value>,
    /// Anything else, kept as it came.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl ClientCapabilities {
    /// A client that samples, with tool support when `tools` is true.
    pub fn sampling(tools: bool) -> Self {
        ClientCapabilities {
            sampling: Some(SamplingCapability {
                tools: tools.then(|| Value::Object(Map::new())),
                context: None,
            }),
            ..Default::default()
        }
    }

    /// Whether `sampling` was declared.
    pub fn can_sample(&self) -> bool {
        self.sampling.is_some()
    }

    /// Whether `sampling.tools` was declared.
    pub fn can_sample_with_tools(&self) -> bool {
        self.sampling.as_ref().is_some_and(|s| s.tools.is_some())
    }

    /// Whether form-mode elicitation was declared: `elicitation.form`, or an `elicitation`
    /// object without modes (which means form only).
    pub fn can_elicit_form(&self) -> bool {
        match &self.elicitation {
            Some(Value::Object(modes)) => modes.contains_key("form") || !modes.contains_key("url"),
            _ => false,
        }
    }

    /// Whether `roots` was declared.
    pub fn can_list_roots(&self) -> bool {
        self.roots.is_some()
    }

    /// Adds form-mode elicitation (`{"form": {}}`).
    pub fn with_elicitation(mut self) -> Self {
        self.elicitation = Some(serde_json::json!({"form": {}}));
        self
    }

    /// Adds roots; `list_changed` when the client notifies changes (legacy).
    pub fn with_roots(mut self, list_changed: bool) -> Self {
        self.roots = Some(if list_changed {
            serde_json::json!({"listChanged": true})
        } else {
            serde_json::json!({})
        });
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn elicitation_modes() {
        let caps = |v: Value| ClientCapabilities {
            elicitation: Some(v),
            ..Default::default()
        };
        assert!(caps(json!({})).can_elicit_form(), "empty means form");
        assert!(caps(json!({"form": {}, "url": {}})).can_elicit_form());
        assert!(!caps(json!({"url": {}})).can_elicit_form());
        assert!(!ClientCapabilities::default().can_elicit_form());
        assert!(ClientCapabilities::default()
            .with_elicitation()
            .can_elicit_form());
        assert!(ClientCapabilities::default()
            .with_roots(true)
            .can_list_roots());
        assert!(!ClientCapabilities::default().can_list_roots());
    }
}

/// Capabilities a server declares.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerCapabilities {
    /// Tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Value>,
    /// Resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Value>,
    /// Prompts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts: Option<Value>,
    /// Logging.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<Value>,
    /// Completions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completions: Option<Value>,
    /// Experimental.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experimental: Option<Value>,
    /// Extensions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Value>,
    /// Anything else.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}
