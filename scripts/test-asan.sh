#!/usr/bin/env bash
# Builds everything with ASan + UBSan (the `asan` preset, clang) and runs the whole test suite
# once under it. Any sanitizer report fails the test that triggered it.
# Usage: scripts/test-asan.sh [ctest arguments...]   Environment: ASAN_BUILD_DIR (build/asan).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${ASAN_BUILD_DIR:-build/asan}
scripts/install-deps.sh clang libclang-rt-14-dev
source scripts/ccache-env.sh
cmake --preset asan -B "$build_dir" >/dev/null
cmake --build "$build_dir"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build_dir" -j2 --output-on-failure "$@"
