#!/usr/bin/env bash
# The image and the scaled compose stack, for real (rootful podman; scripts/container-setup.sh
# makes the base images and stand-ins, reusing them when present, and selects podman's netavark
# network backend; a podman still on CNI stops the test at once with one line saying what to do).
# From a clean clone of HEAD:
#   1. builds docker/Dockerfile; checks the image runs as a non-root user and has its health check;
#   2. a broken config and a missing ${NAME} secret each stop a container with exit 2 and one
#      line naming the reason;
#   3. starts docker/compose.yml (Redis, three replicas, HAProxy, the OPPO sandbox, the image
#      origin) and waits for every health check and for all three replicas in the balancer;
#   4. real ids through the balancer with curl, then `X-Cache: hit` for the same images from
#      another replica (the shared cache in Redis);
#   5. SIGTERM to one replica while wrk sends image requests through the balancer for 8 s: no
#      failed request, and the replica drained and exited 0 within the load;
#   6. Redis stopped: the stack keeps serving, new images included;
#   7. the same stack on a 3-node Redis Cluster (docker/compose.cluster.yml, the replicas in
#      redis.mode "cluster"): ids through the balancer and a hit from another replica
#      (IGW_CLUSTER_CHECK=off skips it, and says so);
# and always takes the stack down. Exits non-zero on the first failed check.
# Usage: scripts/container-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

scripts/container-setup.sh
scripts/install-deps.sh wrk curl python3
# The stack finds its services by name: only netavark (with aardvark-dns) resolves them.
backend=$(podman info --format '{{.Host.NetworkBackend}}')
if [[ $backend != netavark ]]; then
  echo "container-test: FAILED: podman uses the '$backend' network backend, where compose service names do not resolve: set network_backend = \"netavark\" in /etc/containers/containers.conf (scripts/container-setup.sh does) or run 'podman system reset'" >&2
  exit 1
fi

work=$(mktemp -d /var/tmp/igw-container-test.XXXXXX)
project=igwtest$$
compose=(podman-compose --no-ansi -p "$project" -f "$work/src/docker/compose.yml")
image=localhost/image-gateway:dev
start_all=$(date +%s)

say() { echo "container-test: $*" >&2; }
fail() {
  say "FAILED: $*"
  exit 1
}
ctr() { echo "${project}_$1_1"; }
cleanup() {
  local status=$?
  if ((status != 0)); then
    for service in gateway-1 gateway-2 gateway-3 lb redis oppo-sandbox images redis-1 redis-2 \
      redis-3 redis-cluster-create; do
      echo "--- last log lines of $service" >&2
      podman logs --tail 15 "$(ctr "$service")" 2>&1 | cut -c1-300 >&2 || true
    done
  fi
  timeout 120 "${compose[@]}" down -t 5 >"$work/down.log" 2>&1 || say "compose down failed"
  # podman-compose 1.0 leaves the project's network behind.
  podman network rm -f "${project}_default" >/dev/null 2>&1 || true
  podman rm -f -t 0 "${project}-bad-config" "${project}-no-secret" >/dev/null 2>&1 || true
  rm -rf "$work"
  say "finished in $(($(date +%s) - start_all)) s"
}
trap cleanup EXIT

# HEAD as committed (no build directories, no local changes).
git clone -q --no-hardlinks "$repo" "$work/src"
say "testing $(git -C "$work/src" log --oneline -1)"

# --- 1. The image.
t=$(date +%s)
# Host networking: the build reaches Debian's archive through the host's resolver, wherever it is.
timeout 45m podman build --pull=never --network=host --format docker -f "$work/src/docker/Dockerfile" \
  -t "$image" "$work/src" >"$work/build.log" 2>&1 || {
  tail -n 30 "$work/build.log" >&2
  fail "podman build"
}
size=$(podman image inspect --format '{{.Size}}' "$image")
say "image built in $(($(date +%s) - t)) s, $((size / 1000000)) MB ($size bytes)"
user=$(podman image inspect --format '{{.Config.User}}' "$image")
[[ $user =~ ^[1-9][0-9]*(:[0-9]+)?$ ]] || fail "image user is '$user', not a numeric non-root uid"
podman image inspect --format '{{.Config.Healthcheck}}' "$image" | grep -q healthz ||
  fail "image has no HEALTHCHECK on /healthz"

