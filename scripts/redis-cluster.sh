#!/usr/bin/env bash
# A 3-node Redis Cluster on this machine, for the gates' cluster test and the bench:
#   scripts/redis-cluster.sh start|stop      (ports 7001-7003; KINSAVE_CLUSTER_PORTS to change)
# Then KINSAVE_REDIS_URL=redis+cluster://127.0.0.1:7001 (docs/operations.md).
set -euo pipefail
PORTS=${KINSAVE_CLUSTER_PORTS:-"7001 7002 7003"}
DIR=${KINSAVE_CLUSTER_DIR:-/tmp/kinsave-redis-cluster}

start() {
  mkdir -p "$DIR"
  for port in $PORTS; do
    mkdir -p "$DIR/$port"
    redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
      --cluster-config-file "$DIR/$port/nodes.conf" --dir "$DIR/$port" \
      --save '' --appendonly no --daemonize yes --pidfile "$DIR/$port/redis.pid"
  done
  for port in $PORTS; do
    until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
  done
  local first=${PORTS%% *}
  if ! redis-cli -p "$first" cluster info | grep -q 'cluster_state:ok'; then
    # shellcheck disable=SC2046
    redis-cli --cluster create $(for p in $PORTS; do printf '127.0.0.1:%s ' "$p"; done) \
      --cluster-replicas 0 --cluster-yes >/dev/null
  fi
  until redis-cli -p "$first" cluster info | grep -q 'cluster_state:ok'; do sleep 0.1; done
  echo "redis cluster up: redis+cluster://127.0.0.1:$first"
}

stop() {
  for port in $PORTS; do
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  done
  rm -rf "$DIR"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
