//! The documents of the knowledge base: the shipped corpus (embedded in the binary), or a
//! user's folder read with limits; each document split into sections by its headings.

use std::path::{Path, PathBuf};

/// Most documents read from a `--docs` folder.
pub const MAX_FILES: usize = 500;
/// Largest document read from a `--docs` folder, in bytes.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Deepest sub-folder searched under a `--docs` folder.
pub const MAX_DEPTH: usize = 8;
/// The extensions read (lower case, no dot).
pub const EXTENSIONS: [&str; 3] = ["md", "markdown", "txt"];

/// The shipped corpus: (file name, text).
const SHIPPED: &[(&str, &str)] = &[
    ("overview.md", include_str!("../../data/kb/overview.md")),
    (
        "sampling-basics.md",
        include_str!("../../data/kb/sampling-basics.md"),
    ),
    ("eras.md", include_str!("../../data/kb/eras.md")),
    ("cli-call.md", include_str!("../../data/kb/cli-call.md")),
    ("cli-serve.md", include_str!("../../data/kb/cli-serve.md")),
    (
        "host-config.md",
        include_str!("../../data/kb/host-config.md"),
    ),
    ("approval.md", include_str!("../../data/kb/approval.md")),
    ("providers.md", include_str!("../../data/kb/providers.md")),
    (
        "embedded-model.md",
        include_str!("../../data/kb/embedded-model.md"),
    ),
    (
        "typed-output.md",
        include_str!("../../data/kb/typed-output.md"),
    ),
    (
        "limits-and-depth.md",
        include_str!("../../data/kb/limits-and-depth.md"),
    ),
    ("server-sdk.md", include_str!("../../data/kb/server-sdk.md")),
    (
        "elicitation.md",
        include_str!("../../data/kb/elicitation.md"),
    ),
    ("audit-log.md", include_str!("../../data/kb/audit-log.md")),
    (
        "http-transport.md",
        include_str!("../../data/kb/http-transport.md"),
    ),
    (
        "troubleshooting.md",
        include_str!("../../data/kb/troubleshooting.md"),
    ),
    ("kb-search.md", include_str!("../../data/kb/kb-search.md")),
    ("glossary.txt", include_str!("../../data/kb/glossary.txt")),
];

/// One section of a document: the text under one heading.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// The document's path, relative to the corpus folder (`/` separated).
    pub file: String,
    /// The heading (the document's title or file name for text before the first heading).
    pub heading: String,
    /// The text under the heading.
    pub body: String,
}

/// A document that was indexed, for the `kb://documents` resource.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DocInfo {
    /// Its path, relative to the corpus folder.
    pub file: String,
    /// Its title: the first heading, else the file name.
    pub title: String,
    /// Its section headings, in order.
    pub sections: Vec<String>,
    /// Its size in bytes.
    pub bytes: usize,
}

/// A file of the folder that was not indexed, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Skipped {
    /// Its path, relative to the corpus folder.
    pub file: String,
    /// Why it was skipped.
    pub why: String,
}

/// Every section of every document, and what was skipped.
#[derive(Debug, Clone, Default)]
pub struct Corpus {
    /// Where the documents came from (`shipped corpus` or the folder).
    pub source: String,
    /// The sections, document by document.
    pub sections: Vec<Section>,
    /// The documents.
    pub docs: Vec<DocInfo>,
    /// Files not indexed.
    pub skipped: Vec<Skipped>,
}

impl Corpus {
    /// The corpus that ships with the project.
    pub fn shipped() -> Corpus {
        let mut c = Corpus {
            source: "shipped corpus".into(),
            ..Corpus::default()
        };
        for (name, text) in SHIPPED {
            c.add(name, text);
        }
        c
    }

    /// The documents of `dir` (see the module docs for the limits). Errors: a folder that
    /// does not exist or cannot be read, too many documents, or none at all.
    pub fn from_dir(dir: &Path) -> Result<Corpus, String> {
        let shown = dir.display();
        let meta = std::fs::metadata(dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("the docs folder {shown} does not exist"),
            _ => format!("the docs folder {shown} cannot be read: {e}"),
        })?;
        if !meta.is_dir() {
            return Err(format!("--docs {shown} is not a folder"));
        }
        let root = dir
            .canonicalize()
            .map_err(|e| format!("the docs folder {shown} cannot be read: {e}"))?;
        let mut c = Corpus {
            source: root.display().to_string(),
            ..Corpus::default()
        };
        let mut files = Vec::new();
        walk(&root, &root, 0, &mut files, &mut c.skipped)?;
        files.sort();
        if files.len() > MAX_FILES {
            return Err(format!(
                "the docs folder {shown} holds {} documents, more than the {MAX_FILES} the knowledge base indexes; point --docs at a smaller folder",
                files.len()
            ));
        }
        for path in files {
            let rel = relative(&root, &path);
            match read_doc(&path) {
                Ok(text) => c.add(&rel, &text),
                Err(why) => c.skipped.push(Skipped { file: rel, why }),
            }
        }
        if c.docs.is_empty() {
            return Err(format!(
                "the docs folder {shown} holds no documents (.md, .markdown or .txt files with text, at most {} KiB each)",
                MAX_FILE_BYTES / 1024
            ));
        }
        Ok(c)
    }

    /// Splits `text` into sections and adds them.
    fn add(&mut self, file: &str, text: &str) {
        let sections = split_sections(file, text);
        if sections.is_empty() {
            self.skipped.push(Skipped {
                file: file.into(),
                why: "it holds no text".into(),
            });
            return;
        }
        self.docs.push(DocInfo {
            file: file.into(),
            title: sections[0].heading.clone(),
            sections: sections.iter().map(|s| s.heading.clone()).collect(),
            bytes: text.len(),
        });
        self.sections.extend(sections);
    }
}

