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

/// The `resultType` of a modern result; absent means `complete` (older servers).
pub fn result_type(result: &Value) -> &str {
    result
        .get("resultType")
        .and_then(Value::as_str)
        .unwrap_or(COMPLETE)
}
