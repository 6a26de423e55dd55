//! The full-text index of the knowledge base: tantivy, in RAM, one tantivy document per
//! section with the fields `file`, `heading` and `body`; and the searches each retrieval
//! strategy runs. Queries are built from the text's words (no query syntax is parsed), so
//! no input can be a query syntax error.

use super::corpus::Section;
use std::collections::HashMap;
use tantivy::collector::TopDocs;
use tantivy::query::{
    BooleanQuery, BoostQuery, EmptyQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Schema, TantivyDocument, Value, STORED, TEXT};
use tantivy::{doc, Index, IndexReader, Term};

/// Most words of a query that are searched (the rest are ignored).
pub const MAX_TERMS: usize = 16;
/// How much a heading match counts against a body match.
const HEADING_BOOST: f32 = 2.0;
/// Words too common to search for (unless a query has nothing else).
const STOP_WORDS: [&str; 48] = [
    "a",
    "an",
    "the",
    "in",
    "of",
    "on",
    "to",
    "for",
    "and",
    "or",
    "with",
    "about",
    "from",
    "by",
    "at",
    "as",
    "is",
    "are",
    "be",
    "it",
    "its",
    "this",
    "that",
    "what",
    "which",
    "who",
    "how",
    "why",
    "when",
    "where",
    "do",
    "does",
    "i",
    "my",
    "me",
    "can",
    "should",
    "there",
    "between",
    "difference",
    "if",
    "not",
    "no",
    "get",
    "so",
    "any",
    "you",
    "your",
];
/// Words that name no section (`in the troubleshooting section`).
const SECTION_STOP_WORDS: [&str; 6] = [
    "section",
    "part",
    "chapter",
    "page",
    "docs",
    "documentation",
];
/// The writer's memory budget (tantivy's minimum is 15 MB per thread).
const WRITER_BYTES: usize = 20_000_000;

/// A passage found.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The section's document.
    pub file: String,
    /// The section's heading.
    pub heading: String,
    /// The section's text.
    pub body: String,
    /// The BM25 score (for merged sub-queries, the sum over sub-queries).
    pub score: f32,
}

/// The index and its fields.
pub struct KbIndex {
    reader: IndexReader,
    file: Field,
    heading: Field,
    body: Field,
}

/// The words of `text` as the index's default tokenizer makes them: runs of letters and
/// digits, lower-cased, at most 40 bytes long.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && w.len() <= 40)
        .map(str::to_lowercase)
        .collect()
}

/// The distinct words of `text` that are not stop words (all of them if every one is), in
/// order, at most [`MAX_TERMS`].
fn distinct_words(text: &str) -> Vec<String> {
    let all = words(text);
    let content: Vec<&String> = all
        .iter()
        .filter(|w| !STOP_WORDS.contains(&String::as_str(w)))
        .collect();
    let chosen = if content.is_empty() {
        all.iter().collect()
    } else {
        content
    };
    let mut out: Vec<String> = Vec::new();
    for w in chosen {
        if !out.contains(w) && out.len() < MAX_TERMS {
            out.push(w.clone());
        }
    }
    out
}

impl KbIndex {
    /// Indexes the sections. Errors: tantivy failed (memory), as one sentence.
    pub fn build(sections: &[Section]) -> Result<KbIndex, String> {
        let mut sb = Schema::builder();
        let file = sb.add_text_field("file", TEXT | STORED);
        let heading = sb.add_text_field("heading", TEXT | STORED);
        let body = sb.add_text_field("body", TEXT | STORED);
        let index = Index::create_in_ram(sb.build());
        let fail = |e: tantivy::TantivyError| format!("the index could not be built: {e}");
        let mut writer = index
            .writer_with_num_threads::<TantivyDocument>(1, WRITER_BYTES)
            .map_err(fail)?;
        for s in sections {
            writer
                .add_document(doc!(
                    file => s.file.as_str(),
                    heading => s.heading.as_str(),
                    body => s.body.as_str(),
                ))
                .map_err(fail)?;
        }
        writer.commit().map_err(fail)?;
        let reader = index.reader().map_err(fail)?;
        reader.reload().map_err(fail)?;
        Ok(KbIndex {
            reader,
            file,
            heading,
            body,
        })
    }

