#!/usr/bin/env bash
# Benchmark harness for image-gateway (issue 5). The protocol and how to read the results are in
# bench/README.md. One command: installs wrk and nginx, builds the Release, runs the scenarios
# against it on loopback and writes a Markdown report under bench/results/.
#
# Usage: bench/run.sh [--duration S] [--warmup S] [--connections N] [--pin] [--smoke]
#                     [--scenarios a,b,...] [--images sandbox|max] [--server-threads N]
#                     [--repeat N] [--quiet] [--out FILE] [--keep] [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

usage() {
  cat <<'EOF'
usage: bench/run.sh [options]
  --duration S        measured seconds per scenario (default 10; smoke 2)
  --warmup S          warm-up seconds before each measurement (default 3; smoke 1)
  --connections N     wrk connections (default 32; smoke 4)
  --server-threads N  image-gateway server.threads, and nginx-limit's worker processes
                      (default 1)
  --pin               pin the server (image-gateway, or nginx for nginx-limit) to CPU 0 and
                      wrk plus the upstream nginx to CPU 1
  --smoke             short run that only checks the harness works and every answer is valid;
                      exits non-zero otherwise; report goes to bench/results/smoke.md.tmp
  --scenarios LIST    comma-separated subset of: nginx-limit reject hit hit-fresh hit-refetch
                      miss-decode miss-nodecode health ("miss" = both miss-*; default: all), and
                      replicas (not in "all": two gateways sharing a redis-server, Redis on
                      and off, in its own report; see run_replicas_scenario)
  --quiet             no access logs: image-gateway at log.level warn, nginx-limit with
                      access_log off (default: the shipped defaults, a line per request
                      from both, each to a file)
  --repeat N          rounds of every scenario (default 3; smoke 1); the report keeps, per
                      scenario, the round with the most req/s (the least disturbed one)
  --images SET        sandbox: oppo-sandbox's sample PNGs (default); max: PNGs of the exact
                      pixel sizes just under the byte limits (1 MiB, 50 KiB)
  --out FILE          report path (default bench/results/<date>-<scenarios>-<images>.md)
  --keep              keep the temporary directory (configs, logs, raw wrk output)
  --no-build          use build/release as it is (skip installing packages and building)
EOF
}

all_scenarios=(nginx-limit reject hit hit-fresh hit-refetch miss-decode miss-nodecode health)
duration="" warmup="" connections="" repeat="" server_threads=1 pin=0 smoke=0 images=sandbox out="" keep=0 build=1
quiet=0
scenario_list=""
replicas_scenario=0
while (($# > 0)); do
  case $1 in
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --server-threads) server_threads=$2; shift 2 ;;
    --pin) pin=1; shift ;;
    --smoke) smoke=1; shift ;;
    --scenarios) scenario_list=$2; shift 2 ;;
    --images) images=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --no-build) build=0; shift ;;
    --quiet) quiet=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; echo "bench: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
if ((smoke)); then
  : "${duration:=2}" "${warmup:=1}" "${connections:=4}" "${repeat:=1}"
else
  : "${duration:=10}" "${warmup:=3}" "${connections:=32}" "${repeat:=3}"
fi
for number in "$duration" "$warmup" "$connections" "$server_threads" "$repeat"; do
  [[ $number =~ ^[0-9]+$ ]] || { echo "bench: '$number' is not a whole number" >&2; exit 2; }
done
((connections >= 1 && duration >= 1 && repeat >= 1)) ||
  { echo "bench: --connections, --duration and --repeat must be >= 1" >&2; exit 2; }
[[ $images == sandbox || $images == max ]] || { echo "bench: --images is sandbox or max" >&2; exit 2; }

scenarios=()
if [[ -z $scenario_list ]]; then
  scenarios=("${all_scenarios[@]}")
