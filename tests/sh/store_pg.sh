#!/usr/bin/env bash
# The run-history store against PostgreSQL, on a throwaway server of its
# own (tests/sh/lib/pg.sh): the PostgreSQL group of the store's unit tests
# (tests/unit/store_test.c with TC_PG_URL set), then a store handle across
# restarts of the server, driven through `store_test probe`: PostgreSQL
# stopped under an open handle makes the next calls fail as "unavailable";
# started again, the next calls succeed on the same handle (it reconnects
# by itself); restarted between two calls, the first call after it fails
# as unavailable (the store does not repeat a call) and the next succeeds.
# Prints "N passed, N failed".
set -u
. "$(dirname "$0")/lib/ports.sh"
. "$(dirname "$0")/lib/pg.sh"
bin=${TRACECHECK_BIN:-build/tracecheck}
unit=$(cd "$(dirname "$bin")" && pwd)/tests/unit/store_test
dir=$(mktemp -d "${TMPDIR:-/tmp}/tracecheck-store-pg.XXXXXX")
probe_pid=
trap '[ -n "$probe_pid" ] && kill "$probe_pid" 2>/dev/null; pg_cleanup; rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM HUP # through the EXIT trap: the server is stopped
pass=0
fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
done_() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
  exit
}

[ -x "$unit" ] || { bad "no unit test binary at $unit"; done_; }
if ! pg_init || ! pg_start; then
  bad "PostgreSQL did not start: $pg_why"
  done_
fi
pg_createdb tracecheck_store >"$dir/createdb.out" 2>&1 || { bad "createdb: $(cat "$dir/createdb.out")"; done_; }
url=$(pg_url tracecheck_store)

# ---- the unit tests' PostgreSQL group (the SQLite group is counted with the unit tests)
TC_PG_URL=$url CMOCKA_MESSAGE_OUTPUT=TAP timeout 300 "$unit" >"$dir/unit.tap" 2>&1
p=$(grep -c '^ok [0-9]* - postgresql: ' "$dir/unit.tap")
f=$(grep -c '^not ok [0-9]* - postgresql: ' "$dir/unit.tap")
grep -A 3 '^not ok [0-9]* - postgresql: ' "$dir/unit.tap"
pass=$((pass + p))
fail=$((fail + f))
echo "unit tests on PostgreSQL: $p passed, $f failed"
[ "$p" -gt 0 ] || { bad "the PostgreSQL group did not run"; tail -n 20 "$dir/unit.tap"; }

# ---- one handle across restarts
coproc PROBE { timeout 180 "$unit" probe "$url" 2>&1; }
probe_pid=$PROBE_PID
answer=
ask() { # ask COMMAND: the probe's answer in $answer
  answer="(no answer)"
  [ -n "$1" ] && { echo "$1" >&"${PROBE[1]}" || return; }
  IFS= read -r -t 30 answer <&"${PROBE[0]}" || answer="(no answer)"
}
expect() { # expect WHAT COMMAND PATTERN: the answer to COMMAND matches the glob PATTERN
  ask "$2"
  # shellcheck disable=SC2053
  if [[ $answer == $3 ]]; then ok "$1: $answer"; else bad "$1: answered \"$answer\", wanted $3"; fi
}
expect "open" "" "ok"
expect "put with the server up" "put a" "ok"
expect "a run of it" "run a" "ok"
pg_stop || bad "pg_ctl stop"
expect "server stopped: the next call fails" "get a" "unavailable: *"
expect "server stopped: a later one, reconnecting, too" "put b" "unavailable: *"
if pg_start; then
  expect "server back: the same handle reads" "get a" "ok"
  expect "server back: and writes" "put b" "ok"
  expect "server back: what it wrote is there" "get b" "ok"
  expect "server back: a run" "run b" "ok"
else
  bad "PostgreSQL did not start again: $pg_why"
fi
if ! pg_stop || ! pg_start; then bad "PostgreSQL did not restart: $pg_why"; fi
expect "restarted between calls: the first call meets the old connection" "get a" "unavailable: *"
expect "restarted between calls: the next one reconnects" "get a" "ok"
expect "not found is not unavailable" "get nothing" "not found: *"
echo quit >&"${PROBE[1]}"
wait "$probe_pid" 2>/dev/null
probe_pid=
done_
