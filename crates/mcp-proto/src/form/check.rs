//! Whether a requested schema is inside the spec's subset ([`RequestedSchema::check`]).

use super::reply::check_value;
use super::schema::{PropertySchema, PropertyType, RequestedSchema};

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
                check_value(name, p, d)
                    .map_err(|e| SchemaError::BadDefault(name.clone(), e.to_string()))?;
            }
        }
        Ok(())
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
