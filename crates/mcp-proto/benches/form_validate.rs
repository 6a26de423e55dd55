//! Checking a 10-field elicitation reply: our validator (`RequestedSchema::validate`) against
//! the `jsonschema` crate on the same schema (with `additionalProperties: false` and
//! `uniqueItems` added, so that both refuse the same things), formats on.
//!
//! `cargo bench -p mcp-proto --bench form_validate`. Prints nanoseconds per reply, for a valid
//! reply and for one with five problems (every message rendered), then the values on which
//! the two disagree. The figures are in ARCHITECTURE.md ("Why our own form validator").

use mcp_proto::elicitation::{PropertySchema, PropertyType, RequestedSchema, StringFormat};
use serde_json::{json, Map, Value};
use std::hint::black_box;
use std::time::Instant;

fn form() -> RequestedSchema {
    use PropertyType::*;
    RequestedSchema::new()
        .property(
            "name",
            PropertySchema::of(String).length(Some(2), Some(40)),
            true,
        )
        .property(
            "email",
            PropertySchema::of(String).format(StringFormat::Email),
            true,
        )
        .property(
            "website",
            PropertySchema::of(String).format(StringFormat::Uri),
            false,
        )
        .property(
            "birthday",
            PropertySchema::of(String).format(StringFormat::Date),
            false,
        )
        .property(
            "meeting",
            PropertySchema::of(String).format(StringFormat::DateTime),
            false,
        )
        .property(
            "age",
            PropertySchema::of(Integer).range(Some(18.0), Some(130.0)),
            true,
        )
        .property(
            "score",
            PropertySchema::of(Number).range(None, Some(10.0)),
            false,
        )
        .property(
            "subscribe",
            PropertySchema::of(Boolean).default_value(true),
            false,
        )
        .property(
            "size",
            PropertySchema::one_of_values(["S", "M", "L"]),
            false,
        )
        .property(
            "tags",
            PropertySchema::any_of_values(["a", "b", "c"]).choices_between(Some(1), Some(2)),
            false,
        )
}

fn valid() -> Map<String, Value> {
    obj(json!({"name": "Ann Example", "email": "ann@example.com",
        "website": "https://example.com/ann", "birthday": "1990-02-28",
        "meeting": "2025-05-01T10:20:30+02:00", "age": 35, "score": 7.5, "subscribe": false,
        "size": "M", "tags": ["a", "c"]}))
}

fn invalid() -> Map<String, Value> {
    obj(
        json!({"name": "A", "email": "not an address", "birthday": "1990-02-30",
        "age": 17, "size": "XL", "tags": ["a", "a"], "extra": 1}),
    )
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// The same schema as plain JSON Schema for `jsonschema`: the subset's implicit rules made
/// explicit (no unknown property, a multi-select chooses each value once).
fn as_json_schema(s: &RequestedSchema) -> Value {
    let mut v = serde_json::to_value(s).expect("a schema serialises");
    v["additionalProperties"] = json!(false);
    if let Some(props) = v["properties"].as_object_mut() {
        for p in props.values_mut() {
            if p["type"] == "array" {
                p["uniqueItems"] = json!(true);
            }
        }
    }
    v
}

fn theirs(schema: &Value) -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(schema)
        .expect("a valid schema")
}

/// Every problem as a message naming its field, as the callers show them.
fn their_messages(v: &jsonschema::Validator, reply: &Value) -> Vec<String> {
    v.iter_errors(reply)
        .map(|e| format!("{}: {e}", e.instance_path))
        .collect()
}

/// The best of nine rounds of `n` calls, in nanoseconds per call (the least disturbed by
/// whatever else the machine runs).
fn time(label: &str, n: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..n / 10 {
        f();
    }
    let best = (0..9)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed().as_nanos() as f64 / f64::from(n)
        })
        .fold(f64::INFINITY, f64::min);
    println!("{label:<52} {best:>10.0} ns");
    best
}

fn main() {
    let schema = form();
    let json = as_json_schema(&schema);
    let (ok, bad) = (valid(), invalid());
    let (ok_v, bad_v) = (Value::Object(ok.clone()), Value::Object(bad.clone()));
    assert!(schema.validate(&ok).is_ok());
    let ours_bad = schema.validate(&bad).map_err(|e| e.0.len());
    let cached = theirs(&json);
    assert!(cached.is_valid(&ok_v));
    let theirs_bad = their_messages(&cached, &bad_v);
    println!(
        "problems found in the invalid reply: ours {ours_bad:?}, jsonschema {}",
        theirs_bad.len()
    );
    for m in &theirs_bad {
        println!("  jsonschema: {m}");
    }
    if let Err(e) = schema.validate(&bad) {
        for m in &e.0 {
            println!("  ours:       {m}");
        }
    }
    let n = 5_000;
    time("ours, valid reply", n, || {
        black_box(schema.validate(black_box(&ok)).is_ok());
    });
    time("ours, invalid reply, messages rendered", n, || {
        black_box(
            schema
                .validate(black_box(&bad))
                .map_err(|e| e.to_string())
                .err(),
        );
    });
    time("jsonschema, valid reply, validator built once", n, || {
        black_box(cached.is_valid(black_box(&ok_v)));
    });
    time("jsonschema, invalid reply, built once, messages", n, || {
        black_box(their_messages(&cached, black_box(&bad_v)));
    });
    time(
        "jsonschema, valid reply, validator built per reply",
        n / 10,
        || {
            let v = theirs(black_box(&as_json_schema(&schema)));
            black_box(v.is_valid(black_box(&ok_v)));
        },
    );
    disagreements(&schema, &cached);
}

/// Values of one field on which the two validators give different answers.
fn disagreements(schema: &RequestedSchema, v: &jsonschema::Validator) {
    let cases = [
        ("email", json!("a@b..c")),
        ("email", json!("a@-b.c")),
        ("email", json!("x@localhost")),
        ("email", json!("\"a b\"@example.com")),
        ("email", json!("a@[127.0.0.1]")),
        ("website", json!("example.com")),
        ("website", json!("urn:isbn:0451450523")),
        ("website", json!("http://a b")),
        ("website", json!("https://exa mple.com")),
        ("birthday", json!("2023-02-29")),
        ("meeting", json!("2024-05-01T23:59:60Z")),
        ("meeting", json!("2024-05-01T10:20:30")),
        ("meeting", json!("2024-05-01 10:20:30Z")),
        ("age", json!(30.0)),
        ("name", json!("é".repeat(2))),
    ];
    println!("disagreements (field, value: ours, jsonschema):");
    for (field, value) in cases {
        let mut reply = valid();
        reply.insert(field.into(), value.clone());
        let ours = schema.validate(&reply).is_ok();
        let them = v.is_valid(&Value::Object(reply));
        if ours != them {
            println!("  {field}, {value}: {ours}, {them}");
        }
    }
}
