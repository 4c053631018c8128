#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for the demo: data in $RUN_DIR/pg,
# listening on 127.0.0.1:$PGPORT only, trust auth, database "orders".
# As root the cluster runs as the postgres user. Waits (bounded) until it
# accepts connections.
set -euo pipefail
RUN_DIR=${RUN_DIR:?RUN_DIR must be set}
PGPORT=${PGPORT:-54329}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/initdb" ] || { echo "pg-start: PostgreSQL is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
as_pg=()
if [ "$(id -u)" -eq 0 ]; then as_pg=(runuser -u postgres --); fi
data="$RUN_DIR/pg"
mkdir -p "$data"
[ "$(id -u)" -eq 0 ] && chown postgres "$RUN_DIR" "$data"
if [ ! -f "$data/PG_VERSION" ]; then
  "${as_pg[@]}" "$bin/initdb" -D "$data" -U postgres -A trust --no-sync >"$RUN_DIR/initdb.log" 2>&1 ||
    { cat "$RUN_DIR/initdb.log" >&2; exit 1; }
fi
"${as_pg[@]}" "$bin/pg_ctl" -D "$data" -l "$RUN_DIR/postgres.log" -w -t 30 \
  -o "-p $PGPORT -k $data -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null ||
  { cat "$RUN_DIR/postgres.log" >&2; exit 1; }
for _ in $(seq 100); do
  "$bin/pg_isready" -h 127.0.0.1 -p "$PGPORT" -q && break
  sleep 0.1
done
if ! "$bin/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='orders'" | grep -q 1; then
  "$bin/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres orders
fi
echo "postgres listening on 127.0.0.1:$PGPORT"
