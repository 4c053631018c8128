#!/usr/bin/env bash
# The long-running receivers of `tracecheck serve` hold against the same
# floods as `tracecheck run`'s (tests/sh/flood_http.sh, flood_grpc.sh):
# with 10,000 stalled-body HTTP connections and then 10,000 HTTP/2
# connections that open streams and never send, all from 127.0.0.1, a good
# export on a fresh connection is answered within 1 s, the API still
# answers, a traceid run started during the flood collects its trace and
# passes, and the server stops cleanly on SIGTERM. Prints "N passed, N failed".
set -u
bin=${TRACECHECK_BIN:-build/tracecheck}
tools=$(dirname "$bin")/bench
. "$(dirname "$0")/lib/ports.sh"
pass=0
fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
dir=$(mktemp -d)
. "$(dirname "$0")/lib/serve.sh"
cleanup() { [ -n "${flood_pid:-}" ] && kill "$flood_pid" 2>/dev/null; serve_stop; rm -rf "$dir"; }
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null
N=${FLOOD_CONNS:-10000}

for t in flood_http h2flood; do
  [ -x "$tools/$t" ] || { echo "FAIL $tools/$t is not built"; echo "0 passed, 1 failed"; exit 1; }
done
gp=$(free_port)
# our --otlp-grpc comes after serve_start's own, and the last one counts
if ! serve_start srv --db "$dir/tc.db" --workers 2 --otlp-grpc 127.0.0.1:"$gp"; then
  bad "the server did not start"; cat "$dir/srv.log"; echo "$pass passed, $fail failed"; exit 1
fi
hport=${otlp##*:}
gport=$gp

# probe_line NAME FILE: every probe answered, the slowest within 1 s
probe_line() {
  local line okn failed max
  line=$(tail -n 1 "$2")
  okn=$(sed -nE 's/.*ok=([0-9]+).*/\1/p' <<<"$line")
  failed=$(sed -nE 's/.*failed=([0-9]+).*/\1/p' <<<"$line")
  max=$(sed -nE 's/.*max_ms=([0-9.]+).*/\1/p' <<<"$line")
  if [ "${failed:-1}" = 0 ] && [ "${okn:-0}" -gt 0 ] && awk -v m="${max:-99999}" 'BEGIN { exit !(m < 1000) }'; then
    ok "$1 ($line)"
  else bad "$1: $line"; cat "$2"; fi
}

# wait_open FILE: until the flood says every connection was opened (bounded: 60 s)
wait_open() {
  for _ in $(seq 600); do
    grep -q '^open=' "$1" && return 0
    kill -0 "$flood_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# a test that waits for a trace we send during the floods
cat > "$dir/t.yaml" <<'YAML'
type: Test
spec:
  id: during-flood
  name: A trace sent while the receivers are flooded
  trigger:
    type: traceid
    traceid:
      id: ${var:TRACE_ID}
  specs:
    - name: both spans
      selector: span[]
      assertions:
        - attr:tracetest.selected_spans.count = 2
YAML
put_file "$dir/t.yaml"
[ "$code" = 200 ] || bad "apply: $code $body"

"$tools/flood_http" --port "$hport" --conns "$N" --mode stall-body > "$dir/flood.out" 2>&1 &
flood_pid=$!
if wait_open "$dir/flood.out"; then
  "$tools/flood_http" --port "$hport" --probe --count 5 > "$dir/probe.out" 2>&1
  probe_line "serve, $N stalled HTTP bodies: a good OTLP/HTTP export is answered within 1 s" "$dir/probe.out"
  tid=$(new_tid)
  start_run during-flood "{\"variables\":{\"TRACE_ID\":\"$tid\"}}"
  trace_json "$tid" 1 > "$dir/trace.json"
  send_spans "$dir/trace.json"
  if wait_run "$run" 30 && [ "$(jq -r .result <<<"$body")" = passed ]; then
    ok "serve, during the HTTP flood: the API answers and a run collects its trace and passes"
  else bad "serve, run during the HTTP flood: $body"; fi
else bad "$N HTTP connections did not open: $(tail -n 2 "$dir/flood.out")"; fi
kill "$flood_pid" 2>/dev/null; wait "$flood_pid" 2>/dev/null

"$tools/h2flood" --port "$gport" --conns "$N" --mode open-streams --hold 55 --rate 10000 > "$dir/flood.out" 2>&1 &
flood_pid=$!
if wait_open "$dir/flood.out"; then
  "$tools/h2flood" --port "$gport" --probe --count 5 > "$dir/probe.out" 2>&1
  probe_line "serve, $N HTTP/2 connections with silent streams: a good OTLP/gRPC export is answered within 1 s" "$dir/probe.out"
else bad "$N HTTP/2 connections did not open: $(tail -n 2 "$dir/flood.out")"; fi
kill "$flood_pid" 2>/dev/null; wait "$flood_pid" 2>/dev/null
flood_pid=

serve_stop
if [ "$srv_rc" = 0 ]; then ok "serve stops cleanly on SIGTERM after the floods"
else bad "serve exited $srv_rc"; tail -n 5 "$dir/srv.log"; fi
sanitizer_check
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
