//! `elicitation/create` in form mode: the server asks the user for a few values through the
//! client, described by a flat schema of primitive properties.
//!
//! The payload is the same in both eras (a server-to-client request on legacy, an entry of
//! `inputRequests` on modern). URL mode is recognised and refused with a clear error
//! ([`ParamsError::UrlMode`]): this implementation does not open URLs.
//!
//! Validation of a reply against the requested schema, and defaults, are in [`crate::form`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

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

/// `requestedSchema`: an object of primitive properties, without nesting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestedSchema {
    /// Always `object`.
    #[serde(rename = "type")]
    pub kind: ObjectType,
    /// The properties, by name.
    pub properties: BTreeMap<String, PropertySchema>,
    /// The names that must be answered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
    /// `$schema`, kept as it came.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
}

/// The `type` of a requested schema: `object`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectType {
    /// `object`.
    #[default]
    Object,
}

/// The type of one property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PropertyType {
    /// A string, possibly with a format or a single-select enum.
    String,
    /// A number.
    Number,
    /// An integer.
    Integer,
    /// A boolean.
    Boolean,
    /// A multi-select enum (an array of strings).
    Array,
}

/// The string formats the spec lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StringFormat {
    /// An e-mail address.
    #[serde(rename = "email")]
    Email,
    /// An absolute URI.
    #[serde(rename = "uri")]
    Uri,
    /// A full date, `YYYY-MM-DD`.
    #[serde(rename = "date")]
    Date,
    /// An RFC 3339 date-time.
    #[serde(rename = "date-time")]
    DateTime,
}

impl StringFormat {
    /// The name in the schema.
    pub fn name(self) -> &'static str {
        match self {
            StringFormat::Email => "email",
            StringFormat::Uri => "uri",
            StringFormat::Date => "date",
            StringFormat::DateTime => "date-time",
        }
    }
}

/// One choice of a titled enum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnumOption {
    /// The value sent.
    #[serde(rename = "const")]
    pub value: String,
    /// The label shown.
    pub title: String,
}

/// The `items` of a multi-select enum: `enum` (untitled) or `anyOf` (titled).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnumItems {
    /// `string` for the untitled form.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<PropertyType>,
    /// Untitled choices.
    #[serde(rename = "enum", default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    /// Titled choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any_of: Option<Vec<EnumOption>>,
}

/// One property of a requested schema: string (with length, format, or a single-select
/// enum), number or integer (with bounds), boolean, or array (a multi-select enum). The
/// fields that do not apply to its type must be absent ([`RequestedSchema::check`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertySchema {
    /// The type.
    #[serde(rename = "type")]
    pub kind: PropertyType,
    /// A label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Help text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Strings: least length, in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    /// Strings: most length, in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    /// Strings: the format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<StringFormat>,
    /// Numbers: the least value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
    /// Numbers: the greatest value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
    /// Single-select: the choices (untitled).
    #[serde(rename = "enum", default, skip_serializing_if = "Option::is_none")]
    pub enum_values: Option<Vec<String>>,
    /// Single-select (legacy titled form): labels of `enum`, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enum_names: Option<Vec<String>>,
    /// Single-select: the choices (titled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<EnumOption>>,
    /// Multi-select: the choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<EnumItems>,
    /// Multi-select: the fewest choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_items: Option<u64>,
    /// Multi-select: the most choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u64>,
    /// The value to offer first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
}

/// Why a requested schema is outside the spec's subset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// A keyword that does not apply to the property's type.
    #[error("property {0:?}: {1} does not apply to type {2}")]
    Misplaced(String, &'static str, &'static str),
    /// An enum without choices, or an array that is not an enum.
    #[error("property {0:?}: {1}")]
    BadEnum(String, &'static str),
    /// A lower bound above the upper one.
    #[error("property {0:?}: {1} is greater than {2}")]
    Bounds(String, &'static str, &'static str),
    /// A default that the property itself refuses.
    #[error("property {0:?}: the default is invalid: {1}")]
    BadDefault(String, String),
    /// A required name that is not a property.
    #[error("{0:?} is required but is not a property")]
    UnknownRequired(String),
}

/// The labelled choices of an enum property, as `(value, label)`.
pub type Choices = Vec<(String, String)>;

impl PropertySchema {
    /// A plain property of this type.
    pub fn of(kind: PropertyType) -> Self {
        PropertySchema {
            kind,
            title: None,
            description: None,
            min_length: None,
            max_length: None,
            format: None,
            minimum: None,
            maximum: None,
            enum_values: None,
            enum_names: None,
            one_of: None,
            items: None,
            min_items: None,
            max_items: None,
            default: None,
        }
    }

    /// Sets the label.
    pub fn title(mut self, t: impl Into<String>) -> Self {
        self.title = Some(t.into());
        self
    }

    /// Sets the help text.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }

