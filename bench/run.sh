#!/usr/bin/env bash
# Runs every benchmark binary built in $1/bench (not the load tools:
# loadgen_*, flood_*, h2flood) and every bench/*.sh script (but this one) once, and prints their tables. BENCH_LIST=1 only names
# them, in order.
set -eu
B=${1:-build}
run() { # run NAME COMMAND...
  echo "## $1"
  shift
  [ "${BENCH_LIST:-0}" = 1 ] || { "$@"; echo; }
}
for b in "$B"/bench/*; do
  [ -x "$b" ] || continue
  case $(basename "$b") in loadgen_* | flood_* | h2flood) continue ;; esac # load tools other benches drive
  run "$(basename "$b")" "$b"
done
for s in bench/*.sh; do
  [ -f "$s" ] || continue
  [ "$(basename "$s")" = run.sh ] && continue # this script
  run "$(basename "$s" .sh)" bash "$s" "$B"
done
