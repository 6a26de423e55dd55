#!/usr/bin/env bash
# Runs every test: installs the pinned peers (npm, PyPI) and the embedded model first, then
# the whole workspace's tests, which include interop tests against the official TypeScript and
# Python SDKs, and the embedded model answering.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python3 scripts/check-architecture.py
bash tests/peers/install.sh
cargo build --workspace --bins
"${CARGO_TARGET_DIR:-target}/debug/mcp-sampling" model install
cargo test --workspace --all-targets "$@"
