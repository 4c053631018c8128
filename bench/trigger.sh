#!/usr/bin/env bash
# Per-call cost of the gRPC trigger against the HTTP trigger, on the demo:
# starts it on 127.0.0.1 (free ports), runs RUNS tests of each kind in one
# `tracecheck run` with skipTraceCollection (only the trigger is timed: the
# TRIGGERING state, from the JSON report's timeline), and prints the median
# and 90th percentile. The gRPC test parses inventory.proto, maps the
# request JSON and calls inventory's Reserve; the HTTP test calls the
# gateway's GET /health. Usage: bench/trigger.sh [BUILD_DIR] [RUNS]
set -u
B=${1:-build}
RUNS=${2:-30}
root=$(pwd)
bin=$(cd "$B" && pwd)/tracecheck
. tests/sh/lib/ports.sh
GATEWAY_PORT=$(free_port) ORDERS_PORT=$(free_port) PAYMENTS_PORT=$(free_port) INVENTORY_PORT=$(free_port) PGPORT=$(free_port)
export GATEWAY_PORT ORDERS_PORT PAYMENTS_PORT INVENTORY_PORT PGPORT
export OTLP_HTTP_ENDPOINT=http://127.0.0.1:$(free_port) OTLP_GRPC_ENDPOINT=http://127.0.0.1:$(free_port)
export RUN_DIR
RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tracecheck-bench-trigger.XXXXXX")
trap 'bash demo/scripts/stop.sh >/dev/null 2>&1; rm -rf "$RUN_DIR"' EXIT
bash demo/scripts/start.sh >"$RUN_DIR/start.log" 2>&1 || { cat "$RUN_DIR/start.log"; exit 1; }
cat >"$RUN_DIR/grpc.yaml" <<EOF2
type: Test
spec:
  name: grpc
  skipTraceCollection: true
  trigger:
    type: grpc
    grpc:
      protobufFile: $root/demo/proto/inventory.proto
      address: 127.0.0.1:$INVENTORY_PORT
      method: inventory.v1.Inventory.Reserve
      request: '{"sku": "pen", "quantity": 1, "order_id": "bench"}'
EOF2
cat >"$RUN_DIR/http.yaml" <<EOF2
type: Test
spec:
  name: http
  skipTraceCollection: true
  trigger:
    type: http
    httpRequest:
      method: GET
      url: http://127.0.0.1:$GATEWAY_PORT/health
EOF2
files=()
for _ in $(seq "$RUNS"); do files+=("$RUN_DIR/grpc.yaml" "$RUN_DIR/http.yaml"); done
"$bin" run "${files[@]}" --no-receiver --format json >"$RUN_DIR/out.json" 2>"$RUN_DIR/err" ||
  { echo "the run failed"; head -c 2000 "$RUN_DIR/out.json"; cat "$RUN_DIR/err"; exit 1; }
printf '%-8s %-6s %-14s %s\n' trigger calls "median (ms)" "p90 (ms)"
for kind in grpc http; do
  mapfile -t ms < <(jq --arg k "$kind" '.tests[] | select(.name == $k) | .timeline.AWAITING_TRACE - .timeline.TRIGGERING' \
    "$RUN_DIR/out.json" | sort -g)
  n=${#ms[@]}
  printf '%-8s %-6s %-14.2f %.2f\n' "$kind" "$n" "${ms[$(( (n - 1) / 2 ))]}" "${ms[$(( (n - 1) * 9 / 10 ))]}"
done
