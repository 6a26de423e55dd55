//! `code-review` in process through the real client on both eras: malformed diffs refused,
//! trivial files decided in code with no sampling, a mixed diff whose other files are
//! sampled in one concurrent round, garbage answered by the fallback, a client that cannot
//! sample, and a real temporary git repository read by range (a bad range refused).

mod common;

use common::{args, connect, Gate, Script, ERAS};
use mcp_client::{Client, ClientOptions, EraChoice};
use mcp_proto::{ClientCapabilities, Era};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

async fn review(c: &Client, a: Value) -> mcp_proto::tools::CallToolResult {
    tokio::time::timeout(
        Duration::from_secs(30),
        c.call_tool("categorize_diff", args(a)),
    )
    .await
    .expect("the call ends")
    .expect("called")
}

async fn reviewed(c: &Client, a: Value) -> Value {
    let r = review(c, a).await;
    assert_ne!(r.is_error, Some(true), "{}", r.text_content());
    r.structured_content.expect("structured")
}

fn lines(ls: &[&str]) -> String {
    let mut s = ls.join("\n");
    s.push('\n');
    s
}

/// Files code decides: a lock file, docs, a test, whitespace only, a binary image, a pure
/// rename, a mode change.
fn trivial() -> String {
    lines(&[
        "diff --git a/Cargo.lock b/Cargo.lock",
        "index 1111111..2222222 100644",
        "--- a/Cargo.lock",
        "+++ b/Cargo.lock",
        "@@ -10,3 +10,3 @@ dependencies = [",
        " name = \"serde\"",
        "-version = \"1.0.200\"",
        "+version = \"1.0.210\"",
        " source = \"registry+https://github.com/rust-lang/crates.io-index\"",
        "diff --git a/README.md b/README.md",
        "--- a/README.md",
        "+++ b/README.md",
        "@@ -1,2 +1,2 @@",
        " # Tool",
        "-Fast tool.",
        "+A fast tool.",
        "\\ No newline at end of file",
        "diff --git a/tests/parse.rs b/tests/parse.rs",
        "new file mode 100644",
        "--- /dev/null",
        "+++ b/tests/parse.rs",
        "@@ -0,0 +1,2 @@",
        "+#[test]",
        "+fn parses() {}",
        "diff --git a/src/fmt.rs b/src/fmt.rs",
        "--- a/src/fmt.rs",
        "+++ b/src/fmt.rs",
        "@@ -1 +1,3 @@",
        "-fn f() { g() }",
        "+fn f() {",
        "+    g()",
        "+}",
        "diff --git a/img/logo.png b/img/logo.png",
        "index 3333333..4444444 100644",
        "Binary files a/img/logo.png and b/img/logo.png differ",
        "diff --git a/src/old_name.rs b/src/new_name.rs",
        "similarity index 100%",
        "rename from src/old_name.rs",
        "rename to src/new_name.rs",
        "diff --git a/run.sh b/run.sh",
        "old mode 100644",
        "new mode 100755",
    ])
}

/// Files the model judges.
fn judged() -> String {
    lines(&[
        "diff --git a/src/auth.rs b/src/auth.rs",
        "--- a/src/auth.rs",
        "+++ b/src/auth.rs",
        "@@ -5,3 +5,3 @@ fn check(user: &User, pw: &str) -> bool {",
        "     let hash = hash(pw);",
        "-    hash == user.hash",
        "+    constant_time_eq(&hash, &user.hash)",
        " }",
        "diff --git a/src/parse.rs b/src/parse.rs",
        "--- a/src/parse.rs",
        "+++ b/src/parse.rs",
        "@@ -1,2 +1,2 @@",
        " fn last(v: &[u8]) -> Option<u8> {",
        "-    Some(v[v.len()])",
        "+    v.last().copied()",
        "diff --git a/src/export.rs b/src/export.rs",
        "new file mode 100644",
        "--- /dev/null",
        "+++ b/src/export.rs",
        "@@ -0,0 +1,3 @@",
        "+pub fn to_csv(rows: &[Row]) -> String {",
        "+    rows.iter().map(Row::csv).collect()",
        "+}",
    ])
}

