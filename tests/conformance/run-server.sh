#!/usr/bin/env bash
# Runs the official MCP conformance suites against `mcp-conformance server --http` (crates/mcp-conformance):
#   0.1    server --suite all                              (2025-11-25, stateful)
#   0.2    server --suite all                              (2025-11-25 wire; 2026-07-28-only scenarios stateless)
#   0.2    server --suite all --spec-version 2026-07-28    (everything on the stateless wire)
# each against a fresh server on a free port, with the expected failures in
# tests/conformance/baseline-*.yml (every entry says why). Builds nothing.
# Usage: tests/conformance/run-server.sh [BINARY]
#   BINARY  default ${CARGO_TARGET_DIR:-target}/debug/mcp-conformance
# Exit 0 iff every run matches its baseline (no unexpected failure, no stale entry).
# Full output and checks.json files go to a temporary directory, kept (and named) when a run fails.
# See tests/conformance/SCENARIOS.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:-${CARGO_TARGET_DIR:-$root/target}/debug/mcp-conformance}"
[[ -x $bin ]] || { echo "run-server.sh: no executable at $bin (build it first: cargo build -p mcp-conformance)" >&2; exit 1; }
runner="$root/tests/peers/conformance/run.sh"

bash "$root/tests/peers/conformance/install.sh"

work="$(mktemp -d "${TMPDIR:-/tmp}/mcp-conformance.XXXXXX")"
server_pid=""
stop_server() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
trap stop_server EXIT

# Starts the server on a free port; sets $url from its "listening on URL" line.
start_server() {
  local log="$1"
  "$bin" server --http 127.0.0.1:0 2>"$log" &
  server_pid=$!
  url=""
  for _ in $(seq 1 200); do
    url="$(grep -o 'listening on http://[^ ]*' "$log" | head -n1 | cut -d' ' -f3 || true)"
    [[ -n $url ]] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "run-server.sh: the server did not start; its stderr:" >&2
  cat "$log" >&2
  return 1
}

failed_runs=0
# run LABEL SUITE_VERSION BASELINE ARGS...
run() {
  local label="$1" version="$2" baseline="$3"
  shift 3
  local slug="${label//[^A-Za-z0-9.]/_}"
  local out="$work/$slug"
  mkdir -p "$out"
  start_server "$out/server.log"
  local rc=0
  "$runner" "$version" server --url "$url" --suite all "$@" \
    --expected-failures "$here/$baseline" -o "$out/results" >"$out/output.raw" 2>&1 || rc=$?
  stop_server
  sed 's/\x1b\[[0-9;]*m//g' "$out/output.raw" >"$out/output.txt"
  local total passed failed
  total="$(grep -E '^Total: [0-9]+ passed, [0-9]+ failed' "$out/output.txt" | tail -n1 || true)"
  passed="$(sed -E 's/^Total: ([0-9]+) passed.*/\1/' <<<"$total")"
  failed="$(sed -E 's/^Total: [0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$total")"
  echo "== $label (baseline $baseline)"
  # Scenarios with failures, and what the baseline evaluation said.
  grep -E '^✗ ' "$out/output.txt" | sed 's/^/   /' || true
  # What the baseline evaluation said, without the list of expected failures.
  sed -n '/=== SUMMARY ===/,$p' "$out/output.txt" \
    | grep -vE '^(✓|✗) |^Total: |=== SUMMARY ===|^$|^ *~ |^Expected failures' | sed 's/^/   /' || true
  if [[ -z $total ]]; then
    echo "conformance $label: no summary (exit $rc); output: $out/output.txt"
    tail -n 20 "$out/output.txt" | sed 's/^/   /'
    failed_runs=$((failed_runs + 1))
  elif [[ $rc -ne 0 ]]; then
    echo "conformance $label: checks ok=$passed not-ok=$failed; does NOT match the baseline (exit $rc)"
    failed_runs=$((failed_runs + 1))
  else
    echo "conformance $label: checks ok=$passed not-ok=$failed; matches the baseline"
  fi
}

run "0.1 server" 0.1 baseline-0.1.yml
run "0.2 server" 0.2 baseline-0.2.yml
run "0.2 server at 2026-07-28" 0.2 baseline-0.2-2026-07-28.yml --spec-version 2026-07-28

if [[ $failed_runs -ne 0 ]]; then
  echo "output and checks.json (kept): $work"
  echo "conformance: $failed_runs of 3 suite runs do not match their baselines"
  exit 1
fi
rm -rf "$work"
echo "conformance: all 3 suite runs match their baselines"
