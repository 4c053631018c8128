#!/usr/bin/env bash
# The OTLP/HTTP receiver under slow-client floods: `tracecheck run` waits
# for a trace while bench/flood_http holds CONNS connections from 127.0.0.1
# in each mode (shed connections reopened at 2,000 a second); prints, per
# mode, how long good exports on fresh connections took while the flood was
# on (median and max of 10) and right after it ended (max of 5), and what
# the flood saw the receiver close. Usage: bench/flood.sh BUILD_DIR [CONNS]
set -u
B=${1:-build}
N=${2:-10000}
bin=$(cd "$B" && pwd)/tracecheck
tools=$(cd "$B" && pwd)/bench
. tests/sh/lib/ports.sh
PORT=$(free_port)
tmp=$(mktemp -d)
trap 'for j in $(jobs -p); do kill "$j" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"' EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null
tid=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
"$bin" run tests/data/live/by-trace-id.yaml --var TRACE_ID="$tid" --otlp-http 127.0.0.1:$PORT \
  --otlp-grpc 127.0.0.1:$(free_port) --timeout 600s >/dev/null 2>&1 &
for _ in $(seq 100); do "$tools/flood_http" --port $PORT --probe --count 1 >/dev/null 2>&1 && break; sleep 0.1; done
field() { sed -E "s/.*$1=([0-9]+).*/\\1/" <<<"$2"; }
printf '%-16s %7s %12s %12s %12s %14s %12s\n' mode conns "during med" "during max" "after max" "opened" "closed by rx"
for mode in silent dribble-headers stall-body idle; do
  "$tools/flood_http" --port $PORT --conns "$N" --mode $mode > "$tmp/flood" 2>&1 &
  fp=$!
  for _ in $(seq 600); do grep -q '^open=' "$tmp/flood" && break; sleep 0.1; done
  during=$("$tools/flood_http" --port $PORT --probe --count 10 | tail -n 1)
  kill $fp; wait $fp 2>/dev/null
  after=$("$tools/flood_http" --port $PORT --probe --count 5 | tail -n 1)
  end=$(tail -n 1 "$tmp/flood")
  printf '%-16s %7d %9s ms %9s ms %9s ms %14s %12s\n' $mode "$N" "$(field median_ms "$during")" \
    "$(field max_ms "$during")" "$(field max_ms "$after")" "$(field opened "$end")" "$(field closed_by_receiver "$end")"
done
