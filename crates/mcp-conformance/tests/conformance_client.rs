//! The official conformance suite (0.1.16 and 0.2.0-alpha.12, pinned in tests/peers/conformance)
//! runs every client scenario against `mcp-conformance client` (0.2 twice: at its default
//! versions and all at 2026-07-28); the baselines (tests/conformance/baseline-client-*.yml)
//! are empty, OAuth included. A missing suite fails.

use std::path::Path;
use std::process::Command;

#[test]
fn conformance_client_scenarios_match_the_baseline() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let suite = root.join("tests/peers/conformance/node_modules");
    assert!(
        suite.exists(),
        "the conformance suite is not installed: run tests/peers/install.sh"
    );
    let out = Command::new("bash")
        .arg(root.join("tests/conformance/run-client.sh"))
        .arg(env!("CARGO_BIN_EXE_mcp-conformance"))
        .output()
        .expect("run the conformance suite");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(
        out.status.success(),
        "conformance client runs have unexpected results:\n{text}"
    );
    assert_eq!(
        text.matches("every failure is in the baseline").count(),
        3,
        "{text}"
    );
}
