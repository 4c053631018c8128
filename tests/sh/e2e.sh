#!/usr/bin/env bash
# End to end on the demo (three Node.js services instrumented with the
# OpenTelemetry JS SDK, PostgreSQL): the demo suite passes with the
# services exporting over each OTLP protocol (gRPC, HTTP/protobuf,
# HTTP/JSON), over their mixed defaults with gzip on, and the deliberately
# failing test exits 1 with the failing assertion and its observed value in
# the JSON report. Everything on 127.0.0.1, on ports of its own, stopped at
# the end; ports picked free at random. Prints "N passed, N failed".
set -u
bin=$(cd "$(dirname "${TRACECHECK_BIN:-build/tracecheck}")" && pwd)/$(basename "${TRACECHECK_BIN:-build/tracecheck}")
root=$(pwd)
. "$(dirname "$0")/lib/ports.sh"
GATEWAY_PORT=$(free_port) ORDERS_PORT=$(free_port) PAYMENTS_PORT=$(free_port) INVENTORY_PORT=$(free_port) PGPORT=$(free_port)
RECV_HTTP=$(free_port) RECV_GRPC=$(free_port)
export GATEWAY_PORT ORDERS_PORT PAYMENTS_PORT INVENTORY_PORT PGPORT
export OTLP_HTTP_ENDPOINT=http://127.0.0.1:$RECV_HTTP OTLP_GRPC_ENDPOINT=http://127.0.0.1:$RECV_GRPC
export RUN_DIR
RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tracecheck-e2e.XXXXXX")
out=$(mktemp -d)
pass=0
fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
stop() { bash demo/scripts/stop.sh >/dev/null 2>&1; }
trap 'stop; rm -rf "$RUN_DIR" "$out"' EXIT

run() { # run NAME FILES... : tracecheck on the running demo, JSON report in $out/NAME.json
  local name=$1; shift
  "$bin" run "$@" --var GATEWAY_URL=http://127.0.0.1:$GATEWAY_PORT --var INVENTORY_ADDR=127.0.0.1:$INVENTORY_PORT \
    --otlp-http 127.0.0.1:$RECV_HTTP --otlp-grpc 127.0.0.1:$RECV_GRPC --timeout 20s --format json \
    >"$out/$name.json" 2>"$out/$name.err"
}

suite_with() { # suite_with LABEL ENV... : restart the demo with ENV, run the suite
  local label=$1; shift
  stop
  if ! env "$@" bash demo/scripts/start.sh >"$out/start.log" 2>&1; then
    bad "$label: the demo did not start"; cat "$out/start.log"; return
  fi
  run suite demo/tests/vars.yaml demo/tests/suite.yaml
  local rc=$? summary
  summary=$(jq -c '.summary' "$out/suite.json" 2>/dev/null)
  if [ $rc = 0 ] && [ "$(jq '.summary.passed' "$out/suite.json")" = 8 ]; then
    ok "$label: suite passed $summary"
  else
    bad "$label: exit $rc $summary"
    jq -c '.tests[] | select(.passed != true) | {name, state, error, failed: [.specs[] | select(.passed != true) | {name, error, a: [.spans[].assertions[] | select(.passed != true)]}]}' \
      "$out/suite.json" 2>/dev/null | head -c 3000
    cat "$out/suite.err"
  fi
}

suite_with "mixed protocols (gRPC, HTTP/protobuf, HTTP/JSON)" DEMO_OTLP_PROTOCOL=
suite_with "all over OTLP/gRPC" DEMO_OTLP_PROTOCOL=grpc
suite_with "all over OTLP/HTTP protobuf" DEMO_OTLP_PROTOCOL=http/protobuf
suite_with "all over OTLP/HTTP JSON" DEMO_OTLP_PROTOCOL=http/json
suite_with "mixed protocols, gzip" DEMO_OTLP_PROTOCOL= OTEL_EXPORTER_OTLP_COMPRESSION=gzip

# the deliberately failing test, on the demo still running
run failing demo/tests/vars.yaml demo/tests/failing.yaml
rc=$?
first=$(jq -c '[.tests[0].specs[0].spans[].assertions[] | select(.passed == false)][0] | {assertion, observed}' \
  "$out/failing.json" 2>/dev/null)
if [ $rc = 1 ] && [ -n "$first" ] && [ "$first" != null ] && jq -e '.observed | length > 0' <<<"$first" >/dev/null; then
  ok "failing test: exit 1, $first"
else
  bad "failing test: exit $rc, $first"; cat "$out/failing.err"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
