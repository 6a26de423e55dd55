//! `kb`: a knowledge base over a folder of Markdown and text files (by default a small
//! corpus about this project that ships in the binary; `--docs DIR` for the user's own),
//! split into sections by heading and indexed in RAM with tantivy (fields `file`, `heading`,
//! `body`).
//!
//! `search_kb {query, limit?}` picks a retrieval strategy per query: keyword, exact phrase,
//! fuzzy, section filter, or a split into sub-queries whose results are merged. Code decides
//! the obvious cases (a `section:` prefix, a quoted phrase, a single identifier or word); the
//! model classifies the rest ([`Classifier`](mcp_server::Classifier)), and splits a query
//! through typed output ([`Ctx::extract_checked`](mcp_server::Ctx::extract_checked)).
//! Keyword search is the fallback when the model answers no strategy or the client cannot
//! sample; a split the model cannot make is made in code. A strategy that finds nothing is
//! widened, in code, to keyword then fuzzy search. The result names the strategy, who chose
//! it, and the passages (file, heading, score, snippet). The resource `kb://documents` lists
//! what was indexed and what was skipped.

pub mod corpus;
pub mod index;
pub mod strategy;

use crate::{BuildError, Options};
use corpus::Corpus;
use index::{snippet, words, Hit, KbIndex};
use mcp_server::{Args, Classifier, Ctx, DecidedBy, Json, Server, State, ToolError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Arc;
use strategy::{parse, Strategy};

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 500;
/// Passages returned when the call gives no limit.
pub const DEFAULT_LIMIT: u32 = 5;
/// Most passages one call returns.
pub const MAX_LIMIT: u32 = 20;
/// Longest snippet, in characters.
const SNIPPET_CHARS: usize = 240;

#[derive(Deserialize, JsonSchema)]
struct Search {
    /// What to look for: words, a "quoted phrase", a single identifier such as
    /// `max_samples_per_call`, or `section:NAME words` to search one section.
    query: String,
    /// Most passages to return (default 5, at most 20).
    limit: Option<u32>,
}

/// One passage found.
#[derive(Serialize, Debug, JsonSchema)]
pub struct Passage {
    /// The document, relative to the corpus folder.
    pub file: String,
    /// The heading of its section.
    pub heading: String,
    /// Its relevance (BM25; for a split, the sum over the sub-queries).
    pub score: f64,
    /// Up to 240 characters of its text around the first matching word.
    pub snippet: String,
}

/// What `search_kb` returns.
#[derive(Serialize, Debug, JsonSchema)]
pub struct Found {
    /// The retrieval strategy chosen: `keyword`, `phrase`, `fuzzy`, `section` or `split`.
    pub strategy: String,
    /// Who chose it: `rule`, `model:NAME` or `fallback (WHY)` (keyword search).
    pub decided_by: DecidedBy,
    /// The strategy that produced the passages when the chosen one found nothing
    /// (`keyword`, then `fuzzy`).
    pub widened_to: Option<String>,
    /// The sub-queries searched (strategy `split`).
    pub sub_queries: Vec<String>,
    /// Who split the query (strategy `split`): `model:NAME`, or `fallback (WHY)` when code
    /// split it.
    pub split_by: Option<DecidedBy>,
    /// The passages, best first.
    pub passages: Vec<Passage>,
}

/// The index, the corpus's listing and the classifier, shared by every call.
#[derive(Clone)]
struct Kb {
    index: Arc<KbIndex>,
    classifier: Arc<Classifier<Strategy>>,
    listing: Arc<serde_json::Value>,
}

/// The passages `strategy` finds for `query`, and the sub-queries and who split them.
async fn run_strategy(
    kb: &Kb,
    ctx: &Ctx,
    query: &str,
    chosen: Strategy,
    limit: usize,
) -> Result<(Vec<Hit>, Vec<String>, Option<DecidedBy>), String> {
    let parsed = parse(query);
    let hits = match chosen {
        Strategy::Keyword => kb.index.keyword(query, limit)?,
        Strategy::Fuzzy => kb.index.fuzzy(query, limit)?,
        Strategy::Phrase => {
            let phrase = parsed.phrase.unwrap_or_else(|| parsed.rest.clone());
            kb.index.phrase(&phrase, limit)?
        }
        Strategy::Section => match &parsed.section {
            Some(section) => kb.index.section(section, &parsed.rest, limit)?,
            // The model chose it: the query's words name the section and rank within it.
            None => kb.index.section(query, query, limit)?,
        },
        Strategy::Split => match strategy::split(ctx, query).await {
            Some((subs, by)) => {
                let hits = kb.index.merged(&subs, limit)?;
                return Ok((hits, subs, Some(by)));
            }
            None => kb.index.keyword(query, limit)?,
        },
    };
    Ok((hits, Vec::new(), None))
}

async fn search_kb(
    Args(a): Args<Search>,
    State(kb): State<Kb>,
    ctx: Ctx,
) -> Result<Json<Found>, ToolError> {
    let query = a.query.trim().to_owned();
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(ToolError::failed(format!(
            "the query is longer than {MAX_QUERY_CHARS} characters; search for a few words"
        )));
    }
    if words(&query).is_empty() {
        return Err(ToolError::failed(
            "the query is empty: give a few words to search for",
        ));
    }
    let limit = a.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT) as usize;
    let chosen = kb.classifier.classify(&ctx, &query).await?;
    let (mut hits, sub_queries, split_by) = run_strategy(&kb, &ctx, &query, chosen.value, limit)
        .await
        .map_err(ToolError::failed)?;
    let mut widened_to = None;
    for wider in [Strategy::Keyword, Strategy::Fuzzy] {
        if !hits.is_empty() || wider == chosen.value {
            continue;
        }
        let text = parse(&query).rest;
        hits = match wider {
            Strategy::Keyword => kb.index.keyword(&text, limit),
            _ => kb.index.fuzzy(&text, limit),
        }
        .map_err(ToolError::failed)?;
        widened_to = Some(wider.name().to_owned());
    }
    let mut terms = words(&query);
    terms.extend(sub_queries.iter().flat_map(|q| words(q)));
    let passages = hits
        .into_iter()
        .map(|h| Passage {
            snippet: snippet(&h.body, &terms, SNIPPET_CHARS),
            file: h.file,
            heading: h.heading,
            score: (f64::from(h.score) * 1000.0).round() / 1000.0,
        })
        .collect();
    Ok(Json(Found {
        strategy: chosen.value.name().into(),
        decided_by: chosen.decided_by,
        widened_to,
        sub_queries,
        split_by,
        passages,
    }))
}

