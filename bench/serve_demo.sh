#!/usr/bin/env bash
# Runs per second of the demo's create-order test through `tracecheck
# serve` (workers 1, 4 and 16: RUNS runs started at once through the API,
# timed from the first POST until the last run has ended) beside `tracecheck
# run` of the same file RUNS times in one process (one test after another,
# as it runs them), on the demo started on free ports of 127.0.0.1 (its
# services export to the server's receivers, then to the run's, on the same
# ports). Each row: runs, passed, seconds, runs/s, the median and 95th
# percentile of a run's own duration (in a worker: from CREATED to its end;
# the JSON report's duration_ms for `run`) and of its time from the POST to
# its end (the queue included: the server's duration_ms). One create-order
# run goes first, untimed, to warm the demo up. Quick by default (16 runs a
# row, about 20 s in all), so bench/run.sh runs it too.
# Usage: bench/serve_demo.sh [BUILD_DIR] [RUNS (at most 500)]
set -u
B=${1:-build}
RUNS=${2:-16}
[ "$RUNS" -ge 1 ] && [ "$RUNS" -le 500 ] || { echo "RUNS: 1 to 500"; exit 2; }
bin=$(cd "$B" && pwd)/tracecheck
. tests/sh/lib/ports.sh
ports=()
while [ ${#ports[@]} -lt 8 ]; do
  p=$(free_port) || { echo "no free port"; exit 1; }
  case " ${ports[*]} " in *" $p "*) ;; *) ports+=("$p") ;; esac
