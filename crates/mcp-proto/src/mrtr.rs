//! Multi round-trip requests (modern era): a server that needs input answers with
//! `resultType: "input_required"`, and the client retries with `inputResponses` and the
//! `requestState` echoed byte for byte.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// `resultType` of a finished request.
pub const COMPLETE: &str = "complete";
/// `resultType` of a request that needs input.
pub const INPUT_REQUIRED: &str = "input_required";

/// One server-to-client request carried in `inputRequests`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputRequest {
    /// `sampling/createMessage`, `elicitation/create` or `roots/list`.
    pub method: String,
    /// Its params.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
}

/// The `input_required` result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputRequiredResult {
    /// Always `input_required`.
    pub result_type: String,
    /// The requests to fulfil, by server-chosen key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_requests: Option<BTreeMap<String, InputRequest>>,
    /// Opaque state to echo on retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_state: Option<String>,
}

/// The answers a client sends on retry, by the keys of `inputRequests`.
pub type InputResponses = BTreeMap<String, Value>;

/// Reads a present `inputResponses` member: an object; `null` is refused (the schema has
/// no null there, and a server should answer a malformed retry with an error rather than
/// take it for a first call). Use with `#[serde(default, deserialize_with = ..)]`.
pub fn present_input_responses<'de, D>(d: D) -> Result<Option<InputResponses>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    match Option::<InputResponses>::deserialize(d)? {
        Some(r) => Ok(Some(r)),
        None => Err(serde::de::Error::custom(
            "inputResponses must be an object of replies, not null",
        )),
    }
}

/// Fills in what a complete `2026-07-28` result must carry: `resultType`, and with
/// `cacheable` (see [`crate::methods::ClientMethod::cacheable`]) the caching hints, set to
/// promise nothing (`ttlMs` 0, `cacheScope` private). Fields already there are kept.
pub fn fill_complete(result: &mut Value, cacheable: bool) {
    if let Some(obj) = result.as_object_mut() {
        if cacheable {
            obj.entry("ttlMs").or_insert_with(|| Value::from(0));
            obj.entry("cacheScope")
                .or_insert_with(|| Value::from("private"));
        }
        obj.entry("resultType")
            .or_insert_with(|| Value::from(COMPLETE));
    }
}

/// The `resultType` of a modern result; absent means `complete` (older servers).
pub fn result_type(result: &Value) -> &str {
    result
        .get("resultType")
        .and_then(Value::as_str)
        .unwrap_or(COMPLETE)
}

#[cfg(test)]
mod tests {
    use crate::prompts::GetPromptParams;
    use crate::tools::CallToolParams;
    use serde_json::json;

    #[test]
    fn input_responses_may_be_absent_or_an_object_but_not_null() {
        let p: CallToolParams = serde_json::from_value(json!({"name": "t"})).unwrap();
        assert_eq!(p.input_responses, None);
        let p: CallToolParams =
            serde_json::from_value(json!({"name": "t", "inputResponses": {"a": 1}})).unwrap();
        assert_eq!(p.input_responses.unwrap()["a"], json!(1));
        let err =
            serde_json::from_value::<CallToolParams>(json!({"name": "t", "inputResponses": null}))
                .unwrap_err();
        assert!(err.to_string().contains("not null"), "{err}");
        let p: GetPromptParams =
            serde_json::from_value(json!({"name": "p", "inputResponses": {}, "requestState": "x"}))
                .unwrap();
        assert_eq!(p.request_state.as_deref(), Some("x"));
        assert!(serde_json::from_value::<GetPromptParams>(
            json!({"name": "p", "inputResponses": null})
        )
        .is_err());
    }
}
