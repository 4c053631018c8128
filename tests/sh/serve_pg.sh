#!/usr/bin/env bash
# `tracecheck serve` with PostgreSQL (a throwaway server of its own,
# tests/sh/lib/pg.sh): the API checks of tests/sh/lib/serve.sh, runs in
# flight across a kill -9 (the server starting again with its --server-id),
# then PostgreSQL stopped under the running
# server: the API answers 503 with Retry-After (health too), a run that
# completes meanwhile keeps its end in memory, and once PostgreSQL is
# started again the same server answers without a restart and the run is
# stored FINISHED with its results; no finished run is lost. Then two
# replicas on the database (restart, events across replicas, a replica
# killed).
# Prints "N passed, N failed".
set -u
. "$(dirname "$0")/lib/ports.sh"
. "$(dirname "$0")/lib/pg.sh"
. "$(dirname "$0")/lib/serve.sh"
dir=$(mktemp -d "${TMPDIR:-/tmp}/tracecheck-serve-pg.XXXXXX")
trap '[ -n "${pidB:-}" ] && kill -KILL "$pidB" 2>/dev/null; serve_kill9; pg_cleanup; rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM HUP
pass=0
fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
done_() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
  exit
}

if ! pg_init || ! pg_start; then
  bad "PostgreSQL did not start: $pg_why"
  done_
fi
pg_createdb tracecheck_serve >"$dir/createdb.out" 2>&1 || { bad "createdb: $(cat "$dir/createdb.out")"; done_; }
url=$(pg_url tracecheck_serve)

if ! serve_start serve --db "$url" --timeout 15s --grace 3s --server-id pg-test; then
  bad "the server did not start on PostgreSQL: $(tail -n 5 "$dir/serve.log")"
  done_
fi
serve_suite postgresql

# the stored run documents hold no secret either (the VariableSet itself keeps it)
if timeout 60 "$pg_bin/pg_dump" -h 127.0.0.1 -p "$pg_port" -U postgres --exclude-table-data=resource_versions \
     tracecheck_serve >"$dir/dump.sql" 2>"$dir/dump.err"; then
  grep -q -e tok-7Hq2ZpX9wLk4 -e pw-Zr8Kq1Vm3Nx "$dir/dump.sql" && bad "postgresql: a secret in a stored run document" ||
    ok "postgresql: no secret in the stored run documents"
else bad "pg_dump: $(cat "$dir/dump.err")"; fi

# ---- kill -9 with runs in flight
inflight=()
for i in 1 2; do
  start_run by-index "{\"variables\":{\"TID\":\"$(new_tid)\",\"IDX\":\"k$i\"}}"
  inflight+=("$run")
done
for _ in $(seq 100); do
  call GET '/api/runs?state=AWAITING_TRACE'
  [ "$(jq '.items|length' <<<"$body")" -ge 2 ] && break
  sleep 0.1
done
call GET '/api/runs?state=FINISHED&limit=500'
finished=$(jq '.items|length' <<<"$body")
serve_kill9
serve_start serve2 --db "$url" --timeout 15s --server-id pg-test || { bad "no restart after kill -9: $(tail -n 5 "$dir/serve2.log")"; done_; }
states=
for id in "${inflight[@]}"; do
  call GET "/api/runs/$id"
  states="$states$(jq -r .state <<<"$body") "
done
call GET '/api/runs?state=FINISHED&limit=500'
if [ "$states" = "INTERRUPTED INTERRUPTED " ] && [ "$(jq '.items|length' <<<"$body")" = "$finished" ]; then
  ok "postgresql: kill -9 with runs in flight: $finished finished runs kept, the 2 in flight INTERRUPTED"
else bad "postgresql: kill -9: $states, finished $finished -> $(jq '.items|length' <<<"$body")"; fi

# ---- PostgreSQL stopped under the server, then started again
tid=$(new_tid)
trace_json "$tid" outage >"$dir/outage.json"
start_run by-index "{\"variables\":{\"TID\":\"$tid\",\"IDX\":\"outage\"}}"
outage=$run
for _ in $(seq 100); do call GET "/api/runs/$outage"; [ "$(jq -r .state <<<"$body")" = AWAITING_TRACE ] && break; sleep 0.1; done
pg_stop || bad "pg_ctl stop"
call GET /api/runs -D "$dir/h503"
r1=$code
grep -qi '^retry-after: 1' "$dir/h503" && ra=yes || ra=no
e1=$(jq -r .error.code <<<"$body")
call GET /api/health
r2=$code
start_run by-index "{\"variables\":{\"TID\":\"$(new_tid)\",\"IDX\":\"x\"}}"
r3=$code
if [ "$r1" = 503 ] && [ "$e1" = unavailable ] && [ "$ra" = yes ] && [ "$r2" = 503 ] && [ "$r3" = 503 ]; then
  ok "postgresql stopped: lists, health and new runs answer 503 unavailable with Retry-After"
