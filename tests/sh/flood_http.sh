#!/usr/bin/env bash
# The OTLP/HTTP receiver under slow-client floods, run by the real binary:
# `tracecheck run` waits for a trace while bench/flood_http holds 10,000
# misbehaving connections from 127.0.0.1 (silent, headers dribbled a byte a
# second, bodies that stall, idle keep-alive; shed connections are opened
# again at 2,000 a second). A good export on a fresh connection must be
# answered within 1 s while each flood is on, and right after it ends. The
# cases the receiver once failed: 400 stalled bodies (a good export got no
# answer for 5 s) and 800 stalled bodies then all closed (no answer for
# 35 s). A reconnect storm from one address does not reach a client from
# another (127.0.0.2). At the end the trace is exported and the run must
# pass: the floods lost nothing. Prints "N passed, N failed".
set -u
bin=${TRACECHECK_BIN:-build/tracecheck}
tools=$(dirname "$bin")/bench
. "$(dirname "$0")/lib/ports.sh"
HTTP_PORT=$(free_port)
HTTP=127.0.0.1:$HTTP_PORT
GRPC=127.0.0.1:$(free_port)
N=${FLOOD_CONNS:-10000}
pass=0
fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
tmp=$(mktemp -d)
cleanup() { for j in $(jobs -p); do kill "$j" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null

if [ ! -x "$tools/flood_http" ]; then
  echo "FAIL $tools/flood_http is not built"; echo "0 passed, 1 failed"; exit 1
fi

tid=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
for part in child middle root; do
  sed "s/TRACE_ID/$tid/" "tests/data/live/part-$part.json" > "$tmp/$part.json"
done
"$bin" run tests/data/live/by-trace-id.yaml --var TRACE_ID="$tid" --otlp-http $HTTP --otlp-grpc $GRPC \
  --timeout 170s --format json > "$tmp/out.json" 2> "$tmp/err" &
run=$!
up=0
for _ in $(seq 100); do # until the receiver answers (bounded: 10 s)
  if "$tools/flood_http" --port "$HTTP_PORT" --probe --count 1 >/dev/null 2>&1; then up=1; break; fi
  sleep 0.1
done
[ $up = 1 ] || { bad "the receiver did not come up"; cat "$tmp/err"; echo "$pass passed, $fail failed"; exit 1; }

# probe_ok NAME FILE: the probe's last line says every export got 200 within 1 s
probe_ok() {
  local line max okn failed
  line=$(tail -n 1 "$2")
  okn=$(sed -E 's/.*ok=([0-9]+).*/\1/' <<<"$line")
  failed=$(sed -E 's/.*failed=([0-9]+).*/\1/' <<<"$line")
  max=$(sed -E 's/.*max_ms=([0-9]+).*/\1/' <<<"$line")
  if [ "${failed:-1}" = 0 ] && [ "${okn:-0}" -gt 0 ] && [ "${max:-99999}" -lt 1000 ]; then ok "$1 ($line)";
  else bad "$1: $line"; cat "$2"; fi
}

# flood MODE CONNS [ARGS...]: starts a flood in the background and waits
# (at most 60 s) until every connection has been opened
flood() {
  local mode=$1 n=$2; shift 2
  "$tools/flood_http" --port "$HTTP_PORT" --conns "$n" --mode "$mode" "$@" > "$tmp/flood.out" 2>&1 &
  flood_pid=$!
  for _ in $(seq 600); do
    grep -q '^open=' "$tmp/flood.out" && return 0
    kill -0 $flood_pid 2>/dev/null || break
    sleep 0.1
  done
  return 1
}
end_flood() { kill $flood_pid 2>/dev/null; wait $flood_pid 2>/dev/null; }

for mode in silent dribble-headers stall-body idle; do
  if flood $mode "$N"; then
    "$tools/flood_http" --port "$HTTP_PORT" --probe --count 5 > "$tmp/probe" 2>&1
    probe_ok "$mode: $N connections from one address, a good export is answered within 1 s" "$tmp/probe"
    end_flood
    "$tools/flood_http" --port "$HTTP_PORT" --probe --count 3 > "$tmp/probe" 2>&1
    probe_ok "$mode: right after the flood, answered within 1 s" "$tmp/probe"
  else
    bad "$mode: $N connections did not open"; cat "$tmp/flood.out"; end_flood
  fi
done

# the issue's first figure: 400 stalled bodies
if flood stall-body 400 --no-reconnect; then
  "$tools/flood_http" --port "$HTTP_PORT" --probe --count 5 > "$tmp/probe" 2>&1
  probe_ok "400 stalled bodies: a good export is answered within 1 s" "$tmp/probe"
else bad "400 connections did not open"; fi
end_flood
# the second: 800 stalled bodies, then all closed
if flood stall-body 800 --no-reconnect; then
  end_flood
  "$tools/flood_http" --port "$HTTP_PORT" --probe --count 3 > "$tmp/probe" 2>&1
  probe_ok "800 stalled bodies closed: the next export is answered at once" "$tmp/probe"
else bad "800 connections did not open"; end_flood; fi

# a reconnect storm from one address does not reach another address
if flood silent 2000 --rate 0; then
  "$tools/flood_http" --port "$HTTP_PORT" --probe --count 5 --from 127.0.0.2 > "$tmp/probe" 2>&1
  probe_ok "reconnect storm from 127.0.0.1: an exporter on 127.0.0.2 is answered within 1 s" "$tmp/probe"
else bad "the storm did not start"; cat "$tmp/flood.out"; fi
end_flood

# the run still collects its trace and passes
for part in child middle root; do
  curl -sf -o /dev/null -H 'Content-Type: application/json' --data-binary @"$tmp/$part.json" "http://$HTTP/v1/traces" \
    || bad "export of $part failed"
done
wait $run
rc=$?
if [ $rc = 0 ] && [ "$(jq -r '.summary.failed' "$tmp/out.json" 2>/dev/null)" = 0 ]; then
  ok "after the floods the run collects its trace and passes"
else bad "the run ended with exit $rc"; cat "$tmp/err"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
