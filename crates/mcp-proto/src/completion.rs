//! Argument completion: `completion/complete`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most values one completion result may carry.
pub const MAX_VALUES: usize = 100;

/// What is being completed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Reference {
    /// An argument of a prompt, by the prompt's name.
    #[serde(rename = "ref/prompt")]
    Prompt {
        /// The prompt's name.
        name: String,
    },
    /// A variable of a resource template, by its URI template (or a URI).
    #[serde(rename = "ref/resource")]
    Resource {
        /// The URI template.
        uri: String,
    },
}

/// The argument being completed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompleteArgument {
    /// Its name.
    pub name: String,
    /// What the user typed so far.
    pub value: String,
}

/// Arguments already resolved.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CompleteContext {
    /// Their values, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<BTreeMap<String, String>>,
}

/// Params of `completion/complete`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompleteParams {
    /// What is being completed.
    #[serde(rename = "ref")]
    pub reference: Reference,
    /// The argument.
    pub argument: CompleteArgument,
    /// Arguments already resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<CompleteContext>,
}

/// Suggestions for one argument.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Completion {
    /// At most [`MAX_VALUES`] suggestions, best first.
    pub values: Vec<String>,
    /// How many matches there are in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// Whether there are more than `values`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_more: Option<bool>,
}

impl From<Vec<String>> for Completion {
    /// Keeps the first [`MAX_VALUES`] and says how many there were.
    fn from(mut values: Vec<String>) -> Self {
        let total = values.len();
        values.truncate(MAX_VALUES);
        Completion {
            has_more: Some(total > values.len()),
            total: Some(total as u64),
            values,
        }
    }
}

/// Result of `completion/complete`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompleteResult {
    /// The suggestions.
    pub completion: Completion,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_both_references_and_caps_values() {
        let p: CompleteParams = serde_json::from_value(json!({
            "ref": {"type": "ref/resource", "uri": "test://{id}"},
            "argument": {"name": "id", "value": "1"},
            "context": {"arguments": {"x": "y"}}
        }))
        .unwrap();
        assert_eq!(
            p.reference,
            Reference::Resource {
                uri: "test://{id}".into()
            }
        );
        let c = Completion::from((0..150).map(|i| i.to_string()).collect::<Vec<_>>());
        assert_eq!(
            (c.values.len(), c.total, c.has_more),
            (100, Some(150), Some(true))
        );
        let v = serde_json::to_value(CompleteResult {
            completion: vec!["a".to_string()].into(),
        })
        .unwrap();
        assert_eq!(
            v,
            json!({"completion": {"values": ["a"], "total": 1, "hasMore": false}})
        );
    }
}