else bad "postgresql stopped: list=$r1 ($e1, retry-after $ra) health=$r2 run=$r3"; fi
send_spans "$dir/outage.json" || bad "export during the outage"
for _ in $(seq 100); do grep -q "run $outage: the database is unavailable" "$dir/serve2.log" && break; sleep 0.1; done
grep -q "run $outage: the database is unavailable" "$dir/serve2.log" &&
  ok "postgresql stopped: the run completed and keeps its end until the database is back" ||
  bad "the outage run: $(tail -n 3 "$dir/serve2.log")"
if pg_start; then
  back=
  for _ in $(seq 300); do
    call GET /api/health
    [ "$code" = 200 ] && { back=1; break; }
    sleep 0.1
  done
  [ -n "$back" ] && ok "postgresql started again: the same server answers (no restart)" || bad "no answer after PostgreSQL came back"
  if wait_run "$outage" 30 && [ "$(jq -r '[.state,.result,.outputs.INDEX_SEEN]|@csv' <<<"$body")" = '"FINISHED","passed","outage"' ]; then
    ok "postgresql back: the run that ended during the outage is stored FINISHED with its results"
  else bad "outage run after restart: $(head -c 600 <<<"$body")"; fi
  call GET '/api/runs?state=FINISHED&limit=500'
  [ "$(jq '.items|length' <<<"$body")" = $((finished + 1)) ] && ok "postgresql back: no finished run lost" ||
    bad "finished runs: $finished before, $(jq '.items|length' <<<"$body") after"
else
  bad "PostgreSQL did not start again: $pg_why"
fi
serve_stop
[ "$srv_rc" = 0 ] && ok "postgresql: SIGTERM, exit 0" || bad "stop: exit $srv_rc"

# ---- replicas sharing the database: a restart ends only its own runs; a
# run on one replica is followed from another; a replica killed has its
# runs ended by the others once its heartbeat is older than --replica-timeout
serve_start repA --db "$url" --server-id replica-a --replica-timeout 3s || bad "start replica a"
apiA=$api
bp=$(free_port) bh=$(free_port) bg=$(free_port)
"$serve_bin" serve --listen "127.0.0.1:$bp" --otlp-http "127.0.0.1:$bh" --otlp-grpc "127.0.0.1:$bg" --db "$url" \
  --server-id replica-b --replica-timeout 3s --timeout 30s >>"$dir/repB.log" 2>&1 &
pidB=$!
for _ in $(seq 300); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$bp/api/health")" = 200 ] && break
  sleep 0.1
done
api=http://127.0.0.1:$bp
tidb=$(new_tid)
start_run by-index "{\"variables\":{\"TID\":\"$tidb\",\"IDX\":\"replica\"}}"
rb=$run
for _ in $(seq 100); do call GET "/api/runs/$rb"; [ "$(jq -r .state <<<"$body")" = AWAITING_TRACE ] && break; sleep 0.1; done
api=$apiA
serve_stop
serve_start repA2 --db "$url" --server-id replica-a --replica-timeout 3s || bad "restart replica a"
apiA=$api
call GET "/api/runs/$rb"
[ "$(jq -r .state <<<"$body")" = AWAITING_TRACE ] &&
  ok "replicas: a replica starting again leaves the runs of another one running" ||
  bad "replicas: the other replica's run after a restart: $(jq -c '{state,error}' <<<"$body")"
exec 8< <(curl -sN --max-time 20 "$apiA/api/runs/$rb/events")
trace_json "$tidb" replica >"$dir/rep.json"
otlp_a=$otlp
otlp=http://127.0.0.1:$bh
send_spans "$dir/rep.json" || bad "export to replica b"
otlp=$otlp_a
result=
deadline=$((SECONDS + 15))
while [ $SECONDS -lt $deadline ] && IFS= read -r -t 15 line <&8; do
  case $line in data:*'"result"'*'"state":"FINISHED"'*) result=$line; break ;; esac
done
exec 8<&-
if [ -n "$result" ] && [ "$(jq -r '[.state,.result]|@csv' <<<"${result#data: }")" = '"FINISHED","passed"' ]; then
  ok "replicas: the event stream of a run on another replica ends with its result"
else bad "replicas: no result event from the other replica's run (${line:-nothing})"; fi
api=http://127.0.0.1:$bp
start_run by-index "{\"variables\":{\"TID\":\"$(new_tid)\",\"IDX\":\"never\"}}"
rb2=$run
for _ in $(seq 100); do call GET "/api/runs/$rb2"; [ "$(jq -r .state <<<"$body")" = AWAITING_TRACE ] && break; sleep 0.1; done
kill -KILL "$pidB" 2>/dev/null
wait "$pidB" 2>/dev/null
api=$apiA
t0=$(date +%s%N)
state=
for _ in $(seq 200); do
  call GET "/api/runs/$rb2"
  state=$(jq -r .state <<<"$body")
  [ "$state" = INTERRUPTED ] && break
  sleep 0.1
done
took=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ "$state" = INTERRUPTED ] && grep -q 'of a replica that stopped: INTERRUPTED' "$dir/repA2.log"; then
  ok "replicas: a replica killed (-9): its running run ended INTERRUPTED by the other ${took} ms later (timeout 3s)"
else bad "replicas: the killed replica's run is $state after ${took} ms"; fi
serve_stop
sanitizer_check
done_
