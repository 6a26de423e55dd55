//! [`Elicitation`]: a form-mode elicitation under construction; [`Elicited`], the answer to
//! a typed form; [`schema_for`], the form of a Rust type. `Ctx::elicit`, `Ctx::elicit_as`
//! and `Ctx::list_roots` send them.

use crate::error::ElicitError;
use mcp_proto::elicitation::{ElicitRequestParams, PropertySchema, RequestedSchema};
use schemars::JsonSchema;
use serde_json::{Map, Value};
use std::time::Duration;

/// A form-mode elicitation under construction.
///
/// ```
/// # use mcp_server::Elicitation;
/// use mcp_proto::elicitation::{PropertySchema, PropertyType};
/// let e = Elicitation::new("Where should the report go?")
///     .property("email", PropertySchema::of(PropertyType::String).title("E-mail"), true);
/// ```
#[derive(Debug, Clone)]
pub struct Elicitation {
    pub(crate) params: ElicitRequestParams,
    pub(crate) timeout: Option<Duration>,
    pub(crate) key: Option<String>,
}

impl Elicitation {
    /// A request with this message and no properties yet.
    pub fn new(message: impl Into<String>) -> Elicitation {
        Elicitation::with_schema(message, RequestedSchema::new())
    }

    /// A request with this message and schema.
    pub fn with_schema(message: impl Into<String>, schema: RequestedSchema) -> Elicitation {
        Elicitation {
            params: ElicitRequestParams::new(message, schema),
            timeout: None,
            key: None,
        }
    }

    /// Adds a property.
    pub fn property(mut self, name: impl Into<String>, p: PropertySchema, required: bool) -> Self {
        self.params.requested_schema = self.params.requested_schema.property(name, p, required);
        self
    }

    /// Names this request's entry in a modern `input_required` result (its `inputRequests`
    /// key; by default `e` and its number in the call). Keys are unique within a call; a
    /// client may also answer a named request before it is asked, with `inputResponses`
    /// and no `requestState`. No effect on legacy sessions.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// How long to wait for the user on the legacy era (default: the server's, 10 minutes).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }

    /// The params as they will be sent.
    pub fn params(&self) -> &ElicitRequestParams {
        &self.params
    }
}

/// What the user did with a typed form (`Ctx::elicit_as`).
#[derive(Debug, Clone, PartialEq)]
pub enum Elicited<T> {
    /// Submitted, with the values.
    Accepted(T),
    /// Explicitly declined.
    Declined,
    /// Dismissed without choosing.
    Cancelled,
}

impl<T> Elicited<T> {
    /// The values, when the user accepted.
    pub fn accepted(self) -> Option<T> {
        match self {
            Elicited::Accepted(t) => Some(t),
            _ => None,
        }
    }
}

/// The requested schema of `T` (see `Ctx::elicit_as`). Refuses types that are not a flat
/// object of primitives.
pub fn schema_for<T: JsonSchema>() -> Result<RequestedSchema, ElicitError> {
    let v = serde_json::to_value(schemars::schema_for!(T))
        .map_err(|e| ElicitError::Type(e.to_string()))?;
    from_json_schema(v).map_err(ElicitError::Type)
}

/// Brings a generated JSON Schema into the spec's subset: `$ref`s to `$defs` inlined,
/// `Option`'s `null` dropped, integer formats (`uint32`, ...) dropped.
fn from_json_schema(v: Value) -> Result<RequestedSchema, String> {
    let defs = v.get("$defs").cloned().unwrap_or(Value::Null);
    let mut props = Map::new();
    let given = v
        .get("properties")
        .and_then(Value::as_object)
        .ok_or("not a struct with named fields")?;
    for (name, p) in given {
        props.insert(name.clone(), normalise(p, &defs, name)?);
    }
    let schema = serde_json::json!({
        "type": "object",
        "properties": props,
        "required": v.get("required").cloned().unwrap_or_else(|| serde_json::json!([])),
    });
    let schema: RequestedSchema = serde_json::from_value(schema).map_err(|e| e.to_string())?;
    schema.check().map_err(|e| e.to_string())?;
    Ok(schema)
}

fn normalise(p: &Value, defs: &Value, name: &str) -> Result<Value, String> {
    let mut p = p
        .as_object()
        .cloned()
        .ok_or("a property is not an object")?;
    // Option<Enum>: anyOf [ {$ref}, {type: null} ].
    if let Some(Value::Array(alts)) = p.remove("anyOf") {
        let mut real = alts.into_iter().filter(|a| a["type"] != "null");
        let one = real.next().ok_or("an anyOf of nulls")?;
        if real.next().is_some() {
            return Err(format!("{name:?} is a union, which a form cannot ask"));
        }
        p.extend(one.as_object().cloned().unwrap_or_default());
    }
    if let Some(r) = p.remove("$ref") {
        let target = r
            .as_str()
            .and_then(|r| r.strip_prefix("#/$defs/"))
            .and_then(|d| defs.get(d))
            .and_then(Value::as_object)
            .ok_or_else(|| format!("{name:?} refers to {r}, which is not in $defs"))?;
        for (k, v) in target {
            p.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    if let Some(Value::Array(types)) = p.get("type") {
        let real: Vec<&Value> = types.iter().filter(|t| *t != "null").collect();
        let [one] = real[..] else {
            return Err(format!("{name:?} has several types"));
        };
        p.insert("type".into(), one.clone());
    }
    if p.contains_key("enum") && !p.contains_key("type") {
        p.insert("type".into(), "string".into());
    }
    if matches!(
        p.get("type").and_then(Value::as_str),
        Some("integer" | "number")
    ) {
        p.remove("format");
    }
    if let Some(items) = p.get("items").cloned() {
        p.insert("items".into(), normalise(&items, defs, name)?);
    }
    Ok(Value::Object(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    /// A colour.
    #[derive(Deserialize, JsonSchema, Debug, PartialEq)]
    #[allow(dead_code)]
    enum Colour {
        Red,
        Green,
    }

    #[derive(Deserialize, JsonSchema, Debug, PartialEq)]
    #[allow(dead_code)]
    struct Form {
        /// Your name.
        name: String,
        age: Option<u8>,
        colour: Colour,
        maybe: Option<Colour>,
        tags: Vec<Colour>,
        ok: bool,
        ratio: f64,
    }

    #[derive(JsonSchema)]
    #[allow(dead_code)]
    struct Nested {
        inner: Form,
    }

    #[test]
    fn derived_schemas_fit_the_subset() {
        let s = schema_for::<Form>().unwrap();
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["properties"]["name"]["description"], "Your name.");
        assert_eq!(v["properties"]["age"]["type"], "integer");
        assert_eq!(v["properties"]["age"]["maximum"], 255.0);
        assert_eq!(
            v["properties"]["colour"]["enum"],
            serde_json::json!(["Red", "Green"])
        );
        assert_eq!(v["properties"]["maybe"]["type"], "string");
        assert_eq!(
            v["properties"]["tags"]["items"]["enum"],
            serde_json::json!(["Red", "Green"])
        );
        assert_eq!(v["properties"]["ratio"]["type"], "number");
        let mut req = s.required.clone();
        req.sort();
        assert_eq!(req, ["colour", "name", "ok", "ratio", "tags"]);
        let err = schema_for::<Nested>().unwrap_err().to_string();
        assert!(err.contains("cannot be asked as a form"), "{err}");
    }
}
