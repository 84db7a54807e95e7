#!/usr/bin/env bash
# Runs inside the fresh debian:12 container of scripts/fresh-debian-test.sh, at the root of a clean
# clone: the README's commands as a new user types them. First `scripts/test.sh`; then, with
# --run-too, `scripts/run-dev.sh`, checked with the README's "Try it" request (real ids from the
# sandbox) and stopped with Ctrl-C (SIGINT to its process group).
# Usage: tests/container/readme_commands.sh [--run-too]
set -euo pipefail

echo "== scripts/test.sh"
scripts/test.sh
if [[ ${1:-} != --run-too ]]; then exit 0; fi

echo "== scripts/run-dev.sh"
setsid scripts/run-dev.sh >/tmp/run-dev.log 2>&1 &
run_pid=$!
deadline=$((SECONDS + 900)) # it builds a Release first
until curl -fsS -o /dev/null http://127.0.0.1:8080/healthz 2>/dev/null; do
  if ! kill -0 "$run_pid" 2>/dev/null || ((SECONDS > deadline)); then
    tail -n 30 /tmp/run-dev.log
    echo "run-dev: the gateway did not come up" >&2
    exit 1
  fi
  sleep 1
done
answer=$(curl -sS --max-time 30 -u c96f42e0d2e662e45d035ab1:df4d59e84eac2f9d53b36f12 \
  -d '{"big_picture_url":"http://127.0.0.1:9090/images/big.png","small_picture_url":"http://127.0.0.1:9090/images/small.png"}' \
  http://127.0.0.1:8080/v4/image/oppo)
echo "run-dev: $answer"
kill -INT -- "-$run_pid"
status=0
wait "$run_pid" || status=$?
if ! grep -qE '^\{"big_picture_id":"[^"]+","small_picture_id":"[^"]+"\}$' <<<"$answer"; then
  tail -n 30 /tmp/run-dev.log
  echo "run-dev: no ids in the answer" >&2
  exit 1
fi
# Ctrl-C: the gateway drains and exits 0, run-dev.sh's trap stops the sandbox.
if ((status != 0 && status != 130)); then
  tail -n 30 /tmp/run-dev.log
  echo "run-dev: exit status $status after Ctrl-C" >&2
  exit 1
fi
echo "run-dev: answered with ids, stopped by Ctrl-C (exit status $status)"
