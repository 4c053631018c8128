#!/usr/bin/env bash
# Stops the demo's PostgreSQL cluster and removes its data. Safe to run twice.
set -uo pipefail
RUN_DIR=${RUN_DIR:?RUN_DIR must be set}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
data="$RUN_DIR/pg"
if [ -f "$data/postmaster.pid" ] && [ -x "$bin/pg_ctl" ]; then
  as_pg=()
  if [ "$(id -u)" -eq 0 ]; then as_pg=(runuser -u postgres --); fi
  "${as_pg[@]}" "$bin/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
fi
rm -rf "$data"