#[tokio::test]
async fn malformed_diffs_are_refused_with_the_line() {
    let cases = [
        (
            "just some text\nno diff here\n".to_owned(),
            "line 1: no file changes found",
        ),
        (
            lines(&["--- a/x.rs", "+++ b/x.rs", "@@ -1,3 +1,3 @@", " a", "-b"]),
            "the hunk of x.rs ends early",
        ),
        (
            lines(&["--- a/x.rs", "+++ b/x.rs", "@@ -1 +1 @@", "*b", "+c"]),
            "line 4: unexpected line in the hunk of x.rs",
        ),
        (
            lines(&["--- a/x.rs", "+++ b/x.rs", "@@ -one +1 @@", "-a", "+b"]),
            "line 3: malformed hunk header",
        ),
        (
            lines(&["--- a/x.rs", "@@ -1 +1 @@"]),
            "must be followed by a +++ line",
        ),
        (
            lines(&["@@ -1 +1 @@", "-a", "+b"]),
            "a hunk that belongs to no file",
        ),
        (
            lines(&["diff --cc x.rs", "@@@ -1 -1 +1 @@@"]),
            "combined (merge) diffs",
        ),
    ];
    for era in ERAS {
        let script = Script::replies(["never"]);
        let c = connect(
            "code-review",
            &Default::default(),
            era,
            script.clone(),
            None,
        )
        .await;
        for (diff, want) in &cases {
            let r = review(&c, json!({ "diff": diff })).await;
            assert_eq!(r.is_error, Some(true), "{diff}");
            let t = r.text_content();
            assert!(t.starts_with("the diff is malformed: "), "{t}");
            assert!(t.contains(want), "{era:?}: {t} (want {want})");
        }
        let r = review(&c, json!({ "diff": "  " })).await;
        assert_eq!(r.text_content(), "the diff is empty");
        assert_eq!(script.requests(), 0);
        c.close().await;
    }
}

