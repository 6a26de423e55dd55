//! `code-review`: `categorize_diff` takes a unified diff, or a local git repository and a
//! revision range (read with the `git` CLI), parses it into files and hunks ([`diff`]),
//! decides in code what code can ([`rules`]: lock files, docs, tests, generated and binary
//! files, renames, whitespace-only changes) and asks the model for a category and a risk
//! level for every other file, all in one concurrent round (one `input_required` round on
//! the modern era). A reply that is not a category and a risk (garbage, a refusal, a client
//! that cannot sample) gets the fallback of [`rules::fallback`]. Returns the per-file
//! results, each saying who decided, and a summary.
//!
//! On the modern era the handler runs again for each round, so a repository is read again
//! too; git reads nothing but the repository, so that is harmless.

pub mod diff;
pub mod git;
pub mod rules;

use diff::{ChangeKind, FileDiff, Line};
use futures_util::future::join_all;
use mcp_proto::ext::ExpectedOutput;
use mcp_server::{output_schema, parse_reply, Args, Ctx, DecidedBy, Json, SampleError};
use mcp_server::{Sampling, Server, ToolError};
use rules::{Category, Risk, CATEGORIES};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The most characters of diff text taken in `diff`.
pub const MAX_DIFF_CHARS: usize = 1_000_000;
/// The most files in one diff.
pub const MAX_FILES: usize = 300;
/// The most files sent to the model in one call; the rest get the fallback.
pub const MAX_SAMPLED: usize = 40;
/// The most characters of one file's diff shown to the model.
const EXCERPT_CHARS: usize = 4000;
/// The range read when `repo` comes without one.
pub const DEFAULT_RANGE: &str = "HEAD~1..HEAD";

#[derive(Deserialize, JsonSchema)]
struct Categorize {
    /// A unified diff (`git diff` or `diff -u` output), at most 1,000,000 characters.
    /// Give this, or `repo`.
    diff: Option<String>,
    /// The path of a local git repository whose `range` is read with `git diff`.
    repo: Option<String>,
    /// A revision range of `repo`, such as `main..feature` or `HEAD~3..HEAD` (default
    /// `HEAD~1..HEAD`); revisions only, no options.
    range: Option<String>,
}

/// The model's answer for one file.
#[derive(Deserialize, JsonSchema, Debug, PartialEq)]
struct Judged {
    /// The category.
    category: Category,
    /// The risk level.
    risk: Risk,
}

/// One file's result.
#[derive(Serialize, Debug, JsonSchema)]
pub struct FileResult {
    /// The path (the new one when renamed).
    pub path: String,
    /// The old path of a renamed or copied file.
    pub old_path: Option<String>,
    /// What happened to the file.
    pub change: ChangeKind,
    /// Whether it is a binary file.
    pub binary: bool,
    /// Its hunks.
    pub hunks: usize,
    /// Lines added.
    pub added: usize,
    /// Lines removed.
    pub removed: usize,
    /// The category.
    pub category: Category,
    /// The risk level.
    pub risk: Risk,
    /// Who decided: `rule`, `model:NAME` or `fallback (WHY)`.
    pub decided_by: DecidedBy,
    /// Why code decided, when a rule did.
    pub rule: Option<String>,
}

/// Totals over the files.
#[derive(Serialize, Debug, JsonSchema)]
pub struct Summary {
    /// Files changed.
    pub files: usize,
    /// Lines added.
    pub added: usize,
    /// Lines removed.
    pub removed: usize,
    /// Files decided by a rule, without the model.
    pub decided_in_code: usize,
    /// Files the model decided.
    pub decided_by_model: usize,
    /// Files the fallback decided.
    pub fallback: usize,
    /// The highest risk of any file.
    pub highest_risk: Risk,
    /// Files per category.
    pub categories: BTreeMap<String, usize>,
    /// Files per risk level.
    pub risks: BTreeMap<String, usize>,
}

/// What `categorize_diff` returns.
#[derive(Serialize, Debug, JsonSchema)]
pub struct Review {
    /// Where the diff came from: `diff`, or `git REPO RANGE`.
    pub source: String,
    /// One result per file, in the diff's order.
    pub files: Vec<FileResult>,
    /// Totals.
    pub summary: Summary,
}

