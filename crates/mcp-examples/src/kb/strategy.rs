//! How a query is searched: the retrieval strategies, the rules that decide the obvious
//! cases in code, the classifier that asks the model for the rest, and the split of a
//! query into sub-queries (the model's, through typed output, else one made in code).

use super::index::words;
use mcp_server::{Classifier, Ctx, DecidedBy, Sampling};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::HashSet;
use std::sync::Arc;

/// Fewest and most sub-queries a split may have.
pub const SUB_QUERIES: std::ops::RangeInclusive<usize> = 2..=4;
/// Longest sub-query, in characters.
const MAX_SUB_QUERY_CHARS: usize = 200;

/// A retrieval strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Any of the words, ranked by BM25.
    Keyword,
    /// The words in order.
    Phrase,
    /// Words within an edit distance, for misspellings.
    Fuzzy,
    /// Only passages under matching headings.
    Section,
    /// Sub-queries searched one by one and merged.
    Split,
}

impl Strategy {
    /// Its name (the label the model answers).
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Keyword => "keyword",
            Strategy::Phrase => "phrase",
            Strategy::Fuzzy => "fuzzy",
            Strategy::Section => "section",
            Strategy::Split => "split",
        }
    }
}

/// What a query asks for once its syntax is read: `section:NAME rest` and a quoted phrase.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed {
    /// The section named with `section:` (quoted or one word).
    pub section: Option<String>,
    /// The first quoted phrase.
    pub phrase: Option<String>,
    /// The query without the `section:` part.
    pub rest: String,
}

/// Reads the `section:` prefix and the first quoted phrase of `query`.
pub fn parse(query: &str) -> Parsed {
    let q = query.trim();
    let mut parsed = Parsed {
        rest: q.to_owned(),
        ..Parsed::default()
    };
    let prefixed = q
        .split_once(':')
        .filter(|(head, _)| head.eq_ignore_ascii_case("section"));
    if let Some((_, after)) = prefixed {
        let after = after.trim_start();
        let (name, rest) = match quoted(after) {
            Some((name, rest)) if after.starts_with(['"', '“']) => (name, rest),
            _ => match after.split_once(char::is_whitespace) {
                Some((name, rest)) => (name.to_owned(), rest.trim().to_owned()),
                None => (after.to_owned(), String::new()),
            },
        };
        if !name.trim().is_empty() {
            parsed.section = Some(name.trim().to_owned());
            parsed.rest = rest;
        }
    }
    parsed.phrase = quoted(&parsed.rest).map(|(p, _)| p);
    parsed
}

/// The first phrase between double quotes (straight or curly) with a word in it, and the
/// text after it.
fn quoted(s: &str) -> Option<(String, String)> {
    let (_, after_open) = s.split_once(['"', '“'])?;
    let (inside, after) = after_open.split_once(['"', '”'])?;
    (!words(inside).is_empty()).then(|| (inside.trim().to_owned(), after.trim().to_owned()))
}

/// Whether `token` reads like an identifier from code or a command line: `_`, `::`, `/`,
/// `.`, `-`, `=`, a digit, or a capital letter after the first character.
fn identifier_like(token: &str) -> bool {
    token
        .chars()
        .any(|c| "_:/.-=".contains(c) || c.is_ascii_digit())
        || token.chars().skip(1).any(char::is_uppercase)
}

/// The strategy code decides on its own, if any: `section:` is a section filter, a quoted
/// phrase a phrase search, a single identifier (or a word the corpus has) a keyword search,
/// a single plain word the corpus lacks a fuzzy search.
pub fn by_rule(query: &str, vocabulary: &HashSet<String>) -> Option<Strategy> {
    let parsed = parse(query);
    if parsed.section.is_some() {
        return Some(Strategy::Section);
    }
    if parsed.phrase.is_some() {
        return Some(Strategy::Phrase);
    }
    let tokens: Vec<&str> = query.split_whitespace().collect();
    let [token] = tokens[..] else {
        return None;
    };
    let token_words = words(token);
    if identifier_like(token) || token_words.iter().all(|w| vocabulary.contains(w)) {
        return Some(Strategy::Keyword);
    }
    Some(Strategy::Fuzzy)
}

/// The classifier: [`by_rule`], then the model, then keyword search (the fallback when the
/// model answers no strategy or the client cannot sample).
pub fn classifier(vocabulary: Arc<HashSet<String>>) -> Classifier<Strategy> {
    let mut c = Classifier::new(
        "You choose how to search a knowledge base of technical documentation for a query.",
    )
    .label(
        Strategy::Keyword,
        "keyword",
        "a plain question or topic in a few words",
    )
    .label(
        Strategy::Phrase,
        "phrase",
        "an exact expression that must appear word for word, like an error message",
    )
    .label(
        Strategy::Fuzzy,
        "fuzzy",
        "words that look misspelled or mistyped",
    )
    .label(
        Strategy::Section,
        "section",
        "the query names a part of the documentation to look in",
    )
    .label(
        Strategy::Split,
        "split",
        "the query asks about two or more different things at once",
    );
    // Worked examples, labels in turn; none of them is in the labelled set (bench/kb.jsonl).
    for (q, s) in [
        ("how do I configure the approval mode", Strategy::Keyword),
        (
            "error: the request was rejected by policy",
            Strategy::Phrase,
        ),
        ("bearr tokn setp", Strategy::Fuzzy),
        (
            "in the troubleshooting part: depth exceeded",
            Strategy::Section,
        ),
        (
            "how do I set a bearer token and where is the audit log",
            Strategy::Split,
        ),
        ("what does the audit log record", Strategy::Keyword),
        ("tool call timed out after 30 seconds", Strategy::Phrase),
        ("rout modl prefrences", Strategy::Fuzzy),
        ("providers section: openai key", Strategy::Section),
        ("set a daily budget and choose a model", Strategy::Split),
        ("which models can the router pick", Strategy::Keyword),
        ("requestState has expired", Strategy::Phrase),
        ("audt lgo locaton", Strategy::Fuzzy),
        ("under approval rules: auto approve", Strategy::Section),
        (
            "what is elicitation and how do I cancel a request",
            Strategy::Split,
        ),
        ("how are rate limits counted", Strategy::Keyword),
        ("maximum tokens per request", Strategy::Phrase),
        ("samplng dpth limt", Strategy::Fuzzy),
        ("the quickstart part: first run", Strategy::Section),
        (
            "configure rate limits, and how does the web console work",
            Strategy::Split,
        ),
    ] {
        c = c.example(q, s);
    }
    c.rule(move |q| by_rule(q, &vocabulary))
        .fallback(|_| Strategy::Keyword)
        .hint("haiku")
}

