#!/usr/bin/env bash
# /healthz latency while the gateway fits pictures (issue 12): the Release gateway (cache off,
# so every request decodes, scales and encodes) under a closed loop of fit requests for a 12 MP
# JPEG and a 2 MP PNG, with one connection probing /healthz beside it. OPPO is the sandbox, the
# origin Python's http.server; everything on 127.0.0.1, every process stopped on exit.
# Usage: bench/fit-health.sh [seconds, default 20] [load connections, default 4]
# Prints wrk's latency distributions (a control probe without load first, then the load and the
# probe beside it), the load average, and the gateway's peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
seconds=${1:-20}
connections=${2:-4}
scripts/install-deps.sh wrk
scripts/build.sh release image-gateway oppo-sandbox fit_bench

work=$(mktemp -d /tmp/igw-fit-health.XXXXXX)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r origin_port oppo_port gateway_port <<<"$(python3 - <<'PY'
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))
PY
)"
wait_http() {
  for _ in $(seq 100); do
    curl -s -o /dev/null --max-time 1 "$1" && return 0
    sleep 0.1
  done
  echo "fit-health: $1 did not answer" >&2
  return 1
}

mkdir -p "$work/origin"
build/release/bench/fit_bench --sources "$work/origin" >/dev/null
python3 -m http.server --bind 127.0.0.1 --directory "$work/origin" "$origin_port" \
  >"$work/origin.log" 2>&1 &
pids+=($!)
build/release/oppo-sandbox --listen "127.0.0.1:$oppo_port" >"$work/sandbox.log" 2>&1 &
pids+=($!)
cat >"$work/gateway.json" <<JSON
{
  "server": { "listen": "127.0.0.1:$gateway_port", "drain_ms": 0 },
  "apps": [ { "app_key": "bench-app", "master_secret": "bench-secret",
              "oppo": { "app_key": "sandbox-oppo-app", "master_secret": "sandbox-oppo-secret" } } ],
  "oppo": { "auth_base_url": "http://127.0.0.1:$oppo_port",
            "media_base_url": "http://127.0.0.1:$oppo_port" },
  "fetch": { "allow_networks": ["127.0.0.0/8"] },
  "cache": { "max_entries": 0 },
  "log": { "level": "warn" }
}
JSON
build/release/image-gateway --config "$work/gateway.json" >"$work/gateway.log" 2>&1 &
gateway_pid=$!
pids+=("$gateway_pid")
wait_http "http://127.0.0.1:$origin_port/photo-1920x1080.png"
wait_http "http://127.0.0.1:$oppo_port/healthz"
wait_http "http://127.0.0.1:$gateway_port/healthz"

cat >"$work/fit.lua" <<LUA
wrk.method = "POST"
wrk.path = "/v4/image/oppo"
wrk.headers["Authorization"] = "Basic $(printf 'bench-app:bench-secret' | base64 -w0)"
wrk.body = '{"big_picture_url":"http://127.0.0.1:$origin_port/photo-4000x3000.jpg",' ..
           '"small_picture_url":"http://127.0.0.1:$origin_port/photo-1920x1080.png","fit":"cover"}'
local statuses = {}
response = function(status, headers, body)
  if status ~= 200 or not body:find("big_picture_id", 1, true) then
    statuses[status] = (statuses[status] or 0) + 1
    if (statuses[status] or 0) == 1 then io.stderr:write("unexpected answer: " .. body .. "\n") end
  end
end
LUA
# One request first: it must succeed.
curl -sf -u bench-app:bench-secret -d "$(sed -n "s/^wrk.body = '\(.*\)' ..$/\1/p" "$work/fit.lua")" \
  "http://127.0.0.1:$gateway_port/v4/image/oppo" >/dev/null || true

echo "load average before: $(cat /proc/loadavg)"
# The control: the same probe with no fit load, to tell the machine's noise from the gateway's.
wrk -t1 -c1 -d"$((seconds / 2))s" --latency "http://127.0.0.1:$gateway_port/healthz" >"$work/idle.out"
echo "load average after the control: $(cat /proc/loadavg)"
wrk -t1 -c"$connections" -d"${seconds}s" --timeout 20s --latency -s "$work/fit.lua" \
  "http://127.0.0.1:$gateway_port" >"$work/load.out" 2>"$work/load.err" &
load_pid=$!
sleep 1
wrk -t1 -c1 -d"$((seconds - 2))s" --latency "http://127.0.0.1:$gateway_port/healthz" >"$work/probe.out"
wait "$load_pid"
echo "load average after: $(cat /proc/loadavg)"
echo "== fit load ($connections connections, each request: a 12 MP JPEG cover -> 984x369 and a 2 MP PNG cover -> 144x144)"
cat "$work/load.out"
[[ -s $work/load.err ]] && head -5 "$work/load.err"
echo "== /healthz probe alone, no fit load (control, 1 connection)"
cat "$work/idle.out"
echo "== /healthz probe beside the fit load (1 connection)"
cat "$work/probe.out"
echo "gateway peak RSS: $(awk '/^VmHWM/ {print $2, $3}' "/proc/$gateway_pid/status")"
