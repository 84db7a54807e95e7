#!/usr/bin/env bash
# Sets up, builds, and runs image-gateway on config/dev.json with the bundled OPPO sandbox
# (127.0.0.1:9090, which also serves sample images). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh release image-gateway oppo-sandbox

build/release/oppo-sandbox --listen 127.0.0.1:9090 &
sandbox_pid=$!
trap 'kill "$sandbox_pid" 2>/dev/null || true; wait 2>/dev/null || true' EXIT INT TERM

build/release/image-gateway --config config/dev.json
