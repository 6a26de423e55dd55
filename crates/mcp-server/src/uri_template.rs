//! Matching URIs against resource templates: RFC 6570 read in reverse. A template is literal
//! text and expressions; a URI matches when some values of the variables would expand to it,
//! and those values are returned ([`UriVars`]). No crate does this (the RFC 6570 crates
//! expand only; ARCHITECTURE.md, "URI templates").
//!
//! | expression | matches | each value |
//! | --- | --- | --- |
//! | `{var}` | `abc` | non-empty, within a path segment (no `/`, `?`, `#`) |
//! | `{+var}` | `a/b/c` | non-empty, may hold `/` (no `?`, `#`) |
//! | `{#var}` | `#frag`, or nothing | the rest |
//! | `{.var}` | `.tar.gz`, or nothing | no `/`, `?`, `#` |
//! | `{/var}`, `{/a,b}` | `/x`, `/x/y`, or nothing | one segment each |
//! | `{;a,b}` | `;a=1;b`, or nothing | by name, no `/`, `?`, `#` |
//! | `{?a,b}`, `{&c}` | `?b=2&a=1`, or nothing | by name, in any order, no `#` |
//! | `{/list*}`, `{list*}`, `{.list*}` | `/a/b/c` | the pieces ([`UriVars::list`]) |
//! | `{?list*}` | `?list=a&list=b` | the repeated values |
//! | `{var:3}` | at most 3 characters | |
//!
//! An expression with an operator may be absent (its variables are then missing from the
//! result); `{var}` and `{+var}` must be there. A variable runs to the first occurrence of
//! what follows it in the template. Values are as they appear in the URI
//! ([`UriVars::decoded`] percent-decodes). Refused, as ambiguous: `{a}{b}` (an expression
//! without operator right after another), several variables in `{+...}` or `{#...}`, an
//! explode that is not the last variable of a positional expression, a variable named twice.
//! Matching takes time linear in the URI for each way the optional expressions can be
//! present or absent, each tried once.

use std::collections::{BTreeMap, HashSet};

/// The operator of an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Simple,
    Reserved,
    Fragment,
    Label,
    Path,
    Param,
    Query,
    QueryCont,
}

impl Op {
    fn from_char(c: char) -> Option<Op> {
        Some(match c {
            '+' => Op::Reserved,
            '#' => Op::Fragment,
            '.' => Op::Label,
            '/' => Op::Path,
            ';' => Op::Param,
            '?' => Op::Query,
            '&' => Op::QueryCont,
            _ => return None,
        })
    }

    /// What the expansion starts with, when any variable is defined.
    fn first(self) -> Option<char> {
        match self {
            Op::Simple | Op::Reserved => None,
            Op::Fragment => Some('#'),
            Op::Label => Some('.'),
            Op::Path => Some('/'),
            Op::Param => Some(';'),
            Op::Query => Some('?'),
            Op::QueryCont => Some('&'),
        }
    }

    /// Between two values.
    fn sep(self) -> char {
        match self {
            Op::Simple | Op::Reserved | Op::Fragment => ',',
            Op::Label => '.',
            Op::Path => '/',
            Op::Param => ';',
            Op::Query | Op::QueryCont => '&',
        }
    }

