#!/usr/bin/env bash
# Runs every test: installs the pinned peers first (npm and PyPI), then the whole workspace's
# tests, which include the interop tests against the official TypeScript and Python SDKs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tests/peers/install.sh
cargo build --workspace --bins
cargo test --workspace --all-targets "$@"
