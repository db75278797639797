#!/usr/bin/env bash
# The quick start's main job: plan and apply an example plan file against a local AWS
# emulator (moto) that this script starts and stops itself. Nothing reaches real AWS.
#
#   scripts/demo.sh [PLAN]        (default: plans/ml-models.toml)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
plan=${1:-plans/ml-models.toml}

scripts/setup-moto.sh
cargo build --quiet --locked
s3ward="$root/target/debug/s3ward"

# A free loopback port, then moto on it (it loads AWS managed policies, as IAM has them).
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
MOTO_IAM_LOAD_MANAGED_POLICIES=true .venv/bin/moto_server -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
  if .venv/bin/python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null; then break; fi
  sleep 0.1
done

# Fake credentials: moto accepts any, as account 123456789012. The example plan assumes
# roles in its accounts, which moto grants without asking.
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=AKIAS3WARDDEMO000001 AWS_SECRET_ACCESS_KEY=demo-secret-not-real
export AWS_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN

step() { printf '\n\033[1m$ s3ward %s\033[0m\n' "$*"; }
step validate "$plan"
"$s3ward" validate "$plan"

step plan "$plan"
"$s3ward" plan "$plan"

step apply --auto-approve "$plan"
"$s3ward" apply --auto-approve "$plan"

step plan --detailed-exitcode "$plan" "  # after apply: nothing left to do, exit 0"
"$s3ward" plan --detailed-exitcode "$plan"
