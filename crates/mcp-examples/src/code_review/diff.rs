//! A unified diff parsed into files and hunks: `git diff` output (extended headers: new and
//! deleted files, renames and copies, mode changes, binary files) and plain `diff -u`
//! output. Hunks are read by their line counts, so a removed line that starts with `--`
//! is not taken for a header; `\ No newline at end of file` markers are skipped. Lines
//! outside files and hunks (a commit message, `index` lines) are ignored, as `patch` does;
//! anything that breaks the format is a [`DiffError`] naming the line.

use schemars::JsonSchema;
use serde::Serialize;

/// What happened to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// A new file.
    Added,
    /// A removed file.
    Deleted,
    /// A changed file.
    Modified,
    /// A file moved (perhaps changed too).
    Renamed,
    /// A file copied (perhaps changed too).
    Copied,
}

/// One line of a hunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// Unchanged.
    Context(String),
    /// Added.
    Added(String),
    /// Removed.
    Removed(String),
}

/// One hunk: its `@@` header and its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// The header line (`@@ -1,3 +1,4 @@ fn main`).
    pub header: String,
    /// The lines, in order.
    pub lines: Vec<Line>,
}

/// One file of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    /// The file's path (the new one; the old one for a deleted file).
    pub path: String,
    /// The old path, when it differs (a rename or a copy).
    pub old_path: Option<String>,
    /// What happened to it.
    pub kind: ChangeKind,
    /// Whether git reported it as binary (no hunks then).
    pub binary: bool,
    /// Old and new mode, when the mode changed.
    pub mode_change: Option<(String, String)>,
    /// Its hunks.
    pub hunks: Vec<Hunk>,
}

impl FileDiff {
    fn new(path: String) -> FileDiff {
        FileDiff {
            path,
            old_path: None,
            kind: ChangeKind::Modified,
            binary: false,
            mode_change: None,
            hunks: Vec::new(),
        }
    }

    /// Lines added.
    pub fn added(&self) -> usize {
        self.count(|l| matches!(l, Line::Added(_)))
    }

    /// Lines removed.
    pub fn removed(&self) -> usize {
        self.count(|l| matches!(l, Line::Removed(_)))
    }

    fn count(&self, f: impl Fn(&Line) -> bool) -> usize {
        self.hunks
            .iter()
            .map(|h| h.lines.iter().filter(|l| f(l)).count())
            .sum()
    }
}

/// Why a diff could not be parsed: the line (from 1) and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct DiffError {
    /// The line, counted from 1.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, DiffError> {
    Err(DiffError {
        line: line + 1,
        message: message.into(),
    })
}

/// Undoes git's quoting of a path (`"a/t\303\244st"`): escapes and octal bytes.
fn unquote(s: &str) -> String {
    let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return s.to_owned();
    };
    let mut bytes = Vec::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('n') => bytes.push(b'\n'),
            Some('t') => bytes.push(b'\t'),
            Some(d @ '0'..='7') => {
                let mut v = d.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    if let Some(n) = chars.peek().and_then(|c| c.to_digit(8)) {
                        v = v * 8 + n;
                        chars.next();
                    }
                }
                bytes.push(u8::try_from(v).unwrap_or(b'?'));
            }
            Some(other) => {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
            }
            None => bytes.push(b'\\'),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The path of a `---`/`+++` line: None for `/dev/null`; a timestamp after a tab and the
/// `a/` or `b/` prefix dropped.
fn header_path(rest: &str, prefix: &str) -> Option<String> {
    let rest = rest.split('\t').next().unwrap_or(rest).trim_end();
    let p = unquote(rest);
    if p == "/dev/null" {
        return None;
    }
    Some(p.strip_prefix(prefix).map(str::to_owned).unwrap_or(p))
}

