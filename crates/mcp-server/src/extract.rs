//! [`Ctx::extract`]: a sampling reply that must parse as a Rust type. The type's JSON
//! Schema (from schemars) goes into the system prompt and into the typed-output `_meta`
//! extension; the reply's JSON is found (bare, in a code fence, or amid prose), parsed into
//! `T` and checked; when that fails, the model is shown its error once and asked again.

use crate::ctx::Ctx;
use crate::error::{SampleError, ToolError};
use crate::sampling::Sampling;
use mcp_proto::ext::ExpectedOutput;
use mcp_proto::SamplingMessage;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A typed reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted<T> {
    /// The value.
    pub value: T,
    /// The model that produced it.
    pub model: String,
    /// Whether it took the repair round.
    pub repaired: bool,
}

/// Why [`Ctx::extract`] has no value.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ExtractError {
    /// A sampling request failed.
    #[error(transparent)]
    Sample(#[from] SampleError),
    /// The reply was still invalid after the repair round.
    #[error("the model's answer is not valid even after a repair round: {error}")]
    Invalid {
        /// The last reply's text.
        reply: String,
        /// What is wrong with it.
        error: String,
    },
}

impl From<ExtractError> for ToolError {
    fn from(e: ExtractError) -> Self {
        match e {
            ExtractError::Sample(s) => ToolError::Sampling(s),
            other => ToolError::Failed(other.to_string()),
        }
    }
}

/// The JSON Schema of `T` as the typed-output extension carries it (no `$schema`).
pub fn output_schema<T: JsonSchema>() -> Value {
    let mut v = serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        m.remove("$schema");
    }
    v
}

/// Parses the JSON in a model's reply into `T`: the whole text, else the inside of a
/// code fence, else the first JSON object or array in the text.
pub fn parse_reply<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let value = find_json(text).ok_or_else(|| "the answer holds no JSON value".to_owned())?;
    serde_json::from_value(value).map_err(|e| e.to_string())
}

fn find_json(text: &str) -> Option<Value> {
    let t = text.trim();
    if let Ok(v) = serde_json::from_str(t) {
        return Some(v);
    }
    if let Some(fenced) = t.split("```").nth(1) {
        let body = fenced.trim_start_matches(|c: char| c.is_alphanumeric());
        if let Ok(v) = serde_json::from_str(body.trim()) {
            return Some(v);
        }
    }
    t.char_indices()
        .filter(|(_, c)| *c == '{' || *c == '[')
        .find_map(|(i, _)| {
            let mut stream = serde_json::Deserializer::from_str(&t[i..]).into_iter::<Value>();
            stream.next().and_then(Result::ok)
        })
}

impl Ctx {
    /// Asks the model for a `T` (see the module docs): `req`'s system prompt gets the
    /// schema, and its `_meta` the typed-output extension.
    pub async fn extract<T>(&self, req: Sampling) -> Result<Extracted<T>, ExtractError>
    where
        T: DeserializeOwned + JsonSchema,
    {
        self.extract_checked(req, |_: &T| Ok(())).await
    }

    /// [`Ctx::extract`] with a check of the value beyond its type (a field's range, a
    /// consistency rule); a failed check is shown to the model in the repair round.
    pub async fn extract_checked<T, F>(
        &self,
        req: Sampling,
        check: F,
    ) -> Result<Extracted<T>, ExtractError>
    where
        T: DeserializeOwned + JsonSchema,
        F: Fn(&T) -> Result<(), String>,
    {
        let schema = output_schema::<T>();
        let instruction = format!(
            "Answer with only a JSON value that matches this JSON Schema, no prose:\n{schema}"
        );
        let system = match &req.params().system_prompt {
            Some(s) => format!("{s}\n\n{instruction}"),
            None => instruction,
        };
        let req = req.system(system).expect(ExpectedOutput::Schema(schema));
        let first = self.sample(req.clone()).await?;
        let text = first.text();
        let error = match parse_reply::<T>(&text).and_then(|v| check(&v).map(|()| v)) {
            Ok(value) => {
                return Ok(Extracted {
                    value,
                    model: first.model,
                    repaired: false,
                })
            }
            Err(e) => e,
        };
        let repair = req
            .message(SamplingMessage::assistant(text))
            .message(SamplingMessage::user(format!(
                "That answer is not valid: {error}. Answer again with only the corrected JSON."
            )));
        let second = self.sample(repair).await?;
        let text = second.text();
        match parse_reply::<T>(&text).and_then(|v| check(&v).map(|()| v)) {
            Ok(value) => Ok(Extracted {
                value,
                model: second.model,
                repaired: true,
            }),
            Err(error) => Err(ExtractError::Invalid { reply: text, error }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, JsonSchema, Debug, PartialEq)]
    struct Verdict {
        ok: bool,
        fields: Vec<String>,
    }

    #[test]
    fn finds_json_bare_fenced_or_in_prose() {
        let want = Verdict {
            ok: false,
            fields: vec!["date".into()],
        };
        for text in [
            r#"{"ok": false, "fields": ["date"]}"#,
            "```json\n{\"ok\": false, \"fields\": [\"date\"]}\n```",
            "Sure! Here it is: {\"ok\": false, \"fields\": [\"date\"]} Hope that helps {",
        ] {
            assert_eq!(parse_reply::<Verdict>(text).unwrap(), want, "{text}");
        }
        assert!(parse_reply::<Verdict>("no idea").is_err());
        assert!(parse_reply::<Verdict>(r#"{"ok": "yes"}"#).is_err());
        let schema = output_schema::<Verdict>();
        assert!(schema.get("$schema").is_none());
        assert_eq!(schema["type"], "object");
    }
}
