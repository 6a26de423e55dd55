#!/usr/bin/env bash
# The main job until `mcp-sampling demo` exists: build, then call the built-in `summarize`
# server's tool through our host, which answers the server's sampling request (auto-approved,
# with a fixed reply standing in for a model), on both protocol eras.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release -q -p mcp-sampling
bin=target/release/mcp-sampling
text="MCP sampling lets a server ask the client's model for a completion while it handles a request. \
The client keeps control: it chooses the model, may show the request to a person, and may refuse. \
Servers therefore need no API keys of their own. The current revision carries sampling inside \
input_required results, and the client retries the call with the model's reply."
for era in legacy modern; do
  echo "== era: $era"
  "$bin" --log info call --era "$era" --approve auto \
    --provider "fixed:Sampling lets MCP servers borrow the client's model, under the client's control." \
    --tool summarize --args "$(printf '{"text": "%s", "sentences": 1}' "$text")" -- "$bin" serve summarize
done
