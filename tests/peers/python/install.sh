#!/usr/bin/env bash
# Creates ./.venv beside this script and installs requirements.txt into it.
# Idempotent: skipped when .venv/.requirements.sha256 matches requirements.txt.
# Safe to run concurrently (parallel tests): an flock on .install.lock serializes runs.
# Usage: bash tests/peers/python/install.sh     (needs only python3 and PyPI)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
stamp="$venv/.requirements.sha256"
exec 9>"$here/.install.lock"
flock 9
want="$(python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$here/requirements.txt")"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "python peers: $venv is up to date" >&2
  exit 0
fi
if [[ ! -x "$venv/bin/python" ]]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
fi
rm -f "$stamp"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
echo "$want" > "$stamp"
echo "python peers: installed into $venv" >&2