    /// Characters the expression's text never holds.
    fn stops(self) -> &'static [char] {
        match self {
            Op::Simple | Op::Label | Op::Param => &['/', '?', '#'],
            Op::Reserved | Op::Path => &['?', '#'],
            Op::Query | Op::QueryCont => &['#'],
            Op::Fragment => &[],
        }
    }

    /// Values come as `name=value` pairs, matched by name.
    fn named(self) -> bool {
        matches!(self, Op::Param | Op::Query | Op::QueryCont)
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Var {
    name: String,
    explode: bool,
    prefix: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
struct Expr {
    op: Op,
    vars: Vec<Var>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Literal(String),
    Expr(Expr),
}

/// A parsed template.
#[derive(Debug, Clone)]
pub(crate) struct UriTemplate {
    parts: Vec<Part>,
}

/// The variables of a URI matched against a resource template, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UriVars {
    values: BTreeMap<String, String>,
    lists: BTreeMap<String, Vec<String>>,
}

impl UriVars {
    /// The value of variable `name`, as it appeared in the URI. For an exploded variable
    /// (`{/path*}`), its pieces joined as in the URI (`a/b/c`; `,` for query and `;`
    /// parameters).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The value of variable `name`, percent-decoded (invalid UTF-8 replaced).
    pub fn decoded(&self, name: &str) -> Option<String> {
        self.get(name).map(percent_decode)
    }

    /// The pieces of an exploded variable (`{/path*}`, `{?tag*}`), as they appeared.
    pub fn list(&self, name: &str) -> Option<&[String]> {
        self.lists.get(name).map(Vec::as_slice)
    }

    /// All variables, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// One variable found while matching.
struct Found<'t> {
    name: &'t str,
    value: String,
    list: Option<Vec<String>>,
}

impl UriTemplate {
    /// Parses `template`; `None` if a brace is unbalanced, a variable name is empty or
    /// invalid, or the template is ambiguous to match (see the module's documentation).
    pub(crate) fn parse(template: &str) -> Option<UriTemplate> {
        let mut parts: Vec<Part> = Vec::new();
        let mut rest = template;
        loop {
            let (literal, expr) = match rest.split_once('{') {
                Some((l, e)) => (l, Some(e)),
                None => (rest, None),
            };
            if literal.contains('}') {
                return None;
            }
            if !literal.is_empty() {
                parts.push(Part::Literal(literal.to_owned()));
            }
            let Some(after) = expr else { break };
            let (body, tail) = after.split_once('}')?;
            if body.contains('{') {
                return None;
            }
            add_expr(&mut parts, parse_expr(body)?)?;
            rest = tail;
        }
        let t = UriTemplate { parts };
        let mut names: Vec<&str> = t.var_names().collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        (names.len() == count).then_some(t)
    }

    /// The variables if `uri` matches.
    pub(crate) fn matches(&self, uri: &str) -> Option<UriVars> {
        let mut found = Vec::new();
        let mut failed = HashSet::new();
        if !self.match_at(0, uri, &mut found, &mut failed) {
            return None;
        }
        let mut vars = UriVars::default();
        for f in found {
            if let Some(list) = f.list {
                vars.lists.insert(f.name.to_owned(), list);
            }
            vars.values.insert(f.name.to_owned(), f.value);
        }
        Some(vars)
    }

    /// The names of the variables, in order.
    pub(crate) fn var_names(&self) -> impl Iterator<Item = &str> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Expr(e) => Some(e.vars.iter().map(|v| v.name.as_str())),
                Part::Literal(_) => None,
            })
            .flatten()
    }

    /// Whether `rest` matches the parts from `i` on. A failure at a place (part, position)
    /// is remembered: what was bound before does not change it (names are unique).
    fn match_at<'t>(
        &'t self,
        i: usize,
        rest: &str,
        found: &mut Vec<Found<'t>>,
        failed: &mut HashSet<(usize, usize)>,
    ) -> bool {
        let Some(part) = self.parts.get(i) else {
            return rest.is_empty();
        };
        if failed.contains(&(i, rest.len())) {
            return false;
        }
        let mark = found.len();
        let ok = match part {
            Part::Literal(l) => rest
                .strip_prefix(l.as_str())
                .is_some_and(|r| self.match_at(i + 1, r, found, failed)),
            Part::Expr(e) => match e.op.first() {
                None => self.present(i, e, rest, found, failed),
                Some(c) => {
                    (rest.starts_with(c) && self.present(i, e, rest, found, failed)) || {
                        found.truncate(mark);
                        self.match_at(i + 1, rest, found, failed)
                    }
                }
            },
        };
        if !ok {
            found.truncate(mark);
            failed.insert((i, rest.len()));
        }
        ok
    }

    /// Matches expression `i` as present at the start of `rest`, then the parts after it.
    fn present<'t>(
        &'t self,
        i: usize,
        e: &'t Expr,
        rest: &str,
        found: &mut Vec<Found<'t>>,
        failed: &mut HashSet<(usize, usize)>,
    ) -> bool {
        let body = match e.op.first() {
            Some(c) => rest.strip_prefix(c),
            None => Some(rest),
        };
        let Some((text, tail)) = body.and_then(|b| b.split_at_checked(self.span_end(i, e.op, b)?))
        else {
            return false;
        };
        if text.contains(e.op.stops()) || (e.op.first().is_none() && text.is_empty()) {
            return false;
        }
        bind(e, text, found) && self.match_at(i + 1, tail, found, failed)
    }

    /// Where the text of expression `i` ends in `body`: at the first occurrence of the
    /// literal after it, or of the next expression's operator (or of a character the
    /// expression never holds), or at the end.
    fn span_end(&self, i: usize, op: Op, body: &str) -> Option<usize> {
        match self.parts.get(i + 1) {
            Some(Part::Literal(l)) => body.find(l.as_str()),
            Some(Part::Expr(next)) => {
                let c = next.op.first()?;
                let end = body.find(|x: char| x == c || op.stops().contains(&x));
                Some(end.unwrap_or(body.len()))
            }
            None => Some(body.len()),
        }
    }
}