/// The model's split of a query.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SubQueries {
    /// Two to four short searches, one for each thing the query asks about.
    pub queries: Vec<String>,
}

/// The check of a split: 2 to 4 sub-queries, each with a word, none too long.
fn check_split(s: &SubQueries) -> Result<(), String> {
    if !SUB_QUERIES.contains(&s.queries.len()) {
        return Err(format!(
            "give {} to {} queries, not {}",
            SUB_QUERIES.start(),
            SUB_QUERIES.end(),
            s.queries.len()
        ));
    }
    if let Some(q) = s.queries.iter().find(|q| words(q).is_empty()) {
        return Err(format!("the query {q:?} has no words"));
    }
    if s.queries
        .iter()
        .any(|q| q.chars().count() > MAX_SUB_QUERY_CHARS)
    {
        return Err(format!(
            "each query must be at most {MAX_SUB_QUERY_CHARS} characters"
        ));
    }
    Ok(())
}

/// A split made in code: at ` and `, ` vs `, `;`, `,` and `?` (parts with a word; at
/// most four). None when the query does not split in two.
pub fn split_in_code(query: &str) -> Option<Vec<String>> {
    let mut parts = vec![query.to_owned()];
    for sep in [";", "?", ",", " and ", " vs ", " versus ", " or "] {
        parts = parts
            .iter()
            .flat_map(|p| p.split(sep).map(str::to_owned).collect::<Vec<_>>())
            .collect();
    }
    let parts: Vec<String> = parts
        .into_iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !words(p).is_empty())
        .take(*SUB_QUERIES.end())
        .collect();
    (parts.len() >= *SUB_QUERIES.start()).then_some(parts)
}

/// The sub-queries of `query` and who made them: the model (typed output, one repair
/// round), else code ([`split_in_code`]); none when neither splits it.
pub async fn split(ctx: &Ctx, query: &str) -> Option<(Vec<String>, DecidedBy)> {
    let req = Sampling::user(format!("Query: {query}"))
        .system(
            "Split this search query of a technical knowledge base into separate short searches, one for each thing it asks about.",
        )
        .max_tokens(200)
        .temperature(0.0);
    let why = match ctx.extract_checked::<SubQueries, _>(req, check_split).await {
        Ok(s) => {
            let queries = s
                .value
                .queries
                .iter()
                .map(|q| q.trim().to_owned())
                .collect();
            return Some((queries, DecidedBy::Model(s.model)));
        }
        Err(e) => e.to_string(),
    };
    split_in_code(query).map(|parts| (parts, DecidedBy::Fallback(why)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sections_and_phrases() {
        let p = parse("section:Providers openai key");
        assert_eq!(p.section.as_deref(), Some("Providers"));
        assert_eq!(p.rest, "openai key");
        let p = parse("Section:\"Approval rules\" deny");
        assert_eq!(p.section.as_deref(), Some("Approval rules"));
        assert_eq!(p.rest, "deny");
        let p = parse("why \u{201c}max reasoning depth exceeded\u{201d} now");
        assert_eq!(p.phrase.as_deref(), Some("max reasoning depth exceeded"));
        assert_eq!(parse("a \" b").phrase, None);
        assert_eq!(parse("section:").section, None);
    }

    #[test]
    fn rules_decide_the_obvious() {
        let vocab: HashSet<String> = ["audit", "log"].iter().map(|s| s.to_string()).collect();
        let r = |q| by_rule(q, &vocab);
        assert_eq!(r("section:audit"), Some(Strategy::Section));
        assert_eq!(r("\"audit log\""), Some(Strategy::Phrase));
        assert_eq!(r("max_samples_per_call"), Some(Strategy::Keyword));
        assert_eq!(r("--docs"), Some(Strategy::Keyword));
        assert_eq!(r("ServerConfig"), Some(Strategy::Keyword));
        assert_eq!(r("audit"), Some(Strategy::Keyword));
        assert_eq!(r("adit"), Some(Strategy::Fuzzy));
        assert_eq!(r("where is the audit log"), None);
        assert_eq!(
            split_in_code("install the model and set a token"),
            Some(vec!["install the model".into(), "set a token".into()])
        );
        assert_eq!(split_in_code("install the model"), None);
        assert!(check_split(&SubQueries {
            queries: vec!["a".into()]
        })
        .is_err());
    }
}
