#!/usr/bin/env bash
# Runs the official conformance suite's client scenarios (0.1.16 and 0.2.0-alpha.12, all of
# them, each against the suite's own mock server; 0.2 twice: at its default versions and with
# everything at 2026-07-28) with `mcp-conformance client` as the client under test, OAuth
# (`auth/*`) included. Expected failures are listed, with reasons, in baseline-client-*.yml; an
# unexpected failure or a listed scenario that now passes fails the run.
# Usage: run-client.sh [PATH/TO/mcp-conformance]   (default: $CARGO_TARGET_DIR or target, debug)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:-${CARGO_TARGET_DIR:-$root/target}/debug/mcp-conformance}"
[ -x "$bin" ] || { echo "no mcp-conformance binary at $bin (build it first)" >&2; exit 2; }
runner="$root/tests/peers/conformance/run.sh"
status=0
for run in "0.1" "0.2" "0.2 --spec-version 2026-07-28"; do
  read -r v extra <<<"$run"
  out="$(mktemp)"
  set +e
  # shellcheck disable=SC2086 # $extra is deliberately split into arguments
  bash "$runner" "$v" client --command "$bin client" --suite all $extra \
    --expected-failures "$here/baseline-client-$v.yml" >"$out" 2>&1
  rc=$?
  set -e
  clean="$(sed 's/\x1b\[[0-9;]*m//g' "$out")"
  # The suite's own summary, minus its "Total:" line (this script's output must not end in a
  # bare pass/fail count line, which CI logs read as the test result).
  echo "$clean" | sed -n '/SUITE SUMMARY/,$p' | grep -v '^Total:'
  ok="$(echo "$clean" | sed -n 's/^Total: \([0-9]*\) passed.*/\1/p' | tail -1)"
  bad="$(echo "$clean" | sed -n 's/^Total: [0-9]* passed, \([0-9]*\) failed.*/\1/p' | tail -1)"
  verdict=$([ "$rc" -eq 0 ] && echo "every failure is in the baseline" || echo "UNEXPECTED RESULTS")
  echo "conformance $run client scenarios: checks ok=${ok:-?} not-ok=${bad:-?}; $verdict (baseline-client-$v.yml)"
  [ "$rc" -eq 0 ] || status=1
  rm -f "$out"
done
exit "$status"
