//! What code decides about a changed file without a model, and the fallback used when the
//! model gives no usable answer.
//!
//! Decided in code, in this order: binary files; dependency lock files; generated files
//! (by path, or an `@generated` / `DO NOT EDIT` / `Code generated` marker in the added
//! lines); documentation (Markdown, reStructuredText, AsciiDoc, plain text under `docs/`,
//! README, LICENSE, CHANGELOG...); test files (under `tests/`, `test/`, `__tests__/`, `spec/`, or
//! named like `*_test.go`, `test_*.py`, `*.test.ts`, `*Test.java`); a rename, a mode change
//! or a new empty file with no content change; and changes of whitespace only, except in
//! languages where indentation is syntax (Python, YAML, Makefiles, Haskell, ...).

use super::diff::{ChangeKind, FileDiff, Line};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What kind of change a file holds.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Fixes wrong behaviour.
    BugFix,
    /// Adds behaviour.
    Feature,
    /// Restructures code without changing behaviour.
    Refactor,
    /// Makes code faster or leaner.
    Performance,
    /// Touches authentication, authorisation, cryptography, secrets or input handling.
    SecuritySensitive,
    /// Documentation.
    Docs,
    /// Tests.
    Tests,
    /// Build, dependencies, formatting, generated files.
    Chore,
}

/// Every category with what it means, for the model.
pub const CATEGORIES: [(Category, &str, &str); 8] = [
    (Category::BugFix, "bug-fix", "fixes wrong behaviour"),
    (Category::Feature, "feature", "adds new behaviour"),
    (
        Category::Refactor,
        "refactor",
        "restructures code, same behaviour",
    ),
    (
        Category::Performance,
        "performance",
        "makes code faster or use less memory",
    ),
    (
        Category::SecuritySensitive,
        "security-sensitive",
        "touches authentication, permissions, cryptography, secrets or untrusted input",
    ),
    (Category::Docs, "docs", "documentation or comments only"),
    (Category::Tests, "tests", "tests only"),
    (
        Category::Chore,
        "chore",
        "build, dependencies, configuration, formatting",
    ),
];

/// How risky a change is to merge.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    /// Unlikely to break anything.
    Low,
    /// Worth a careful look.
    Medium,
    /// Could break behaviour or security.
    High,
}

/// A decision made in code: category, risk, and why.
pub type Decision = (Category, Risk, &'static str);

const LOCK_FILES: &[&str] = &[
    "Cargo.lock",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "Gemfile.lock",
    "poetry.lock",
    "Pipfile.lock",
    "composer.lock",
    "go.sum",
    "uv.lock",
    "flake.lock",
    "mix.lock",
    "pubspec.lock",
    "Podfile.lock",
    "packages.lock.json",
    "bun.lockb",
];
const DOC_EXTS: &[&str] = &["md", "markdown", "rst", "adoc", "asciidoc"];
const DOC_NAMES: &[&str] = &[
    "readme",
    "license",
    "licence",
    "changelog",
    "changes",
    "authors",
    "contributing",
    "notice",
    "copying",
    "history",
];
const MEDIA_EXTS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "ico", "webp", "bmp", "pdf", "woff", "woff2", "ttf", "otf",
    "mp3", "mp4", "wav",
];
/// Where whitespace is syntax: a whitespace-only change there is not trivial.
const INDENT_SIGNIFICANT: &[&str] = &["py", "yaml", "yml", "mk", "hs", "coffee", "pug", "nim"];

/// The file name and its lower-case extension.
fn name_ext(path: &str) -> (&str, String) {
    let name = path.rsplit('/').next().unwrap_or(path);
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_lowercase())
        .unwrap_or_default();
    (name, ext)
}

fn is_lock(path: &str) -> bool {
    LOCK_FILES.contains(&name_ext(path).0)
}

fn is_generated(f: &FileDiff) -> bool {
    let p = f.path.to_lowercase();
    let (name, _) = name_ext(&p);
    let by_path = p
        .split('/')
        .any(|d| d == "generated" || d == "dist" || d == "vendor")
        || name.ends_with(".min.js")
        || name.ends_with(".min.css")
        || name.ends_with(".pb.go")
        || name.ends_with("_pb2.py")
        || name.contains(".generated.")
        || name.ends_with(".g.dart");
    by_path
        || added_lines(f).take(10).any(|l| {
            l.contains("@generated") || l.contains("DO NOT EDIT") || l.contains("Code generated")
        })
}

