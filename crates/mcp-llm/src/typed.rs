//! The typed-output extension ([`mcp_proto::ext::OUTPUT_KEY`]) as providers honour it: the
//! expected output becomes a schema whose root is an object (what OpenAI's structured outputs
//! and Anthropic's tool input schemas require; anything else is wrapped in `{"answer": ...}`),
//! and the provider's JSON answer becomes the reply's text again (a choice as the bare
//! string, any other value as its JSON text).
//!
//! A request that offers tools of its own keeps them: the extension is then not applied.

use mcp_proto::ext::ExpectedOutput;
use mcp_proto::sampling::CreateMessageParams;
use serde_json::{json, Value};

/// The name of the wrapping schema, response format and forced tool.
pub const ANSWER: &str = "answer";

/// An expected output, ready for a provider.
#[derive(Debug, Clone, PartialEq)]
pub struct Typed {
    /// A schema whose root is an object.
    pub schema: Value,
    /// Whether the expected value sits under `answer` in it.
    wrapped: bool,
    /// Whether the schema is our own (a choices enum): strict mode can be asked for.
    pub strict: bool,
}

impl Typed {
    /// The expected output of `params`, unless it has none or offers tools of its own.
    pub fn of(params: &CreateMessageParams) -> Option<Typed> {
        if params.tools.as_ref().is_some_and(|t| !t.is_empty()) {
            return None;
        }
        let out = ExpectedOutput::from_meta(params.meta.as_ref())?;
        let schema = out.to_schema();
        let is_object = schema.get("type").and_then(Value::as_str) == Some("object");
        if is_object && !matches!(out, ExpectedOutput::Choices(_)) {
            return Some(Typed {
                schema,
                wrapped: false,
                strict: false,
            });
        }
        Some(Typed {
            schema: json!({
                "type": "object",
                "properties": {ANSWER: schema},
                "required": [ANSWER],
                "additionalProperties": false,
            }),
            wrapped: true,
            strict: matches!(out, ExpectedOutput::Choices(_)),
        })
    }

    /// The reply text for the provider's JSON answer `v`.
    pub fn text_of(&self, v: &Value) -> String {
        let inner = if self.wrapped { v.get(ANSWER) } else { Some(v) };
        match inner {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => v.to_string(),
        }
    }

    /// The reply text for an answer given as JSON text (left as it is if it is not JSON).
    pub fn text_of_json(&self, text: &str) -> String {
        match serde_json::from_str::<Value>(text) {
            Ok(v) => self.text_of(&v),
            Err(_) => text.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_proto::SamplingMessage;

    fn params(out: Option<ExpectedOutput>) -> CreateMessageParams {
        let mut p = CreateMessageParams::new(vec![SamplingMessage::user("q")], 5);
        if let Some(o) = out {
            o.write_to(&mut p.meta);
        }
        p
    }

    #[test]
    fn wraps_choices_and_keeps_object_schemas() {
        assert_eq!(Typed::of(&params(None)), None);
        let t = Typed::of(&params(Some(ExpectedOutput::Choices(vec!["a".into()])))).unwrap();
        assert_eq!(t.schema["properties"]["answer"]["enum"], json!(["a"]));
        assert!(t.strict);
        assert_eq!(t.text_of_json(r#"{"answer": "a"}"#), "a");
        assert_eq!(t.text_of_json("not json"), "not json");
        let obj = json!({"type": "object", "properties": {"ok": {"type": "boolean"}}});
        let t = Typed::of(&params(Some(ExpectedOutput::Schema(obj.clone())))).unwrap();
        assert_eq!(t.schema, obj);
        assert_eq!(t.text_of(&json!({"ok": true})), r#"{"ok":true}"#);
        let list = json!({"type": "array", "items": {"type": "integer"}});
        let t = Typed::of(&params(Some(ExpectedOutput::Schema(list)))).unwrap();
        assert_eq!(t.text_of(&json!({"answer": [1, 2]})), "[1,2]");
        let mut with_tools = params(Some(ExpectedOutput::Choices(vec!["a".into()])));
        with_tools.tools = Some(vec![mcp_proto::sampling::SamplingTool {
            name: "t".into(),
            description: None,
            input_schema: json!({"type": "object"}),
            extra: Default::default(),
        }]);
        assert_eq!(Typed::of(&with_tools), None);
    }
}