/// The folders a `repo` may lie in: the client's roots when it offers them, else the folder
/// the server runs in (so that a client cannot read other repositories of the machine).
async fn allowed_folders(ctx: &Ctx) -> Result<Vec<PathBuf>, String> {
    if ctx.can_list_roots() {
        let roots = ctx
            .list_roots()
            .await
            .map_err(|e| format!("cannot read the client's roots: {e}"))?;
        return Ok(roots.iter().filter_map(|r| r.to_path()).collect());
    }
    let here = std::env::current_dir()
        .map_err(|e| format!("cannot tell the folder the server runs in: {e}"))?;
    Ok(vec![here])
}

/// Checks that `repo` (links resolved) lies inside one of `allowed`.
fn check_repo(repo: &str, allowed: &[PathBuf]) -> Result<(), String> {
    let real = Path::new(repo)
        .canonicalize()
        .map_err(|_| format!("the repository path {repo:?} is not a directory"))?;
    let inside = allowed
        .iter()
        .filter_map(|a| a.canonicalize().ok())
        .any(|a| real.starts_with(a));
    if inside {
        return Ok(());
    }
    Err(format!(
        "the repository {repo:?} is outside the folders this server may read (the client's roots, or else the folder the server runs in)"
    ))
}

/// The diff text and where it came from, from the arguments.
async fn diff_text(a: Categorize, ctx: &Ctx) -> Result<(String, String), String> {
    match (a.diff, a.repo) {
        (Some(_), Some(_)) => Err("give either `diff` or `repo`, not both".into()),
        (Some(_), None) if a.range.is_some() => {
            Err("`range` goes with `repo`; a `diff` needs no range".into())
        }
        (Some(d), None) if d.chars().count() > MAX_DIFF_CHARS => Err(format!(
            "the diff is longer than {MAX_DIFF_CHARS} characters"
        )),
        (Some(d), None) if d.trim().is_empty() => Err("the diff is empty".into()),
        (Some(d), None) => Ok((d, "diff".into())),
        (None, Some(repo)) => {
            let range = a.range.unwrap_or_else(|| DEFAULT_RANGE.into());
            git::check_range(&range)?;
            check_repo(&repo, &allowed_folders(ctx).await?)?;
            let text = git::read_range(&repo, &range).await?;
            if text.trim().is_empty() {
                return Err(format!("the range {range} of {repo} changes nothing"));
            }
            Ok((text, format!("git {repo} {range}")))
        }
        (None, None) => Err(
            "give a unified diff in `diff`, or a git repository in `repo` (with a `range`)".into(),
        ),
    }
}

/// The request for one file: the categories and risks as the system prompt, the file's
/// diff (clipped) as the message, the answer's schema as the expected output.
fn request(f: &FileDiff) -> Sampling {
    let mut system = String::from(
        "You review code changes. Give the category of the change to this file and the risk \
         of merging it.\nCategories:",
    );
    for (_, label, about) in CATEGORIES {
        system.push_str(&format!("\n- {label}: {about}"));
    }
    system.push_str(
        "\nRisk: low, medium or high.\nAnswer with only JSON of the form \
         {\"category\": \"<category>\", \"risk\": \"<low|medium|high>\"}.",
    );
    let mut user = format!(
        "File: {} ({}, +{} -{})\n",
        f.path,
        change_name(f.kind),
        f.added(),
        f.removed()
    );
    let mut excerpt = String::new();
    'outer: for h in &f.hunks {
        for l in std::iter::once(h.header.clone()).chain(h.lines.iter().map(line_text)) {
            if excerpt.chars().count() + l.chars().count() > EXCERPT_CHARS {
                excerpt.push_str("[...]\n");
                break 'outer;
            }
            excerpt.push_str(&l);
            excerpt.push('\n');
        }
    }
    user.push_str(&excerpt);
    Sampling::user(user)
        .system(system)
        .max_tokens(40)
        .temperature(0.0)
        .expect(ExpectedOutput::Schema(output_schema::<Judged>()))
        .hint("haiku")
}

