# pg.sh - sourced by the shell tests that need a PostgreSQL server of their
# own: a throwaway cluster made with Debian's postgresql package (initdb and
# pg_ctl from /usr/lib/postgresql/*/bin), its data, log and unix socket in a
# temporary directory, listening on 127.0.0.1 only, at a free port (never
# 5432), with trust authentication. Run as root, the server runs as the
# postgres user (runuser) and the directory is that user's; otherwise it
# runs as the caller. Starting and stopping wait at most $pg_wait seconds.
# Needs ports.sh (free_port) sourced first.
#   pg_init           makes the cluster (sets $pg_dir, $pg_port); on failure
#                     returns 1 with the reason in $pg_why
#   pg_start          starts the server; 1 with $pg_why when it does not start
#   pg_stop           stops it (fast shutdown); nothing when it is not running
#   pg_cleanup        stops it and removes its directory (for an EXIT trap)
#   pg_createdb NAME  makes a database
#   pg_url NAME       prints the URL of database NAME
pg_dir=
pg_port=
pg_why=
pg_wait=${pg_wait:-30}
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

pg_as=() # the prefix that runs a server command as the cluster's owner
if [ "$(id -u)" -eq 0 ]; then pg_as=(runuser -u postgres --); fi

pg_init() {
  if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ] || [ ! -x "$pg_bin/pg_ctl" ]; then
    pg_why="no initdb and pg_ctl in /usr/lib/postgresql/*/bin (Debian's postgresql package)"; return 1
  fi
  if [ "$(id -u)" -eq 0 ] && ! id -u postgres >/dev/null 2>&1; then
    pg_why="running as root and there is no postgres user to run the server"; return 1
  fi
  pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/tracecheck-pg.XXXXXX") || { pg_why="mktemp failed"; return 1; }
  mkdir -p "$pg_dir/sock"
  if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$pg_dir"; fi
  if ! timeout 120 "${pg_as[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U postgres -A trust -E UTF8 --locale=C \
    --no-sync >"$pg_dir/initdb.out" 2>&1; then
    pg_why="initdb failed: $(tail -n 3 "$pg_dir/initdb.out" | tr '\n' ' ')"; return 1
  fi
}

pg_start() { # again after pg_stop: the same port
  local try
  for try in 1 2 3; do
    if [ -z "$pg_port" ] || [ "$try" -gt 1 ]; then pg_port=$(free_port) || { pg_why="no free port"; return 1; }; fi
    if timeout $((pg_wait + 10)) "${pg_as[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" \
      -w -t "$pg_wait" -o "-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories=$pg_dir/sock -c fsync=off" \
      start >"$pg_dir/pg_ctl.out" 2>&1; then
      return 0
    fi
    # the port taken between the pick and the bind: another one; any other failure: give up
    grep -q 'Address already in use' "$pg_dir/server.log" 2>/dev/null || break
  done
  pg_why="pg_ctl start failed: $(tail -q -n 3 "$pg_dir/pg_ctl.out" "$pg_dir/server.log" 2>/dev/null | tr '\n' ' ')"
  return 1
}

pg_stop() {
  [ -n "$pg_dir" ] && [ -f "$pg_dir/data/postmaster.pid" ] || return 0
  timeout $((pg_wait + 10)) "${pg_as[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w -t "$pg_wait" stop \
    >>"$pg_dir/pg_ctl.out" 2>&1 && return 0
  timeout 20 "${pg_as[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate -w -t 15 stop >>"$pg_dir/pg_ctl.out" 2>&1
}

pg_cleanup() {
  pg_stop
  [ -n "$pg_dir" ] && rm -rf "$pg_dir"
  pg_dir=
}

pg_createdb() {
  timeout 30 "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres "$1"
}

pg_url() {
  echo "postgresql://postgres@127.0.0.1:$pg_port/$1"
}