# --- 2. Bad input stops the container with exit 2 and one line naming the reason.
expect_exit2() { # name, expected text, podman run arguments...
  local name=$1 text=$2 status
  shift 2
  podman run -d --no-healthcheck --name "$project-$name" --pull=never "$@" "$image" >/dev/null
  status=$(timeout 60 podman wait "$project-$name") || fail "$name: still running after 60 s"
  podman logs "$project-$name" >"$work/$name.log" 2>&1
  podman rm -f "$project-$name" >/dev/null
  [[ $status == 2 ]] || fail "$name: exit status $status, expected 2: $(cat "$work/$name.log")"
  [[ $(wc -l <"$work/$name.log") == 1 ]] || fail "$name: not one line: $(cat "$work/$name.log")"
  grep -qF -- "$text" "$work/$name.log" || fail "$name: no '$text' in: $(cat "$work/$name.log")"
  say "$name: exit 2, $(cat "$work/$name.log")"
}
printf '{"server": {"listn": "0.0.0.0:8080"}, "apps": []}\n' >"$work/bad.json"
chmod 644 "$work/bad.json"
expect_exit2 bad-config 'unknown key "server.listn"' \
  -v "$work/bad.json:/etc/image-gateway/config.json:ro"
expect_exit2 no-secret 'DEMO_MASTER_SECRET' \
  -v "$work/src/docker/compose-config.json:/etc/image-gateway/config.json:ro" \
  -e OPPO_APP_KEY=k -e OPPO_MASTER_SECRET=s