/// Collects the documents under `dir`; links that lead outside `root` and hidden entries are
/// skipped.
fn walk(
    root: &Path,
    dir: &Path,
    depth: usize,
    files: &mut Vec<PathBuf>,
    skipped: &mut Vec<Skipped>,
) -> Result<(), String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("the folder {} cannot be read: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let rel = relative(root, &path);
        // Follow links only when they stay inside the folder.
        let Ok(real) = path.canonicalize() else {
            skipped.push(Skipped {
                file: rel,
                why: "a broken link".into(),
            });
            continue;
        };
        if !real.starts_with(root) {
            skipped.push(Skipped {
                file: rel,
                why: "a link that leads outside the docs folder".into(),
            });
            continue;
        }
        let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
        if real.is_dir() {
            if is_link {
                skipped.push(Skipped {
                    file: rel,
                    why: "a link to a folder (not followed)".into(),
                });
            } else if depth + 1 >= MAX_DEPTH {
                skipped.push(Skipped {
                    file: rel,
                    why: format!("deeper than {MAX_DEPTH} folders"),
                });
            } else {
                walk(root, &path, depth + 1, files, skipped)?;
            }
            continue;
        }
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        if EXTENSIONS.contains(&ext.as_str()) {
            files.push(path);
            if files.len() > MAX_FILES {
                // Enough to say there are too many; the caller reports it.
                return Ok(());
            }
        }
    }
    Ok(())
}

/// `path` relative to `root`, `/` separated.
fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The text of one document, within the size limit and in UTF-8.
fn read_doc(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot be read: {e}"))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "larger than {} KiB ({} bytes)",
            MAX_FILE_BYTES / 1024,
            meta.len()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot be read: {e}"))?;
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned())
}

/// The heading a Markdown line starts, if it is one (`# Title` .. `###### Title`).
fn heading_of(line: &str) -> Option<&str> {
    let rest = line.trim_start_matches('#');
    let hashes = line.len() - rest.len();
    if hashes == 0 || hashes > 6 {
        return None;
    }
    if !rest.starts_with(' ') {
        return None;
    }
    let title = rest.trim().trim_end_matches('#').trim();
    (!title.is_empty()).then_some(title)
}

/// Splits a document into sections at its headings (not inside code fences). Text before
/// the first heading gets the file's name as heading; a `.txt` file is one section titled
/// by its first line. Sections without a letter or digit are left out.
pub fn split_sections(file: &str, text: &str) -> Vec<Section> {
    let markdown = !file.to_lowercase().ends_with(".txt");
    let stem = file.rsplit('/').next().unwrap_or(file);
    let mut out = Vec::new();
    let mut heading = stem.to_owned();
    let mut body = String::new();
    let mut in_fence = false;
    let mut first_line = true;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
        }
        let new_heading = if markdown && !in_fence {
            heading_of(line)
        } else if !markdown && first_line && !line.trim().is_empty() {
            Some(line.trim())
        } else {
            None
        };
        if !line.trim().is_empty() {
            first_line = false;
        }
        match new_heading {
            Some(h) => {
                push_section(&mut out, file, &heading, &body);
                heading = h.to_owned();
                body.clear();
            }
            None => {
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    push_section(&mut out, file, &heading, &body);
    out
}

fn push_section(out: &mut Vec<Section>, file: &str, heading: &str, body: &str) {
    let body = body.trim();
    if !body.chars().any(char::is_alphanumeric) {
        return;
    }
    out.push(Section {
        file: file.into(),
        heading: heading.into(),
        body: body.into(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_markdown_by_heading_outside_fences() {
        let text =
            "intro\n# Title\n\nabout\n```\n# not a heading\n```\n## Part two\nmore\n##\n#nope\n";
        let s = split_sections("dir/a.md", text);
        let headings: Vec<&str> = s.iter().map(|s| s.heading.as_str()).collect();
        assert_eq!(headings, ["a.md", "Title", "Part two"]);
        assert!(s[1].body.contains("# not a heading"));
        assert!(s[2].body.contains("#nope"));
        let t = split_sections("g.txt", "\nGlossary\n\nMCP: a protocol.\n# kept\n");
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].heading, "Glossary");
        assert!(t[0].body.contains("# kept"));
    }

    #[test]
    fn the_shipped_corpus_has_documents_and_sections() {
        let c = Corpus::shipped();
        assert!(c.docs.len() >= 12, "{}", c.docs.len());
        assert!(c.skipped.is_empty());
        assert!(c.sections.len() > 50, "{}", c.sections.len());
        assert!(c.sections.iter().all(|s| !s.body.is_empty()));
    }
}
