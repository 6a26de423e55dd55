//! Tool arguments mirrored in `Mcp-Param-{Name}` headers (2026-07-28): a tool's input schema
//! marks properties with `x-mcp-header`; when the call has a value there, the header must carry
//! the same value (plain or `=?base64?...?=`), or the request is refused with `HeaderMismatch`.

use crate::checks::decoded_header;
use axum::http::HeaderMap;
use serde_json::Value;

/// The `x-mcp-header` annotations of a schema: header name and the property path to its value
/// (only through `properties`, as the spec allows).
pub(crate) fn annotated(schema: &Value) -> Vec<(String, Vec<String>)> {
    fn walk(s: &Value, path: &mut Vec<String>, out: &mut Vec<(String, Vec<String>)>) {
        let Some(props) = s.get("properties").and_then(Value::as_object) else {
            return;
        };
        for (k, v) in props {
            path.push(k.clone());
            if let Some(h) = v.get("x-mcp-header").and_then(Value::as_str) {
                out.push((h.to_owned(), path.clone()));
            }
            walk(v, path, out);
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(schema, &mut Vec::new(), &mut out);
    out
}

/// Checks every mirrored argument of a call against its header.
pub(crate) fn check(h: &HeaderMap, schema: &Value, args: Option<&Value>) -> Result<(), String> {
    for (name, path) in annotated(schema) {
        let value = args.and_then(|a| path.iter().try_fold(a, |v, k| v.get(k)));
        let Some(value) = value.filter(|v| !v.is_null()) else {
            continue;
        };
        let header = format!("mcp-param-{}", name.to_ascii_lowercase());
        let got = decoded_header(h, &header)?.ok_or_else(|| {
            format!(
                "the Mcp-Param-{name} header is missing (the tool mirrors argument {})",
                path.join(".")
            )
        })?;
        let same = match value {
            Value::String(s) => *s == got,
            Value::Bool(b) => got == b.to_string(),
            Value::Number(n) => got.parse::<f64>().ok() == n.as_f64(),
            _ => true,
        };
        if !same {
            return Err(format!(
                "Header mismatch: Mcp-Param-{name} header value {got:?} does not match body value {value}"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "limit": {"type": "integer", "x-mcp-header": "Limit"},
            "opts": {"type": "object", "properties": {"dry": {"type": "boolean", "x-mcp-header": "Dry"}}},
            "query": {"type": "string"}}})
    }

    #[test]
    fn finds_annotations_through_properties() {
        let mut a = annotated(&schema());
        a.sort();
        assert_eq!(a[0], ("Dry".into(), vec!["opts".into(), "dry".into()]));
        assert_eq!(a.len(), 3);
    }

    #[test]
    fn mirrored_values_must_match() {
        let args = json!({"region": "us-west1", "limit": 42, "opts": {"dry": true}, "query": "q"});
        let mut h = HeaderMap::new();
        assert!(check(&h, &schema(), Some(&args))
            .unwrap_err()
            .contains("header is missing"));
        h.insert("mcp-param-region", HeaderValue::from_static("us-west1"));
        h.insert("mcp-param-limit", HeaderValue::from_static("42.0"));
        h.insert("mcp-param-dry", HeaderValue::from_static("true"));
        assert!(
            check(&h, &schema(), Some(&args)).is_ok(),
            "integers compare as numbers"
        );
        h.insert(
            "mcp-param-region",
            HeaderValue::from_static("=?base64?ZXUtd2VzdDE=?="),
        );
        assert!(check(&h, &schema(), Some(&args))
            .unwrap_err()
            .contains("\"eu-west1\""));
        // No value in the call: no header expected.
        assert!(check(&HeaderMap::new(), &schema(), Some(&json!({"query": "q"}))).is_ok());
    }
}
