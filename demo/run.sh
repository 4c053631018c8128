#!/usr/bin/env bash
# `make demo`: starts PostgreSQL and the four instrumented services on
# 127.0.0.1, runs the demo suite with tracecheck (pretty report), stops
# everything, and exits with tracecheck's status.
#   demo/run.sh [TRACECHECK_BINARY] [extra `tracecheck run` arguments...]
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "$(dirname "${1:-$root/build/tracecheck}")" && pwd)/$(basename "${1:-$root/build/tracecheck}")
shift || true
export RUN_DIR
RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tracecheck-demo.XXXXXX")
export GATEWAY_PORT=${GATEWAY_PORT:-8080} INVENTORY_PORT=${INVENTORY_PORT:-8083}
cleanup() { bash "$root/demo/scripts/stop.sh"; rm -rf "$RUN_DIR"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
bash "$root/demo/scripts/start.sh" || exit 3
cd "$root"
"$bin" run demo/tests/vars.yaml demo/tests/suite.yaml \
  --var GATEWAY_URL="http://127.0.0.1:$GATEWAY_PORT" --var INVENTORY_ADDR="127.0.0.1:$INVENTORY_PORT" "$@"
