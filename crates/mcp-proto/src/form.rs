//! A form reply checked against its [`RequestedSchema`]: types, required properties, enums,
//! bounds, lengths, item counts and the string formats the spec lists (`email`, `uri`,
//! `date`, `date-time`); and the schema's defaults filled in.
//!
//! Both sides use it: the host before it sends a reply, the server when it receives one.

use crate::elicitation::{PropertySchema, PropertyType, RequestedSchema, StringFormat};
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
    let n = || name.to_owned();
    match p.kind {
        PropertyType::Boolean => v
            .as_bool()
            .map(drop)
            .ok_or(FieldError::Type(n(), "a boolean")),
        PropertyType::Number => {
            let x = v.as_f64().ok_or(FieldError::Type(n(), "a number"))?;
            check_bounds(name, p, x)
        }
        PropertyType::Integer => {
            let x = as_integer(v).ok_or(FieldError::Type(n(), "an integer"))?;
            check_bounds(name, p, x)
        }
        PropertyType::String => {
            let s = v.as_str().ok_or(FieldError::Type(n(), "a string"))?;
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
    match p.choices() {
        Some(c) if !c.iter().any(|(v, _)| v == s) => Err(FieldError::NotAChoice(
            name.into(),
            s.into(),
            c.into_iter().map(|(v, _)| v).collect(),
        )),
        _ => Ok(()),
    }
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
    let items = v
        .as_array()
        .ok_or(FieldError::Type(name.into(), "an array of strings"))?;
    let mut seen: Vec<&str> = Vec::new();
    for item in items {
        let s = item
            .as_str()
            .ok_or(FieldError::Type(name.into(), "an array of strings"))?;
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

/// Whether `s` is in the format (a practical reading of each: not every corner of the RFCs).
pub fn format_ok(f: StringFormat, s: &str) -> bool {
    match f {
        StringFormat::Email => email_ok(s),
        StringFormat::Uri => uri_ok(s),
        StringFormat::Date => date_ok(s),
        StringFormat::DateTime => date_time_ok(s),
    }
}

/// `local@domain`: both parts non-empty, no spaces, one `@`, a domain of dot-separated
/// labels of letters, digits and hyphens.
fn email_ok(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    !local.is_empty()
        && !local.chars().any(|c| c.is_whitespace() || c == '@')
        && domain.split('.').all(label_ok)
}

/// An absolute URI: `scheme:rest`, the scheme a letter then letters, digits, `+`, `-`, `.`;
/// no spaces.
fn uri_ok(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !rest.is_empty()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn digits(s: &str, n: usize) -> Option<u32> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// `YYYY-MM-DD`, a real day (leap years counted).
fn date_ok(s: &str) -> bool {
    let mut parts = s.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Some(y), Some(m), Some(d)) = (digits(y, 4), digits(m, 2), digits(d, 2)) else {
        return false;
    };
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// RFC 3339: `date "T" hh:mm:ss[.frac] ("Z" | ±hh:mm)` (`t` and `z` accepted too).
fn date_time_ok(s: &str) -> bool {
    let Some((date, time)) = s.split_once(['T', 't']) else {
        return false;
    };
    if !date_ok(date) {
        return false;
    }
    let (clock, offset) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
        (c, None)
    } else {
        match time.rfind(['+', '-']) {
            Some(i) => (&time[..i], Some(&time[i + 1..])),
            None => return false,
        }
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (clock, None),
    };
    if frac.is_some_and(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    let hms_ok = |t: &str, with_seconds: bool| {
        let p: Vec<&str> = t.split(':').collect();
        let want = if with_seconds { 3 } else { 2 };
        p.len() == want
            && digits(p[0], 2).is_some_and(|h| h < 24)
            && digits(p[1], 2).is_some_and(|m| m < 60)
            // 60: a leap second.
            && (!with_seconds || digits(p[2], 2).is_some_and(|s| s <= 60))
    };
    hms_ok(hms, true) && offset.is_none_or(|o| hms_ok(o, false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elicitation::{ElicitRequestParams, ParamsError, SchemaError};
    use serde_json::json;

    fn schema(v: Value) -> RequestedSchema {
        serde_json::from_value(v).unwrap()
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn contact() -> RequestedSchema {
        schema(json!({"type": "object", "properties": {
            "name": {"type": "string", "minLength": 2, "maxLength": 5},
            "email": {"type": "string", "format": "email"},
            "age": {"type": "integer", "minimum": 18, "maximum": 130},
            "score": {"type": "number", "maximum": 1.5},
            "ok": {"type": "boolean", "default": true},
            "color": {"type": "string", "oneOf": [{"const": "#f00", "title": "Red"}, {"const": "#0f0", "title": "Green"}]},
            "size": {"type": "string", "enum": ["S", "M"], "enumNames": ["Small", "Medium"], "default": "M"},
            "tags": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "string", "enum": ["a", "b", "c"]}}
        }, "required": ["name", "email", "ok"]}))
    }

    #[test]
    fn accepts_a_valid_reply() {
        let s = contact();
        s.check().unwrap();
        let c = obj(
            json!({"name": "Ann", "email": "ann@example.com", "age": 30, "score": 1.25,
            "ok": false, "color": "#0f0", "size": "S", "tags": ["a", "c"]}),
        );
        assert_eq!(s.validate(&c), Ok(()));
        // Integers may be written as floats without a fraction.
        let c = obj(json!({"name": "Ann", "email": "a@b.c", "ok": true, "age": 30.0}));
        assert_eq!(s.validate(&c), Ok(()));
    }

    #[test]
    fn reports_every_problem() {
        let s = contact();
        let c = obj(json!({"name": "A", "age": 17.5, "score": 2, "color": "Red",
            "size": "L", "tags": ["a", "a"], "extra": 1}));
        let Err(InvalidContent(errs)) = s.validate(&c) else {
            panic!("accepted")
        };
        assert_eq!(
            errs,
            vec![
                FieldError::Unknown("extra".into()),
                FieldError::Type("age".into(), "an integer"),
                FieldError::NotAChoice(
                    "color".into(),
                    "Red".into(),
                    vec!["#f00".into(), "#0f0".into()]
                ),
                FieldError::Missing("email".into()),
                FieldError::Count("name".into(), "at least", 2, "characters"),
                FieldError::Missing("ok".into()),
                FieldError::Bound("score".into(), "at most", 1.5),
                FieldError::NotAChoice("size".into(), "L".into(), vec!["S".into(), "M".into()]),
                FieldError::Duplicate("tags".into(), "a".into()),
            ]
        );
        let msg = s.validate(&c).unwrap_err().to_string();
        assert!(msg.contains("\"email\" is required"), "{msg}");
        let few = obj(json!({"name": "Ann", "email": "a@b.c", "ok": true, "tags": []}));
        assert_eq!(
            s.validate(&few),
            Err(InvalidContent(vec![FieldError::Count(
                "tags".into(),
                "at least",
                1,
                "choices"
            )]))
        );
        let young = obj(json!({"name": "Ann", "email": "a@b.c", "ok": true, "age": 17}));
        assert_eq!(
            s.validate(&young),
            Err(InvalidContent(vec![FieldError::Bound(
                "age".into(),
                "at least",
                18.0
            )]))
        );
        let long = obj(json!({"name": "Annabel", "email": "a@b.c", "ok": true}));
        assert!(s.validate(&long).is_err());
    }

    #[test]
    fn defaults_fill_missing_values_only() {
        let s = contact();
        let mut c = obj(json!({"name": "Ann", "email": "a@b.c", "size": "S"}));
        assert!(s.validate(&c).is_err(), "ok is required and missing");
        s.apply_defaults(&mut c);
        assert_eq!(c["ok"], json!(true));
        assert_eq!(c["size"], json!("S"), "a given value is kept");
        assert!(!c.contains_key("age"), "no default, no value");
        assert_eq!(s.validate(&c), Ok(()));
    }

    #[test]
    fn formats() {
        use StringFormat::*;
        for ok in ["a@b.c", "first.last+tag@mail.example.org", "x@localhost"] {
            assert!(format_ok(Email, ok), "{ok}");
        }
        for bad in [
            "", "a", "@b.c", "a@", "a b@c.d", "a@b..c", "a@-b.c", "a@b@c",
        ] {
            assert!(!format_ok(Email, bad), "{bad}");
        }
        for ok in [
            "https://example.com/x?y=1",
            "file:///tmp",
            "urn:isbn:0451450523",
            "mailto:a@b.c",
        ] {
            assert!(format_ok(Uri, ok), "{ok}");
        }
        for bad in ["example.com", "1http://x", "http:", "http://a b", ":x"] {
            assert!(!format_ok(Uri, bad), "{bad}");
        }
        for ok in ["2024-02-29", "2000-02-29", "1999-12-31"] {
            assert!(format_ok(Date, ok), "{ok}");
        }
        for bad in [
            "2023-02-29",
            "1900-02-29",
            "2024-13-01",
            "2024-04-31",
            "2024-1-01",
            "24-01-01",
            "2024-01-01x",
        ] {
            assert!(!format_ok(Date, bad), "{bad}");
        }
        for ok in [
            "2024-05-01T10:20:30Z",
            "2024-05-01t10:20:30.123+02:00",
            "2024-05-01T23:59:60-05:30",
        ] {
            assert!(format_ok(DateTime, ok), "{ok}");
        }
        for bad in [
            "2024-05-01",
            "2024-05-01T10:20Z",
            "2024-05-01T24:00:00Z",
            "2024-05-01T10:20:30",
            "2024-05-01T10:20:30.Z",
            "2024-05-01T10:20:30+2:00",
        ] {
            assert!(!format_ok(DateTime, bad), "{bad}");
        }
    }

    #[test]
    fn schemas_outside_the_subset_are_refused() {
        let bad = |v: Value| schema(json!({"type": "object", "properties": {"x": v}})).check();
        assert_eq!(
            bad(json!({"type": "boolean", "minLength": 1})),
            Err(SchemaError::Misplaced("x".into(), "minLength", "boolean"))
        );
        assert!(matches!(
            bad(json!({"type": "array", "items": {"type": "string"}})),
            Err(SchemaError::BadEnum(..))
        ));
        assert!(matches!(
            bad(json!({"type": "string", "enum": []})),
            Err(SchemaError::BadEnum(..))
        ));
        assert!(matches!(
            bad(json!({"type": "number", "minimum": 5, "maximum": 1})),
            Err(SchemaError::Bounds(..))
        ));
        assert!(matches!(
            bad(json!({"type": "integer", "default": "x"})),
            Err(SchemaError::BadDefault(..))
        ));
        let unknown = schema(json!({"type": "object", "properties": {}, "required": ["y"]}));
        assert_eq!(
            unknown.check(),
            Err(SchemaError::UnknownRequired("y".into()))
        );
        // Nested objects are not a property type at all.
        let nested = json!({"type": "object", "properties": {"x": {"type": "object"}}});
        assert!(serde_json::from_value::<RequestedSchema>(nested).is_err());
    }

    /// The five enum shapes of the spec (untitled and titled single-select, legacy
    /// `enumNames`, untitled and titled multi-select), built, sent and checked.
    fn enums() -> RequestedSchema {
        let p = |n: &str| format!("Option {n}");
        RequestedSchema::new()
            .property("us", PropertySchema::one_of_values(["a", "b"]), true)
            .property(
                "ts",
                PropertySchema::titled_one_of([("v1", "First"), ("v2", "Second")]),
                true,
            )
            .property(
                "legacy",
                PropertySchema::legacy_titled([("o1", p("One")), ("o2", p("Two"))]),
                false,
            )
            .property(
                "um",
                PropertySchema::any_of_values(["a", "b", "c"]).choices_between(Some(1), None),
                false,
            )
            .property(
                "tm",
                PropertySchema::titled_any_of([("v1", "First"), ("v2", "Second")])
                    .default_value(json!(["v2"])),
                false,
            )
    }

    #[test]
    fn enum_shapes_serialise_as_the_spec_has_them() {
        let s = enums();
        s.check().unwrap();
        let v = serde_json::to_value(&s).unwrap();
        let props = &v["properties"];
        assert_eq!(props["us"], json!({"type": "string", "enum": ["a", "b"]}));
        assert_eq!(
            props["ts"],
            json!({"type": "string", "oneOf": [{"const": "v1", "title": "First"}, {"const": "v2", "title": "Second"}]})
        );
        assert_eq!(
            props["legacy"],
            json!({"type": "string", "enum": ["o1", "o2"], "enumNames": ["Option One", "Option Two"]})
        );
        assert_eq!(
            props["um"],
            json!({"type": "array", "minItems": 1, "items": {"type": "string", "enum": ["a", "b", "c"]}})
        );
        assert_eq!(
            props["tm"],
            json!({"type": "array", "default": ["v2"], "items": {"anyOf": [{"const": "v1", "title": "First"}, {"const": "v2", "title": "Second"}]}})
        );
        let back: RequestedSchema = serde_json::from_value(v).unwrap();
        assert_eq!(back, s);
        let labels = s.properties["legacy"].choices().unwrap();
        assert_eq!(labels[1], ("o2".into(), "Option Two".into()));
    }

    #[test]
    fn enum_replies_are_checked_per_shape() {
        let s = enums();
        let mut ok = obj(json!({"us": "b", "ts": "v1", "legacy": "o2", "um": ["c", "a"]}));
        s.apply_defaults(&mut ok);
        assert_eq!(ok["tm"], json!(["v2"]));
        assert_eq!(s.validate(&ok), Ok(()));
        let bad = obj(json!({"us": "v1", "ts": "First", "legacy": "Option One",
            "um": [], "tm": ["v1", "v3"]}));
        let Err(InvalidContent(errs)) = s.validate(&bad) else {
            panic!("accepted")
        };
        let not = |n: &str, v: &str, c: &[&str]| {
            FieldError::NotAChoice(
                n.into(),
                v.into(),
                c.iter().map(|s| s.to_string()).collect(),
            )
        };
        assert_eq!(
            errs,
            vec![
                not("legacy", "Option One", &["o1", "o2"]),
                not("tm", "v3", &["v1", "v2"]),
                not("ts", "First", &["v1", "v2"]),
                FieldError::Count("um".into(), "at least", 1, "choices"),
                not("us", "v1", &["a", "b"]),
            ]
        );
        // A multi-select answer is an array of strings; a single-select one a string.
        let shapes = obj(json!({"us": ["a"], "ts": "v1", "tm": "v1"}));
        let Err(InvalidContent(errs)) = s.validate(&shapes) else {
            panic!("accepted")
        };
        assert_eq!(
            errs,
            vec![
                FieldError::Type("tm".into(), "an array of strings"),
                FieldError::Type("us".into(), "a string"),
            ]
        );
    }

    #[test]
    fn malformed_enum_shapes_are_refused() {
        let bad = |v: Value| schema(json!({"type": "object", "properties": {"x": v}})).check();
        for shape in [
            json!({"type": "string", "enum": ["a", "b"], "enumNames": ["A"]}),
            json!({"type": "string", "enumNames": ["A"]}),
            json!({"type": "string", "oneOf": [{"const": "a", "title": "A"}], "enum": ["a"], "enumNames": ["A"]}),
            json!({"type": "array", "items": {"type": "number", "enum": ["1"]}}),
            json!({"type": "array", "items": {"enum": ["a"], "anyOf": [{"const": "a", "title": "A"}]}}),
            json!({"type": "array", "items": {"anyOf": []}}),
            json!({"type": "string", "oneOf": []}),
            json!({"type": "array", "items": {"type": "string", "enum": ["a"]}, "default": "a"}),
        ] {
            assert!(
                matches!(
                    bad(shape.clone()),
                    Err(SchemaError::BadEnum(..) | SchemaError::BadDefault(..))
                ),
                "{shape}: {:?}",
                bad(shape.clone())
            );
        }
        // A titled option needs both its value and its label.
        let untitled = json!({"type": "object", "properties": {"x": {"type": "string", "oneOf": [{"const": "a"}]}}});
        assert!(serde_json::from_value::<RequestedSchema>(untitled).is_err());
    }

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
