#!/bin/sh
# Makes a Redis Cluster of the nodes named as arguments (compose service names, port 6379), one
# master each and no replicas, once every node answers; does nothing when they already form one.
# redis-cli --cluster create wants addresses, so the names are resolved first. Exits 0 once
# the cluster state is ok (docker/compose.cluster.yml runs it as a one-shot service).
set -eu

# Runs the command every 0.5 s until it succeeds; after SECONDS s, says WHAT and exits 1.
wait_until() { # seconds what command...
  limit=$(($1 * 2)) what=$2 tries=0
  shift 2
  until "$@" >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -gt "$limit" ]; then
      echo "redis-cluster-create: $what after $((limit / 2)) s" >&2
      exit 1
    fi
    sleep 0.5
  done
}
cluster_ok() { redis-cli -h "$1" cluster info | grep -q '^cluster_state:ok'; }

addresses=""
for node in "$@"; do
  wait_until 60 "$node does not answer" redis-cli -h "$node" ping
  address=$(getent hosts "$node" | awk '{ print $1; exit }')
  addresses="$addresses $address:6379"
done
first=$1
if ! cluster_ok "$first"; then
  # shellcheck disable=SC2086  # one argument per node address
  redis-cli --cluster create $addresses --cluster-replicas 0 --cluster-yes
fi
wait_until 30 "the cluster state is not ok" cluster_ok "$first"
echo "redis-cluster-create: cluster of$addresses is ok"
