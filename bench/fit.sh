#!/usr/bin/env bash
# The fitting benchmark (issue 12): builds fit_bench in the Release preset (with Debian's libpng
# and libjpeg-turbo, which only the bench links, for the encoder comparison) and runs it.
# Usage: bench/fit.sh [rounds, default 5]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh libpng-dev libjpeg62-turbo-dev
cmake --preset release >/dev/null
cmake --build --preset release --target fit_bench
build/release/bench/fit_bench "${1:-5}"