else
  IFS=, read -ra asked <<<"$scenario_list"
  for name in "${asked[@]}"; do
    case $name in
      miss) scenarios+=(miss-decode miss-nodecode) ;;
      nginx-limit | reject | hit | hit-fresh | hit-refetch | miss-decode | miss-nodecode | health) scenarios+=("$name") ;;
      replicas) replicas_scenario=1 ;;
      *) echo "bench: unknown scenario '$name'" >&2; exit 2 ;;
    esac
  done
fi

# --- tools and the Release build ------------------------------------------------------------
if ((build)); then
  scripts/install-deps.sh wrk nginx-light
  build_log=$(mktemp)
  if ! scripts/build.sh release image-gateway oppo-sandbox bench-log-line >"$build_log" 2>&1; then
    cat "$build_log" >&2
    rm -f "$build_log"
    echo "bench: the Release build failed" >&2
    exit 1
  fi
  rm -f "$build_log"
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
echo_module=/usr/lib/nginx/modules/ngx_http_echo_module.so  # libnginx-mod-http-echo, from nginx-light
[[ -f $echo_module ]] || { echo "bench: $echo_module is missing (apt-get install nginx-light)" >&2; exit 1; }

server_pin=() client_pin=()
if ((pin)); then
  if (($(nproc) < 2)); then
    echo "bench: --pin needs at least 2 CPUs" >&2
    exit 2
  fi
  server_pin=(taskset -c 0)
  client_pin=(taskset -c 1)
fi

# --- processes: everything started here is stopped on exit ----------------------------------
work=$(mktemp -d /tmp/igw-bench.XXXXXX)
# A copy of the binaries, so every scenario runs the same build even if build/release changes.
mkdir -p "$work/bin"
[[ -x build/release/image-gateway && -x build/release/oppo-sandbox ]] ||
  { echo "bench: build/release has no image-gateway/oppo-sandbox (run without --no-build)" >&2; exit 1; }
cp build/release/image-gateway build/release/oppo-sandbox "$work/bin/"
[[ -x build/release/bench-log-line ]] && cp build/release/bench-log-line "$work/bin/"
gateway_bin=$work/bin/image-gateway
sandbox_bin=$work/bin/oppo-sandbox
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if ((keep)); then echo "bench: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Stops one process this script started, within 5 s.
stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  local left=() other
  for other in "${pids[@]}"; do [[ $other == "$pid" ]] || left+=("$other"); done
  pids=("${left[@]}")  # never signal a pid the kernel may have handed to someone else
}

# Free loopback ports, asked of the kernel (bound together so they differ).
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
sockets = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in sockets))
EOF
}

# Waits until URL answers (any HTTP status), or fails after 10 s.
wait_http() {
  local url=$1 pid=$2
  for _ in $(seq 100); do
    if curl -s -o /dev/null --max-time 1 "$url"; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { echo "bench: process $pid died before answering $url" >&2; return 1; }
    sleep 0.1
  done
  echo "bench: $url did not answer within 10 s" >&2
  return 1
}

