//! Elicitation forms: a requested schema (from a server) checked, and a reply (from the user
//! or a client) validated against it.

use crate::json;
use mcp_proto::elicitation::ElicitRequestParams;
use serde_json::{Map, Value};

/// JSON `elicitation/create` params, a newline, a JSON reply object: the schema check and
/// the reply's validation hold together (a reply filled with the defaults of a checked schema
/// lacks nothing that has a default; each problem is named).
pub fn elicit_form(data: &[u8]) {
    let (params, reply) = crate::split2(data, b'\n');
    let Some(params) = json::parse(params) else {
        return;
    };
    let p = match ElicitRequestParams::parse(Some(params)) {
        Ok(p) => p,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    let schema = &p.requested_schema;
    let mut content = match json::parse(reply) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    if let Err(e) = schema.validate(&content) {
        assert!(!e.0.is_empty(), "a refusal names its problems");
        assert!(!e.to_string().is_empty());
    }
    schema.apply_defaults(&mut content);
    for (name, prop) in &schema.properties {
        if let Some(d) = &prop.default {
            assert!(content.contains_key(name));
            // A checked schema's defaults are valid values of their properties.
            assert!(
                mcp_proto::form::check_value(name, prop, d).is_ok(),
                "default of {name} invalid"
            );
        }
    }
    // Defaults never make a reply worse: whatever it lacked that had a default is there now.
    if let Err(e) = schema.validate(&content) {
        for f in &e.0 {
            if let mcp_proto::form::FieldError::Missing(name) = f {
                assert!(schema
                    .properties
                    .get(name)
                    .is_some_and(|p| p.default.is_none()));
            }
        }
    }
}
