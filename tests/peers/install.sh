#!/usr/bin/env bash
# Installs the pinned interop peers the tests run against (idempotent, safe to run in parallel):
#   node/    @modelcontextprotocol/sdk (TypeScript SDK client) and server-everything, via npm ci
#   python/  the official Python SDK `mcp`, in a virtualenv, via pip
#   conformance/  the official MCP conformance suites (0.1.16, 0.2.0-alpha.12) and a Node 22 binary, via npm ci
# Needs node >= 20 with npm, and python3 >= 3.10.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$here/node/install.sh"
bash "$here/python/install.sh"
bash "$here/conformance/install.sh"
