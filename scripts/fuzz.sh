#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS_TOTAL seconds in all (default 600), split
# evenly, each starting from a scratch copy of its seed corpus (fuzz/corpus/TARGET; the seeds
# in the repository do not grow). Prints per target the executions, the corpus size reached
# and the crashes (kept in fuzz/artifacts/TARGET/); exits non-zero when a target crashed.
# Needs the nightly toolchain (fails when it is missing); installs cargo-fuzz (pinned) when
# missing. Builds go to $CARGO_TARGET_DIR/fuzz when CARGO_TARGET_DIR is set, else fuzz/target.
# FUZZ_WORK=DIR keeps the grown corpora and logs there (default: a temporary directory);
# FUZZ_TOOLCHAIN names the nightly toolchain (default: nightly).
#
# Usage: scripts/fuzz.sh [SECONDS_TOTAL]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
total="${1:-600}"
cargo_fuzz_version="0.13.2"
toolchain="${FUZZ_TOOLCHAIN:-nightly}"

if ! RUSTUP_AUTO_INSTALL=0 cargo "+$toolchain" --version >/dev/null 2>&1; then
  echo "fuzz.sh: the Rust toolchain $toolchain is missing; cargo-fuzz needs a nightly one." >&2
  echo "fuzz.sh: install it with: rustup toolchain install $toolchain" >&2
  exit 1
fi
if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $cargo_fuzz_version" ]; then
  echo "fuzz.sh: installing cargo-fuzz $cargo_fuzz_version" >&2
  cargo install --locked cargo-fuzz --version "$cargo_fuzz_version"
fi

target_dir="${CARGO_TARGET_DIR:+$CARGO_TARGET_DIR/fuzz}"
target_dir="${target_dir:-$PWD/fuzz/target}"
# Release with debug assertions (overflow checks); no sanitizer: the workspace forbids
# unsafe code, so the fuzzers look for panics and failed invariants, faster without ASan.
flags=(-O -a -s none --target-dir "$target_dir")
mapfile -t targets < <(cargo "+$toolchain" fuzz list)
[ "${#targets[@]}" -gt 0 ] || { echo "fuzz.sh: no fuzz targets found" >&2; exit 1; }
echo "fuzz.sh: building ${#targets[@]} targets" >&2
cargo "+$toolchain" fuzz build "${flags[@]}"

per=$(( total / ${#targets[@]} ))
[ "$per" -ge 1 ] || per=1
work="${FUZZ_WORK:-$(mktemp -d)}"
mkdir -p "$work"
echo "fuzz.sh: ${per}s per target; corpora and logs in $work" >&2
printf '%-18s %12s %8s %8s\n' target executions corpus crashes
failed=0
for t in "${targets[@]}"; do
  corpus="$work/corpus/$t"
  mkdir -p "$corpus" "fuzz/artifacts/$t"
  cp -n fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
  before=$(find "fuzz/artifacts/$t" -type f | wc -l)
  status=0
  nice -n 10 cargo "+$toolchain" fuzz run "${flags[@]}" --jobs 1 "$t" "$corpus" -- \
    -max_total_time="$per" -rss_limit_mb=2048 -print_final_stats=1 \
    >"$work/$t.log" 2>&1 || status=$?
  crashes=$(( $(find "fuzz/artifacts/$t" -type f | wc -l) - before ))
  [ "$status" -eq 0 ] || [ "$crashes" -gt 0 ] || crashes="failed (exit $status)"
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$work/$t.log" | grep -oE '[0-9]+$' | tail -1)
  size=$(find "$corpus" -type f | wc -l)
  printf '%-18s %12s %8s %8s\n' "$t" "${runs:-?}" "$size" "$crashes"
  if [ "$status" -ne 0 ]; then
    failed=1
    grep -m1 -A3 -E 'panicked at|ERROR: libFuzzer' "$work/$t.log" >&2 || tail -5 "$work/$t.log" >&2
  fi
done
if [ "$failed" -ne 0 ]; then
  echo "fuzz.sh: a target crashed; inputs in fuzz/artifacts/, logs in $work" >&2
  exit 1
fi