/// The listing of the corpus for `kb://documents`.
fn listing(c: &Corpus) -> serde_json::Value {
    serde_json::json!({
        "source": c.source,
        "documents": c.docs,
        "skipped": c.skipped,
    })
}

/// The `kb` server over the shipped corpus, or over `opts.docs`. Errors: the folder does not
/// exist, cannot be read, holds too many documents or none.
pub fn server(opts: &Options) -> Result<Server, BuildError> {
    let corpus = match &opts.docs {
        Some(dir) => Corpus::from_dir(dir).map_err(BuildError)?,
        None => Corpus::shipped(),
    };
    let index = KbIndex::build(&corpus.sections).map_err(BuildError)?;
    let vocabulary: HashSet<String> = corpus
        .sections
        .iter()
        .flat_map(|s| words(&s.heading).into_iter().chain(words(&s.body)))
        .collect();
    let kb = Kb {
        index: Arc::new(index),
        classifier: Arc::new(strategy::classifier(Arc::new(vocabulary))),
        listing: Arc::new(listing(&corpus)),
    };
    let instructions = format!(
        "A knowledge base of {} documents ({}) in {} sections. search_kb picks a retrieval strategy per query (keyword, phrase, fuzzy, section, split) and returns passages with file, heading, score and snippet. The resource kb://documents lists the documents.",
        corpus.docs.len(),
        corpus.source,
        corpus.sections.len()
    );
    let listed = kb.listing.clone();
    Ok(Server::builder("kb")
        .instructions(instructions)
        .state(kb)
        .tool(
            "search_kb",
            "Search the knowledge base. Write words, a \"quoted phrase\" for an exact match, an identifier, or section:NAME words to search one section; questions about several things are split into sub-queries. Returns passages (file, heading, score, snippet) and the strategy used with who chose it.",
            search_kb,
        )
        .resource(
            "kb://documents",
            "The indexed documents: file, title, section headings, size; and the files skipped with why",
            "application/json",
            move || {
                let listed = listed.clone();
                async move { Ok::<_, ToolError>(listed.to_string()) }
            },
        )
        .build())
}
