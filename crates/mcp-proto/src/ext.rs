//! This project's own `_meta` extensions. Hosts and servers that do not know them ignore
//! them (the spec lets any party put its own keys in `_meta`); ours act on them.
//!
//! - [`OUTPUT_KEY`] (`dev.mcp-sampling/output`) on a `sampling/createMessage` request: the
//!   answer the server expects, either one of a list of choices
//!   (`{"choices": ["products", "orders"]}`) or a JSON value matching a JSON Schema
//!   (`{"schema": {...}}`). A host that knows the key constrains the model to it (structured
//!   outputs, a forced tool, constrained decoding) and replies with the choice, or the JSON
//!   text, as the message's text. A server must still parse and check the text: other hosts
//!   answer freely.
//! - [`DEPTH_KEY`] (`dev.mcp-sampling/depth`) on `tools/call` (and on the sampling requests a
//!   call makes): how deep in nested sampling the call is. 0 for a call a person or a
//!   host's chat started; a host whose model calls tools while answering a sampling request
//!   of depth n sends n + 1 on those calls. Servers refuse calls past their maximum, which
//!   stops a sampling loop across hops.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The `_meta` key of the expected output of a sampling request.
pub const OUTPUT_KEY: &str = "dev.mcp-sampling/output";

/// The `_meta` key of the nesting depth of a tool call.
pub const DEPTH_KEY: &str = "dev.mcp-sampling/depth";

/// The answer a sampling request expects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ExpectedOutput {
    /// Exactly one of these strings.
    Choices(Vec<String>),
    /// A JSON value (as the reply's text) that matches this JSON Schema.
    Schema(Value),
}

impl ExpectedOutput {
    /// The expected output that `meta` (a request's `_meta`) carries, if any and well formed.
    pub fn from_meta(meta: Option<&Value>) -> Option<ExpectedOutput> {
        let v = meta?.get(OUTPUT_KEY)?;
        let out: ExpectedOutput = serde_json::from_value(v.clone()).ok()?;
        match &out {
            ExpectedOutput::Choices(c) if c.is_empty() => None,
            ExpectedOutput::Schema(s) if !s.is_object() => None,
            _ => Some(out),
        }
    }

    /// Puts this into `meta` (creating it), beside what it already holds.
    pub fn write_to(&self, meta: &mut Option<Value>) {
        if let Ok(v) = serde_json::to_value(self) {
            insert(meta, OUTPUT_KEY, v);
        }
    }

    /// As one JSON Schema: choices become a string `enum`.
    pub fn to_schema(&self) -> Value {
        match self {
            ExpectedOutput::Choices(c) => serde_json::json!({"type": "string", "enum": c}),
            ExpectedOutput::Schema(s) => s.clone(),
        }
    }
}

/// The depth that `meta` carries (absent or malformed: `None`).
pub fn depth_from_meta(meta: Option<&Value>) -> Option<u32> {
    meta?
        .get(DEPTH_KEY)?
        .as_u64()
        .map(|d| u32::try_from(d).unwrap_or(u32::MAX))
}

/// Puts `depth` into `meta` (creating it).
pub fn write_depth(meta: &mut Option<Value>, depth: u32) {
    insert(meta, DEPTH_KEY, depth.into());
}

/// Sets `key` in `meta`, making `meta` an object if it is absent or not one.
fn insert(meta: &mut Option<Value>, key: &str, value: Value) {
    let mut m = match meta.take() {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    m.insert(key.into(), value);
    *meta = Some(Value::Object(m));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_and_ignores_malformed() {
        let mut meta = Some(json!({"progressToken": 1}));
        ExpectedOutput::Choices(vec!["a".into(), "b".into()]).write_to(&mut meta);
        write_depth(&mut meta, 2);
        let m = meta.as_ref().unwrap();
        assert_eq!(m["progressToken"], 1);
        assert_eq!(m[OUTPUT_KEY], json!({"choices": ["a", "b"]}));
        assert_eq!(
            ExpectedOutput::from_meta(meta.as_ref()),
            Some(ExpectedOutput::Choices(vec!["a".into(), "b".into()]))
        );
        assert_eq!(depth_from_meta(meta.as_ref()), Some(2));
        for bad in [
            json!({OUTPUT_KEY: {"choices": []}}),
            json!({OUTPUT_KEY: {"schema": true}}),
            json!({OUTPUT_KEY: "x"}),
            json!({DEPTH_KEY: -1}),
        ] {
            assert_eq!(ExpectedOutput::from_meta(Some(&bad)), None);
            assert_eq!(depth_from_meta(Some(&bad)), None);
        }
        let schema = ExpectedOutput::Schema(json!({"type": "object"}));
        assert_eq!(schema.to_schema(), json!({"type": "object"}));
        let mut not_object = Some(json!(3));
        write_depth(&mut not_object, 1);
        assert_eq!(not_object, Some(json!({DEPTH_KEY: 1})));
    }
}
