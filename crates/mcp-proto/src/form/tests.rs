//! The form: schemas in and out of the subset, replies checked, defaults filled.

use super::*;
use serde_json::json;
use serde_json::{Map, Value};

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

/// Our validator and the `jsonschema` crate (formats on, the subset's implicit rules made
/// explicit) accept and refuse the same replies, but for the e-mail forms we refuse on
/// purpose: a quoted local part and an address literal.
#[test]
fn agrees_with_jsonschema_on_validity() {
    let s = contact();
    let mut plain = serde_json::to_value(&s).unwrap();
    plain["additionalProperties"] = json!(false);
    plain["properties"]["tags"]["uniqueItems"] = json!(true);
    let theirs = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&plain)
        .unwrap();
    let base = json!({"name": "Ann", "email": "ann@example.com", "ok": true});
    let cases = [
        ("name", json!("An")),
        ("name", json!("A")),
        ("name", json!("ÉéÉéÉ")),
        ("name", json!("ÉéÉéÉé")),
        ("name", json!(12)),
        ("email", json!("a@b.c")),
        ("email", json!("x@localhost")),
        ("email", json!("no-at-sign")),
        ("email", json!("a@")),
        ("email", json!("@b.c")),
        ("email", json!("a b@c.d")),
        ("email", json!("a@b@c")),
        ("age", json!(18)),
        ("age", json!(130)),
        ("age", json!(131)),
        ("age", json!(30.0)),
        ("age", json!(30.5)),
        ("age", json!("30")),
        ("score", json!(1.5)),
        ("score", json!(1.6)),
        ("score", json!(-3)),
        ("ok", json!(false)),
        ("ok", json!("true")),
        ("color", json!("#f00")),
        ("color", json!("Red")),
        ("size", json!("M")),
        ("size", json!("Medium")),
        ("tags", json!(["a"])),
        ("tags", json!(["a", "b"])),
        ("tags", json!(["a", "b", "c"])),
        ("tags", json!([])),
        ("tags", json!(["a", "a"])),
        ("tags", json!(["d"])),
        ("tags", json!("a")),
        ("extra", json!(1)),
    ];
    for (field, value) in cases {
        let mut reply = base.clone();
        reply[field] = value.clone();
        let ours = s.validate(&obj(reply.clone())).is_ok();
        assert_eq!(ours, theirs.is_valid(&reply), "{field} = {value}");
    }
    for on_purpose in ["\"a b\"@example.com", "a@[127.0.0.1]"] {
        let mut reply = base.clone();
        reply["email"] = json!(on_purpose);
        assert!(s.validate(&obj(reply.clone())).is_err(), "{on_purpose}");
        assert!(theirs.is_valid(&reply), "{on_purpose}");
    }
    let mut missing = base.clone();
    missing.as_object_mut().unwrap().remove("email");
    assert!(s.validate(&obj(missing.clone())).is_err() && !theirs.is_valid(&missing));
}

/// The formats read the same as `jsonschema`'s on dates and date-times.
#[test]
fn date_formats_agree_with_jsonschema() {
    use StringFormat::*;
    let check = |format: &str, v: &str| {
        let schema = json!({"type": "string", "format": format});
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap()
            .is_valid(&json!(v))
    };
    for v in [
        "2024-02-29",
        "2023-02-29",
        "1900-02-29",
        "2000-02-29",
        "2024-13-01",
        "2024-04-31",
        "2024-1-01",
        "24-01-01",
        "2024-01-01x",
        "",
    ] {
        assert_eq!(format_ok(Date, v), check("date", v), "{v}");
    }
    for v in [
        "2024-05-01T10:20:30Z",
        "2024-05-01t10:20:30.123+02:00",
        "2024-05-01T10:20:30.5-05:30",
        "2024-05-01",
        "2024-05-01T10:20Z",
        "2024-05-01T24:00:00Z",
        "2024-05-01T10:60:00Z",
        "2024-05-01T10:20:30",
        "2024-05-01T10:20:30.Z",
        "2024-05-01T10:20:30+2:00",
        "2024-05-01T10:20:30+02:60",
    ] {
        assert_eq!(format_ok(DateTime, v), check("date-time", v), "{v}");
    }
}
