#!/usr/bin/env bash
# `npm ci` in DIR (its package-lock.json), but only when DIR/node_modules is missing or older than
# package.json / package-lock.json. Idempotent and safe to call concurrently (e.g. from parallel
# cargo tests): a flock serialises installs where flock exists. Needs node >= 20 and npm on PATH.
# Run:   tests/peers/npm_ci.sh DIR
set -euo pipefail
cd "${1:?usage: npm_ci.sh DIR}"

stamp=node_modules/.package-lock.json   # written by npm ci on every successful install
needs_install() {
  [[ ! -f $stamp || package-lock.json -nt $stamp || package.json -nt $stamp ]]
}

needs_install || exit 0
command -v npm >/dev/null || { echo "npm_ci.sh: npm not found on PATH" >&2; exit 1; }

if command -v flock >/dev/null; then
  exec 9>.install.lock
  flock 9
  needs_install || exit 0   # another process installed while we waited
fi

echo "npm_ci.sh: npm ci in $PWD" >&2
npm ci --no-audit --no-fund --loglevel=error >&2
touch "$stamp"
