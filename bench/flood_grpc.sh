#!/usr/bin/env bash
# flood_grpc.sh BUILD_DIR - the OTLP/gRPC receiver of `tracecheck run`
# under each flood of bench/h2flood with 10,000 connections from
# 127.0.0.1, opened at 10,000 a second (FLOOD_CONNS and FLOOD_RATE set
# other numbers; FLOOD_RATE=0 opens them as fast as the kernel completes
# them, which overflows the listen queue). For each mode it prints how
# many connections the flood opened and how many the receiver closed (caps,
# deadlines, flood limits), how long good exports on fresh connections took
# while the flood was on (10 probes: slowest and median, connect to OK
# answer), and how long one took right after the flood ended.
set -u
B=${1:-build}
bin=$B/tracecheck
flood=$B/bench/h2flood
conns=${FLOOD_CONNS:-10000}
rate=${FLOOD_RATE:-10000}
. "$(dirname "$0")/../tests/sh/lib/ports.sh"
for f in "$bin" "$flood"; do
  [ -x "$f" ] || { echo "flood_grpc: $f is missing (make B=$B $f)"; exit 1; }
done
tmp=$(mktemp -d)
cleanup() { for j in $(jobs -p); do kill "$j" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
GRPC=$(free_port)
HTTP=$(free_port)
cat >"$tmp/test.yaml" <<'YAML'
type: Test
spec:
  id: flood-bench
  name: waits while the floods run
  trigger:
    type: traceid
    traceid:
      id: 0123456789abcdef0123456789abcdef
  specs:
    - selector: span[]
      assertions:
        - attr:tracetest.selected_spans.count = 1
YAML
"$bin" run "$tmp/test.yaml" --otlp-grpc "127.0.0.1:$GRPC" --otlp-http "127.0.0.1:$HTTP" --timeout 600s \
  >/dev/null 2>"$tmp/run.err" &
for _ in $(seq 100); do
  "$flood" --port "$GRPC" --probe --count 1 --timeout-ms 500 >/dev/null 2>&1 && break
  sleep 0.1
done

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" "$2" | tail -n 1; }

printf '%-16s %8s %10s %14s %14s %12s\n' mode opened "closed by" "probe max ms" "probe med ms" "after ms"
printf '%-16s %8s %10s %14s %14s %12s\n' "" "" receiver "(flood on)" "(flood on)" "(ended)"
for mode in silent preface-dribble open-streams stall-body settings-flood idle; do
  "$flood" --port "$GRPC" --conns "$conns" --mode "$mode" --hold 120 --rate "$rate" >"$tmp/flood.out" 2>&1 &
  pid=$!
  for _ in $(seq 600); do
    grep -q '^open=' "$tmp/flood.out" && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
  done
  "$flood" --port "$GRPC" --probe --count 10 >"$tmp/on.out" 2>&1
  kill -TERM $pid 2>/dev/null
  wait $pid 2>/dev/null
  "$flood" --port "$GRPC" --probe --count 1 >"$tmp/after.out" 2>&1
  on_ok=$(field ok "$tmp/on.out")
  after_ok=$(field ok "$tmp/after.out")
  printf '%-16s %8s %10s %14s %14s %12s\n' "$mode" "$(field opened "$tmp/flood.out")" \
    "$(field closed_by_server "$tmp/flood.out")" \
    "$(field max_ms "$tmp/on.out")$([ "$on_ok" = 10 ] || echo " ($on_ok/10 ok)")" \
    "$(field median_ms "$tmp/on.out")" \
    "$(field max_ms "$tmp/after.out")$([ "$after_ok" = 1 ] || echo " (failed)")"
done
