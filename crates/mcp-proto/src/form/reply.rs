//! A form reply checked against its schema: every problem, each naming its field; and the
//! schema's defaults filled in.

use super::formats::format_ok;
use super::schema::{PropertySchema, PropertyType, RequestedSchema};
use serde_json::{Map, Value};

/// What is wrong with one value of a form reply.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FieldError {
    /// A required property has no value.
    #[error("{0:?} is required")]
    Missing(String),
    /// A property the schema does not have.
    #[error("{0:?} is not a property of the requested schema")]
    Unknown(String),
    /// The value has the wrong JSON type.
    #[error("{0:?} must be {1}")]
    Type(String, &'static str),
    /// Not one of the choices.
    #[error("{0:?}: {1:?} is not one of the choices {2:?}")]
    NotAChoice(String, String, Vec<String>),
    /// Too short or too long (characters), too few or too many items.
    #[error("{0:?} must have {1} {2} {3}")]
    Count(String, &'static str, u64, &'static str),
    /// Below the minimum or above the maximum.
    #[error("{0:?} must be {1} {2}")]
    Bound(String, &'static str, f64),
    /// Not in the format.
    #[error("{0:?}: {1:?} is not a valid {2}")]
    Format(String, String, &'static str),
    /// The same choice twice in a multi-select.
    #[error("{0:?}: {1:?} is chosen twice")]
    Duplicate(String, String),
}

/// Every problem of a form reply (at least one).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the form reply does not match the requested schema: {}", list(.0))]
pub struct InvalidContent(pub Vec<FieldError>);

fn list(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl RequestedSchema {
    /// Fills in the default of every property that has one and no value.
    pub fn apply_defaults(&self, content: &mut Map<String, Value>) {
        for (name, p) in &self.properties {
            if let (false, Some(d)) = (content.contains_key(name), &p.default) {
                content.insert(name.clone(), d.clone());
            }
        }
    }

    /// Checks a form reply: every required property answered, no unknown property, and
    /// every value valid for its property. Reports every problem, in property order.
    pub fn validate(&self, content: &Map<String, Value>) -> Result<(), InvalidContent> {
        let mut errors = Vec::new();
        for name in content.keys() {
            if !self.properties.contains_key(name) {
                errors.push(FieldError::Unknown(name.clone()));
            }
        }
        for (name, p) in &self.properties {
            match content.get(name) {
                Some(v) => {
                    if let Err(e) = check_value(name, p, v) {
                        errors.push(e);
                    }
                }
                None if self.is_required(name) => errors.push(FieldError::Missing(name.clone())),
                None => {}
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(InvalidContent(errors))
        }
    }
}

/// Checks one value against its property.
pub fn check_value(name: &str, p: &PropertySchema, v: &Value) -> Result<(), FieldError> {
    // The error is built only on failure: a valid reply allocates nothing.
    let wrong = |what| move || FieldError::Type(name.to_owned(), what);
    match p.kind {
        PropertyType::Boolean => v.as_bool().map(drop).ok_or_else(wrong("a boolean")),
        PropertyType::Number => {
            let x = v.as_f64().ok_or_else(wrong("a number"))?;
            check_bounds(name, p, x)
        }
        PropertyType::Integer => {
            let x = as_integer(v).ok_or_else(wrong("an integer"))?;
            check_bounds(name, p, x)
        }
        PropertyType::String => {
            let s = v.as_str().ok_or_else(wrong("a string"))?;
            check_string(name, p, s)
        }
        PropertyType::Array => check_multi(name, p, v),
    }
}

/// An integer, also written as a float with no fraction (`3.0`).
fn as_integer(v: &Value) -> Option<f64> {
    let x = v.as_f64()?;
    (v.is_i64() || v.is_u64() || x.fract() == 0.0).then_some(x)
}

fn check_bounds(name: &str, p: &PropertySchema, x: f64) -> Result<(), FieldError> {
    if let Some(min) = p.minimum.filter(|m| x < *m) {
        return Err(FieldError::Bound(name.into(), "at least", min));
    }
    if let Some(max) = p.maximum.filter(|m| x > *m) {
        return Err(FieldError::Bound(name.into(), "at most", max));
    }
    Ok(())
}

fn check_choice(name: &str, p: &PropertySchema, s: &str) -> Result<(), FieldError> {
    if p.has_choice(s) != Some(false) {
        return Ok(());
    }
    let choices = p.choices().unwrap_or_default();
    Err(FieldError::NotAChoice(
        name.into(),
        s.into(),
        choices.into_iter().map(|(v, _)| v).collect(),
    ))
}

fn check_string(name: &str, p: &PropertySchema, s: &str) -> Result<(), FieldError> {
    check_choice(name, p, s)?;
    let len = s.chars().count() as u64;
    if let Some(min) = p.min_length.filter(|m| len < *m) {
        return Err(FieldError::Count(
            name.into(),
            "at least",
            min,
            "characters",
        ));
    }
    if let Some(max) = p.max_length.filter(|m| len > *m) {
        return Err(FieldError::Count(name.into(), "at most", max, "characters"));
    }
    match p.format {
        Some(f) if !format_ok(f, s) => Err(FieldError::Format(name.into(), s.into(), f.name())),
        _ => Ok(()),
    }
}

fn check_multi(name: &str, p: &PropertySchema, v: &Value) -> Result<(), FieldError> {
    let wrong = || FieldError::Type(name.into(), "an array of strings");
    let items = v.as_array().ok_or_else(wrong)?;
    let mut seen: Vec<&str> = Vec::with_capacity(items.len());
    for item in items {
        let s = item.as_str().ok_or_else(wrong)?;
        check_choice(name, p, s)?;
        if seen.contains(&s) {
            return Err(FieldError::Duplicate(name.into(), s.into()));
        }
        seen.push(s);
    }
    let count = items.len() as u64;
    if let Some(min) = p.min_items.filter(|m| count < *m) {
        return Err(FieldError::Count(name.into(), "at least", min, "choices"));
    }
    if let Some(max) = p.max_items.filter(|m| count > *m) {
        return Err(FieldError::Count(name.into(), "at most", max, "choices"));
    }
    Ok(())
}