    /// Runs `query` and returns at most `limit` hits, best first.
    fn run(&self, query: &dyn Query, limit: usize) -> Result<Vec<Hit>, String> {
        let searcher = self.reader.searcher();
        let top = searcher
            .search(query, &TopDocs::with_limit(limit.max(1)))
            .map_err(|e| format!("the search failed: {e}"))?;
        let text = |d: &TantivyDocument, f: Field| {
            d.get_first(f)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let mut hits = Vec::new();
        for (score, addr) in top {
            let d: TantivyDocument = searcher
                .doc(addr)
                .map_err(|e| format!("the search failed: {e}"))?;
            hits.push(Hit {
                file: text(&d, self.file),
                heading: text(&d, self.heading),
                body: text(&d, self.body),
                score,
            });
        }
        Ok(hits)
    }

    /// One query per word and field, the heading's boosted, any may match.
    fn any_word(
        &self,
        words: &[String],
        term: impl Fn(Term, &str) -> Box<dyn Query>,
    ) -> BooleanQuery {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for w in words {
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    term(Term::from_field_text(self.heading, w), w),
                    HEADING_BOOST,
                )),
            ));
            clauses.push((Occur::Should, term(Term::from_field_text(self.body, w), w)));
        }
        BooleanQuery::new(clauses)
    }

    /// Any of the words, ranked by BM25.
    pub fn keyword(&self, text: &str, limit: usize) -> Result<Vec<Hit>, String> {
        let words = distinct_words(text);
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let q = self.any_word(&words, |t, _| {
            Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs))
        });
        self.run(&q, limit)
    }

    /// Words within an edit distance (1 for words of up to 5 letters, else 2) of the
    /// query's words.
    pub fn fuzzy(&self, text: &str, limit: usize) -> Result<Vec<Hit>, String> {
        let words = distinct_words(text);
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let q = self.any_word(&words, |t, w| {
            let long = w.chars().count() > 5;
            Box::new(FuzzyTermQuery::new(t, if long { 2 } else { 1 }, true))
        });
        self.run(&q, limit)
    }

    /// The words in this order, in a heading or a body (one word: a keyword search).
    pub fn phrase(&self, text: &str, limit: usize) -> Result<Vec<Hit>, String> {
        let words: Vec<String> = words(text).into_iter().take(MAX_TERMS).collect();
        if words.len() < 2 {
            return self.keyword(text, limit);
        }
        let phrase = |f: Field| -> Box<dyn Query> {
            let terms = words.iter().map(|w| Term::from_field_text(f, w)).collect();
            Box::new(PhraseQuery::new(terms))
        };
        let q = BooleanQuery::new(vec![
            (
                Occur::Should,
                Box::new(BoostQuery::new(phrase(self.heading), HEADING_BOOST)),
            ),
            (Occur::Should, phrase(self.body)),
        ]);
        self.run(&q, limit)
    }

    /// Passages whose heading or file name has a word of `section`, ranked by the words
    /// of `text` (every such passage when `text` has none).
    pub fn section(&self, section: &str, text: &str, limit: usize) -> Result<Vec<Hit>, String> {
        let wanted: Vec<String> = distinct_words(section)
            .into_iter()
            .filter(|w| {
                !SECTION_STOP_WORDS.contains(&w.as_str()) && !STOP_WORDS.contains(&w.as_str())
            })
            .collect();
        if wanted.is_empty() {
            return self.keyword(text, limit);
        }
        let mut filter: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for w in &wanted {
            for f in [self.heading, self.file] {
                filter.push((
                    Occur::Should,
                    Box::new(TermQuery::new(
                        Term::from_field_text(f, w),
                        IndexRecordOption::Basic,
                    )),
                ));
            }
        }
        // The filter scores nothing of its own: the rank comes from the text's words.
        let filter: Box<dyn Query> =
            Box::new(BoostQuery::new(Box::new(BooleanQuery::new(filter)), 0.001));
        let rest = distinct_words(text);
        let ranked: Box<dyn Query> = if rest.is_empty() {
            Box::new(EmptyQuery)
        } else {
            Box::new(self.any_word(&rest, |t, _| {
                Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs))
            }))
        };
        let q = BooleanQuery::new(vec![(Occur::Must, filter), (Occur::Should, ranked)]);
        self.run(&q, limit)
    }

    /// Each sub-query searched by keyword; a passage's score is the sum of its scores, so
    /// passages that answer several sub-queries come first.
    pub fn merged(&self, queries: &[String], limit: usize) -> Result<Vec<Hit>, String> {
        let mut by_key: HashMap<(String, String), Hit> = HashMap::new();
        let mut order: Vec<(String, String)> = Vec::new();
        for q in queries {
            for h in self.keyword(q, limit)? {
                let key = (h.file.clone(), h.heading.clone());
                match by_key.get_mut(&key) {
                    Some(seen) => seen.score += h.score,
                    None => {
                        order.push(key.clone());
                        by_key.insert(key, h);
                    }
                }
            }
        }
        let mut hits: Vec<Hit> = order
            .into_iter()
            .filter_map(|k| by_key.remove(&k))
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        hits.truncate(limit);
        Ok(hits)
    }
}

/// At most `max` characters of `body` around the first word of `terms` it holds (its
/// start when it holds none), on word boundaries, with `…` where it was cut.
pub fn snippet(body: &str, terms: &[String], max: usize) -> String {
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let tokens: Vec<&str> = flat.split(' ').collect();
    let hit = tokens
        .iter()
        .position(|t| words(t).iter().any(|w| terms.contains(w)))
        .unwrap_or(0);
    // Start a few words before the hit (at most a third of the room), then take words
    // while they fit.
    let mut start = hit;
    let mut lead = 0;
    while start > 0 && lead + tokens[start - 1].chars().count() < max / 3 {
        start -= 1;
        lead += tokens[start].chars().count() + 1;
    }
    let mut out = String::new();
    let mut used = 0;
    let mut end = start;
    while end < tokens.len() {
        let n = tokens[end].chars().count() + 1;
        if used + n > max && end > start {
            break;
        }
        used += n;
        end += 1;
    }
    if end == tokens.len() {
        // Room left at the end: start earlier.
        while start > 0 && used + tokens[start - 1].chars().count() < max {
            start -= 1;
            used += tokens[start].chars().count() + 1;
        }
    }
    if start > 0 {
        out.push('…');
    }
    out.push_str(&tokens[start..end].join(" "));
    if end < tokens.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_cut_on_words_around_the_hit() {
        let body = "one two three four five six seven eight nine ten eleven twelve thirteen";
        let s = snippet(body, &["twelve".into()], 30);
        assert!(s.contains("twelve"), "{s}");
        assert!(s.starts_with('…'), "{s}");
        assert!(s.chars().count() <= 32, "{s}");
        assert_eq!(snippet("short text", &[], 100), "short text");
        assert_eq!(
            words("Ctx::sample — élan_vital"),
            ["ctx", "sample", "élan", "vital"]
        );
    }
}