#[tokio::test]
async fn trivial_files_are_decided_in_code_without_sampling() {
    for era in ERAS {
        let script = Script::replies(["never"]);
        let c = connect(
            "code-review",
            &Default::default(),
            era,
            script.clone(),
            None,
        )
        .await;
        let s = reviewed(&c, json!({ "diff": trivial() })).await;
        let got: Vec<(&str, &str, &str)> = s["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                assert_eq!(f["decided_by"], "rule", "{f}");
                (
                    f["path"].as_str().unwrap(),
                    f["category"].as_str().unwrap(),
                    f["rule"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("Cargo.lock", "chore", "dependency lock file"),
                ("README.md", "docs", "documentation file"),
                ("tests/parse.rs", "tests", "test file"),
                ("src/fmt.rs", "chore", "whitespace-only change"),
                ("img/logo.png", "chore", "binary file"),
                ("src/new_name.rs", "refactor", "moved without changes"),
                ("run.sh", "chore", "file mode change only"),
            ]
        );
        assert_eq!(s["files"][5]["old_path"], "src/old_name.rs");
        assert_eq!(s["files"][5]["change"], "renamed");
        assert_eq!(s["files"][2]["change"], "added");
        assert_eq!(s["files"][4]["binary"], true);
        assert_eq!(s["summary"]["decided_in_code"], 7);
        assert_eq!(s["summary"]["highest_risk"], "low");
        assert_eq!(s["summary"]["added"], 7);
        assert_eq!(s["summary"]["removed"], 3);
        assert_eq!(script.requests(), 0, "{era:?}");
        c.close().await;
    }
}

#[tokio::test]
async fn a_mixed_diff_samples_the_rest_in_one_round() {
    for era in ERAS {
        let script = Script::new(vec![
            (
                "File: src/auth.rs",
                r#"{"category": "security-sensitive", "risk": "high"}"#,
            ),
            ("File: src/parse.rs", "This is a bug-fix with low risk."),
            (
                "File: src/export.rs",
                "```json\n{\"category\":\"feature\",\"risk\":\"medium\"}\n```",
            ),
        ]);
        let gate = Gate::new(&[3], script.clone());
        let c = connect("code-review", &Default::default(), era, gate, None).await;
        let diff = format!("{}{}", trivial(), judged());
        let s = reviewed(&c, json!({ "diff": diff })).await;
        let files = s["files"].as_array().unwrap();
        assert_eq!(files.len(), 10);
        let sampled: Vec<(&str, &str, &str, &str)> = files[7..]
            .iter()
            .map(|f| {
                (
                    f["path"].as_str().unwrap(),
                    f["category"].as_str().unwrap(),
                    f["risk"].as_str().unwrap(),
                    f["decided_by"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            sampled,
            [
                (
                    "src/auth.rs",
                    "security-sensitive",
                    "high",
                    "model:scripted"
                ),
                ("src/parse.rs", "bug-fix", "low", "model:scripted"),
                ("src/export.rs", "feature", "medium", "model:scripted"),
            ],
            "{era:?}"
        );
        assert_eq!(s["summary"]["decided_in_code"], 7);
        assert_eq!(s["summary"]["decided_by_model"], 3);
        assert_eq!(s["summary"]["highest_risk"], "high");
        assert_eq!(s["summary"]["categories"]["chore"], 4);
        assert_eq!(s["summary"]["risks"]["high"], 1);
        assert_eq!(script.requests(), 3, "one request per judged file");
        let req = &script.seen()[0];
        assert!(
            req.params.meta.is_some(),
            "the typed-output extension is sent"
        );
        c.close().await;
    }
}

#[tokio::test]
async fn garbage_or_no_sampling_takes_the_fallback() {
    for era in ERAS {
        let script = Script::replies(["banana", "I cannot tell", "{\"category\": \"nope\"}"]);
        let c = connect(
            "code-review",
            &Default::default(),
            era,
            script.clone(),
            None,
        )
        .await;
        let s = reviewed(&c, json!({ "diff": judged() })).await;
        for f in s["files"].as_array().unwrap() {
            let by = f["decided_by"].as_str().unwrap();
            assert!(
                by.starts_with("fallback (the model answered"),
                "{era:?}: {by}"
            );
        }
        assert_eq!(
            s["files"][0]["category"], "security-sensitive",
            "auth in the path"
        );
        assert_eq!(s["files"][1]["category"], "bug-fix", "a small edit");
        assert_eq!(s["files"][2]["category"], "feature", "a new file");
        assert_eq!(s["summary"]["fallback"], 3);
        c.close().await;

        let (a, b) = mcp_rpc::memory();
        let server = mcp_examples::code_review::server();
        tokio::spawn(async move { server.serve(a, std::future::pending()).await });
        let opts = ClientOptions {
            era: match era {
                Era::Legacy => EraChoice::Legacy,
                Era::Modern => EraChoice::Modern,
            },
            capabilities: ClientCapabilities::default(),
            ..Default::default()
        };
        let c = Client::connect(b, Script::replies(["never"]), opts)
            .await
            .expect("connects");
        let s = reviewed(&c, json!({ "diff": judged() })).await;
        assert_eq!(
            s["files"][1]["decided_by"], "fallback (the client cannot sample)",
            "{era:?}"
        );
        c.close().await;
    }
}

/// A fresh git repository with two commits; removed on drop.
struct Repo(PathBuf);

impl Repo {
    fn new(tag: &str) -> Repo {
        let dir = std::env::temp_dir().join(format!("code-review-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src")).expect("mkdir");
        let repo = Repo(dir);
        repo.git(&["init", "-q"]);
        repo.write(
            "src/lib.rs",
            "pub fn add(a: i32, b: i32) -> i32 {\n    a - b\n}\n",
        );
        repo.write("README.md", "# Adder\n");
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", "first"]);
        repo.write(
            "src/lib.rs",
            "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n",
        );
        repo.write("README.md", "# Adder\n\nAdds two numbers.\n");
        repo.write("Cargo.lock", "version = 4\n");
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", "second"]);
        repo
    }

    fn write(&self, path: &str, text: &str) {
        std::fs::write(self.0.join(path), text).expect("write");
    }

    fn git(&self, a: &[&str]) {
        let out = Command::new("git")
            .arg("-C")
            .arg(&self.0)
            .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
            .args([
                "-c",
                "commit.gpgsign=false",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(a)
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {a:?}: {out:?}");
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Repo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn a_git_range_is_read_and_bad_ranges_refused() {
    let repo = Repo::new("range");
    let path = repo.path().to_string_lossy().into_owned();
    for era in ERAS {
        let answer = r#"{"category": "bug-fix", "risk": "medium"}"#;
        let script = Script::new(vec![("File: src/lib.rs", answer); 2]);
        let c = connect_with_roots(era, script.clone(), &[repo.path()]).await;
        let s = reviewed(&c, json!({"repo": path, "range": "HEAD~1..HEAD"})).await;
        assert_eq!(s["source"], format!("git {path} HEAD~1..HEAD"));
        let files: Vec<(&str, &str, &str)> = s["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["path"].as_str().unwrap(),
                    f["category"].as_str().unwrap(),
                    f["decided_by"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            files,
            [
                ("Cargo.lock", "chore", "rule"),
                ("README.md", "docs", "rule"),
                ("src/lib.rs", "bug-fix", "model:scripted"),
            ],
            "{era:?}"
        );
        assert_eq!(s["files"][0]["change"], "added");
        assert_eq!(s["files"][2]["added"], 1);
        assert_eq!(s["files"][2]["removed"], 1);
        assert_eq!(script.requests(), 1);
        // The default range is the last commit.
        let s = reviewed(&c, json!({"repo": path})).await;
        assert_eq!(s["summary"]["files"], 3);
        assert_eq!(s["summary"]["decided_by_model"], 1);

        for (a, want) in [
            (
                json!({"repo": path, "range": "--output=/tmp/x"}),
                "holds '='",
            ),
            (
                json!({"repo": path, "range": "-p"}),
                "starts like an option",
            ),
            (
                json!({"repo": path, "range": "HEAD..-R"}),
                "starts like an option",
            ),
            (json!({"repo": path, "range": "HEAD; ls"}), "holds ';'"),
            (
                json!({"repo": path, "range": "nope..HEAD"}),
                "git could not read the range",
            ),
            (
                json!({"repo": "/no/such/dir", "range": "HEAD"}),
                "is not a directory",
            ),
            (json!({"diff": "x", "repo": path}), "not both"),
            (
                json!({"diff": "x", "range": "HEAD"}),
                "`range` goes with `repo`",
            ),
            (json!({}), "give a unified diff"),
        ] {
            let r = review(&c, a.clone()).await;
            assert_eq!(r.is_error, Some(true), "{a}");
            assert!(r.text_content().contains(want), "{a}: {}", r.text_content());
        }
        c.close().await;
    }
}

/// A client connected to `code-review` that offers `roots` (`roots/list`).
async fn connect_with_roots(era: Era, sampler: Arc<Script>, roots: &[&Path]) -> Client {
    let server = (mcp_examples::find("code-review").unwrap().build)(&Default::default()).unwrap();
    let (a, b) = mcp_rpc::memory();
    tokio::spawn(async move { server.serve(a, std::future::pending()).await });
    let roots = roots
        .iter()
        .map(|p| mcp_proto::Root::from_path(p).unwrap())
        .collect();
    let opts = ClientOptions {
        era: match era {
            Era::Legacy => EraChoice::Legacy,
            Era::Modern => EraChoice::Modern,
        },
        roots: Some(mcp_client::Roots::new(roots).unwrap()),
        ..ClientOptions::default()
    };
    Client::connect(b, sampler, opts).await.unwrap()
}

/// A repository is read only inside the client's roots, or, for a client without roots,
/// inside the folder the server runs in: a client cannot read the machine's other
/// repositories.
#[tokio::test]
async fn a_repository_outside_the_allowed_folders_is_refused() {
    let repo = Repo::new("outside");
    let other = Repo::new("elsewhere");
    let path = repo.path().to_string_lossy().into_owned();
    let want = "outside the folders this server may read";
    for era in ERAS {
        let script = Script::replies(Vec::<String>::new());
        let c = connect_with_roots(era, script.clone(), &[other.path()]).await;
        let r = review(&c, json!({"repo": path})).await;
        assert_eq!(r.is_error, Some(true), "{era:?}");
        assert!(r.text_content().contains(want), "{}", r.text_content());
        c.close().await;
        let c = connect(
            "code-review",
            &Default::default(),
            era,
            script.clone(),
            None,
        )
        .await;
        let r = review(&c, json!({"repo": path})).await;
        assert!(
            r.text_content().contains(want),
            "no roots: {}",
            r.text_content()
        );
        assert_eq!(script.requests(), 0);
        c.close().await;
    }
}