done
GATEWAY_PORT=${ports[0]} ORDERS_PORT=${ports[1]} PAYMENTS_PORT=${ports[2]} INVENTORY_PORT=${ports[3]} PGPORT=${ports[4]}
api_port=${ports[5]} http_port=${ports[6]} grpc_port=${ports[7]}
export GATEWAY_PORT ORDERS_PORT PAYMENTS_PORT INVENTORY_PORT PGPORT
export OTLP_HTTP_ENDPOINT=http://127.0.0.1:$http_port OTLP_GRPC_ENDPOINT=http://127.0.0.1:$grpc_port
dir=$(mktemp -d "${TMPDIR:-/tmp}/tracecheck-bench-serve-demo.XXXXXX")
RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tracecheck-bench-serve-demo-run.XXXXXX")
export RUN_DIR
api=http://127.0.0.1:$api_port
pid=
stop() {
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=
}
# The demo's services are killed outright (SIGTERM takes orders 5 s and
# more, stop.sh's wait), then stop.sh stops its PostgreSQL.
demo_stop() {
  local f
  for f in "$RUN_DIR"/*.pid; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done
  bash demo/scripts/stop.sh >/dev/null 2>&1
}
trap 'demo_stop; stop; rm -rf "$dir" "$RUN_DIR"' EXIT
trap 'exit 1' INT TERM HUP

bash demo/scripts/start.sh >"$dir/start.log" 2>&1 || { echo "the demo did not start"; cat "$dir/start.log"; exit 1; }
vars=(--var "GATEWAY_URL=http://127.0.0.1:$GATEWAY_PORT")
recv=(--otlp-http "127.0.0.1:$http_port" --otlp-grpc "127.0.0.1:$grpc_port")
timeout 60 "$bin" run demo/tests/create-order.yaml "${vars[@]}" "${recv[@]}" --timeout 20s >"$dir/warm.out" 2>&1 ||
  { echo "the warm-up run failed"; cat "$dir/warm.out"; exit 1; }

# stats LABEL RUNS PASSED NS FILE: one row; FILE has a line "RUN-MS END-TO-END-MS" a run
stats() {
  awk -v label="$1" -v n="$2" -v p="$3" -v ns="$4" '
    function q(a, m, f,   i, j, t) { # the f quantile of a[1..m]
      for (i = 2; i <= m; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
      return a[int((m - 1) * f) + 1] }
    { r[NR] = $1; e[NR] = $2 }
    END { s = ns / 1e9
      printf "%-20s %5d %6d %8.2f %7.2f %8.0f %8.0f %8.0f %8.0f\n", label, n, p, s, n / s, q(r, NR, 0.5), q(r, NR, 0.95), q(e, NR, 0.5), q(e, NR, 0.95) }' "$5"
}
# ms since the epoch of an RFC 3339 time with milliseconds (jq)
ms='def ms: (.[0:19] + "Z" | fromdateiso8601) * 1000 + (.[20:23] | tonumber);'

printf '%-20s %5s %6s %8s %7s %17s %17s\n' "" "" "" "" "" "run (ms)" "POST to end (ms)"
printf '%-20s %5s %6s %8s %7s %8s %8s %8s %8s\n' "" runs passed seconds "runs/s" p50 p95 p50 p95
for w in 1 4 16; do
  "$bin" serve --listen 127.0.0.1:"$api_port" --otlp-http 127.0.0.1:"$http_port" --otlp-grpc 127.0.0.1:"$grpc_port" \
    --db "$dir/w$w.db" --workers "$w" --timeout 20s >"$dir/serve.$w.log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do curl -sf -o /dev/null --max-time 2 "$api/api/health" && break; sleep 0.1; done
  curl -s -o /dev/null --max-time 30 -X PUT -H 'Content-Type: application/yaml' --data-binary @demo/tests/create-order.yaml "$api/api/resources"
  : >"$dir/posts.cfg"
  for i in $(seq "$RUNS"); do
    [ "$i" -gt 1 ] && echo next >>"$dir/posts.cfg"
    printf 'url = "%s/api/tests/create-order/run"\ndata = "{\\"variables\\":{\\"GATEWAY_URL\\":\\"http://127.0.0.1:%s\\"}}"\nheader = "Content-Type: application/json"\noutput = "/dev/null"\nmax-time = 30\nwrite-out = "%%{http_code}\\n"\n' \
      "$api" "$GATEWAY_PORT" >>"$dir/posts.cfg"
  done
  t0=$(date +%s%N)
  curl -s --no-progress-meter --parallel --parallel-immediate --parallel-max 64 -K "$dir/posts.cfg" |
    sort | uniq -c | grep -v ' 202$' >&2
  for _ in $(seq 1200); do # 2 min at most
    curl -s --max-time 30 "$api/api/runs?limit=500" >"$dir/list.json"
    [ "$(jq '[.items[] | select(.finished == null)] | length' "$dir/list.json")" = 0 ] && break
    sleep 0.05
  done
  t1=$(date +%s%N)
  for id in $(jq '.items[].id' "$dir/list.json"); do
    curl -s --max-time 30 "$api/api/runs/$id" | jq -r "$ms"' "\((.finished | ms) - ([.timeline[] | select(.state == "CREATED")][0].at | ms)) \(.duration_ms)"'
  done >"$dir/d.$w"
  stats "serve, $w worker$([ $w = 1 ] || echo s)" "$(jq '.items | length' "$dir/list.json")" \
    "$(jq '[.items[] | select(.result == "passed")] | length' "$dir/list.json")" $((t1 - t0)) "$dir/d.$w"
  stop
done

files=()
for _ in $(seq "$RUNS"); do files+=(demo/tests/create-order.yaml); done
t0=$(date +%s%N)
timeout 600 "$bin" run "${files[@]}" "${vars[@]}" "${recv[@]}" --timeout 20s --format json >"$dir/run.json" 2>"$dir/run.err"
t1=$(date +%s%N)
jq -r '.tests[] | "\(.duration_ms) \(.duration_ms)"' "$dir/run.json" >"$dir/d.run"
stats "tracecheck run" "$(jq '.tests | length' "$dir/run.json")" "$(jq '[.tests[] | select(.passed)] | length' "$dir/run.json")" \
  $((t1 - t0)) "$dir/d.run"
