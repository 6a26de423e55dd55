#!/usr/bin/env bash
# Runs every test: installs the pinned peers (npm, PyPI) and the embedded model first, then
# the whole workspace's tests, which include interop tests against the official TypeScript and
# Python SDKs, the embedded model answering, and the web console in headless Chromium
# (installed with apt-get when missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python3 scripts/check-architecture.py
# Debian packages the tests drive: headless Chromium through chromedriver (the console's
# browser test), HAProxy and Redis (replicas behind a round-robin balancer, sharing state).
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]} (apt-get)" >&2
  as_root=""
  [ "$(id -u)" = 0 ] || as_root="sudo"
  $as_root apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
export PATH="$PATH:/usr/sbin"
bash tests/peers/install.sh
cargo build --workspace --bins
"${CARGO_TARGET_DIR:-target}/debug/mcp-sampling" model install
cargo test --workspace --all-targets "$@"
# A short run of every fuzz target (about a minute in all; fails on a crash).
bash scripts/fuzz.sh 60
