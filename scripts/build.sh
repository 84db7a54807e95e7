#!/usr/bin/env bash
# Installs what is missing, configures and builds one CMake preset (default: release).
# Usage: scripts/build.sh [preset] [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
shift || true
targets=()
if (($# > 0)); then targets=(--target "$@"); fi
scripts/install-deps.sh
source scripts/ccache-env.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" "${targets[@]}"