    /// Sets the default.
    pub fn default_value(mut self, v: impl Into<Value>) -> Self {
        self.default = Some(v.into());
        self
    }

    /// Sets the bounds of a number.
    pub fn range(mut self, min: Option<f64>, max: Option<f64>) -> Self {
        self.minimum = min;
        self.maximum = max;
        self
    }

    /// Sets the length bounds of a string, in characters.
    pub fn length(mut self, min: Option<u64>, max: Option<u64>) -> Self {
        self.min_length = min;
        self.max_length = max;
        self
    }

    /// Sets the format of a string.
    pub fn format(mut self, f: StringFormat) -> Self {
        self.format = Some(f);
        self
    }

    /// A single-select string enum (untitled).
    pub fn one_of_values<S: Into<String>>(values: impl IntoIterator<Item = S>) -> Self {
        let mut p = PropertySchema::of(PropertyType::String);
        p.enum_values = Some(values.into_iter().map(Into::into).collect());
        p
    }

    /// A multi-select enum (untitled).
    pub fn any_of_values<S: Into<String>>(values: impl IntoIterator<Item = S>) -> Self {
        let mut p = PropertySchema::of(PropertyType::Array);
        p.items = Some(EnumItems {
            kind: Some(PropertyType::String),
            values: Some(values.into_iter().map(Into::into).collect()),
            any_of: None,
        });
        p
    }

    /// A single-select string enum with a label per choice (`oneOf` of `const`/`title`).
    pub fn titled_one_of<V: Into<String>, T: Into<String>>(
        options: impl IntoIterator<Item = (V, T)>,
    ) -> Self {
        let mut p = PropertySchema::of(PropertyType::String);
        p.one_of = Some(titled_options(options));
        p
    }

    /// A single-select string enum in the legacy titled form (`enum` with `enumNames`, the
    /// labels in the same order). Prefer [`PropertySchema::titled_one_of`].
    pub fn legacy_titled<V: Into<String>, T: Into<String>>(
        options: impl IntoIterator<Item = (V, T)>,
    ) -> Self {
        let (values, names) = options
            .into_iter()
            .map(|(v, t)| (v.into(), t.into()))
            .unzip();
        let mut p = PropertySchema::of(PropertyType::String);
        p.enum_values = Some(values);
        p.enum_names = Some(names);
        p
    }

    /// A multi-select enum with a label per choice (`items.anyOf` of `const`/`title`).
    pub fn titled_any_of<V: Into<String>, T: Into<String>>(
        options: impl IntoIterator<Item = (V, T)>,
    ) -> Self {
        let mut p = PropertySchema::of(PropertyType::Array);
        p.items = Some(EnumItems {
            kind: None,
            values: None,
            any_of: Some(titled_options(options)),
        });
        p
    }

    /// Sets the bounds of a multi-select's number of choices.
    pub fn choices_between(mut self, min: Option<u64>, max: Option<u64>) -> Self {
        self.min_items = min;
        self.max_items = max;
        self
    }

    /// The choices of a single-select (`enum`, `enumNames`, `oneOf`) or multi-select
    /// property, with their labels; `None` when it is not an enum.
    pub fn choices(&self) -> Option<Choices> {
        let plain = |v: &Vec<String>| v.iter().map(|s| (s.clone(), s.clone())).collect();
        let titled = |o: &Vec<EnumOption>| {
            o.iter()
                .map(|c| (c.value.clone(), c.title.clone()))
                .collect()
        };
        match self.kind {
            PropertyType::String => {
                if let Some(o) = &self.one_of {
                    return Some(titled(o));
                }
                let values = self.enum_values.as_ref()?;
                match &self.enum_names {
                    Some(names) if names.len() == values.len() => {
                        Some(values.iter().cloned().zip(names.iter().cloned()).collect())
                    }
                    _ => Some(plain(values)),
                }
            }
            PropertyType::Array => {
                let items = self.items.as_ref()?;
                items
                    .any_of
                    .as_ref()
                    .map(titled)
                    .or_else(|| items.values.as_ref().map(plain))
            }
            _ => None,
        }
    }

    /// The label to show: the title, else the name.
    pub fn label<'a>(&'a self, name: &'a str) -> &'a str {
        self.title.as_deref().unwrap_or(name)
    }
}

fn titled_options<V: Into<String>, T: Into<String>>(
    options: impl IntoIterator<Item = (V, T)>,
) -> Vec<EnumOption> {
    options
        .into_iter()
        .map(|(v, t)| EnumOption {
            value: v.into(),
            title: t.into(),
        })
        .collect()
}

fn type_name(t: PropertyType) -> &'static str {
    match t {
        PropertyType::String => "string",
        PropertyType::Number => "number",
        PropertyType::Integer => "integer",
        PropertyType::Boolean => "boolean",
        PropertyType::Array => "array",
    }
}