/// The two paths of `diff --git a/X b/Y` (best effort; `---`/`+++` and rename lines,
/// when present, say it better).
fn git_paths(rest: &str) -> (String, String) {
    if rest.starts_with('"') {
        if let Some(end) = rest.get(1..).and_then(|r| r.find("\" ")) {
            let (a, b) = rest.split_at(end + 2);
            return strip_ab(&unquote(a), &unquote(b.trim_start()));
        }
    }
    // The same path twice: "a/P b/P".
    let n = rest.chars().count();
    if n >= 5 && n % 2 == 1 {
        let half: String = rest.chars().take(n / 2).collect();
        let tail: String = rest.chars().skip(n / 2 + 1).collect();
        if half.strip_prefix("a/") == tail.strip_prefix("b/") && half.starts_with("a/") {
            return strip_ab(&half, &tail);
        }
    }
    match rest.find(" b/") {
        Some(at) => {
            let (a, b) = rest.split_at(at);
            strip_ab(a, &unquote(b.trim_start()))
        }
        None => (rest.to_owned(), rest.to_owned()),
    }
}

fn strip_ab(a: &str, b: &str) -> (String, String) {
    let a = a.trim_end_matches(' ');
    (
        a.strip_prefix("a/").unwrap_or(a).to_owned(),
        b.strip_prefix("b/").unwrap_or(b).to_owned(),
    )
}

/// `-l,s` or `+l` of a hunk header: the line count (1 when omitted).
fn range_len(s: &str, sign: char) -> Option<usize> {
    let s = s.strip_prefix(sign)?;
    let (start, len) = match s.split_once(',') {
        Some((a, b)) => (a, b.parse().ok()?),
        None => (s, 1),
    };
    start.parse::<usize>().ok()?;
    Some(len)
}

/// The old and new line counts of a hunk header.
fn hunk_counts(header: &str) -> Option<(usize, usize)> {
    let body = header.strip_prefix("@@ ")?;
    let (ranges, _) = body.split_once(" @@")?;
    let (old, new) = ranges.split_once(' ')?;
    Some((range_len(old, '-')?, range_len(new, '+')?))
}

/// The parser: the lines and where it is.
struct Parser<'a> {
    lines: Vec<&'a str>,
    at: usize,
    files: Vec<FileDiff>,
}

/// Parses a unified diff into its files.
///
/// Errors: no file in the text, a `---` line without its `+++`, a malformed `@@` header, a
/// hunk whose lines do not add up to its header's counts, a combined (merge) diff.
pub fn parse(text: &str) -> Result<Vec<FileDiff>, DiffError> {
    let mut p = Parser {
        lines: text.lines().collect(),
        at: 0,
        files: Vec::new(),
    };
    while p.at < p.lines.len() {
        let l = p.lines[p.at];
        if let Some(rest) = l.strip_prefix("diff --git ") {
            p.git_file(rest)?;
        } else if l.starts_with("diff --cc ") || l.starts_with("@@@ ") {
            return err(p.at, "combined (merge) diffs are not supported");
        } else if l.starts_with("--- ") {
            p.plain_file()?;
        } else if l.starts_with("@@") {
            return err(
                p.at,
                "a hunk that belongs to no file (no ---/+++ header before it)",
            );
        } else if l.starts_with("+++ ") {
            return err(p.at, "a +++ line with no --- line before it");
        } else {
            p.at += 1;
        }
    }
    if p.files.is_empty() {
        return err(
            0,
            "no file changes found (expected `diff --git`, `---`/`+++` and `@@` lines)",
        );
    }
    Ok(p.files)
}

