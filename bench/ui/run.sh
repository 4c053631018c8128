#!/usr/bin/env bash
# The web UI with a 10,000-span trace: a `tracecheck serve` of its own
# (free ports of 127.0.0.1, a database in a temporary directory), a
# traceid-triggered test whose trace (bench/ui/trace.mjs: 10,000 spans
# below a root, six services, four levels) is exported to the receiver
# with curl, its run; then bench/ui/waterfall.mjs opens the run page in
# headless Chromium and prints a table: navigation to the waterfall with
# its rows, jumps to the middle and the end of the list, frame times while
# scrolling. Not part of `make check`.
# Usage: bench/ui/run.sh [BUILD_DIR] [SPANS] [REPEAT]
set -u
B=${1:-build}
N=${2:-10000}
R=${3:-5}
bin=$(cd "$B" && pwd)/tracecheck
. tests/sh/lib/ports.sh
dir=$(mktemp -d "${TMPDIR:-/tmp}/tracecheck-bench-ui.XXXXXX")
pid=
node_pid=
stop() {
  [ -n "$node_pid" ] && kill -KILL -- -"$node_pid" 2>/dev/null
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=
}
trap 'stop; rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM HUP

if [ ! -d tests/ui/node_modules ] || [ tests/ui/package-lock.json -nt tests/ui/node_modules ]; then
  (cd tests/ui && npm ci --no-audit --no-fund --loglevel=error) || exit 1
  touch tests/ui/node_modules
fi
ap=$(free_port) && hp=$(free_port) && gp=$(free_port) || exit 1
api=http://127.0.0.1:$ap
otlp=http://127.0.0.1:$hp
"$bin" serve --listen 127.0.0.1:"$ap" --otlp-http 127.0.0.1:"$hp" --otlp-grpc 127.0.0.1:"$gp" --db "$dir/bench.db" \
  --timeout 60s >"$dir/serve.log" 2>&1 &
pid=$!
for _ in $(seq 300); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$api/api/health")" = 200 ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$dir/serve.log"; exit 1; }
  sleep 0.1
done

cat >"$dir/big.yaml" <<'EOF'
type: Test
spec:
  id: big-trace
  name: A 10,000-span trace
  trigger:
    type: traceid
    traceid:
      id: ${var:TID}
  specs:
    - name: The database queries
      selector: span[db.system.name="postgresql"]
      assertions:
        - attr:tracetest.span.duration < 1s
    - name: The root
      selector: span[name="POST /checkout"]
      assertions:
        - attr:tracetest.selected_spans.count = 1
EOF
curl -sf -o /dev/null -X PUT -H 'Content-Type: application/yaml' --data-binary "@$dir/big.yaml" "$api/api/resources" ||
  { echo "bench/ui: PUT the test failed"; exit 1; }
tid=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
files=$(node bench/ui/trace.mjs "$tid" "$N" "$dir/trace") || exit 1
t0=$(date +%s%N)
for ((i = 0; i < files; i++)); do
  curl -sf -o /dev/null --max-time 30 -H 'Content-Type: application/json' --data-binary "@$dir/trace.$i.json" "$otlp/v1/traces" ||
    { echo "bench/ui: export $i failed"; exit 1; }
done
run=$(curl -s -H 'Content-Type: application/json' -d "{\"variables\":{\"TID\":\"$tid\"}}" "$api/api/tests/big-trace/run" | jq -r .id)
for _ in $(seq 600); do
  body=$(curl -s "$api/api/runs/$run")
  [ "$(jq -r .finished <<<"$body")" != null ] && break
  sleep 0.1
done
echo "run $run: $(jq -r '[.state, .result, .spans] | @tsv' <<<"$body" | tr '\t' ' ') spans, exported and evaluated in $((($(date +%s%N) - t0) / 1000000)) ms"
[ "$(jq -r .state <<<"$body")" = FINISHED ] || { tail -n 5 "$dir/serve.log"; exit 1; }
rows=$(curl -s "$api/api/runs/$run/trace" | jq '[.resourceSpans[].scopeSpans[].spans[]] | length')
echo "GET /api/runs/$run/trace: $rows spans, $(curl -s -o /dev/null -w '%{size_download} bytes in %{time_total} s' "$api/api/runs/$run/trace")"

TC_UI_URL=$api timeout -k 5 300 node bench/ui/waterfall.mjs "$run" "$rows" "$R" &
node_pid=$!
wait "$node_pid"
rc=$?
node_pid=
exit $rc
