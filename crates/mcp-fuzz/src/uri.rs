//! Resource templates (RFC 6570 matched in reverse, `mcp_server`'s `uri_template`, through
//! `mcp_server::fuzzing::Template`): a template parsed, a URI matched against it.

use mcp_server::fuzzing::Template;

/// The template with each expression replaced by `value(body)`, if every expression is a
/// plain `{var}` or `{+var}` (whose match is the value itself).
fn expand_simple(template: &str, value: impl Fn(&str) -> Option<String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some((literal, after)) = rest.split_once('{') {
        out.push_str(literal);
        let (body, tail) = after.split_once('}')?;
        let name = body.strip_prefix('+').unwrap_or(body);
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        out.push_str(&value(name)?);
        rest = tail;
    }
    out.push_str(rest);
    Some(out)
}

/// A template, a newline, a URI: a match names only the template's variables, and for a
/// template of plain `{var}`/`{+var}` expressions the values put back give the URI; a
/// template without expressions matches itself only.
pub fn uri_template(data: &[u8]) {
    let (template, uri) = crate::split2(data, b'\n');
    let (template, uri) = (
        String::from_utf8_lossy(template),
        String::from_utf8_lossy(uri),
    );
    let Some(t) = Template::parse(&template) else {
        return;
    };
    let names = t.var_names();
    if names.is_empty() {
        assert_eq!(t.matches(&uri).is_some(), uri == template);
        assert!(t.matches(&template).is_some());
    }
    let Some(vars) = t.matches(&uri) else {
        return;
    };
    for (name, _) in vars.iter() {
        assert!(
            names.iter().any(|n| n == name),
            "{name} is not in {names:?}"
        );
        let _ = vars.decoded(name);
        let _ = vars.list(name);
    }
    if let Some(again) = expand_simple(&template, |n| vars.get(n).map(str::to_owned)) {
        assert_eq!(again, uri, "the values put back");
    }
}
