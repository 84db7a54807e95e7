#!/usr/bin/env bash
# Sets up, builds (Debug), and runs every unit and integration test with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh debug
ctest --preset debug -j2 "$@"