# CPU ticks (user + system) of a process and its children (nginx-limit's workers).
ticks() {
  local pid total=0 children
  children=$(cat /proc/"$1"/task/*/children 2>/dev/null || true)
  for pid in "$1" $children; do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
# All CPUs' busy ticks (user nice system irq softirq) and steal, to see what else ran meanwhile.
machine_busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
machine_steal() { awk '/^cpu / {print $9}' /proc/stat; }
file_size() { stat -c %s "$1"; }

read -r origin_port oppo_port limit_port sandbox_port <<<"$(free_ports 4)"

# --- sample images --------------------------------------------------------------------------
mkdir -p "$work/origin/images"
if [[ $images == max ]]; then
  python3 bench/make_images.py "$work/origin/images"
else
  "$sandbox_bin" --listen "127.0.0.1:$sandbox_port" >"$work/sandbox.log" 2>&1 &
  sandbox_pid=$!
  pids+=("$sandbox_pid")
  wait_http "http://127.0.0.1:$sandbox_port/healthz" "$sandbox_pid"
  for name in big.png small.png; do
    curl -sf --max-time 5 -o "$work/origin/images/$name" "http://127.0.0.1:$sandbox_port/images/$name"
  done
  stop_pid "$sandbox_pid"
fi

# --- nginx: image origin + OPPO stand-in (upstream), and the nginx-limit server -------------
# One worker, master_process off so the pid we hold is the process that does the work; with
# WORKERS > 1 (nginx-limit beside --server-threads N), a master and N workers, its children.
nginx_common() {
  local dir=$1 workers=${2:-1} master=off
  ((workers > 1)) && master=on
  mkdir -p "$dir/tmp"
  cat <<EOF
worker_processes $workers;
master_process $master;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  # Keep-alive connections are never closed by nginx during a run, so the connection counts
  # below measure the gateway's reuse, not nginx's limits.
  keepalive_requests 100000000;
  keepalive_timeout 600s;
  sendfile on;
  tcp_nodelay on;
  # \$connection is nginx's serial number of the connection: distinct values = connections.
  log_format bench '\$connection \$connection_requests \$request_method \$uri \$status \$request_length \$body_bytes_sent';
EOF
}

now_ms=$(($(date +%s%N) / 1000000))  # OPPO tokens are valid 24 h from create_time
mkdir -p "$work/upstream" "$work/limit"
{
  echo "load_module $echo_module;"
  nginx_common "$work/upstream"
  cat <<EOF
  server {
    listen 127.0.0.1:$origin_port;
    access_log $work/upstream/origin.log bench;
    root $work/origin;
    types { image/png png; }
    location /images/ { }
    # The same files with an hour of freshness, as CDNs send images (scenario hit-fresh).
    location /fresh/ {
      alias $work/origin/images/;
      add_header Cache-Control "max-age=3600";
    }
  }
  server {
    listen 127.0.0.1:$oppo_port;
    access_log $work/upstream/oppo.log bench;
    # Like OPPO, answer after the whole multipart body is read (echo module, from nginx-light):
    # a bare \`return\` would answer on the headers and discard the body behind the answer.
    client_max_body_size 4m;
    client_body_buffer_size 2m;  # in memory, no temporary files
    default_type application/json;
    location = /server/v1/auth {
      echo_read_request_body;
      echo -n '{"code":0,"message":"success","data":{"auth_token":"bench-token","create_time":$now_ms}}';
    }
    location = /server/v1/media/upload/big_picture {
      echo_read_request_body;
      echo -n '{"code":0,"message":"success","data":{"big_picture_id":"bench-big"}}';
    }
    location = /server/v1/media/upload/small_picture {
      echo_read_request_body;
      echo -n '{"code":0,"message":"success","data":{"small_picture_id":"bench-small"}}';
    }
    location / { return 404 '{"code":404,"message":"not found"}'; }
  }
}
EOF
} >"$work/upstream/nginx.conf"
# nginx-limit logs like nginx does out of the box (the combined format, to a file), as the gateway
# logs a line per request by default; --quiet turns both off.
limit_log="access_log $work/limit/access.log;"
((quiet)) && limit_log="access_log off;"
{
  nginx_common "$work/limit" "$server_threads"
  cat <<EOF
  server {
    listen 127.0.0.1:$limit_port;
    $limit_log
    client_max_body_size 1m;
    default_type application/json;
    location / { return 200 '{"error":{"code":0,"message":"nginx-limit","detail":"a fixed answer of about the size of a rejection"}}'; }
  }
}
EOF
} >"$work/limit/nginx.conf"

# start_nginx DIR [PIN...]: sets nginx_pid.
start_nginx() {
  local dir=$1
  shift
  "$@" "$nginx_bin" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" >"$dir/stdout.log" 2>&1 &
  nginx_pid=$!
  pids+=("$nginx_pid")
}
start_nginx "$work/upstream" "${client_pin[@]}"
upstream_pid=$nginx_pid
wait_http "http://127.0.0.1:$origin_port/images/big.png" "$upstream_pid"
touch "$work/upstream/oppo.log" "$work/upstream/origin.log"
limit_pid=""
if [[ " ${scenarios[*]} " == *" nginx-limit "* ]]; then
  start_nginx "$work/limit" "${server_pin[@]}"
  limit_pid=$nginx_pid
  wait_http "http://127.0.0.1:$limit_port/" "$limit_pid"
fi

# --- image-gateway ----------------------------------------------------------------------------
app_key=bench-app
app_secret=bench-secret
good_auth="Basic $(printf '%s:%s' "$app_key" "$app_secret" | base64 -w0)"
bad_auth="Basic $(printf '%s:%s' "$app_key" "wrong-secret" | base64 -w0)"
gateway_port=""
gateway_pid=""

# The shipped default log.level (info: a line per request, to stdout, here a file) unless --quiet.
log_section=""
((quiet)) && log_section=',
  "log": { "level": "warn" }'

# start_gateway DIR CACHE_ENTRIES VERIFY_DECODE [REVALIDATE]
start_gateway() {
  local dir=$1 cache=$2 decode=$3 revalidate=${4:-true}
  read -r gateway_port <<<"$(free_ports 1)"
  cat >"$dir/gateway.json" <<EOF
{
  "server": { "listen": "127.0.0.1:$gateway_port", "threads": $server_threads, "drain_ms": 0 },
  "apps": [
    {
      "app_key": "$app_key",
      "master_secret": "$app_secret",
      "oppo": { "app_key": "bench-oppo-app", "master_secret": "bench-oppo-secret" }
    }
  ],
  "oppo": {
    "auth_base_url": "http://127.0.0.1:$oppo_port",
    "media_base_url": "http://127.0.0.1:$oppo_port"
  },
  "images": { "verify_decode": $decode },
  "fetch": { "allow_networks": ["127.0.0.0/8"], "revalidate": $revalidate },
  "cache": { "max_entries": $cache }$log_section
}
EOF
  "${server_pin[@]}" "$gateway_bin" --config "$dir/gateway.json" >"$dir/gateway.log" 2>&1 &
  gateway_pid=$!
  pids+=("$gateway_pid")
  wait_http "http://127.0.0.1:$gateway_port/healthz" "$gateway_pid" || { cat "$dir/gateway.log" >&2; exit 1; }
}

# run_wrk OUT_PREFIX SECONDS CONNECTIONS SCRIPT URL: wrk's output in OUT_PREFIX.out, its CPU
# seconds (user system) in OUT_PREFIX.time.
run_wrk() {
  local prefix=$1 seconds=$2 conns=$3 script=$4 url=$5
  local TIMEFORMAT='%3U %3S'
  {
    time timeout --foreground $((seconds + 30)) "${client_pin[@]}" wrk -t1 -c"$conns" -d"${seconds}s" \
      --timeout 10s -s "$repo/bench/wrk/$script" "$url" >"$prefix.out" 2>"$prefix.err"
  } 2>"$prefix.time"
}

# measure NAME DIR SERVER_PID SCRIPT URL [PROBE]: warm-up, then the measured run with the
# server's CPU ticks and the upstream's around it. With PROBE, /healthz is probed beside it.
measure() {
  local name=$1 dir=$2 server=$3 script=$4 url=$5 probe=${6:-}
  ((warmup > 0)) && run_wrk "$dir/warmup" "$warmup" "$connections" "$script" "$url"
  local server_before upstream_before busy_before steal_before
  echo "oppo_measure_from=$(file_size "$work/upstream/oppo.log")" >>"$dir/meta"
  server_before=$(ticks "$server")
  upstream_before=$(ticks "$upstream_pid")
  busy_before=$(machine_busy)
  steal_before=$(machine_steal)
  if [[ -n $probe ]]; then
    run_wrk "$dir/load" "$duration" "$connections" "$script" "$url" &
    local load_pid=$!
    run_wrk "$dir/wrk" "$duration" 1 healthz.lua "http://127.0.0.1:$gateway_port"
    wait "$load_pid"
  else
    run_wrk "$dir/wrk" "$duration" "$connections" "$script" "$url"
  fi
  {
    echo "machine_busy_ticks=$(($(machine_busy) - busy_before))"
    echo "machine_steal_ticks=$(($(machine_steal) - steal_before))"
    echo "server_ticks=$(($(ticks "$server") - server_before))"
    echo "upstream_ticks=$(($(ticks "$upstream_pid") - upstream_before))"
    echo "server_hwm_kb=$(awk '/^VmHWM/ {print $2}' "/proc/$server/status")"
    echo "server_threads=$(ls "/proc/$server/task" | wc -l)"
    echo "oppo_measure_to=$(file_size "$work/upstream/oppo.log")"
  } >>"$dir/meta"
}

# --- scenario "replicas" (issue 9): two gateways sharing one redis-server ---------------------
# Kept apart from the others: its own processes and its own short report. Each mode (Redis off,
# Redis on) starts two gateways with the same config but `redis`; two wrk processes load them at
# once (half the connections each) with two workloads: `hit` (the cached pair of images: after
# the warm-up no upload and, with Redis, no Redis call either: ids are kept locally) and
# `limited` (an app with rate_limit_per_s 50, so nearly every answer is a 429: one GCRA script
# per request with Redis, the local bucket without). Throughput is the sum of both wrk runs.
# start_replica DIR NAME REDIS_URL: sets replica_pid, replica_port.
start_replica() {
  local dir=$1 name=$2 redis_url=$3 port
  read -r port <<<"$(free_ports 1)"
  cat >"$dir/gateway-$name.json" <<EOF
{
  "server": { "listen": "127.0.0.1:$port", "threads": $server_threads, "drain_ms": 0 },
  "apps": [
    { "app_key": "$app_key", "master_secret": "$app_secret",
      "oppo": { "app_key": "bench-oppo-app", "master_secret": "bench-oppo-secret" } },
    { "app_key": "bench-limited", "master_secret": "$app_secret", "rate_limit_per_s": 50,
      "oppo": { "app_key": "bench-oppo-app", "master_secret": "bench-oppo-secret" } }
  ],
  "oppo": {
    "auth_base_url": "http://127.0.0.1:$oppo_port",
    "media_base_url": "http://127.0.0.1:$oppo_port"
  },
  "fetch": { "allow_networks": ["127.0.0.0/8"] },
  "log": { "level": "warn" },
  "redis": { "url": "$redis_url", "timeout_ms": 50, "expected_replicas": 2 }
}
EOF
  "${server_pin[@]}" "$gateway_bin" --config "$dir/gateway-$name.json" >"$dir/gateway-$name.log" 2>&1 &
  replica_pid=$!
  replica_port=$port
  pids+=("$replica_pid")
  wait_http "http://127.0.0.1:$port/healthz" "$replica_pid" || { cat "$dir/gateway-$name.log" >&2; exit 1; }
}

# replicas_wrk DIR NAME AUTH PORT_A PORT_B: both replicas loaded at once; prints the summed req/s.
replicas_wrk() {
  local dir=$1 name=$2 auth=$3 port_a=$4 port_b=$5 half=$(((connections + 1) / 2))
  local url_a="http://127.0.0.1:$port_a" url_b="http://127.0.0.1:$port_b"
  if ((warmup > 0)); then
    BENCH_AUTHORIZATION=$auth run_wrk "$dir/$name-warm-a" "$warmup" "$half" upload.lua "$url_a"
    BENCH_AUTHORIZATION=$auth run_wrk "$dir/$name-warm-b" "$warmup" "$half" upload.lua "$url_b"
  fi
  BENCH_AUTHORIZATION=$auth run_wrk "$dir/$name-a" "$duration" "$half" upload.lua "$url_a" &
  local wrk_a=$!
  BENCH_AUTHORIZATION=$auth run_wrk "$dir/$name-b" "$duration" "$half" upload.lua "$url_b"
  wait "$wrk_a"
  awk '/^Requests\/sec:/ {sum += $2} END {printf "%.0f\n", sum}' "$dir/$name-a.out" "$dir/$name-b.out"
}

run_replicas_scenario() {
  local dir=$work/replicas redis_port redis_pid mode a_pid b_pid a_port b_port url
  mkdir -p "$dir"
  if ! command -v redis-server >/dev/null; then
    echo "bench: replicas: redis-server is not installed (scripts/install-deps.sh)" >&2
    return 1
  fi
  read -r redis_port <<<"$(free_ports 1)"
  "${client_pin[@]}" redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
    --logfile "$dir/redis.log" &
  redis_pid=$!
  pids+=("$redis_pid")
  for _ in $(seq 100); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  local limited_auth
  limited_auth="Basic $(printf '%s:%s' bench-limited "$app_secret" | base64 -w0)"
  # Rounds alternate off and on, so that both see the same machine; per mode and workload the
  # round with the most req/s is kept (the least disturbed one), as in the main report.
  declare -A rps
  local round got key
  for round in $(seq "$repeat"); do
    for mode in off on; do
      url=""
      [[ $mode == on ]] && url="redis://127.0.0.1:$redis_port"
      echo "bench: replicas, round $round/$repeat, Redis $mode (${warmup}s warm-up, ${duration}s, $connections connections)" >&2
      start_replica "$dir" "$round-$mode-a" "$url"
      a_pid=$replica_pid a_port=$replica_port
      start_replica "$dir" "$round-$mode-b" "$url"
      b_pid=$replica_pid b_port=$replica_port
      for key in hit limited; do
        if [[ $key == hit ]]; then
          got=$(replicas_wrk "$dir" "$round-$mode-$key" "$good_auth" "$a_port" "$b_port")
        else
          got=$(replicas_wrk "$dir" "$round-$mode-$key" "$limited_auth" "$a_port" "$b_port")
        fi
        ((got > ${rps[$mode-$key]:-0})) && rps[$mode-$key]=$got
      done
      stop_pid "$a_pid"
      stop_pid "$b_pid"
    done
  done
  stop_pid "$redis_pid"
  local report=${out:-bench/results/$(date +%Y-%m-%d-%H%M)-replicas.md}
  [[ $report == *replicas* ]] || report=${report%.md}-replicas.md
  mkdir -p "$(dirname "$report")"
  {
    echo "# Two replicas, Redis on and off"
    echo
    echo "bench/run.sh --scenarios replicas: ${duration}s per run after ${warmup}s warm-up, $connections"
    echo "connections split over the two replicas, server.threads $server_threads, pin $pin, best of"
    echo "$repeat alternating rounds; $(nproc) CPUs, load average at the end $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "\`limited\`: rate_limit_per_s 50, nearly every answer a 429 (with Redis: the GCRA script,"
    echo "and a refusal's Retry-After window answered locally; without: the local bucket);"
    echo "\`hit\`: the cached pair of images."
    echo
    echo "| workload | Redis off (req/s) | Redis on (req/s) | on / off |"
    echo "|---|---|---|---|"
    local workload
    for workload in hit limited; do
      awk -v w="$workload" -v off="${rps[off-$workload]}" -v on="${rps[on-$workload]}" \
        'BEGIN { printf "| %s | %d | %d | %.2f |\n", w, off, on, (off > 0 ? on / off : 0) }'
    done
  } >"$report"
  cat "$report"
  echo "bench: replicas report in $report" >&2
}

cat /proc/loadavg >"$work/loadavg-start"
export BENCH_ORIGIN="http://127.0.0.1:$origin_port"
# run_scenario ROUND NAME: one scenario, its files in $work/round-ROUND/NAME.
run_scenario() {
  local round=$1 name=$2 dir cache decode url revalidate=true
  echo "bench: round $round/$repeat: $name (${warmup}s warm-up, ${duration}s, $connections connections)" >&2
  dir=$work/round-$round/$name
  mkdir -p "$dir"
  : >"$dir/meta"
  echo "round-$round/$name" >>"$work/scenarios"
  if [[ $name == nginx-limit ]]; then
    BENCH_AUTHORIZATION=$bad_auth measure "$name" "$dir" "$limit_pid" reject.lua \
      "http://127.0.0.1:$limit_port"
    return
  fi
  case $name in
    reject | hit | hit-fresh) cache=100000 decode=true ;;
    hit-refetch) cache=100000 decode=true revalidate=false ;;
    miss-decode | health) cache=0 decode=true ;;
    miss-nodecode) cache=0 decode=false ;;
  esac
  {
    echo "oppo_log_from=$(file_size "$work/upstream/oppo.log")"
    echo "origin_log_from=$(file_size "$work/upstream/origin.log")"
  } >>"$dir/meta"
  start_gateway "$dir" "$cache" "$decode" "$revalidate"
  url="http://127.0.0.1:$gateway_port"
  if [[ $name == reject ]]; then
    BENCH_AUTHORIZATION=$bad_auth measure "$name" "$dir" "$gateway_pid" reject.lua "$url"
  elif [[ $name == health ]]; then
    BENCH_AUTHORIZATION=$good_auth measure "$name" "$dir" "$gateway_pid" upload.lua "$url" probe
  elif [[ $name == hit-fresh ]]; then
    BENCH_IMAGE_DIR=fresh BENCH_AUTHORIZATION=$good_auth measure "$name" "$dir" "$gateway_pid" \
      upload.lua "$url"
  else
    BENCH_AUTHORIZATION=$good_auth measure "$name" "$dir" "$gateway_pid" upload.lua "$url"
  fi
  stop_pid "$gateway_pid"
  {
    echo "oppo_log_to=$(file_size "$work/upstream/oppo.log")"
    echo "origin_log_to=$(file_size "$work/upstream/origin.log")"
  } >>"$dir/meta"
}

# The access log's cost per line on the I/O thread (issue 10), before the scenarios.
if [[ -x $work/bin/bench-log-line ]]; then
  "${server_pin[@]}" "$work/bin/bench-log-line" 200000 1 >"$work/log_line.txt" 2>&1 || true
fi

: >"$work/scenarios"
for round in $(seq "$repeat"); do
  for name in "${scenarios[@]}"; do run_scenario "$round" "$name"; done
done
if ((replicas_scenario)); then
  run_replicas_scenario
  ((${#scenarios[@]} > 0)) || exit 0  # only replicas asked for: no main report
fi

# --- report -----------------------------------------------------------------------------------
set_name=all
if [[ -n $scenario_list ]]; then set_name=$(IFS=+; echo "${scenarios[*]}"); fi
if [[ -z $out ]]; then
  if ((smoke)); then
    out=bench/results/smoke.md.tmp
  else
    out=bench/results/$(date +%Y-%m-%d-%H%M)-$set_name-$images.md
  fi
fi
mkdir -p "$(dirname "$out")"
python3 bench/report.py --work "$work" --out "$out" --duration "$duration" --warmup "$warmup" \
  --connections "$connections" --server-threads "$server_threads" --pin "$pin" \
  --smoke "$smoke" --repeat "$repeat" --images "$images" --nginx "$nginx_bin" --gateway "$gateway_bin" \
  --quiet "$quiet"