impl RequestedSchema {
    /// An empty schema.
    pub fn new() -> Self {
        RequestedSchema {
            kind: ObjectType::Object,
            properties: BTreeMap::new(),
            required: Vec::new(),
            schema: None,
        }
    }

    /// Adds a property, required or not.
    pub fn property(mut self, name: impl Into<String>, p: PropertySchema, required: bool) -> Self {
        let name = name.into();
        if required && !self.required.contains(&name) {
            self.required.push(name.clone());
        }
        self.properties.insert(name, p);
        self
    }

    /// Whether `name` must be answered.
    pub fn is_required(&self, name: &str) -> bool {
        self.required.iter().any(|r| r == name)
    }

    /// Checks the schema is inside the spec's primitive subset: keywords only on the types
    /// they apply to, enums with choices, bounds in order, defaults the property accepts,
    /// required names that exist.
    pub fn check(&self) -> Result<(), SchemaError> {
        for r in &self.required {
            if !self.properties.contains_key(r) {
                return Err(SchemaError::UnknownRequired(r.clone()));
            }
        }
        for (name, p) in &self.properties {
            check_property(name, p)?;
            if let Some(d) = &p.default {
                crate::form::check_value(name, p, d)
                    .map_err(|e| SchemaError::BadDefault(name.clone(), e.to_string()))?;
            }
        }
        Ok(())
    }
}

impl Default for RequestedSchema {
    fn default() -> Self {
        RequestedSchema::new()
    }
}

fn check_property(name: &str, p: &PropertySchema) -> Result<(), SchemaError> {
    let t = type_name(p.kind);
    let misplaced = |kw| Err(SchemaError::Misplaced(name.into(), kw, t));
    let is_string = p.kind == PropertyType::String;
    let is_number = matches!(p.kind, PropertyType::Number | PropertyType::Integer);
    let is_array = p.kind == PropertyType::Array;
    for (present, kw, ok) in [
        (p.min_length.is_some(), "minLength", is_string),
        (p.max_length.is_some(), "maxLength", is_string),
        (p.format.is_some(), "format", is_string),
        (p.enum_values.is_some(), "enum", is_string),
        (p.enum_names.is_some(), "enumNames", is_string),
        (p.one_of.is_some(), "oneOf", is_string),
        (p.minimum.is_some(), "minimum", is_number),
        (p.maximum.is_some(), "maximum", is_number),
        (p.items.is_some(), "items", is_array),
        (p.min_items.is_some(), "minItems", is_array),
        (p.max_items.is_some(), "maxItems", is_array),
    ] {
        if present && !ok {
            return misplaced(kw);
        }
    }
    let bad_enum = |why| Err(SchemaError::BadEnum(name.into(), why));
    if is_array && p.choices().is_none_or(|c| c.is_empty()) {
        return bad_enum("an array must be a multi-select enum: items with enum or anyOf choices");
    }
    check_enum_shape(name, p)?;
    if is_string && (p.enum_values.is_some() || p.one_of.is_some()) {
        if p.choices().is_none_or(|c| c.is_empty()) {
            return bad_enum("an enum needs at least one choice");
        }
        if p.enum_values.is_some() && p.one_of.is_some() {
            return bad_enum("enum and oneOf together");
        }
    }
    let bounds = |lo: Option<f64>, hi: Option<f64>, a, b| match (lo, hi) {
        (Some(lo), Some(hi)) if lo > hi => Err(SchemaError::Bounds(name.into(), a, b)),
        _ => Ok(()),
    };
    let f = |v: Option<u64>| v.map(|n| n as f64);
    bounds(f(p.min_length), f(p.max_length), "minLength", "maxLength")?;
    bounds(p.minimum, p.maximum, "minimum", "maximum")?;
    bounds(f(p.min_items), f(p.max_items), "minItems", "maxItems")
}

/// The enum shapes of the spec, beyond what [`check_property`] checks by type: the legacy
/// `enumNames` labels `enum` one to one; a multi-select's `items` are strings, either
/// untitled (`enum`) or titled (`anyOf`), not both.
fn check_enum_shape(name: &str, p: &PropertySchema) -> Result<(), SchemaError> {
    let bad_enum = |why| Err(SchemaError::BadEnum(name.into(), why));
    if let Some(names) = &p.enum_names {
        match &p.enum_values {
            None => return bad_enum("enumNames without enum"),
            Some(v) if v.len() != names.len() => {
                return bad_enum("enumNames must label every enum value, in order")
            }
            Some(_) => {}
        }
        if p.one_of.is_some() {
            return bad_enum("enumNames and oneOf together");
        }
    }
    if let Some(items) = &p.items {
        if items.kind.is_some_and(|k| k != PropertyType::String) {
            return bad_enum("the items of a multi-select must be strings");
        }
        if items.values.is_some() && items.any_of.is_some() {
            return bad_enum("items with both enum and anyOf");
        }
    }
    Ok(())
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