fn change_name(k: ChangeKind) -> &'static str {
    match k {
        ChangeKind::Added => "added",
        ChangeKind::Deleted => "deleted",
        ChangeKind::Modified => "modified",
        ChangeKind::Renamed => "renamed",
        ChangeKind::Copied => "copied",
    }
}

fn line_text(l: &Line) -> String {
    match l {
        Line::Context(s) => format!(" {s}"),
        Line::Added(s) => format!("+{s}"),
        Line::Removed(s) => format!("-{s}"),
    }
}

/// Lower case, with `_` and the space of a two-word label (`bug fix`) as `-`.
fn slug(s: &str) -> String {
    s.to_lowercase()
        .replace('_', "-")
        .replace("bug fix", "bug-fix")
        .replace("security sensitive", "security-sensitive")
}

/// The category and risk in a reply: its JSON, else the first category label and risk word
/// named in its prose.
fn parse_judged(text: &str) -> Option<Judged> {
    if let Ok(j) = parse_reply::<Judged>(text) {
        return Some(j);
    }
    let t = slug(text);
    let words: Vec<&str> = t
        .split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .filter(|w| !w.is_empty())
        .collect();
    let category = words
        .iter()
        .find_map(|w| CATEGORIES.iter().find(|(_, l, _)| l == w).map(|c| c.0))?;
    let risk = words.iter().find_map(|w| match *w {
        "low" => Some(Risk::Low),
        "medium" => Some(Risk::Medium),
        "high" => Some(Risk::High),
        _ => None,
    })?;
    Some(Judged { category, risk })
}

/// At most 60 characters of a reply, for `decided_by`.
fn clip(s: &str) -> String {
    let s = s.trim();
    let mut out: String = s.chars().take(60).collect();
    if s.chars().count() > 60 {
        out.push('…');
    }
    out
}

/// A decision: category, risk, who decided and the rule's reason.
type Decided = (Category, Risk, DecidedBy, Option<String>);

/// Decides every file: rules first, then one concurrent round of sampling for the rest.
async fn decide(ctx: &Ctx, files: &[FileDiff]) -> Result<Vec<Decided>, ToolError> {
    let mut out: Vec<Option<Decided>> = files
        .iter()
        .map(|f| rules::by_rule(f).map(|(c, r, why)| (c, r, DecidedBy::Rule, Some(why.into()))))
        .collect();
    let open: Vec<usize> = (0..files.len()).filter(|&i| out[i].is_none()).collect();
    let (asked, over) = open.split_at(open.len().min(MAX_SAMPLED));
    let replies = join_all(asked.iter().map(|&i| ctx.sample(request(&files[i])))).await;
    for (&i, reply) in asked.iter().zip(replies) {
        let why = match reply {
            Ok(r) => match parse_judged(&r.text()) {
                Some(j) => {
                    out[i] = Some((j.category, j.risk, DecidedBy::Model(r.model), None));
                    continue;
                }
                None => format!(
                    "the model answered {:?}, no category and risk",
                    clip(&r.text())
                ),
            },
            Err(e @ (SampleError::Limit(_) | SampleError::Closed | SampleError::Invalid(_))) => {
                return Err(ToolError::Sampling(e))
            }
            Err(SampleError::NotSupported) => "the client cannot sample".into(),
            Err(e) => e.to_string(),
        };
        let (c, r) = rules::fallback(&files[i]);
        out[i] = Some((c, r, DecidedBy::Fallback(why), None));
    }
    for &i in over {
        let (c, r) = rules::fallback(&files[i]);
        let why = format!("over the limit of {MAX_SAMPLED} files sampled per call");
        out[i] = Some((c, r, DecidedBy::Fallback(why), None));
    }
    Ok(out
        .into_iter()
        .map(|d| d.unwrap_or((Category::Chore, Risk::Low, DecidedBy::Rule, None)))
        .collect())
}

