#!/usr/bin/env bash
# Installs the local AWS emulator (moto server) that the integration tests and the quick
# start use, into .venv at the project root. Idempotent: a complete install is left alone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
want='moto[server]==5.2.5'
stamp="$venv/.s3ward-moto"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
  exit 0
fi
python=${PYTHON:-python3}
echo "s3ward: installing $want into $venv" >&2
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$want"
echo "$want" > "$stamp"
