//! What each side declares it can do, typed. Every capability keeps the fields it does not
//! know (`other`), so a newer peer's declaration survives a round trip.

use crate::jsonrpc::Object;
use serde::{Deserialize, Serialize};

/// The client's `sampling` capability.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SamplingCapability {
    /// Present when the client accepts `tools` and `toolChoice` in sampling requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Object>,
    /// Present when the client honours `includeContext` (deprecated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Object>,
    /// Anything else, kept as it came.
    #[serde(flatten)]
    pub other: Object,
}

/// The client's `elicitation` capability: the modes it supports (an object without modes
/// means form mode only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ElicitationCapability {
    /// Form mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<Object>,
    /// URL mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Object>,
    /// Anything else, kept as it came.
    #[serde(flatten)]
    pub other: Object,
}

/// A capability whose only setting is whether changes are notified (`roots`, `tools`,
/// `prompts`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListCapability {
    /// Whether the declaring side sends a notification when the list changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_changed: Option<bool>,
    /// Anything else, kept as it came.
    #[serde(flatten)]
    pub other: Object,
}

impl ListCapability {
    /// With `listChanged` set.
    pub fn list_changed(changes: bool) -> Self {
        ListCapability {
            list_changed: Some(changes),
            other: Object::new(),
        }
    }
}

/// The server's `resources` capability.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourcesCapability {
    /// Whether `resources/subscribe` is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribe: Option<bool>,
    /// Whether the server notifies list changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_changed: Option<bool>,
    /// Anything else, kept as it came.
    #[serde(flatten)]
    pub other: Object,
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
    pub elicitation: Option<ElicitationCapability>,
    /// Roots support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roots: Option<ListCapability>,
    /// Experimental capabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experimental: Option<Object>,
    /// Extensions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Object>,
    /// Anything else, kept as it came.
    #[serde(flatten)]
    pub other: Object,
}

impl ClientCapabilities {
    /// A client that samples, with tool support when `tools` is true.
    pub fn sampling(tools: bool) -> Self {
        ClientCapabilities {
            sampling: Some(SamplingCapability {
                tools: tools.then(Object::new),
                ..Default::default()
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
        self.elicitation
            .as_ref()
            .is_some_and(|e| e.form.is_some() || e.url.is_none())
    }

    /// Whether `roots` was declared.
    pub fn can_list_roots(&self) -> bool {
        self.roots.is_some()
    }

    /// Adds form-mode elicitation (`{"form": {}}`).
    pub fn with_elicitation(mut self) -> Self {
        self.elicitation = Some(ElicitationCapability {
            form: Some(Object::new()),
            ..Default::default()
        });
        self
    }

    /// Adds roots; `list_changed` when the client notifies changes (legacy).
    pub fn with_roots(mut self, list_changed: bool) -> Self {
        self.roots = Some(ListCapability {
            list_changed: list_changed.then_some(true),
            other: Object::new(),
        });
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let v = json!({"sampling": {"tools": {}, "future": 1}, "roots": {"listChanged": true},
                       "elicitation": {"form": {}, "url": {}}, "somethingNew": {"x": [1]}});
        let caps: ClientCapabilities = serde_json::from_value(v.clone()).unwrap();
        assert!(caps.can_sample_with_tools() && caps.can_list_roots() && caps.can_elicit_form());
        assert_eq!(serde_json::to_value(&caps).unwrap(), v);
        let v = json!({"tools": {"listChanged": false}, "resources": {"subscribe": true},
                       "logging": {}, "completions": {}});
        let caps: ServerCapabilities = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(
            caps.resources.as_ref().and_then(|r| r.subscribe),
            Some(true)
        );
        assert_eq!(serde_json::to_value(&caps).unwrap(), v);
    }

    #[test]
    fn a_malformed_capability_is_an_error_that_names_it() {
        let e = serde_json::from_value::<ClientCapabilities>(json!({"sampling": true}))
            .expect_err("sampling must be an object");
        assert!(e.to_string().contains("invalid type: boolean"), "{e}");
        let e =
            serde_json::from_value::<ServerCapabilities>(json!({"tools": {"listChanged": "yes"}}))
                .expect_err("listChanged must be a boolean");
        assert!(e.to_string().contains("invalid type"), "{e}");
    }

    #[test]
    fn elicitation_modes() {
        let caps = |v: Value| ClientCapabilities {
            elicitation: Some(serde_json::from_value(v).unwrap()),
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
    pub tools: Option<ListCapability>,
    /// Resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourcesCapability>,
    /// Prompts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts: Option<ListCapability>,
    /// Logging (`logging/setLevel` on legacy sessions, `notifications/message`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<Object>,
    /// Completions (`completion/complete`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completions: Option<Object>,
    /// Experimental.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experimental: Option<Object>,
    /// Extensions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Object>,
    /// Anything else, kept as it came.
    #[serde(flatten)]
    pub other: Object,
}
