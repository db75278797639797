#!/usr/bin/env bash
# s3ward against the tools people use instead (docs/performance.md), on a local moto server
# behind a latency proxy. Writes target/bench/results.jsonl and target/bench/summary.md.
#
#   scripts/bench.sh                 # the full run: N = 100, 500, 1000; 0 and 100 ms (about an hour)
#   BENCH_QUICK=1 scripts/bench.sh   # N = 50, 1,000 objects: a few minutes
#
# Knobs (comma-separated lists): BENCH_N, BENCH_LATENCIES_MS, BENCH_OBJECTS, BENCH_PEERS
# (boto3,custodian,recipe), BENCH_PEER_MAX_N, BENCH_RECIPE_SAMPLE, BENCH_PARALLELISM,
# BENCH_OUT, BENCH_PEERS_DIR (default bench/peers), BENCH_RUN_TIMEOUT_S.
#
# The peers (awscli, boto3, c7n) go into .venv-bench, apart from the tests' moto in .venv.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

peers=${BENCH_PEERS_DIR:-$root/bench/peers}
for f in boto3_drift.py c7n-drift.yml seed-acl-recipe.sh; do
  [ -f "$peers/$f" ] || { echo "error: $peers/$f is missing (set BENCH_PEERS_DIR)" >&2; exit 1; }
done
export BENCH_PEERS_DIR=$peers

# The local AWS (moto) the tests use.
bash scripts/setup-moto.sh

# The peers, in their own virtualenv.
venv=${BENCH_VENV:-$root/.venv-bench}
want='awscli boto3 c7n'
if [ ! -x "$venv/bin/custodian" ] || [ ! -x "$venv/bin/aws" ] || [ "$(cat "$venv/.s3ward-bench" 2>/dev/null)" != "$want" ]; then
  echo "bench: installing $want into $venv" >&2
  "${PYTHON:-python3}" -m venv "$venv"
  # shellcheck disable=SC2086
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $want
  echo "$want" > "$venv/.s3ward-bench"
fi
export BENCH_VENV=$venv

out=${BENCH_OUT:-$root/target/bench}
mkdir -p "$out"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
  echo "cpu: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "memory: $(free -g | awk '/^Mem:/ {print $2}') GiB"
  echo "kernel: $(uname -sr)"
  echo "load average at start: $(cut -d" " -f1-3 /proc/loadavg)"
  echo "rustc: $(rustc --version)"
  echo "python: $("$venv/bin/python" --version 2>&1)"
  echo "peers: $("$venv/bin/python" -m pip list --disable-pip-version-check 2>/dev/null | grep -Ei '^(awscli|boto3|botocore|c7n) ' | tr -s ' ' | paste -sd, -)"
  echo "moto: $(cat .venv/.s3ward-moto)"
} > "$out/machine.txt"
cat "$out/machine.txt" >&2
# `cargo bench` builds the binary under test (target/release/s3ward) and the driver with the
# bench profile, which is release's.
cargo bench --locked --bench compare 2> >(tee "$out/bench.log" >&2)
echo "bench: results in $out/summary.md and $out/results.jsonl" >&2
