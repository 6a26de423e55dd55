#!/usr/bin/env bash
# Redis, three replicas of a built-in server sharing it, and HAProxy in front, on this
# machine (see README.md here). Usage: deploy/run.sh [SERVER] (default: summarize);
# Ctrl-C stops everything. REDIS_URL=redis://... uses a Redis already running instead.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
name="${1:-summarize}"
bin="${CARGO_TARGET_DIR:-target}/release/mcp-sampling"
[ -x "$bin" ] || cargo build --release --bin mcp-sampling
command -v haproxy >/dev/null || PATH="$PATH:/usr/sbin"
command -v haproxy >/dev/null || { echo "run.sh: haproxy is missing (apt-get install haproxy)" >&2; exit 1; }
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT INT TERM
redis="${REDIS_URL:-}"
if [ -z "$redis" ]; then
  command -v redis-server >/dev/null || { echo "run.sh: redis-server is missing (apt-get install redis-server)" >&2; exit 1; }
  redis-server --port 6390 --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
  pids+=($!)
  redis="redis://127.0.0.1:6390"
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/6390) 2>/dev/null && break; sleep 0.1; done
fi
secrets="${MCP_STATE_SECRET_FILE:-deploy/state.secrets}"
if [ ! -s "$secrets" ]; then
  umask 077
  head -c 32 /dev/urandom | base64 > "$secrets"
  echo "run.sh: wrote a new requestState secret to $secrets" >&2
fi
for port in 8081 8082 8083; do
  "$bin" serve "$name" --http "127.0.0.1:$port" --state-secret-file "$secrets" --redis "$redis" &
  pids+=($!)
done
haproxy -db -f deploy/haproxy.cfg &
pids+=($!)
echo "run.sh: $name on http://127.0.0.1:8080/mcp (replicas 8081-8083 sharing $redis; /metrics on each)" >&2
wait
