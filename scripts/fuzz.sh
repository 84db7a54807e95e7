#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset, clang) and runs each for a bounded time on a
# copy of its seed corpus under tests/fuzz/corpus, so the repository is never modified. Fails
# when any target crashes, leaks, hits a sanitizer error or a time-out.
# Usage: scripts/fuzz.sh [seconds-per-target, default 60]
# Environment: FUZZ_BUILD_DIR (default build/fuzz), FUZZ_TARGETS (default: all six),
# FUZZ_SEED (default 1). A fixed seed makes a run repeatable: CI fuzzes the same inputs a
# developer's run of the same commit did, so a finding is never luck of the draw on one side.
# Explore new ground with FUZZ_SEED=0 (a random seed, printed in the log) and a longer time.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
build_dir=${FUZZ_BUILD_DIR:-build/fuzz}
targets=(${FUZZ_TARGETS:-fuzz_image_gate fuzz_request fuzz_url_policy fuzz_fit fuzz_multipart_form
                          fuzz_request_head})
seed=${FUZZ_SEED:-1}

scripts/install-deps.sh clang libclang-rt-14-dev
source scripts/ccache-env.sh
cmake --preset fuzz -B "$build_dir" >/dev/null
cmake --build "$build_dir" --target "${targets[@]}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
for target in "${targets[@]}"; do
  mkdir -p "$work/$target/corpus" "$work/$target/artifacts"
  cp tests/fuzz/corpus/"$target"/* "$work/$target/corpus/"
  start=$(date +%s)
  # -rss_limit_mb: a decode budget that failed would show up here as an out-of-memory crash.
  if (cd "$work/$target" &&
      "$OLDPWD/$build_dir/$target" -max_total_time="$seconds" -seed="$seed" -timeout=10 \
        -rss_limit_mb=1024 -max_len=65536 -print_final_stats=1 -artifact_prefix=artifacts/ corpus \
        >"$work/$target/log" 2>&1); then
    status=ok
  else
    status=FAILED
    failed+=("$target")
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$target/log" | grep -o '[0-9]*$' || echo '?')
  echo "fuzz: $target: $status, $runs executions in $(( $(date +%s) - start )) s (seed $seed)"
  if [[ $status == FAILED ]]; then
    tail -n 60 "$work/$target/log"
    for artifact in "$work/$target"/artifacts/*; do
      [[ -e $artifact ]] && echo "fuzz: reproducer $(basename "$artifact"): $(base64 -w0 "$artifact")"
    done
  fi
done
if ((${#failed[@]} > 0)); then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