fn is_docs(path: &str) -> bool {
    let (name, ext) = name_ext(path);
    let stem = name.split('.').next().unwrap_or(name).to_lowercase();
    let in_docs = path
        .split('/')
        .rev()
        .skip(1)
        .any(|d| d == "docs" || d == "doc");
    DOC_EXTS.contains(&ext.as_str())
        || (DOC_NAMES.contains(&stem.as_str()) && (ext.is_empty() || ext == "txt"))
        || (ext == "txt" && in_docs)
}

fn is_test(path: &str) -> bool {
    let p = path.to_lowercase();
    let (name, _) = name_ext(&p);
    let in_test_dir = p
        .split('/')
        .rev()
        .skip(1)
        .any(|d| matches!(d, "tests" | "test" | "__tests__" | "spec" | "testdata"));
    let orig_name = name_ext(path).0;
    in_test_dir
        || name.ends_with("_test.go")
        || name.ends_with("_test.py")
        || (name.starts_with("test_") && name.ends_with(".py"))
        || [".test.", ".spec."].iter().any(|m| name.contains(m))
        || orig_name.ends_with("Test.java")
        || orig_name.ends_with("Tests.cs")
        || name.ends_with("_spec.rb")
}

fn added_lines(f: &FileDiff) -> impl Iterator<Item = &str> {
    f.hunks
        .iter()
        .flat_map(|h| h.lines.iter())
        .filter_map(|l| match l {
            Line::Added(s) => Some(s.as_str()),
            _ => None,
        })
}

/// Whether every hunk changes whitespace only: its removed and added lines are equal once
/// all whitespace is dropped.
fn whitespace_only(f: &FileDiff) -> bool {
    fn squash<'a>(lines: impl Iterator<Item = &'a str>) -> String {
        lines
            .flat_map(str::chars)
            .filter(|c| !c.is_whitespace())
            .collect()
    }
    !f.hunks.is_empty()
        && f.hunks.iter().all(|h| {
            let removed = h.lines.iter().filter_map(|l| match l {
                Line::Removed(s) => Some(s.as_str()),
                _ => None,
            });
            let added = h.lines.iter().filter_map(|l| match l {
                Line::Added(s) => Some(s.as_str()),
                _ => None,
            });
            squash(removed) == squash(added)
        })
}

/// The decision code makes for `f`, if it can make one.
pub fn by_rule(f: &FileDiff) -> Option<Decision> {
    let (name, ext) = name_ext(&f.path);
    if f.binary {
        let risk = if MEDIA_EXTS.contains(&ext.as_str()) {
            Risk::Low
        } else {
            Risk::Medium
        };
        return Some((Category::Chore, risk, "binary file"));
    }
    if is_lock(&f.path) {
        return Some((Category::Chore, Risk::Low, "dependency lock file"));
    }
    if is_generated(f) {
        return Some((Category::Chore, Risk::Low, "generated file"));
    }
    if is_docs(&f.path) {
        return Some((Category::Docs, Risk::Low, "documentation file"));
    }
    if is_test(&f.path) {
        return Some((Category::Tests, Risk::Low, "test file"));
    }
    if f.hunks.is_empty() {
        return Some(match (f.kind, &f.mode_change) {
            (ChangeKind::Renamed | ChangeKind::Copied, _) => {
                (Category::Refactor, Risk::Low, "moved without changes")
            }
            (_, Some(_)) => (Category::Chore, Risk::Low, "file mode change only"),
            _ => (Category::Chore, Risk::Low, "empty file"),
        });
    }
    let significant = INDENT_SIGNIFICANT.contains(&ext.as_str()) || name == "Makefile";
    if !significant && f.kind == ChangeKind::Modified && whitespace_only(f) {
        return Some((Category::Chore, Risk::Low, "whitespace-only change"));
    }
    None
}

