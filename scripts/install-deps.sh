#!/usr/bin/env bash
# Installs the Debian 12 packages image-gateway builds and tests with, when any is missing, so that
# the README's two commands work on a minimal Debian 12 (debootstrap --variant=minbase, no
# recommends): scripts/fresh-debian-test.sh checks exactly that.
# Everything comes from Debian's archive; nothing is downloaded at build time.
# Usage: scripts/install-deps.sh [--build-only] [extra-package...]
#   --build-only  only what building the executables needs (the container image's build stage)
set -euo pipefail

# Compilers, CMake, and the libraries the executables link.
packages=(
  build-essential cmake ninja-build pkg-config ccache
  libboost1.81-dev nlohmann-json3-dev libcurl4-openssl-dev libstb-dev libssl-dev
  # metrics storage and text format (libprometheus-cpp-core1.0 at run time)
  prometheus-cpp-dev
  # the fit encoders (libpng16-16 and libjpeg62-turbo at run time)
  libpng-dev libjpeg62-turbo-dev
)
if [[ ${1:-} == --build-only ]]; then
  shift
else
  # The tests: GoogleTest and GoogleMock, the Python checks (python3-jsonschema: the OpenAPI test,
  # tests/api/check_openapi.py), a real Redis for the replicas tests, curl, openssl (the Redis TLS
  # test makes its certificates).
  packages+=(
    libgtest-dev libgmock-dev
    python3 python3-yaml python3-jsonschema
    redis-server curl ca-certificates openssl
  )
fi
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
