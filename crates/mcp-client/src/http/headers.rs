//! Modern (`2026-07-28`) request metadata headers: `Mcp-Method`, `Mcp-Name`, and the
//! `Mcp-Param-{Name}` headers that mirror tool arguments marked `x-mcp-header` in the tool's
//! `inputSchema`, with the `=?base64?…?=` sentinel encoding for values that are not plain
//! header-safe ASCII.
//!
//! The transport writes `Mcp-Method` and `Mcp-Name` from the outgoing message itself.
//! [`ToolHeaders`] belongs to the [`crate::Client`]: it learns the annotations from its own
//! `tools/list` calls and gives the transport a call's `Mcp-Param-*` headers as request
//! hints ([`mcp_rpc::Hints`]).

use base64::Engine;
use serde_json::Value;
use std::collections::HashMap;

/// The `MCP-Protocol-Version` header (legacy: the version `initialize` negotiated, which the
/// client hands the transport as a connection hint; modern: the request's own).
pub const PROTOCOL_VERSION: &str = "mcp-protocol-version";

/// The header value for `v`: as is when it is visible ASCII (and inner spaces or tabs) without
/// leading or trailing whitespace and not itself shaped like the sentinel; otherwise
/// `=?base64?{base64(UTF-8)}?=`.
pub fn encode_value(v: &str) -> String {
    let safe = v
        .bytes()
        .all(|b| b == b' ' || b == b'\t' || (0x21..=0x7e).contains(&b));
    let trimmed = !v.starts_with([' ', '\t']) && !v.ends_with([' ', '\t']);
    let sentinel = v.starts_with("=?base64?") && v.ends_with("?=");
    if safe && trimmed && !sentinel {
        v.to_owned()
    } else {
        let b64 = base64::engine::general_purpose::STANDARD.encode(v.as_bytes());
        format!("=?base64?{b64}?=")
    }
}

/// The name a request carries in `Mcp-Name`, if its method has one (the params field named
/// by [`mcp_proto::methods::named_param`]).
pub fn name_of(method: &str, params: Option<&Value>) -> Option<String> {
    let key = mcp_proto::methods::named_param(method)?;
    params?.get(key)?.as_str().map(str::to_owned)
}

/// One mirrored parameter of a tool: the header's name part and the property path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamHeader {
    /// `{Name}` of `Mcp-Param-{Name}`.
    pub name: String,
    /// The chain of `properties` keys from the schema root.
    pub path: Vec<String>,
}

/// The mirrored parameters of each known tool.
#[derive(Debug, Default)]
pub struct ToolHeaders {
    tools: HashMap<String, Vec<ParamHeader>>,
}

impl ToolHeaders {
    /// Takes a `tools/list` result: remembers each valid tool's headers and removes the tools
    /// whose `x-mcp-header` annotations are invalid (the spec says such tools must not be
    /// offered). Returns whether the result was changed.
    pub fn learn(&mut self, result: &mut Value) -> bool {
        let Some(tools) = result.get_mut("tools").and_then(Value::as_array_mut) else {
            return false;
        };
        let before = tools.len();
        tools.retain(|tool| {
            let Some(name) = tool.get("name").and_then(Value::as_str) else {
                return true;
            };
            let schema = tool.get("inputSchema").unwrap_or(&Value::Null);
            match param_headers(schema) {
                Ok(h) => {
                    self.tools.insert(name.to_owned(), h);
                    true
                }
                Err(why) => {
                    tracing::warn!(
                        tool = name,
                        "excluded a tool with an invalid x-mcp-header: {why}"
                    );
                    self.tools.remove(name);
                    false
                }
            }
        });
        tools.len() != before
    }

    /// Whether this tool's definition has been seen.
    pub fn knows(&self, tool: &str) -> bool {
        self.tools.contains_key(tool)
    }

    /// The `Mcp-Param-*` headers of a `tools/call` (name, encoded value): none for a tool not
    /// seen yet.
    pub fn headers_for(&self, tool: &str, arguments: Option<&Value>) -> Vec<(String, String)> {
        let (Some(params), Some(args)) = (self.tools.get(tool), arguments) else {
            return Vec::new();
        };
        params
            .iter()
            .filter_map(|p| {
                let mut v = args;
                for key in &p.path {
                    v = v.get(key)?;
                }
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Bool(b) => b.to_string(),
                    Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                        (Some(i), _, _) => i.to_string(),
                        (_, Some(u), _) => u.to_string(),
                        (_, _, Some(f))
                            if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 =>
                        {
                            format!("{}", f as i64)
                        }
                        _ => return None,
                    },
                    _ => return None,
                };
                Some((format!("Mcp-Param-{}", p.name), encode_value(&text)))
            })
            .collect()
    }
}

/// RFC 9110 `tchar`.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// The `x-mcp-header` annotations of a tool's `inputSchema`, or why they are invalid.
pub fn param_headers(schema: &Value) -> Result<Vec<ParamHeader>, String> {
    let mut found = Vec::new();
    walk(schema, &mut Vec::new(), true, &mut found)?;
    let mut seen = std::collections::HashSet::new();
    for h in &found {
        if h.name.is_empty() || !h.name.chars().all(is_tchar) {
            return Err(format!("{:?} is not an HTTP header-name token", h.name));
        }
        if !seen.insert(h.name.to_ascii_lowercase()) {
            return Err(format!(
                "{:?} is used twice (names are case-insensitive)",
                h.name
            ));
        }
    }
    Ok(found)
}

