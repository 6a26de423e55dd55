#!/usr/bin/env bash
# Installs the pinned Node peers (package-lock.json: the TypeScript SDK, server-everything) into
# ./node_modules with `npm ci` when missing or stale (see ../npm_ci.sh).
# Run:   tests/peers/node/install.sh        (from anywhere; needs node >= 20 and npm on PATH)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$here/../npm_ci.sh" "$here"