const SECURITY_WORDS: &[&str] = &[
    "auth",
    "login",
    "password",
    "passwd",
    "secret",
    "token",
    "crypto",
    "session",
    "permission",
    "oauth",
    "jwt",
    "csrf",
    "sanitiz",
    "credential",
    "privilege",
    "cipher",
];

/// The fallback decision when the model gives none: security words in the path or the
/// added lines make it security-sensitive and high risk; otherwise a new file is a
/// feature, a deleted one a refactor, a small edit a bug fix and a large one a refactor,
/// with the risk growing with the lines changed (20, 200).
pub fn fallback(f: &FileDiff) -> (Category, Risk) {
    let path = f.path.to_lowercase();
    let touches = |s: &str| {
        let s = s.to_lowercase();
        SECURITY_WORDS.iter().any(|w| s.contains(w))
    };
    if touches(&path) || added_lines(f).any(touches) {
        return (Category::SecuritySensitive, Risk::High);
    }
    let changed = f.added() + f.removed();
    let risk = match changed {
        0..=20 => Risk::Low,
        21..=200 => Risk::Medium,
        _ => Risk::High,
    };
    let category = match f.kind {
        ChangeKind::Added => Category::Feature,
        ChangeKind::Deleted => Category::Refactor,
        _ if changed <= 10 => Category::BugFix,
        _ => Category::Refactor,
    };
    (category, risk)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code_review::diff::Hunk;

    fn file(path: &str, lines: Vec<Line>) -> FileDiff {
        FileDiff {
            path: path.into(),
            old_path: None,
            kind: ChangeKind::Modified,
            binary: false,
            mode_change: None,
            hunks: vec![Hunk {
                header: "@@ -1 +1 @@".into(),
                lines,
            }],
        }
    }

    #[test]
    fn trivial_files_are_decided_in_code() {
        let plain = || vec![Line::Removed("a".into()), Line::Added("b".into())];
        let rule = |p: &str| by_rule(&file(p, plain())).map(|d| d.2);
        assert_eq!(rule("Cargo.lock"), Some("dependency lock file"));
        assert_eq!(rule("web/package-lock.json"), Some("dependency lock file"));
        assert_eq!(rule("docs/guide.md"), Some("documentation file"));
        assert_eq!(rule("LICENSE"), Some("documentation file"));
        assert_eq!(rule("requirements.txt"), None);
        assert_eq!(rule("docs/notes.txt"), Some("documentation file"));
        assert_eq!(rule("src/foo_test.go"), Some("test file"));
        assert_eq!(rule("crates/x/tests/it.rs"), Some("test file"));
        assert_eq!(rule("ui/Button.test.tsx"), Some("test file"));
        assert_eq!(rule("static/app.min.js"), Some("generated file"));
        assert_eq!(rule("src/main.rs"), None);
        assert_eq!(rule("src/latest.rs"), None);
        let ws = vec![
            Line::Removed("if x {return 1;}".into()),
            Line::Added("if x {".into()),
            Line::Added("    return 1;".into()),
            Line::Added("}".into()),
        ];
        assert_eq!(
            by_rule(&file("src/a.rs", ws.clone())).map(|d| d.2),
            Some("whitespace-only change")
        );
        assert_eq!(
            by_rule(&file("src/a.py", ws)),
            None,
            "indentation is syntax"
        );
        let gen = vec![Line::Added(
            "// Code generated by protoc. DO NOT EDIT.".into(),
        )];
        assert_eq!(
            by_rule(&file("api/x.go", gen)).map(|d| d.2),
            Some("generated file")
        );
    }

    #[test]
    fn the_fallback_reads_paths_and_size() {
        let small = file("src/auth/session.rs", vec![Line::Added("x".into())]);
        assert_eq!(fallback(&small), (Category::SecuritySensitive, Risk::High));
        let edit = file("src/parse.rs", vec![Line::Added("x".into())]);
        assert_eq!(fallback(&edit), (Category::BugFix, Risk::Low));
        let big = file("src/parse.rs", vec![Line::Added("y".into()); 300]);
        assert_eq!(fallback(&big), (Category::Refactor, Risk::High));
        assert!(Risk::High > Risk::Medium && Risk::Medium > Risk::Low);
    }
}
