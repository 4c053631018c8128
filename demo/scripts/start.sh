#!/usr/bin/env bash
# Starts the demo on 127.0.0.1: PostgreSQL and the four services, each
# exporting OTLP to tracecheck's receiver. Waits (bounded) until every
# HTTP service answers /health and the gRPC one (inventory) accepts
# connections. Settings (environment): RUN_DIR (default demo/.run),
# GATEWAY_PORT 8080, ORDERS_PORT 8081, PAYMENTS_PORT 8082, INVENTORY_PORT
# 8083, PGPORT 54329, OTLP_HTTP_ENDPOINT http://127.0.0.1:4318,
# OTLP_GRPC_ENDPOINT http://127.0.0.1:4317, DEMO_OTLP_PROTOCOL (one
# protocol for all: grpc, http/protobuf, http/json), OTEL_EXPORTER_OTLP_COMPRESSION.
set -euo pipefail
demo=$(cd "$(dirname "$0")/.." && pwd)
export RUN_DIR=${RUN_DIR:-$demo/.run}
export GATEWAY_PORT=${GATEWAY_PORT:-8080} ORDERS_PORT=${ORDERS_PORT:-8081} PAYMENTS_PORT=${PAYMENTS_PORT:-8082}
export INVENTORY_PORT=${INVENTORY_PORT:-8083}
export PGPORT=${PGPORT:-54329}
mkdir -p "$RUN_DIR"

bash "$demo/../scripts/setup.sh"
if [ ! -d "$demo/node_modules" ] || [ "$demo/package-lock.json" -nt "$demo/node_modules" ]; then
  (cd "$demo" && npm ci --no-audit --no-fund --loglevel=error >"$RUN_DIR/npm.log" 2>&1) ||
    { cat "$RUN_DIR/npm.log" >&2; exit 1; }
  touch "$demo/node_modules"
fi

bash "$demo/scripts/pg-start.sh"

start() { # start NAME PORT
  local name=$1 port=$2
  (cd "$demo" && DEMO_SERVICE=$name exec node --require ./tracing.js "$name.js") >"$RUN_DIR/$name.log" 2>&1 &
  echo $! >"$RUN_DIR/$name.pid"
}
start inventory "$INVENTORY_PORT"
start payments "$PAYMENTS_PORT"
start orders "$ORDERS_PORT"
start gateway "$GATEWAY_PORT"

healthy() { # healthy NAME PORT: /health answers, or for gRPC (inventory) a TCP connect succeeds
  if [ "$1" = inventory ]; then
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null
  else
    curl -sf -o /dev/null "http://127.0.0.1:$2/health"
  fi
}

for svc in inventory:$INVENTORY_PORT payments:$PAYMENTS_PORT orders:$ORDERS_PORT gateway:$GATEWAY_PORT; do
  name=${svc%%:*} port=${svc##*:}
  up=0
  for _ in $(seq 300); do # 30 s at most
    if healthy "$name" "$port"; then up=1; break; fi
    kill -0 "$(cat "$RUN_DIR/$name.pid")" 2>/dev/null || break
    sleep 0.1
  done
  if [ $up = 0 ]; then
    echo "demo: $name did not come up on 127.0.0.1:$port; its log:" >&2
    cat "$RUN_DIR/$name.log" >&2
    bash "$demo/scripts/stop.sh"
    exit 1
  fi
done
echo "demo: gateway http://127.0.0.1:$GATEWAY_PORT, orders :$ORDERS_PORT, payments :$PAYMENTS_PORT, inventory :$INVENTORY_PORT (gRPC), postgres :$PGPORT"
