//! Built-in MCP sampling servers, each a library constructor, listed in [`REGISTRY`]:
//! `mcp-sampling serve NAME` runs any of them on stdio or Streamable HTTP, and tests run them
//! in process over the in-memory transport.
//!
//! Each decides in code what code can decide and samples the client's model only for
//! judgment.
//!
//! - [`summarize`]: summarises long text by sampling; short text is returned as is.
//! - [`smart_search`]: classifies a search query (rules first, the model for the rest), then
//!   searches that table of an embedded SQLite database.
//! - [`kb`]: a knowledge base over Markdown files (tantivy); the model picks the retrieval
//!   strategy per query, code decides the obvious ones.
//! - [`triage`]: triages support tickets (priority, category, rationale, first reply), rules
//!   first, and keeps them in SQLite.
//! - [`sql`]: answers questions about a SQLite database (a shipped bookshop or `--db FILE`,
//!   read-only): the model translates, code checks the one SELECT it may run.
//! - [`email_tones`]: one e-mail drafted in several tones at once, each draft checked in code
//!   (every point made, a word limit per tone) and asked again once when it fails.
//! - [`code_review`]: the files of a diff (or of a git range) categorised with a risk level;
//!   trivial files decided in code, the rest by the model in one concurrent round.
//! - [`intake`]: validates a delivery request: code checks formats, the model judges
//!   plausibility, elicitation asks the person to fix the fields at fault.
//! - [`agent`]: answers questions about the shop with sampling with tools, running the
//!   tools itself ([`mcp_server::ToolLoop`]).
//! - [`elicit_demo`]: asks the user for a booking (elicitation) and reads the client's roots.
//! - [`bench`](mod@bench): n sampling round trips with a bounded number in flight, for benchmarks.

pub mod agent;
pub mod bench;
pub mod code_review;
pub mod elicit_demo;
pub mod email_tones;
pub mod intake;
pub mod kb;
pub mod smart_search;
pub mod sql;
pub mod summarize;
pub mod triage;

use mcp_server::Server;
use std::path::PathBuf;

/// What a user may choose for a built-in server on the command line (`serve NAME --docs DIR`).
/// A server ignores the options it does not use.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A folder of Markdown or text files to index instead of the shipped corpus (`kb`).
    pub docs: Option<PathBuf>,
    /// A SQLite database file to use instead of the shipped sample (`sql`: opened read-only;
    /// `triage`: the ticket store, created if missing).
    pub db: Option<PathBuf>,
}

/// Why a built-in server could not be made (a folder that cannot be read, a database that
/// cannot be opened): one sentence naming the problem.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(pub String);

/// One built-in server: its name, what it does in a line, and how to make it.
#[derive(Clone, Copy)]
pub struct Example {
    /// The name `serve` takes (`smart-search`).
    pub name: &'static str,
    /// One line for `--help`.
    pub about: &'static str,
    /// Builds a fresh server.
    pub build: fn(&Options) -> Result<Server, BuildError>,
}

/// A constructor with no options, as a registry entry's `build`.
macro_rules! plain {
    ($path:path) => {{
        fn build(_: &Options) -> Result<Server, BuildError> {
            Ok($path())
        }
        build
    }};
}

fn build_sql(o: &Options) -> Result<Server, BuildError> {
    sql::server(o.db.as_deref())
}

fn build_triage(o: &Options) -> Result<Server, BuildError> {
    triage::server(o.db.as_deref())
}

/// Every built-in server, in the order `--help` lists them.
pub const REGISTRY: &[Example] = &[
    Example {
        name: "summarize",
        about: "summarize {text, sentences?}: summarises long text by sampling; short text is returned as is",
        build: plain!(summarize::server),
    },
    Example {
        name: "smart-search",
        about: "intelligent_search {query}: rules or the model classify the query, then an embedded database is searched",
        build: plain!(smart_search::server),
    },
    Example {
        name: "kb",
        about: "search_kb {query, limit?}: the model picks a retrieval strategy (keyword, phrase, fuzzy, section, sub-queries) over a tantivy index of Markdown docs (shipped, or --docs DIR)",
        build: kb::server,
    },
    Example {
        name: "triage",
        about: "triage_ticket {subject, body, customer?}, list_tickets, ticket_stats: priority, category and first reply for a support ticket (rules first), stored in SQLite (--db FILE)",
        build: build_triage,
    },
    Example {
        name: "sql",
        about: "ask_database {question}: the model translates a question into one read-only SELECT, checked before it runs over a sample database or --db FILE",
        build: build_sql,
    },
    Example {
        name: "email-tones",
        about: "draft_email {to?, points, tones?}: one e-mail in several tones, drafted concurrently, each checked in code and asked again once",
        build: plain!(email_tones::server),
    },
    Example {
        name: "code-review",
        about: "categorize_diff {diff?, repo?, range?}: each file of a diff or git range gets a category and a risk; trivial files decided in code",
        build: plain!(code_review::server),
    },
    Example {
        name: "intake",
        about: "submit_request {name?, address?, postcode?, date?, phone?, ...}: code checks a delivery request's formats, the model judges plausibility, a form asks the person to fix the fields at fault",
        build: plain!(intake::server),
    },
    Example {
        name: "agent",
        about: "research {question, max_rounds?}: the client's model answers with lookup tools the server runs (sampling with tools, capped rounds)",
        build: plain!(agent::server),
    },
    Example {
        name: "elicit-demo",
        about: "book_table {restaurant} asks the user for a booking (elicitation); list_roots reads the client's roots",
        build: plain!(elicit_demo::server),
    },
    Example {
        name: "bench",
        about: "bench_sampling {n, concurrency}: n sampling round trips, at most `concurrency` in flight",
        build: plain!(bench::server),
    },
];

/// The built-in server called `name`.
pub fn find(name: &str) -> Option<&'static Example> {
    REGISTRY.iter().find(|e| e.name == name)
}
