//! Shared by the test binaries: the installed model, or a failure that says how to get it.

#![allow(dead_code)]

use mcp_local::LocalModel;
use std::path::PathBuf;
use std::sync::OnceLock;

pub const NOT_INSTALLED: &str =
    "model not installed: run `mcp-sampling model install` (or scripts/test.sh)";

/// The installed model file; fails the test (never skips) when it is missing.
pub fn model_path() -> PathBuf {
    mcp_local::installed_model_path().unwrap_or_else(|| {
        panic!(
            "{NOT_INSTALLED} (looked in {})",
            mcp_local::default_model_dir().display()
        )
    })
}

/// The model, loaded once per test binary.
pub fn model() -> &'static LocalModel {
    static MODEL: OnceLock<LocalModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        let model = LocalModel::load(&model_path()).expect("the installed model loads");
        eprintln!("model loaded in {} ms", model.load_time().as_millis());
        model
    })
}

/// A scratch folder for one test, emptied first.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("mcp-local")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
