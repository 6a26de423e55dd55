//! The official MCP conformance suites (0.1.16, and 0.2.0-alpha.12 on both wires) against
//! `mcp-conformance server --http`, through `tests/conformance/run-server.sh`: every
//! run must match its baseline of expected failures (`tests/conformance/baseline-*.yml`,
//! each entry with its reason), so a new failure or a fixed one (a stale entry) fails here.
//!
//! The suites are pinned in `tests/peers/conformance/` and installed by
//! `tests/peers/install.sh` (the script runs the suites' installer too; it needs npm). A
//! suite that cannot run fails the test; nothing is skipped.

use std::path::Path;
use std::process::Command;

#[test]
fn conformance_suites_match_their_baselines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = root.join("tests/conformance/run-server.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(env!("CARGO_BIN_EXE_mcp-conformance"))
        .output()
        .expect("bash runs tests/conformance/run-server.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        out.status.success(),
        "the conformance suites do not match their baselines ({}):\n{stdout}\n{stderr}",
        out.status
    );
    // The three runs happened and each reported its checks.
    let runs = stdout
        .lines()
        .filter(|l| l.starts_with("conformance 0.") && l.contains("matches the baseline"))
        .count();
    assert_eq!(runs, 3, "expected three suite runs:\n{stdout}");
}