fn summarise(source: String, files: Vec<FileResult>) -> Review {
    let mut s = Summary {
        files: files.len(),
        added: 0,
        removed: 0,
        decided_in_code: 0,
        decided_by_model: 0,
        fallback: 0,
        highest_risk: Risk::Low,
        categories: BTreeMap::new(),
        risks: BTreeMap::new(),
    };
    for f in &files {
        s.added += f.added;
        s.removed += f.removed;
        match f.decided_by {
            DecidedBy::Rule => s.decided_in_code += 1,
            DecidedBy::Model(_) => s.decided_by_model += 1,
            DecidedBy::Fallback(_) => s.fallback += 1,
        }
        s.highest_risk = s.highest_risk.max(f.risk);
        *s.categories.entry(name(&f.category)).or_default() += 1;
        *s.risks.entry(name(&f.risk)).or_default() += 1;
    }
    Review {
        source,
        files,
        summary: s,
    }
}

/// The serialised name of a category or a risk.
fn name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

async fn categorize_diff(Args(a): Args<Categorize>, ctx: Ctx) -> Result<Json<Review>, ToolError> {
    let (text, source) = diff_text(a, &ctx).await.map_err(ToolError::Failed)?;
    let files =
        diff::parse(&text).map_err(|e| ToolError::failed(format!("the diff is malformed: {e}")))?;
    if files.len() > MAX_FILES {
        return Err(ToolError::failed(format!(
            "the diff changes {} files, at most {MAX_FILES}",
            files.len()
        )));
    }
    let decided = decide(&ctx, &files).await?;
    let results = files
        .into_iter()
        .zip(decided)
        .map(|(f, (category, risk, decided_by, rule))| FileResult {
            added: f.added(),
            removed: f.removed(),
            hunks: f.hunks.len(),
            path: f.path,
            old_path: f.old_path,
            change: f.kind,
            binary: f.binary,
            category,
            risk,
            decided_by,
            rule,
        })
        .collect();
    Ok(Json(summarise(source, results)))
}

/// The `code-review` server.
pub fn server() -> Server {
    Server::builder("code-review")
        .instructions(
            "Categorises the files of a diff (bug-fix, feature, refactor, performance, \
             security-sensitive, docs, tests, chore) with a risk level (low, medium, high). \
             Lock files, docs, tests, generated and binary files, renames and whitespace-only \
             changes are decided in code; the client's LLM (MCP sampling) judges the rest, all \
             files at once. The rules are in the resource code-review://rules.",
        )
        .tool(
            "categorize_diff",
            "Categorise each file of a unified diff (or of a git repository's revision range) \
             with a category and a risk level; trivial files are decided in code, the rest by \
             the client's LLM in one round. Returns per-file results and a summary.",
            categorize_diff,
        )
        .resource("code-review://rules", "rules", "text/markdown", || async {
            Ok(RULES_DOC)
        })
        .build()
}

/// The rules as the `code-review://rules` resource shows them.
const RULES_DOC: &str = "# What code decides without a model\n\n\
- binary files: chore (low risk for images, fonts and media, medium otherwise)\n\
- dependency lock files (Cargo.lock, package-lock.json, yarn.lock, go.sum, ...): chore, low\n\
- generated files (`generated/`, `dist/`, `vendor/`, `*.min.js`, `*.pb.go`, an `@generated` or `DO NOT EDIT` marker): chore, low\n\
- documentation (Markdown, reStructuredText, AsciiDoc, README, LICENSE, CHANGELOG): docs, low\n\
- tests (`tests/`, `test/`, `__tests__/`, `spec/`, `*_test.go`, `test_*.py`, `*.test.ts`, `*Test.java`): tests, low\n\
- renames and copies without changes: refactor, low; mode changes and empty files: chore, low\n\
- whitespace-only changes (not in Python, YAML, Makefiles, Haskell): chore, low\n\n\
Everything else is judged by the model (category and risk); when it gives no usable answer, \
a fallback in code decides: security words in the path or added lines make a file \
security-sensitive and high risk; otherwise new files are features, small edits bug fixes, \
large ones refactors, with the risk growing with the lines changed.\n";
