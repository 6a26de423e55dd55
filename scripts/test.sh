#!/usr/bin/env bash
# Runs every test: installs the pinned peers (npm, PyPI) and the embedded model first, then
# the whole workspace's tests, which include interop tests against the official TypeScript and
# Python SDKs, the embedded model answering, and the web console in headless Chromium
# (installed with apt-get when missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python3 scripts/check-architecture.py
# The console's browser test drives Debian's headless Chromium through chromedriver.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "installing chromium and chromium-driver (apt-get)" >&2
  as_root=""
  [ "$(id -u)" = 0 ] || as_root="sudo"
  $as_root apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null
fi
bash tests/peers/install.sh
cargo build --workspace --bins
"${CARGO_TARGET_DIR:-target}/debug/mcp-sampling" model install
cargo test --workspace --all-targets "$@"
# A short run of every fuzz target (about a minute in all; fails on a crash).
bash scripts/fuzz.sh 60
