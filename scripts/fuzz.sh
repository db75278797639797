#!/usr/bin/env bash
# Fuzzes s3ward's two parsers of untrusted text with cargo-fuzz (libFuzzer): the plan-file
# parser (`fuzz/fuzz_targets/plan_file.rs`) and the policy-document parser
# (`fuzz/fuzz_targets/policy.rs`). Not part of CI: run it by hand, or nightly.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     # default: 300 s, both targets
#   FUZZ_ARGS="-fork=1 -ignore_crashes=1" scripts/fuzz.sh 600 policy   # go on past a crash
#
# The fuzz crate (`fuzz/`) is its own workspace, so it never enters the main build. Corpora
# start from the plan files and policy documents in the repository and grow in
# `fuzz/corpus/` (git-ignored); a crash leaves its input in `fuzz/artifacts/TARGET/`,
# reproduced by `RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none -O TARGET FILE`.
#
# cargo-fuzz passes `-Z` flags to rustc, which stable rustc accepts only under
# RUSTC_BOOTSTRAP=1; with the sanitizer off (`--sanitizer none`) nothing else needs a
# nightly toolchain. The first build compiles the AWS SDK in release mode (~15 min on two
# cores). At the end the script prints, per target, how many inputs ran without a panic.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-300}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(plan_file policy)

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1

# Seed corpora from what the repository already has (copies; the corpora may grow).
mkdir -p fuzz/corpus/plan_file fuzz/corpus/policy fuzz/logs
find plans examples tests -name '*.toml' -type f -exec cp -n {} fuzz/corpus/plan_file/ \; 2>/dev/null || true
find tests/corpus -name '*.json' -type f -exec cp -n {} fuzz/corpus/policy/ \; 2>/dev/null || true

status=0
for t in "${targets[@]}"; do
  log="fuzz/logs/$t.log"
  echo "== fuzzing $t for ${secs}s (log: $log)"
  if ! (cd fuzz && cargo fuzz run --sanitizer none -O "$t" "corpus/$t" -- \
        -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=4096 ${FUZZ_ARGS:-}) >"$log" 2>&1; then
    echo "   $t FAILED: see $log and fuzz/artifacts/$t/"
    status=1
  fi
  # Inputs run: libFuzzer's final stats, or (fork mode) its last progress line `#N: ...`.
  runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1 || true)
  [ -n "$runs" ] || runs=$(grep -Eo '^#[0-9]+:' "$log" | tr -d '#:' | tail -1 || true)
  corpus=$(ls "fuzz/corpus/$t" | wc -l)
  panics=$(grep -c 'panicked at' "$log" || true)
  echo "   $t: ${runs:-?} inputs executed, corpus of $corpus, $panics panics"
  if [ "$panics" != 0 ]; then
    grep -A3 'panicked at' "$log" | head -20 | sed 's/^/     /'
  fi
done
exit "$status"
