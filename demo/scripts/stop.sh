#!/usr/bin/env bash
# Stops the demo's services and PostgreSQL. Safe to run twice.
set -uo pipefail
demo=$(cd "$(dirname "$0")/.." && pwd)
export RUN_DIR=${RUN_DIR:-$demo/.run}
for name in gateway orders payments inventory; do
  pidf="$RUN_DIR/$name.pid"
  [ -f "$pidf" ] || continue
  pid=$(cat "$pidf")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidf"
done
bash "$demo/scripts/pg-stop.sh"
