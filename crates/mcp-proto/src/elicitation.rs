//! `elicitation/create` in form mode: the server asks the user for a few values through the
//! client, described by a flat schema of primitive properties.
//!
//! The payload is the same in both eras (a server-to-client request on legacy, an entry of
//! `inputRequests` on modern). URL mode is recognised and refused with a clear error
//! ([`ParamsError::UrlMode`]): this implementation does not open URLs.
//!
//! The requested schema, its check, and a reply's validation and defaults are in
//! [`crate::form`]; its types are re-exported here.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use crate::form::{
    Choices, EnumItems, EnumOption, ObjectType, PropertySchema, PropertyType, RequestedSchema,
    SchemaError, StringFormat,
};

/// `mode: "form"` (the only mode this implementation serves; absent means form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FormMode {
    /// Form mode.
    Form,
}

/// The params of a form-mode `elicitation/create`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ElicitRequestParams {
    /// `form`, or absent (form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<FormMode>,
    /// What is asked and why, shown to the user.
    pub message: String,
    /// The flat schema of the expected values.
    pub requested_schema: RequestedSchema,
    /// Request metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

/// Why `elicitation/create` params were refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamsError {
    /// URL mode, which this client does not serve (nor declare).
    #[error("url mode elicitation is not supported here (only form mode is); the client did not declare elicitation.url")]
    UrlMode,
    /// Not a form-mode request.
    #[error("invalid elicitation/create params: {0}")]
    Malformed(String),
    /// The requested schema is outside the spec's primitive subset.
    #[error("invalid requestedSchema: {0}")]
    Schema(#[from] SchemaError),
}

impl ElicitRequestParams {
    /// A form request.
    pub fn new(message: impl Into<String>, schema: RequestedSchema) -> Self {
        ElicitRequestParams {
            mode: Some(FormMode::Form),
            message: message.into(),
            requested_schema: schema,
            meta: None,
        }
    }

    /// Reads params from the wire: URL mode is refused clearly, and the schema is checked
    /// ([`RequestedSchema::check`]).
    pub fn parse(params: Option<Value>) -> Result<Self, ParamsError> {
        let params = params.unwrap_or(Value::Null);
        if params.get("mode").and_then(Value::as_str) == Some("url") {
            return Err(ParamsError::UrlMode);
        }
        let p: ElicitRequestParams =
            serde_json::from_value(params).map_err(|e| ParamsError::Malformed(e.to_string()))?;
        p.requested_schema.check()?;
        Ok(p)
    }
}

/// What the user did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ElicitAction {
    /// Submitted the form.
    Accept,
    /// Explicitly declined.
    Decline,
    /// Dismissed without choosing.
    Cancel,
}

/// The result of `elicitation/create`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ElicitResult {
    /// What the user did.
    pub action: ElicitAction,
    /// The values, on accept (form mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Map<String, Value>>,
    /// Metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

impl ElicitResult {
    /// An accepted form with these values.
    pub fn accept(content: Map<String, Value>) -> Self {
        ElicitResult {
            action: ElicitAction::Accept,
            content: Some(content),
            meta: None,
        }
    }
    /// The user declined.
    pub fn decline() -> Self {
        ElicitResult {
            action: ElicitAction::Decline,
            content: None,
            meta: None,
        }
    }
    /// The user dismissed the request.
    pub fn cancel() -> Self {
        ElicitResult {
            action: ElicitAction::Cancel,
            content: None,
            meta: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn params_parse_form_and_refuse_url_mode() {
        let form = json!({"message": "Name?", "requestedSchema": {"type": "object", "properties": {"n": {"type": "string"}}}});
        let p = ElicitRequestParams::parse(Some(form)).unwrap();
        assert_eq!(p.mode, None, "absent mode is form");
        let url = json!({"mode": "url", "message": "m", "url": "https://x", "elicitationId": "1"});
        assert_eq!(
            ElicitRequestParams::parse(Some(url)),
            Err(ParamsError::UrlMode)
        );
        assert!(ParamsError::UrlMode.to_string().contains("url mode"));
        let bad_default = json!({"message": "m", "requestedSchema": {"type": "object", "properties": {"n": {"type": "string", "format": "email", "default": "nope"}}}});
        assert!(matches!(
            ElicitRequestParams::parse(Some(bad_default)),
            Err(ParamsError::Schema(_))
        ));
        assert!(matches!(
            ElicitRequestParams::parse(None),
            Err(ParamsError::Malformed(_))
        ));
    }
}
