#!/usr/bin/env bash
# The README's commands on a fresh Debian 12: a clean clone of this repository's HEAD, bind-
# mounted into a new debian:12 minbase container (no build tools, no recommends), runs
# scripts/test.sh, which must install what it needs and pass every test; with --run-too also
# scripts/run-dev.sh, which must answer the README's "Try it" request with ids
# (tests/container/readme_commands.sh). CI runs the test command only: the Release build and the
# same request are what scripts/container-test.sh checks in the image.
# Runs scripts/container-setup.sh first (it keeps what exists). Exits non-zero on any failure.
# Usage: scripts/fresh-debian-test.sh [--run-too]
set -euo pipefail
cd "$(dirname "$0")/.."
run_too=()
if [[ ${1:-} == --run-too ]]; then run_too=(--run-too); elif (($# > 0)); then
  echo "usage: scripts/fresh-debian-test.sh [--run-too]" >&2
  exit 2
fi

scripts/container-setup.sh

work=$(mktemp -d /var/tmp/igw-fresh.XXXXXX)
name=igw-fresh-debian-$$
cleanup() {
  podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# HEAD as committed: what a user who clones gets (no build directories, no local changes).
git clone -q --no-hardlinks "$PWD" "$work/src"
echo "fresh-debian: $(git -C "$work/src" log --oneline -1) in a new debian:12 container" >&2

start=$(date +%s)
status=0
timeout --foreground 60m \
  podman run --rm --pull=never --name "$name" -v "$work/src:/src" -w /src \
  docker.io/library/debian:12 tests/container/readme_commands.sh "${run_too[@]}" 2>&1 | tee "$work/log" || status=$?
echo "fresh-debian: finished in $(($(date +%s) - start)) s, exit status $status" >&2
if ((status != 0)); then exit 1; fi
grep -qE '100% tests passed, 0 tests failed out of [1-9]' "$work/log"
if ((${#run_too[@]} > 0)); then grep -q '^run-dev: answered with ids' "$work/log"; fi
