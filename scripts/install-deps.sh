#!/usr/bin/env bash
# Installs the Debian 12 packages image-gateway builds and tests with, when any is missing.
# Everything comes from Debian's archive; nothing is downloaded at build time.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev nlohmann-json3-dev libcurl4-openssl-dev libstb-dev libssl-dev libgtest-dev
  curl python3 python3-yaml
  # metrics storage and text format (libprometheus-cpp-core1.0 at run time)
  prometheus-cpp-dev
  # the OpenAPI test (tests/api/check_openapi.py)
  python3-jsonschema
  # replicas tests run their own Redis (tests/fakes/redis_process.cpp)
  redis-server
)
# Extra tools some scripts need: pass them as arguments (e.g. wrk nginx-light clang).
packages+=("$@")

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