/// Collects annotations; `reachable` says whether `node` is reached by `properties` keys only.
fn walk(
    node: &Value,
    path: &mut Vec<String>,
    reachable: bool,
    found: &mut Vec<ParamHeader>,
) -> Result<(), String> {
    match node {
        Value::Object(map) => {
            if let Some(h) = map.get("x-mcp-header") {
                let at = if path.is_empty() {
                    "the schema root".to_owned()
                } else {
                    path.join(".")
                };
                let Some(name) = h.as_str() else {
                    return Err(format!("the annotation at {at} is not a string"));
                };
                if !reachable || path.is_empty() {
                    return Err(format!(
                        "{name:?} at {at} is not reached through `properties` alone"
                    ));
                }
                check_primitive(map.get("type"), name)?;
                found.push(ParamHeader {
                    name: name.to_owned(),
                    path: path.clone(),
                });
            }
            for (key, child) in map {
                if key == "properties" {
                    if let Value::Object(props) = child {
                        for (prop, sub) in props {
                            path.push(prop.clone());
                            let r = walk(sub, path, reachable, found);
                            path.pop();
                            r?;
                        }
                        continue;
                    }
                }
                // Any other keyword (items, anyOf, $defs, ...) breaks static reachability.
                walk(child, &mut Vec::new(), false, found)?;
            }
            Ok(())
        }
        Value::Array(items) => {
            for item in items {
                walk(item, &mut Vec::new(), false, found)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_primitive(ty: Option<&Value>, name: &str) -> Result<(), String> {
    let ok = |t: &str| matches!(t, "string" | "integer" | "boolean" | "null");
    let fine = match ty {
        // No declared type: nothing shows it is not a primitive.
        None => true,
        Some(Value::String(t)) => ok(t) && t != "null",
        Some(Value::Array(ts)) => ts.iter().all(|t| t.as_str().is_some_and(ok)),
        Some(_) => false,
    };
    if fine {
        Ok(())
    } else {
        Err(format!(
            "{name:?} marks a parameter of type {} (only string, integer, boolean)",
            ty.map_or_else(String::new, Value::to_string)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn encoding_follows_the_spec_examples() {
        assert_eq!(encode_value("us-west1"), "us-west1");
        assert_eq!(
            encode_value("Hello, 世界"),
            "=?base64?SGVsbG8sIOS4lueVjA==?="
        );
        assert_eq!(encode_value(" padded "), "=?base64?IHBhZGRlZCA=?=");
        assert_eq!(encode_value("line1\nline2"), "=?base64?bGluZTEKbGluZTI=?=");
        assert_eq!(
            encode_value("=?base64?literal?="),
            "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="
        );
        assert_eq!(encode_value("a b"), "a b");
    }

    #[test]
    fn annotations_are_found_on_nested_properties() {
        let schema = json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "opts": {"type": "object", "properties": {
                "n": {"type": "integer", "x-mcp-header": "N"}}},
            "q": {"type": "string"}}});
        let mut h = param_headers(&schema).unwrap();
        h.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(h[0].path, vec!["opts", "n"]);
        assert_eq!(h[1].path, vec!["region"]);
        let mut t = ToolHeaders::default();
        let mut list = json!({"tools": [{"name": "t", "inputSchema": schema}]});
        assert!(!t.learn(&mut list));
        let args = json!({"region": "eu west", "opts": {"n": 42}, "q": "x"});
        let mut got = t.headers_for("t", Some(&args));
        got.sort();
        assert_eq!(
            got,
            vec![
                ("Mcp-Param-N".to_owned(), "42".to_owned()),
                ("Mcp-Param-Region".to_owned(), "eu west".to_owned())
            ]
        );
        // Absent or null values: no header.
        assert!(t
            .headers_for("t", Some(&json!({"region": null})))
            .is_empty());
    }

    #[test]
    fn invalid_annotations_exclude_the_tool() {
        let bad = [
            json!({"properties": {"a": {"type": "number", "x-mcp-header": "A"}}}),
            json!({"properties": {"a": {"type": "string", "x-mcp-header": "A B"}}}),
            json!({"properties": {"a": {"type": "string", "x-mcp-header": ""}}}),
            json!({"properties": {"a": {"type": "string", "x-mcp-header": "X"},
                                  "b": {"type": "string", "x-mcp-header": "x"}}}),
            json!({"properties": {"a": {"type": "array", "items": {"type": "string", "x-mcp-header": "I"}}}}),
            json!({"anyOf": [{"properties": {"a": {"type": "string", "x-mcp-header": "A"}}}]}),
        ];
        for schema in bad {
            assert!(param_headers(&schema).is_err(), "{schema}");
        }
        let mut t = ToolHeaders::default();
        let mut list = json!({"tools": [
            {"name": "good", "inputSchema": {"properties": {"a": {"type": "string", "x-mcp-header": "A"}}}},
            {"name": "bad", "inputSchema": {"properties": {"a": {"type": "number", "x-mcp-header": "A"}}}}
        ]});
        assert!(t.learn(&mut list));
        assert_eq!(list["tools"].as_array().unwrap().len(), 1);
        assert_eq!(list["tools"][0]["name"], "good");
        assert!(t.knows("good") && !t.knows("bad"));
    }
}
