#!/usr/bin/env bash
# Times the main job: `mcp-sampling demo` (release build, the embedded model installed, the
# five built-in queries through the whole pipeline with automatic approval), run RUNS times
# (default 5) after one warm-up run, with the wall time and peak memory of each run, and the
# release binary's size. A benchmark, not a test: nothing fails on the figures.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS="${RUNS:-5}"
cargo build --release -q -p mcp-sampling
bin="${CARGO_TARGET_DIR:-target}/release/mcp-sampling"
"$bin" model install >/dev/null
if [ ! -x /usr/bin/time ]; then
  echo "installing GNU time (apt-get install time)" >&2
  apt-get install -y -q time >/dev/null
fi
db="$(mktemp -d)/audit.db"
"$bin" demo --approve auto --audit "$db" >/dev/null
times=()
for i in $(seq "$RUNS"); do
  out="$( { /usr/bin/time -f '%e %M' "$bin" demo --approve auto --audit "$db" >/dev/null; } 2>&1 | tail -1)"
  read -r secs kb <<<"$out"
  times+=("$secs")
  printf 'run %d: %6.2f s, peak RSS %5.0f MB\n' "$i" "$secs" "$((kb / 1024))"
done
sorted="$(printf '%s\n' "${times[@]}" | sort -n)"
median="$(sed -n "$(((RUNS + 1) / 2))p" <<<"$sorted")"
worst="$(tail -1 <<<"$sorted")"
size="$(stat -c %s "$bin")"
printf 'demo: median %.2f s, worst %.2f s over %d runs (target: under 5 s); release binary %.1f MB\n' \
  "$median" "$worst" "$RUNS" "$(awk "BEGIN { print $size / 1048576 }")"
