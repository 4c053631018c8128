#!/usr/bin/env bash
# Polling a backend: how soon after the trace is whole in the backend does
# the verdict come, and with how many polls? The fake backend
# (tests/fake/backend.js) answers 404 until WHOLE seconds after the first
# poll, then the whole trace (tests/data/zipkin/api-v2-trace.json); one
# `tracecheck run` with a traceid trigger and the default polling (first
# poll 100 ms after the trigger, again a quiet window after new spans,
# else growing by half up to the 5 s retry delay). Latency = the confirming
# poll's time minus the moment the trace became whole (both on the fake's
# clock), RUNS runs per row, median and max. Beside it, a fixed 5 s poll
# (Tracetest's default retryDelay, as the periodic strategy does): polls at
# 5, 10, 15 s ... after the trigger, the verdict at the second poll that
# sees the whole trace (computed). Usage: bench/source.sh [BUILD_DIR] [RUNS]
set -u
B=${1:-build}
RUNS=${2:-5}
root=$(pwd)
bin=$(cd "$B" && pwd)/tracecheck
dir=$(mktemp -d "${TMPDIR:-/tmp}/tracecheck-bench-source.XXXXXX")
. tests/sh/lib/fake.sh
trap 'fake_stop; rm -rf "$dir"' EXIT
fake_setup "$dir" || exit 1
ID=5982fe77008310cc80f1da5e10147517
printf '%-10s %-22s %-8s %-22s %s\n' "whole at" "latency median (max)" "polls" "fixed 5 s: latency" "polls"
for whole in 0.3 0.7 1.5 3 6 10; do
  wms=$(awk -v w="$whole" 'BEGIN { printf "%d", w * 1000 }')
  cat >"$dir/s.json" <<JSON
{"max_seconds": 60, "routes": [{"method": "GET", "prefix": "/api/v2/trace/", "responses": [
  {"from_ms": 0, "status": 404, "body": "not found"},
  {"from_ms": $wms, "status": 200, "file": "$root/tests/data/zipkin/api-v2-trace.json"}]}]}
JSON
  lat=()
  polls=()
  for _ in $(seq "$RUNS"); do
    fake_start "$dir/s.json" || exit 1
    printf 'type: DataStore\nspec:\n  type: zipkin\n  zipkin:\n    endpoint: http://127.0.0.1:%s\n' "$fake_http" >"$dir/ds.yaml"
    "$bin" run tests/data/sources/test-zipkin.yaml --datastore "$dir/ds.yaml" --var TRACE_ID=$ID --timeout 30s \
      --format json >"$dir/out.json" 2>/dev/null
    fake_stop
    if [ "$(jq -r '.tests[0].state' "$dir/out.json")" != FINISHED ]; then echo "run failed: $(jq -c '.tests[0].error' "$dir/out.json")"; exit 1; fi
    first=$(jq -s '.[0].t_ms' "$fake_log")
    last=$(jq -s '.[-1].t_ms' "$fake_log")
    lat+=("$((last - first - wms))")
    polls+=("$(wc -l <"$fake_log")")
  done
  mapfile -t sl < <(printf '%s\n' "${lat[@]}" | sort -n)
  mapfile -t sp < <(printf '%s\n' "${polls[@]}" | sort -n)
  med=${sl[$(( (${#sl[@]} - 1) / 2 ))]}
  max=${sl[-1]}
  # fixed 5 s: whole at 0.1 + whole s after the trigger; polls at 5 k s
  # the trace is whole 0.1 + WHOLE s after the trigger; fixed polls at 5 k s
  read -r k fixed < <(awk -v w="$whole" 'BEGIN { t = 0.1 + w; k = int((t + 4.999) / 5); printf "%d %.0f", k, ((k + 1) * 5 - t) * 1000 }')
  printf '%-10s %-22s %-8s %-22s %s\n' "${whole}s" "${med} ms (${max} ms)" "${sp[$(( (${#sp[@]} - 1) / 2 ))]}" \
    "$fixed ms" "$((k + 1))"
done
