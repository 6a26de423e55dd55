//! [`Ctx::elicit`] (form mode), its typed form [`Ctx::elicit_as`], and [`Ctx::list_roots`]:
//! input from the user and the client, on both eras, through the same machinery as
//! sampling (a request tied to the tool call on legacy; an entry of `input_required`,
//! recorded in `requestState`, on modern).

use crate::ctx::Ctx;
use crate::round::InputKind;
use mcp_proto::elicitation::{
    ElicitAction, ElicitRequestParams, ElicitResult, PropertySchema, RequestedSchema, SchemaError,
};
use mcp_proto::methods::{Elicit, ListRoots, Request as _};
use mcp_proto::roots::{ListRootsResult, Root};
use mcp_proto::ErrorObject;
use mcp_rpc::{RequestOptions, RpcError};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
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

/// What the user did with a typed form ([`Ctx::elicit_as`]).
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

/// Why an elicitation (or a roots request) gave no answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ElicitError {
    /// The client did not declare form-mode elicitation.
    #[error("this tool asks the user for input, but the client does not support MCP elicitation in form mode (it did not declare the elicitation capability)")]
    NotSupported,
    /// The requested schema is outside the spec's primitive subset.
    #[error("invalid elicitation schema: {0}")]
    Schema(#[from] SchemaError),
    /// A Rust type that cannot be a form ([`Ctx::elicit_as`]).
    #[error("this type cannot be asked as a form: {0}")]
    Type(String),
    /// The reply was malformed or did not match the requested schema.
    #[error("the client's elicitation reply is invalid: {0}")]
    InvalidReply(String),
    /// The client answered with an error.
    #[error("the client failed the elicitation request: {0}")]
    Remote(ErrorObject),
    /// No reply in time.
    #[error("no elicitation reply within {0:?}")]
    Timeout(Duration),
    /// The connection closed.
    #[error("the connection closed while waiting for the user")]
    Closed,
    /// A limit of this server (input requests per call).
    #[error("input limit reached: {0}")]
    Limit(String),
}

/// Why `roots/list` gave no roots.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RootsError {
    /// The client did not declare `roots`.
    #[error("this tool needs the client's roots, but the client does not support MCP roots (it did not declare the roots capability)")]
    NotSupported,
    /// The reply was malformed (or a root is not a `file://` URI).
    #[error("the client's roots reply is invalid: {0}")]
    InvalidReply(String),
    /// The client answered with an error.
    #[error("the client failed the roots request: {0}")]
    Remote(ErrorObject),
    /// No reply in time, or the connection closed.
    #[error("no roots reply: {0}")]
    Transport(String),
    /// A limit of this server (input requests per call).
    #[error("input limit reached: {0}")]
    Limit(String),
}

impl Ctx {
    /// Whether [`Ctx::elicit`] can work for this request (form mode declared).
    pub fn can_elicit(&self) -> bool {
        self.inner.caps.can_elicit_form()
    }

    /// Whether [`Ctx::list_roots`] can work for this request.
    pub fn can_list_roots(&self) -> bool {
        self.inner.caps.can_list_roots()
    }

    /// Asks the user to fill in a form. On accept, the schema's defaults fill missing values
    /// and the content is checked against the schema ([`ElicitError::InvalidReply`]).
    /// Legacy: an `elicitation/create` request tied to this tool call (default timeout 10
    /// minutes). Modern: an entry of the `input_required` result; the handler is replayed
    /// with the reply (the same rule as for `sample`).
    pub async fn elicit(&self, req: Elicitation) -> Result<ElicitResult, ElicitError> {
        if !self.can_elicit() {
            return Err(ElicitError::NotSupported);
        }
        let schema = &req.params.requested_schema;
        schema.check()?;
        let mut reply: ElicitResult = match &self.inner.round {
            None => {
                let timeout = req
                    .timeout
                    .unwrap_or(self.inner.server.config.elicitation_timeout);
                self.legacy_request(Elicit::METHOD, &req.params, Some(timeout))
                    .await
                    .map_err(|e| match e {
                        RpcError::Remote(e) => ElicitError::Remote(e),
                        RpcError::Timeout(d) => ElicitError::Timeout(d),
                        RpcError::Closed | RpcError::Transport(_) => ElicitError::Closed,
                        RpcError::Codec(m) => ElicitError::InvalidReply(m),
                    })?
            }
            Some(_) => {
                let params = serde_json::to_value(&req.params)
                    .map_err(|e| ElicitError::InvalidReply(e.to_string()))?;
                let v = self
                    .modern_input(InputKind::Elicitation, params, req.key.as_deref())
                    .await
                    .map_err(ElicitError::Limit)?;
                serde_json::from_value(v).map_err(|e| ElicitError::InvalidReply(e.to_string()))?
            }
        };
        if reply.action == ElicitAction::Accept {
            let content = reply.content.get_or_insert_with(Map::new);
            schema.apply_defaults(content);
            schema
                .validate(content)
                .map_err(|e| ElicitError::InvalidReply(e.to_string()))?;
        }
        Ok(reply)
    }