impl Parser<'_> {
    fn git_file(&mut self, rest: &str) -> Result<(), DiffError> {
        let (old, new) = git_paths(rest);
        let mut f = FileDiff::new(new.clone());
        if old != new {
            f.old_path = Some(old);
            f.kind = ChangeKind::Renamed;
        }
        let mut old_mode = None;
        self.at += 1;
        while let Some(&l) = self.lines.get(self.at) {
            if let Some(m) = l.strip_prefix("old mode ") {
                old_mode = Some(m.trim().to_owned());
            } else if let Some(m) = l.strip_prefix("new mode ") {
                let from = old_mode.clone().unwrap_or_default();
                f.mode_change = Some((from, m.trim().to_owned()));
            } else if l.starts_with("new file mode ") {
                f.kind = ChangeKind::Added;
            } else if l.starts_with("deleted file mode ") {
                f.kind = ChangeKind::Deleted;
            } else if let Some(p) = l.strip_prefix("rename from ") {
                f.old_path = Some(unquote(p));
                f.kind = ChangeKind::Renamed;
            } else if let Some(p) = l.strip_prefix("rename to ") {
                f.path = unquote(p);
            } else if let Some(p) = l.strip_prefix("copy from ") {
                f.old_path = Some(unquote(p));
                f.kind = ChangeKind::Copied;
            } else if let Some(p) = l.strip_prefix("copy to ") {
                f.path = unquote(p);
            } else if l.starts_with("Binary files ") || l == "GIT binary patch" {
                f.binary = true;
                self.skip_binary();
                break;
            } else if l.starts_with("--- ") {
                self.headers(&mut f)?;
                break;
            } else if !(l.starts_with("index ")
                || l.starts_with("similarity index ")
                || l.starts_with("dissimilarity index "))
            {
                break;
            }
            self.at += 1;
        }
        if f.kind == ChangeKind::Deleted {
            f.old_path = None;
        }
        if f.old_path.as_deref() == Some(f.path.as_str()) {
            f.old_path = None;
        }
        self.files.push(f);
        Ok(())
    }

    /// Skips a binary patch's data (up to the next file).
    fn skip_binary(&mut self) {
        self.at += 1;
        while let Some(l) = self.lines.get(self.at) {
            if l.starts_with("diff ") {
                break;
            }
            self.at += 1;
        }
    }

    fn plain_file(&mut self) -> Result<(), DiffError> {
        let mut f = FileDiff::new(String::new());
        self.headers(&mut f)?;
        // `diff -u old.c new.c` names two files for one: a change of the new one.
        if f.kind == ChangeKind::Renamed {
            f.kind = ChangeKind::Modified;
            f.old_path = None;
        }
        self.files.push(f);
        Ok(())
    }

    /// The `---`/`+++` pair at `self.at`, then the hunks that follow.
    fn headers(&mut self, f: &mut FileDiff) -> Result<(), DiffError> {
        let old = self.lines[self.at].strip_prefix("--- ").unwrap_or_default();
        let Some(new) = self
            .lines
            .get(self.at + 1)
            .and_then(|l| l.strip_prefix("+++ "))
        else {
            return err(self.at + 1, "a --- line must be followed by a +++ line");
        };
        let (old, new) = (header_path(old, "a/"), header_path(new, "b/"));
        match (old, new) {
            (None, Some(n)) => {
                f.kind = ChangeKind::Added;
                f.path = n;
            }
            (Some(o), None) => {
                f.kind = ChangeKind::Deleted;
                f.path = o;
            }
            (Some(o), Some(n)) => {
                if f.path.is_empty() {
                    f.path = n.clone();
                    if o != n {
                        f.old_path = Some(o);
                        f.kind = ChangeKind::Renamed;
                    }
                }
            }
            (None, None) => return err(self.at, "both sides of the file are /dev/null"),
        }
        self.at += 2;
        while self.lines.get(self.at).is_some_and(|l| l.starts_with("@@")) {
            f.hunks.push(self.hunk(&f.path)?);
        }
        if f.hunks.is_empty() {
            return err(
                self.at,
                format!("{} has ---/+++ headers but no @@ hunk", f.path),
            );
        }
        Ok(())
    }

    /// The hunk whose header is at `self.at`.
    fn hunk(&mut self, path: &str) -> Result<Hunk, DiffError> {
        let header = self.lines[self.at];
        let Some((mut old, mut new)) = hunk_counts(header) else {
            return err(
                self.at,
                format!("malformed hunk header {header:?} (expected @@ -a,b +c,d @@)"),
            );
        };
        let start = self.at;
        let mut lines = Vec::new();
        self.at += 1;
        while old > 0 || new > 0 {
            let Some(&l) = self.lines.get(self.at) else {
                return err(
                    start,
                    format!(
                        "the hunk of {path} ends early: {old} old and {new} new lines are missing"
                    ),
                );
            };
            let mut chars = l.chars();
            let line = match chars.next() {
                Some(' ') | None if old > 0 && new > 0 => {
                    old -= 1;
                    new -= 1;
                    Line::Context(chars.as_str().to_owned())
                }
                Some('-') if old > 0 => {
                    old -= 1;
                    Line::Removed(chars.as_str().to_owned())
                }
                Some('+') if new > 0 => {
                    new -= 1;
                    Line::Added(chars.as_str().to_owned())
                }
                Some('\\') => {
                    self.at += 1;
                    continue;
                }
                _ => {
                    return err(
                        self.at,
                        format!(
                            "unexpected line in the hunk of {path} ({old} old and {new} new lines still expected)"
                        ),
                    )
                }
            };
            lines.push(line);
            self.at += 1;
        }
        while self.lines.get(self.at).is_some_and(|l| l.starts_with('\\')) {
            self.at += 1;
        }
        Ok(Hunk {
            header: header.to_owned(),
            lines,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(ls: &[&str]) -> String {
        ls.join("\n") + "\n"
    }

    #[test]
    fn git_headers_renames_deletions_and_quoted_paths() {
        let d = text(&[
            "commit 0123abc",
            "    a message line that is ignored",
            "diff --git a/src/old.rs b/src/new.rs",
            "similarity index 90%",
            "rename from src/old.rs",
            "rename to src/new.rs",
            "index 1111111..2222222 100644",
            "--- a/src/old.rs",
            "+++ b/src/new.rs",
            "@@ -1,2 +1,2 @@ fn f()",
            "--- a removed line that looks like a header",
            "+++ an added one",
            " same",
            "diff --git a/gone.txt b/gone.txt",
            "deleted file mode 100644",
            "--- a/gone.txt",
            "+++ /dev/null",
            "@@ -1 +0,0 @@",
            "-bye",
            "\\ No newline at end of file",
            "diff --git \"a/t\\303\\244st file.md\" \"b/t\\303\\244st file.md\"",
            "new file mode 100644",
            "--- /dev/null",
            "+++ \"b/t\\303\\244st file.md\"",
            "@@ -0,0 +1 @@",
            "+hej",
        ]);
        let files = parse(&d).unwrap();
        assert_eq!(files.len(), 3);
        assert_eq!(files[0].path, "src/new.rs");
        assert_eq!(files[0].old_path.as_deref(), Some("src/old.rs"));
        assert_eq!(files[0].kind, ChangeKind::Renamed);
        assert_eq!((files[0].added(), files[0].removed()), (1, 1));
        assert_eq!(
            files[0].hunks[0].lines[0],
            Line::Removed("-- a removed line that looks like a header".into())
        );
        assert_eq!(files[1].kind, ChangeKind::Deleted);
        assert_eq!(files[1].path, "gone.txt");
        assert_eq!(files[1].old_path, None);
        assert_eq!(files[2].path, "täst file.md");
        assert_eq!(files[2].kind, ChangeKind::Added);
    }

    #[test]
    fn plain_unified_diffs_and_errors() {
        let d = text(&[
            "--- lib.c.orig\t2024-05-01 10:00:00",
            "+++ lib.c\t2024-05-02 10:00:00",
            "@@ -3 +3 @@",
            "-int x = 1;",
            "+int x = 2;",
        ]);
        let files = parse(&d).unwrap();
        assert_eq!(files[0].path, "lib.c");
        assert_eq!(files[0].kind, ChangeKind::Modified);
        assert_eq!(files[0].old_path, None);
        let e = parse(&text(&["--- a/x", "+++ b/x", "@@ -1,2 +1,2 @@", " a"])).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("ends early"), "{e}");
        let e = parse(&text(&["--- a/x", "+++ b/x", "@@ -1 +1 @@", "+a", "+b"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 5: unexpected line in the hunk of x (1 old and 0 new lines still expected)"
        );
        assert!(parse("").is_err());
        assert!(parse(&text(&[
            "--- /dev/null",
            "+++ /dev/null",
            "@@ -0,0 +0,0 @@"
        ]))
        .is_err());
    }
}
