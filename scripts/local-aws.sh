#!/usr/bin/env bash
# A local AWS for trying s3ward: the project's stricter moto server (the one the tests use),
# which refuses what AWS refuses and moto alone accepts (an ACL change under
# BucketOwnerEnforced, a public policy under BlockPublicPolicy, a policy naming a role that
# does not exist), and can make another account own an object. Nothing reaches real AWS.
#
#   scripts/local-aws.sh            # prints the environment to use, serves until Ctrl-C or Ctrl-D
#
# Then, in another shell, paste the printed `export` lines and run s3ward as usual. To see
# `check` report an object another account owns (plain moto gives every account the same
# owner), upload an object and run the printed `curl` line with its bucket and key.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-moto.sh >&2

# The server prints `PORT n` once it listens, and serves until its stdin closes: give it
# this script's stdin (the terminal: Ctrl-D or Ctrl-C ends it).
out=$(mktemp)
.venv/bin/python tests/support/moto_server.py <&0 >"$out" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$out"' EXIT INT TERM
port=""
for _ in $(seq 1 600); do
  read -r word port <"$out" || true
  [[ "${word:-}" == "PORT" && -n "$port" ]] && break
  port=""
  if ! kill -0 "$server" 2>/dev/null; then
    echo "local-aws: the server did not start" >&2
    exit 1
  fi
  sleep 0.1
done
if [[ -z "$port" ]]; then
  echo "local-aws: the server did not say its port within a minute" >&2
  exit 1
fi
endpoint="http://127.0.0.1:$port"
cat <<EOF
# s3ward's local AWS listens on $endpoint (account 123456789012 for these credentials;
# AssumeRole into arn:aws:iam::ACCOUNT:role/ANY acts in ACCOUNT). Use it in another shell:
export AWS_ENDPOINT_URL=$endpoint
export AWS_ACCESS_KEY_ID=AKIALOCALS3WARD00001 AWS_SECRET_ACCESS_KEY=local-only AWS_REGION=us-east-1
# Make another account own an object (what a cross-account upload without
# bucket-owner-full-control leaves behind), then run \`s3ward check\`:
#   curl -s -X POST $endpoint/_s3ward/object-owner -d '{"bucket":"BUCKET","key":"KEY","owner_id":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","display_name":"other-account"}'
# Serving until Ctrl-C (or Ctrl-D).
EOF
wait "$server"
