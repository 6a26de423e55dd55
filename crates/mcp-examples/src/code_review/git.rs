//! Reading a revision range of a local git repository with the `git` CLI: run with an
//! argument array (never a shell), the range checked first so that it cannot be read as an
//! option, the output bounded in size and the run in time.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// The most bytes of diff read from git.
pub const MAX_DIFF_BYTES: usize = 1_000_000;
/// How long git may take.
pub const GIT_TIMEOUT: Duration = Duration::from_secs(30);
/// The most characters of a range.
const MAX_RANGE_CHARS: usize = 200;

/// Checks a revision range (`main..feature`, `HEAD~3..HEAD`, `v1.0...v2.0`, `abc123`):
/// revisions made of letters, digits and `. _ - / ~ ^ @ { }`, none starting with `-`.
pub fn check_range(range: &str) -> Result<(), String> {
    if range.is_empty() {
        return Err("the range is empty".into());
    }
    if range.chars().count() > MAX_RANGE_CHARS {
        return Err(format!(
            "the range is longer than {MAX_RANGE_CHARS} characters"
        ));
    }
    let allowed = |c: char| c.is_alphanumeric() || "._-/~^@{}".contains(c);
    if let Some(c) = range.chars().find(|c| !allowed(*c)) {
        return Err(format!(
            "the range {range:?} holds {c:?}: a range is revisions like main..feature or HEAD~2..HEAD"
        ));
    }
    let sides = range.split("..").map(|s| s.trim_start_matches('.'));
    if sides.clone().any(|s| s.starts_with('-')) {
        return Err(format!(
            "the range {range:?} starts like an option: a revision cannot start with '-'"
        ));
    }
    if sides.clone().all(str::is_empty) {
        return Err(format!("the range {range:?} names no revision"));
    }
    Ok(())
}

/// Reads the diff of `range` in the repository at `repo`.
///
/// Errors (one sentence each): a path that is not a directory, a bad range, git missing or
/// failing (its first error line), output over [`MAX_DIFF_BYTES`], a run over
/// [`GIT_TIMEOUT`].
pub async fn read_range(repo: &str, range: &str) -> Result<String, String> {
    check_range(range)?;
    if !Path::new(repo).is_dir() {
        return Err(format!("the repository path {repo:?} is not a directory"));
    }
    let mut child = tokio::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["--no-pager", "-c", "core.quotepath=on", "diff"])
        .args([
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--find-renames",
        ])
        .args([
            "--src-prefix=a/",
            "--dst-prefix=b/",
            "--end-of-options",
            range,
            "--",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("git could not be run: {e}"))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err("git's output could not be read".into());
    };
    let run = async {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let limit = MAX_DIFF_BYTES as u64 + 1;
        let (mut stdout, mut stderr) = (stdout.take(limit), stderr.take(64 * 1024));
        let (o, e) = tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
        o.and(e)
            .map_err(|e| format!("reading git's output failed: {e}"))?;
        if out.len() > MAX_DIFF_BYTES {
            return Err(format!(
                "the diff of {range} is over {MAX_DIFF_BYTES} bytes: give a narrower range"
            ));
        }
        let status = child.wait().await.map_err(|e| format!("git failed: {e}"))?;
        if !status.success() {
            let why = String::from_utf8_lossy(&err);
            let first = why.lines().next().unwrap_or("no message").trim().to_owned();
            return Err(format!(
                "git could not read the range {range:?} in {repo}: {first}"
            ));
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    };
    match tokio::time::timeout(GIT_TIMEOUT, run).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "git took longer than {} s to read {range}",
            GIT_TIMEOUT.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_revisions_not_options() {
        for ok in [
            "HEAD~1..HEAD",
            "main...feature/x",
            "v1.0",
            "abc123..",
            "@{u}..HEAD",
        ] {
            assert_eq!(check_range(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "--output=/tmp/x",
            "HEAD..--output=x",
            "-p",
            "HEAD; rm -rf /",
            "a b",
            "..",
            "HEAD\n--stat",
        ] {
            assert!(check_range(bad).is_err(), "{bad:?}");
        }
    }
}
