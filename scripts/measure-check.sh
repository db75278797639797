#!/usr/bin/env bash
# Measures `s3ward check` over 10,000 objects against a local AWS emulator (moto) that this
# script starts and stops itself: 10 model directories of 1,000 objects each (config.json,
# tokenizer.json, model.safetensors.index.json and 997 shards it names), then `check -v`
# timed at the default --parallelism and at --parallelism 1. Prints objects per second.
# Nothing reaches real AWS. The numbers are in docs/check.md.
#
#   scripts/measure-check.sh [RUNS]      (default 3 runs of each)
#
# S3WARD=path/to/s3ward uses that binary instead of building target/debug/s3ward.
# LATENCY_MS=N puts a forwarder between s3ward and moto that holds each request N ms before
# passing it on, like the round trip to a real S3 endpoint (moto answers in well under one).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
runs=${1:-3}
dirs=10
per_dir=1000

scripts/setup-moto.sh >/dev/null
if [[ -z "${S3WARD:-}" ]]; then
  cargo build --quiet --locked
  S3WARD="$root/target/debug/s3ward"
fi
py="$root/.venv/bin/python"

# moto on a free loopback port, as scripts/demo.sh does.
port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
work=$(mktemp -d)
.venv/bin/moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  if "$py" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null; then break; fi
  sleep 0.1
done

export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=AKIAS3WARDMEASURE001 AWS_SECRET_ACCESS_KEY=measure-secret-not-real
export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true NO_COLOR=1
unset AWS_PROFILE AWS_SESSION_TOKEN RUST_LOG
bucket=s3ward-measure-check

# Upload with boto3, 32 threads (not part of the measurement).
echo "uploading $((dirs * per_dir)) objects to s3://$bucket ..." >&2
start=$(date +%s.%N)
"$py" - "$bucket" "$dirs" "$per_dir" <<'EOF'
import json, sys
from concurrent.futures import ThreadPoolExecutor
import boto3
from botocore.config import Config

bucket, dirs, per_dir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s3 = boto3.client("s3", config=Config(max_pool_connections=32, s3={"addressing_style": "path"}))
s3.create_bucket(Bucket=bucket)
objects = []
for d in range(dirs):
    prefix = f"model-{d:02d}/"
    n = per_dir - 3
    shards = [f"model-{i:05d}-of-{n:05d}.safetensors" for i in range(1, n + 1)]
    index = {"metadata": {"total_size": 16 * n},
             "weight_map": {f"model.layers.{i}.weight": s for i, s in enumerate(shards)}}
    objects.append((prefix + "config.json", b'{"model_type": "llama"}'))
    objects.append((prefix + "tokenizer.json", b'{"version": "1.0"}'))
    objects.append((prefix + "model.safetensors.index.json", json.dumps(index).encode()))
    # 16 bytes, whole: a header length of 8, then `{}` padded with spaces, no tensors.
    objects.extend((prefix + s, (8).to_bytes(8, "little") + b"{}      ") for s in shards)
with ThreadPoolExecutor(32) as pool:
    list(pool.map(lambda kv: s3.put_object(Bucket=bucket, Key=kv[0], Body=kv[1]), objects))
print(len(objects), file=sys.stderr)
EOF
echo "uploaded in $(echo "$(date +%s.%N) - $start" | bc) s" >&2

{
  printf 'version = 1\n\n[accounts.main]\nid = "123456789012"\n\n'
  printf '[buckets.models]\naccount = "main"\nname = "%s"\n' "$bucket"
  for d in $(seq 0 $((dirs - 1))); do
    printf '\n[[buckets.models.models]]\nprefix = "model-%02d/"\nrequire = ["config.json", "tokenizer.json"]\n' "$d"
  done
} >"$work/plan.toml"

latency_ms=${LATENCY_MS:-0}
if [[ $latency_ms -gt 0 ]]; then
  fport=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  # Each chunk a client sends (a request: s3ward's are small GETs) waits N ms, then goes on
  # to moto; answers flow back untouched. Connections are independent, so concurrent
  # requests wait concurrently, as round trips to S3 do.
  "$py" - "$fport" "$port" "$latency_ms" <<'EOF' &
import asyncio, sys
listen, upstream, delay = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) / 1000

async def pipe(reader, writer, wait):
    try:
        while data := await reader.read(65536):
            if wait:
                await asyncio.sleep(delay)
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()

async def serve(creader, cwriter):
    ureader, uwriter = await asyncio.open_connection("127.0.0.1", upstream)
    await asyncio.gather(pipe(creader, uwriter, True), pipe(ureader, cwriter, False))

async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", listen)
    await server.serve_forever()

asyncio.run(main())
EOF
  forwarder=$!
  trap 'kill $moto $forwarder 2>/dev/null; rm -rf "$work"' EXIT
  sleep 1
  export AWS_ENDPOINT_URL="http://127.0.0.1:$fport"
fi

measure() { # LABEL ARGS...
  local label=$1; shift
  local best=
  last=
  for r in $(seq 1 "$runs"); do
    local t0 t1 code=0
    t0=$(date +%s.%N)
    /usr/bin/time -o "$work/cpu.txt" -f '%U %S' \
      "$S3WARD" -v "$@" check "$work/plan.toml" >"$work/out.txt" 2>"$work/err.txt" || code=$?
    t1=$(date +%s.%N)
    if [[ $code -ne 0 ]]; then
      echo "check exited $code:" >&2; cat "$work/out.txt" "$work/err.txt" >&2; exit 1
    fi
    local secs
    secs=$(echo "$t1 - $t0" | bc)
    last=$secs
    printf '%-22s run %d: %6.2f s  %6.0f objects/s  (s3ward CPU %s s)\n' "$label" "$r" "$secs" \
      "$(echo "$dirs * $per_dir / $secs" | bc -l)" "$(awk '{print $1 + $2}' "$work/cpu.txt")"
    if [[ -z $best ]] || (( $(echo "$secs < $best" | bc) )); then best=$secs; fi
  done
  printf '%-22s best:  %6.2f s  %6.0f objects/s\n' "$label" "$best" "$(echo "$dirs * $per_dir / $best" | bc -l)"
}

echo
echo "machine: $(nproc) cores, $(uname -sm), load average $(cut -d' ' -f1-3 /proc/loadavg); $("$S3WARD" --version) ($S3WARD)"
echo "added latency per request: ${latency_ms} ms"
measure "--parallelism 16" --parallelism 16
grep -E "AWS calls" "$work/err.txt" | sed 's/^/  /'
# The -v log has one line per call with its duration. The listings overlap when the sum
# of their durations exceeds the whole run's wall-clock time.
grep -E " ListObjectsV2 .* ok$" "$work/err.txt" | awk -v wall="$last" '
  { d = $(NF-1); if (d ~ /ms$/) v = d / 1000; else if (d ~ /µs$/) v = d / 1e6; else v = d + 0
    sum += v; n++ }
  END { printf "  %d ListObjectsV2 calls, their durations add up to %.2f s in %.2f s of wall-clock time: %.1f at once on average\n", n, sum, wall, sum / wall }'
measure "--parallelism 1" --parallelism 1
tail -3 "$work/out.txt" | sed 's/^/  /'
