//! Matching URIs against simple URI templates: literal text and `{name}` variables, each
//! variable standing for one non-empty piece of a path segment (no `/`). Other RFC 6570
//! operators (`{+path}`, `{?q}`, ...) are not supported and never match.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Literal(String),
    Var(String),
}

/// A parsed template.
#[derive(Debug, Clone)]
pub(crate) struct UriTemplate {
    parts: Vec<Part>,
}

/// The variables of a URI matched against a resource template, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UriVars(BTreeMap<String, String>);

impl UriVars {
    /// The value of variable `name`, as it appeared in the URI.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// All variables, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl UriTemplate {
    /// Parses `template`; `None` if a brace is unbalanced, a variable is empty or uses an
    /// operator, or two variables touch (their boundary would be ambiguous).
    pub(crate) fn parse(template: &str) -> Option<UriTemplate> {
        let mut parts = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            match rest.find('{') {
                Some(0) => {
                    let end = rest.find('}')?;
                    let name = &rest[1..end];
                    let valid = !name.is_empty()
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                    if !valid || matches!(parts.last(), Some(Part::Var(_))) {
                        return None;
                    }
                    parts.push(Part::Var(name.to_owned()));
                    rest = &rest[end + 1..];
                }
                found => {
                    let end = found.unwrap_or(rest.len());
                    if rest[..end].contains('}') {
                        return None;
                    }
                    parts.push(Part::Literal(rest[..end].to_owned()));
                    rest = &rest[end..];
                }
            }
        }
        Some(UriTemplate { parts })
    }

    /// The variables if `uri` matches.
    pub(crate) fn matches(&self, uri: &str) -> Option<UriVars> {
        let mut vars = BTreeMap::new();
        let mut rest = uri;
        let mut parts = self.parts.iter().peekable();
        while let Some(part) = parts.next() {
            match part {
                Part::Literal(l) => rest = rest.strip_prefix(l.as_str())?,
                Part::Var(name) => {
                    // A variable runs to the next literal (or the end), within one segment.
                    let end = match parts.peek() {
                        Some(Part::Literal(next)) => rest.find(next.as_str())?,
                        _ => rest.len(),
                    };
                    let value = &rest[..end];
                    if value.is_empty() || value.contains('/') {
                        return None;
                    }
                    vars.insert(name.clone(), value.to_owned());
                    rest = &rest[end..];
                }
            }
        }
        rest.is_empty().then_some(UriVars(vars))
    }

    /// The names of the variables, in order.
    pub(crate) fn var_names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(n) => Some(n.as_str()),
            Part::Literal(_) => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_simple_variables() {
        let t = UriTemplate::parse("test://template/{id}/data").unwrap();
        assert_eq!(
            t.matches("test://template/123/data").unwrap().get("id"),
            Some("123")
        );
        assert!(t.matches("test://template//data").is_none());
        assert!(t.matches("test://template/1/2/data").is_none());
        assert!(t.matches("test://template/123/data/more").is_none());
        assert!(t.matches("test://other/123/data").is_none());
        let t = UriTemplate::parse("db://{table}/{row}.json").unwrap();
        let v = t.matches("db://users/42.json").unwrap();
        assert_eq!((v.get("table"), v.get("row")), (Some("users"), Some("42")));
        assert_eq!(t.var_names().collect::<Vec<_>>(), ["table", "row"]);
        let t = UriTemplate::parse("file:///{name}").unwrap();
        assert_eq!(
            t.matches("file:///a.txt").unwrap().get("name"),
            Some("a.txt")
        );
    }

    #[test]
    fn refuses_what_it_cannot_match_exactly() {
        for bad in [
            "x://{a",
            "x://a}",
            "x://{}",
            "x://{+path}",
            "x://{a}{b}",
            "x://{?q}",
        ] {
            assert!(UriTemplate::parse(bad).is_none(), "{bad}");
        }
    }
}
