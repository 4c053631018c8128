#!/usr/bin/env bash
# Stops the demo's services and PostgreSQL. Safe to run twice.
set -uo pipefail
demo=$(cd "$(dirname "$0")/.." && pwd)
export RUN_DIR=${RUN_DIR:-$demo/.run}
# SIGTERM to every service at once, then up to 5 s for all of them to exit
pids=()
for name in gateway orders payments inventory; do
  pidf="$RUN_DIR/$name.pid"
  [ -f "$pidf" ] || continue
  pid=$(cat "$pidf")
  kill "$pid" 2>/dev/null && pids+=("$pid")
  rm -f "$pidf"
done
for _ in $(seq 50); do
  alive=0
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
  [ "$alive" = 0 ] && break
  sleep 0.1
done
for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
bash "$demo/scripts/pg-stop.sh"