    /// Asks the user for a `T`: the form's schema comes from `T` (a struct of strings,
    /// numbers, booleans, unit enums and `Vec`s of unit enums; doc comments become
    /// descriptions; `Option` fields are not required), and an accepted reply is
    /// deserialized into it.
    pub async fn elicit_as<T>(&self, message: impl Into<String>) -> Result<Elicited<T>, ElicitError>
    where
        T: DeserializeOwned + JsonSchema,
    {
        let schema = schema_for::<T>()?;
        let reply = self
            .elicit(Elicitation::with_schema(message, schema))
            .await?;
        match reply.action {
            ElicitAction::Accept => {
                let content = Value::Object(reply.content.unwrap_or_default());
                serde_json::from_value(content)
                    .map(Elicited::Accepted)
                    .map_err(|e| ElicitError::InvalidReply(e.to_string()))
            }
            ElicitAction::Decline => Ok(Elicited::Declined),
            ElicitAction::Cancel => Ok(Elicited::Cancelled),
        }
    }

    /// The client's roots. Legacy: a `roots/list` request tied to this tool call. Modern: an
    /// entry of the `input_required` result (roots are deprecated in `2026-07-28` but still
    /// served). Every root must be a `file://` URI.
    pub async fn list_roots(&self) -> Result<Vec<Root>, RootsError> {
        self.list_roots_keyed(None).await
    }

    /// [`Ctx::list_roots`], its modern `inputRequests` entry named `key` (by default `r`
    /// and its number in the call); see [`Elicitation::key`].
    pub async fn list_roots_keyed(&self, key: Option<&str>) -> Result<Vec<Root>, RootsError> {
        if !self.can_list_roots() {
            return Err(RootsError::NotSupported);
        }
        let result: ListRootsResult = match &self.inner.round {
            None => self
                .legacy_request(ListRoots::METHOD, &Map::new(), None)
                .await
                .map_err(|e| match e {
                    RpcError::Remote(e) => RootsError::Remote(e),
                    RpcError::Codec(m) => RootsError::InvalidReply(m),
                    other => RootsError::Transport(other.to_string()),
                })?,
            Some(_) => {
                let v = self
                    .modern_input(InputKind::Roots, Value::Object(Map::new()), key)
                    .await
                    .map_err(RootsError::Limit)?;
                serde_json::from_value(v).map_err(|e| RootsError::InvalidReply(e.to_string()))?
            }
        };
        for r in &result.roots {
            r.check()
                .map_err(|e| RootsError::InvalidReply(e.to_string()))?;
        }
        Ok(result.roots)
    }

    async fn legacy_request<P, R>(
        &self,
        method: &str,
        params: &P,
        timeout: Option<Duration>,
    ) -> Result<R, RpcError>
    where
        P: serde::Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let opts = RequestOptions {
            timeout,
            related: Some(self.inner.request_id.clone()),
            ..Default::default()
        };
        self.inner.peer.request_typed(method, params, opts).await
    }

    async fn modern_input(
        &self,
        kind: InputKind,
        params: Value,
        key: Option<&str>,
    ) -> Result<Value, String> {
        let round = self.inner.round.as_ref().ok_or("not a modern request")?;
        let limit = self.inner.server.config.max_samples_per_call;
        round.ask(kind, params, limit, key).await
    }
}

/// The requested schema of `T` (see [`Ctx::elicit_as`]). Refuses types that are not a flat
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
