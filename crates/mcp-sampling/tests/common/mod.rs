//! Shared by the interop test binaries: the pinned peers (installed by
//! `tests/peers/install.sh`, which `scripts/test.sh` runs first; a missing peer fails the
//! test, nothing is skipped), our binary, and running a command to completion.

#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

pub fn bin() -> String {
    env!("CARGO_BIN_EXE_mcp-sampling").to_owned()
}

pub fn peer(rel: &str) -> String {
    let p = root().join("tests/peers").join(rel);
    assert!(
        p.exists(),
        "peer {} is not installed: run tests/peers/install.sh",
        p.display()
    );
    p.display().to_string()
}

pub fn python() -> String {
    peer("python/.venv/bin/python")
}

pub fn server_everything() -> Vec<String> {
    vec![
        "node".into(),
        peer("node/node_modules/@modelcontextprotocol/server-everything/dist/index.js"),
        "stdio".into(),
    ]
}

/// Keeps the host's audit log out of the user's own data directory.
pub fn scratch_data_home() -> PathBuf {
    std::env::temp_dir().join(format!("mcp-sampling-interop-{}", std::process::id()))
}

pub fn run(cmd: &[String]) -> Output {
    let out = Command::new(&cmd[0])
        .args(&cmd[1..])
        .env("XDG_DATA_HOME", scratch_data_home())
        .output()
        .expect("spawn");
    if !out.status.success() {
        panic!(
            "{:?} failed ({})\nstdout: {}\nstderr: {}",
            cmd,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

pub fn text(result: &Value) -> String {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}
