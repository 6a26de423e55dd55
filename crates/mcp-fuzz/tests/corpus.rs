//! Replays the seed corpus (`fuzz/corpus/TARGET/`) and every kept crash
//! (`fuzz/regressions/TARGET/`) through the targets' functions, on stable, so that a crash
//! once fixed stays fixed.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The files of `dir/TARGET/`, by target; a directory that names no target is an error.
fn inputs(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let Ok(targets) = std::fs::read_dir(dir) else {
        return out;
    };
    for t in targets {
        let t = t.expect("a directory entry").path();
        let name = t
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        assert!(
            mcp_fuzz::TARGETS.iter().any(|(n, _)| *n == name),
            "{} names no target",
            t.display()
        );
        for f in std::fs::read_dir(&t).expect("a target's directory reads") {
            out.push((name.clone(), f.expect("a directory entry").path()));
        }
    }
    out.sort();
    out
}

fn replay(files: &[(String, PathBuf)]) {
    for (target, path) in files {
        let data = std::fs::read(path).expect("an input reads");
        let (_, f) = mcp_fuzz::TARGETS
            .iter()
            .find(|(n, _)| n == target)
            .expect("a known target");
        let run = std::panic::catch_unwind(|| f(&data));
        assert!(run.is_ok(), "{target} fails on {}", path.display());
    }
}

#[test]
fn every_target_has_seeds_and_passes_them() {
    let seeds = inputs(&repo().join("fuzz/corpus"));
    for (name, _) in mcp_fuzz::TARGETS {
        let n = seeds.iter().filter(|(t, _)| t == name).count();
        assert!(n >= 3, "target {name} has {n} seeds (at least 3)");
        assert!(
            repo()
                .join(format!("fuzz/fuzz_targets/{name}.rs"))
                .is_file(),
            "no cargo-fuzz target for {name}"
        );
    }
    replay(&seeds);
}

#[test]
fn kept_crashes_stay_fixed() {
    replay(&inputs(&repo().join("fuzz/regressions")));
}
