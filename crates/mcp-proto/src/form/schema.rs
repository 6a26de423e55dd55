//! The form's schema: `requestedSchema`, an object of primitive properties (the spec's
//! subset of JSON Schema), with builders and the choices of enum properties.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

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

    /// Whether `value` is one of the choices; `None` when the property is not an enum.
    /// ([`PropertySchema::choices`] without copying them.)
    pub(super) fn has_choice(&self, value: &str) -> Option<bool> {
        let titled = |o: &Vec<EnumOption>| o.iter().any(|c| c.value == value);
        let plain = |v: &Vec<String>| v.iter().any(|c| c == value);
        match self.kind {
            PropertyType::String => match (&self.one_of, &self.enum_values) {
                (Some(o), _) => Some(titled(o)),
                (None, Some(v)) => Some(plain(v)),
                (None, None) => None,
            },
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
}

impl Default for RequestedSchema {
    fn default() -> Self {
        RequestedSchema::new()
    }
}
