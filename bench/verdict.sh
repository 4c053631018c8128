#!/usr/bin/env bash
# Time from trigger to verdict on the demo: starts the demo on 127.0.0.1
# (free ports picked at random), runs the create-order test RUNS times in one
# `tracecheck run` (receivers up for the whole run), and prints the median
# and spread of each test's duration (trigger, trace collection until the
# completeness rule is met, evaluation) beside the exporters' batch delay
# and the quiet window. Usage: bench/verdict.sh BUILD_DIR [RUNS]
set -u
B=${1:-build}
RUNS=${2:-15}
bin=$(cd "$B" && pwd)/tracecheck
. tests/sh/lib/ports.sh
GATEWAY_PORT=$(free_port) ORDERS_PORT=$(free_port) PAYMENTS_PORT=$(free_port) INVENTORY_PORT=$(free_port) PGPORT=$(free_port)
RECV_HTTP=$(free_port) RECV_GRPC=$(free_port)
export GATEWAY_PORT ORDERS_PORT PAYMENTS_PORT INVENTORY_PORT PGPORT
export OTLP_HTTP_ENDPOINT=http://127.0.0.1:$RECV_HTTP OTLP_GRPC_ENDPOINT=http://127.0.0.1:$RECV_GRPC
export OTEL_BSP_SCHEDULE_DELAY=${OTEL_BSP_SCHEDULE_DELAY:-100}
export RUN_DIR
RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tracecheck-verdict.XXXXXX")
trap 'bash demo/scripts/stop.sh >/dev/null 2>&1; rm -rf "$RUN_DIR"' EXIT
bash demo/scripts/start.sh >"$RUN_DIR/start.log" 2>&1 || { cat "$RUN_DIR/start.log"; exit 1; }
files=()
for _ in $(seq "$RUNS"); do files+=(demo/tests/create-order.yaml); done
"$bin" run demo/tests/vars.yaml "${files[@]}" --var GATEWAY_URL=http://127.0.0.1:$GATEWAY_PORT \
  --otlp-http 127.0.0.1:$RECV_HTTP --otlp-grpc 127.0.0.1:$RECV_GRPC --format json >"$RUN_DIR/out.json" 2>/dev/null
passed=$(jq '.summary.passed' "$RUN_DIR/out.json")
mapfile -t ms < <(jq '.tests[].duration_ms' "$RUN_DIR/out.json" | sort -n)
n=${#ms[@]}
pick() { echo "${ms[$(( ($1 * (n - 1)) / 100 ))]}"; }
printf '%-34s %s\n' "runs (passed)" "$n ($passed)"
printf '%-34s %8.1f ms\n' "trigger to verdict, median" "$(pick 50)"
printf '%-34s %8.1f ms\n' "min" "${ms[0]}"
printf '%-34s %8.1f ms\n' "p90" "$(pick 90)"
printf '%-34s %8.1f ms\n' "max" "${ms[$((n - 1))]}"
printf '%-34s %8d ms\n' "exporter batch delay (BSP)" "$OTEL_BSP_SCHEDULE_DELAY"
printf '%-34s %8d ms\n' "quiet window" 250
[ "$passed" = "$n" ]