/// Parses the inside of `{...}`.
fn parse_expr(body: &str) -> Option<Expr> {
    let mut chars = body.chars();
    let (op, list) = match chars.next().and_then(Op::from_char) {
        Some(op) => (op, chars.as_str()),
        None => (Op::Simple, body),
    };
    let vars = list
        .split(',')
        .map(parse_var)
        .collect::<Option<Vec<Var>>>()?;
    let positional = !op.named();
    let last = vars.len().saturating_sub(1);
    let explode_inside = vars.iter().enumerate().any(|(k, v)| v.explode && k != last);
    let several = vars.len() > 1 && matches!(op, Op::Reserved | Op::Fragment);
    if (positional && explode_inside) || several {
        return None;
    }
    Some(Expr { op, vars })
}

/// `name`, `name*` or `name:n`; a name of letters, digits, `_` and inner `.`.
fn parse_var(spec: &str) -> Option<Var> {
    let (spec, explode) = match spec.strip_suffix('*') {
        Some(s) => (s, true),
        None => (spec, false),
    };
    let (name, prefix) = match spec.split_once(':') {
        Some((name, n)) => {
            let n = n
                .parse::<usize>()
                .ok()
                .filter(|n| (1..10_000).contains(n))?;
            (name, Some(n))
        }
        None => (spec, None),
    };
    let valid = !name.is_empty()
        && !name.starts_with('.')
        && !name.ends_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    (valid && !(explode && prefix.is_some())).then(|| Var {
        name: name.to_owned(),
        explode,
        prefix,
    })
}

/// Adds an expression: `{&...}` right after `{?...}` joins it (one query); an expression
/// without operator right after another is refused (where one ends is unknown).
fn add_expr(parts: &mut Vec<Part>, e: Expr) -> Option<()> {
    if let Some(Part::Expr(prev)) = parts.last_mut() {
        if prev.op == Op::Query && e.op == Op::QueryCont {
            prev.vars.extend(e.vars);
            return Some(());
        }
        e.op.first()?;
    }
    parts.push(Part::Expr(e));
    Some(())
}

/// Binds the variables of `e` from its text (operator stripped).
fn bind<'t>(e: &'t Expr, text: &str, found: &mut Vec<Found<'t>>) -> bool {
    if e.op.named() {
        return bind_named(e, text, found);
    }
    // One variable takes the whole text, separators included (`{.ext}`: `tar.gz`), except
    // in a path, where a value is one segment.
    if let [v] = e.vars.as_slice() {
        if !v.explode && e.op != Op::Path {
            return push(found, v, text.to_owned(), None);
        }
    }
    let sep = e.op.sep();
    let mut pieces = text.split(sep);
    for v in &e.vars {
        if v.explode {
            let list: Vec<String> = pieces.by_ref().map(str::to_owned).collect();
            let joined = list.join(sep.encode_utf8(&mut [0; 4]));
            return push(found, v, joined, Some(list));
        }
        match pieces.next() {
            Some(p) if push(found, v, p.to_owned(), None) => {}
            Some(_) => return false,
            None => break,
        }
    }
    pieces.next().is_none()
}

/// `name=value` pairs (or `name` alone, an empty value), in any order.
fn bind_named<'t>(e: &'t Expr, text: &str, found: &mut Vec<Found<'t>>) -> bool {
    if text.is_empty() {
        return true;
    }
    let mut seen: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for piece in text.split(e.op.sep()) {
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        let Some(v) = e.vars.iter().find(|v| v.name == name) else {
            return false;
        };
        let values = seen.entry(v.name.as_str()).or_default();
        if !v.explode && !values.is_empty() {
            return false;
        }
        values.push(value.to_owned());
    }
    e.vars.iter().all(|v| match seen.remove(v.name.as_str()) {
        None => true,
        Some(values) if v.explode => push(found, v, values.join(","), Some(values)),
        Some(mut values) => push(found, v, values.pop().unwrap_or_default(), None),
    })
}

/// Records a value; `false` if it is longer than the variable's prefix allows.
fn push<'t>(
    found: &mut Vec<Found<'t>>,
    v: &'t Var,
    value: String,
    list: Option<Vec<String>>,
) -> bool {
    if v.prefix.is_some_and(|n| value.chars().count() > n) {
        return false;
    }
    found.push(Found {
        name: &v.name,
        value,
        list,
    });
    true
}

fn percent_decode(s: &str) -> String {
    let hex = |b: &u8| (*b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let pair = (
            bytes.get(i + 1).and_then(hex),
            bytes.get(i + 2).and_then(hex),
        );
        match (b, pair) {
            (b'%', (Some(h), Some(l))) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests;