# --- 3. The stack.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
lb=http://127.0.0.1:$port
export IMAGE_GATEWAY_PORT=$port
# Starts "${compose[@]}" and waits until the services named resolve and pass their health checks
# and all three replicas are in the balancer's rotation.
start_stack() { # service...
  timeout 300 "${compose[@]}" up -d --no-build >"$work/up.log" 2>&1 || {
    tail -n 30 "$work/up.log" >&2
    fail "compose up"
  }
  local t service served
  t=$(date +%s)
  # Service names resolve inside the stack (a backend without DNS would only show as a timeout
  # later).
  until podman exec "$(ctr lb)" getent hosts "$@" >/dev/null 2>&1; do
    (($(date +%s) - t < 30)) || fail "service names do not resolve in the stack's network (podman network backend: $backend); see scripts/container-setup.sh"
    sleep 1
  done
  # Every replica resolves the names it depends on. Debian's aardvark-dns 1.4 drops the first
  # queries from a container that joins while it reloads, and glibc retries on the same socket,
  # so a lookup can hang 10–20 s (seen: 3 of 7 fresh stacks); each getent here is a new lookup.
  # Once a replica was not answered for 60 s while the others were (cause not found; its
  # resolv.conf and aardvark-dns's entries are printed if it happens again): its network is now
  # set up again (same address, entry written to aardvark-dns anew) after each 20 s of silence.
  local replica name waited_since
  for replica in "$@"; do
    [[ $replica == gateway-* ]] || continue
    for name in "$@"; do
      [[ $name == gateway-* ]] && continue
      waited_since=$(date +%s)
      until timeout 3 podman exec "$(ctr "$replica")" getent ahostsv4 "$name" >/dev/null 2>&1; do
        if (($(date +%s) - t >= 90)); then
          say "$replica's resolv.conf: $(podman exec "$(ctr "$replica")" cat /etc/resolv.conf 2>&1 | tr '\n' ' ')"
          say "aardvark-dns entries: $(cat /run/containers/networks/aardvark-dns/* 2>&1 | tr '\n' ' ')"
          fail "$replica cannot resolve $name after 90 s (aardvark-dns)"
        fi
        if (($(date +%s) - waited_since >= 20)); then
          say "$replica has not resolved $name for 20 s: its network set up again (aardvark-dns)"
          podman network reload "$(ctr "$replica")" >/dev/null 2>&1 || true
          waited_since=$(date +%s)
        fi
      done
    done
  done
  # podman runs health checks only when asked (no systemd timers here): run each one until it
  # passes.
  for service in "$@"; do
    until podman healthcheck run "$(ctr "$service")" >/dev/null 2>&1; do
      (($(date +%s) - t < 120)) || fail "$service not healthy after 120 s"
      sleep 1
    done
  done
  # All three replicas in the balancer's rotation (HAProxy names the one that answered).
  local -A seen=()
  while ((${#seen[@]} < 3)); do
    (($(date +%s) - t < 120)) || fail "balancer saw only ${!seen[*]} after 120 s"
    served=$(curl -s -o /dev/null -D - --max-time 5 "$lb/readyz" | tr -d '\r' |
      awk -F': ' 'tolower($1) == "x-served-by" { print $2 }') || true
    if [[ -n $served ]]; then seen[$served]=1; else sleep 0.5; fi
  done
  say "stack healthy, ${!seen[*]} in rotation, after $(($(date +%s) - t)) s"
}
start_stack redis oppo-sandbox images gateway-1 gateway-2 gateway-3
podman exec "$(ctr gateway-1)" cat /proc/1/status | awk '/^Uid:/ { for (i = 2; i <= 5; i++) if ($i == 0) exit 1 }' ||
  fail "gateway-1 runs as root"
say "gateway-1 runs as uid $(podman exec "$(ctr gateway-1)" id -u)"

# --- 4. Real ids through the balancer, then a hit from another replica.
auth=c96f42e0d2e662e45d035ab1:df4d59e84eac2f9d53b36f12
body='{"big_picture_url":"http://images:8081/images/big.png","small_picture_url":"http://images:8081/images/small.png"}'
post() { # body, output prefix: writes PREFIX.h (headers) and PREFIX.b (body)
  curl -sS --max-time 30 -u "$auth" -d "$1" -D "$2.h" -o "$2.b" "$lb/v4/image/oppo"
  tr -d '\r' <"$2.h" >"$2.h2" && mv "$2.h2" "$2.h"
}
header() { awk -F': ' -v n="$2" 'tolower($1) == n { print $2 }' "$1.h"; }
# Ids for `body` from one replica, then X-Cache: hit and the same ids from another (the shared
# cache in Redis).
ids_then_hit_elsewhere() {
  local first_by again_by
  post "$body" "$work/first"
  grep -q '^HTTP/1.1 200' "$work/first.h" || fail "first request: $(head -1 "$work/first.h") $(cat "$work/first.b")"
  grep -qE '^\{"big_picture_id":"[^"]+","small_picture_id":"[^"]+"\}$' "$work/first.b" ||
    fail "first request: no ids in $(cat "$work/first.b")"
  first_by=$(header "$work/first" x-served-by)
  say "ids from $first_by (X-Cache: $(header "$work/first" x-cache)): $(cat "$work/first.b")"
  for _ in 1 2 3; do
    post "$body" "$work/again"
    [[ $(header "$work/again" x-served-by) != "$first_by" ]] && break
  done
  again_by=$(header "$work/again" x-served-by)
  [[ $again_by != "$first_by" ]] || fail "every request went to $first_by"
  [[ $(header "$work/again" x-cache) == hit ]] ||
    fail "same images from $again_by: X-Cache $(header "$work/again" x-cache), expected hit"
  cmp -s "$work/first.b" "$work/again.b" || fail "ids differ: $(cat "$work/again.b")"
  say "same images from $again_by: X-Cache: hit, same ids"
}
ids_then_hit_elsewhere

# --- 5. SIGTERM one replica under a bounded load through the balancer.
victim=$(ctr gateway-2)
IGW_BODY=$body IGW_AUTH=$(printf %s "$auth" | base64 -w0) \
  timeout 60 wrk -t1 -c8 -d8s --timeout 10s -s tests/container/post_images.lua \
  "$lb/v4/image/oppo" >"$work/wrk.log" 2>&1 &
wrk_pid=$!
sleep 2
t=$(date +%s%N)
podman kill --signal TERM "$victim" >/dev/null
exit_code=$(timeout 40 podman wait "$victim") || fail "gateway-2 still running 40 s after SIGTERM"
took_ms=$((($(date +%s%N) - t) / 1000000))
wait "$wrk_pid" || fail "wrk: $(cat "$work/wrk.log")"
cat "$work/wrk.log" >&2
[[ $exit_code == 0 ]] || fail "gateway-2 exited $exit_code after SIGTERM"
((took_ms < 5500)) || fail "gateway-2 took $took_ms ms to exit: not within the 8 s load"
requests=$(awk '/requests in/ { print $1 }' "$work/wrk.log")
((requests > 100)) || fail "only $requests requests under load"
! grep -qE 'Non-2xx|Socket errors' "$work/wrk.log" || fail "failed requests under load"
grep -q '^bad answers: 0$' "$work/wrk.log" || fail "answers without ids under load"
podman logs "$victim" 2>&1 | grep -q '"msg":"stopped"' || fail "gateway-2 did not log its stop"
say "SIGTERM: gateway-2 drained and exited 0 after $took_ms ms; $requests requests, none failed"

# --- 6. Redis stopped: the stack keeps serving (cached and new images).
podman stop -t 2 "$(ctr redis)" >/dev/null
t=$SECONDS
for kind in png jpg png jpg; do
  b="{\"big_picture_url\":\"http://images:8081/images/big.$kind\",\"small_picture_url\":\"http://images:8081/images/small.$kind\"}"
  post "$b" "$work/noredis"
  if ! grep -q '^HTTP/1.1 200' "$work/noredis.h" || ! grep -q '"small_picture_id"' "$work/noredis.b"; then
    fail "Redis stopped: $(head -1 "$work/noredis.h") $(cat "$work/noredis.b")"
  fi
done
((SECONDS - t < 20)) || fail "Redis stopped: 4 requests took $((SECONDS - t)) s"
say "Redis stopped: the stack keeps serving ($((SECONDS - t)) s for 4 requests)"

# --- 7. The same stack on a 3-node Redis Cluster (docker/compose.cluster.yml): ids through the
#        balancer, then a hit from another replica. The gateway must accept the cluster config
#        (--check-config) first. IGW_CLUSTER_CHECK=off skips the step (said so).
cluster_check=${IGW_CLUSTER_CHECK:-on}
cluster_config=$work/src/docker/compose-cluster-config.json
if [[ $cluster_check != off ]]; then
  probe=$(podman run --rm --pull=never --no-healthcheck \
    -v "$cluster_config:/etc/image-gateway/config.json:ro" -e DEMO_MASTER_SECRET=s \
    -e OPPO_APP_KEY=k -e OPPO_MASTER_SECRET=s "$image" --check-config 2>&1) ||
    fail "the gateway refuses the cluster config: $probe"
else
  say "Redis Cluster check SKIPPED (IGW_CLUSTER_CHECK=off)"
fi
if [[ $cluster_check != off ]]; then
  timeout 120 "${compose[@]}" down -t 5 >"$work/down.log" 2>&1 || fail "compose down (standalone)"
  podman network rm -f "${project}_default" >/dev/null 2>&1 || true
  compose+=(-f "$work/src/docker/compose.cluster.yml")
  start_stack redis-1 redis-2 redis-3 oppo-sandbox images gateway-1 gateway-2 gateway-3
  status=$(timeout 60 podman wait "$(ctr redis-cluster-create)") ||
    fail "redis-cluster-create still running after 60 s"
  [[ $status == 0 ]] || fail "redis-cluster-create exited $status: $(podman logs "$(ctr redis-cluster-create)" 2>&1 | tail -3)"
  # Each replica has found the cluster (it serves alone until then).
  t=$(date +%s)
  redis_up() { # replica: its /metrics say image_gateway_redis_up 1
    local metrics
    metrics=$(podman exec "$(ctr "$1")" curl -fsS http://127.0.0.1:8080/metrics 2>/dev/null) || return 1
    grep -qE '^image_gateway_redis_up(\{[^}]*\})? 1$' <<<"$metrics"
  }
  for replica in gateway-1 gateway-2 gateway-3; do
    until redis_up "$replica"; do
      (($(date +%s) - t < 60)) || fail "$replica: image_gateway_redis_up is not 1 after 60 s on the cluster"
      sleep 1
    done
  done
  say "cluster: 3 masters made, every replica reports redis_up 1 after $(($(date +%s) - t)) s"
  ids_then_hit_elsewhere
  keys=()
  total=0
  for node in redis-1 redis-2 redis-3; do
    n=$(podman exec "$(ctr "$node")" redis-cli --scan --pattern 'image-gateway:*' | wc -l)
    keys+=("$node:$n")
    total=$((total + n))
  done
  # Two picture ids and the OPPO token at least, each on the node that owns its slot.
  ((total >= 3)) || fail "cluster: only $total keys (${keys[*]}), expected the ids and the token"
  say "cluster: keys per node ${keys[*]}"
fi
say "all checks passed"
