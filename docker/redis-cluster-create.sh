#!/bin/sh
# Makes a Redis Cluster of the nodes named as arguments (compose service names, port 6379), one
# master each and no replicas, once every node answers; does nothing when they already form one.
# redis-cli --cluster create wants addresses, so the names are resolved first. Exits 0 once
# the cluster state is ok (docker/compose.cluster.yml runs it as a one-shot service).
set -eu
addresses=""
for node in "$@"; do
  tries=0
  until redis-cli -h "$node" ping >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -gt 120 ]; then
      echo "redis-cluster-create: $node does not answer after 60 s" >&2
      exit 1
    fi
    sleep 0.5
  done
  address=$(getent hosts "$node" | awk '{ print $1; exit }')
  addresses="$addresses $address:6379"
done
first=$1
if ! redis-cli -h "$first" cluster info | grep -q '^cluster_state:ok'; then
  # shellcheck disable=SC2086  # one argument per node address
  redis-cli --cluster create $addresses --cluster-replicas 0 --cluster-yes
fi
tries=0
until redis-cli -h "$first" cluster info | grep -q '^cluster_state:ok'; do
  tries=$((tries + 1))
  if [ "$tries" -gt 60 ]; then
    echo "redis-cluster-create: the cluster state is not ok after 30 s" >&2
    exit 1
  fi
  sleep 0.5
done
echo "redis-cluster-create: cluster of$addresses is ok"
