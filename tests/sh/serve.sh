#!/usr/bin/env bash
# `tracecheck serve` with SQLite, end to end through its REST API, with
# traceid-triggered tests whose spans curl exports to the server's receiver
# (tests/sh/lib/serve.sh: resources, runs, events, traces, lists, suites,
# cancel, 24 concurrent runs, secrets); then the run history across a
# kill -9 with runs in flight (finished runs kept with their results, the
# others INTERRUPTED at the next start), a graceful stop (a run that
# completes within --grace is FINISHED, one that does not is INTERRUPTED by
# the stopping server), the bearer token and CORS, and the addresses a
# server refuses. Servers on 127.0.0.1 only, every wait bounded.
# Prints "N passed, N failed".
set -u
. "$(dirname "$0")/lib/ports.sh"
. "$(dirname "$0")/lib/serve.sh"
dir=$(mktemp -d "${TMPDIR:-/tmp}/tracecheck-serve.XXXXXX")
trap 'serve_kill9; rm -rf "$dir"' EXIT
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
db=$dir/runs.db

if ! serve_start serve --db "$db" --timeout 8s --grace 15s; then
  bad "the server did not start: $(tail -n 5 "$dir/serve.log")"
  done_
fi
serve_suite sqlite

# the stored run documents hold no secret either (the VariableSet itself keeps it)
if sqlite3 "$db" .dump | grep -v '^INSERT INTO resource_versions' | grep -q -e tok-7Hq2ZpX9wLk4 -e pw-Zr8Kq1Vm3Nx; then
  bad "sqlite: a secret in a stored run document"
else ok "sqlite: no secret in the stored run documents"; fi
call GET /api/health -D "$dir/headers"
grep -qi '^access-control' "$dir/headers" && bad "CORS headers without --cors" || ok "no CORS headers without --cors"

# a graceful stop frees everything (the cancelled run's worker ends at its 8 s timeout)
serve_stop
[ "$srv_rc" = 0 ] && ! grep -q 'still inside a run' "$dir/serve.log" && ok "SIGTERM after it all: exit 0, every worker done" ||
  bad "stop after the suite: exit $srv_rc: $(tail -n 3 "$dir/serve.log")"

# ---- kill -9 with runs in flight
serve_start serve1 --db "$db" --timeout 15s || { bad "restart: $(tail -n 5 "$dir/serve1.log")"; done_; }
call GET '/api/runs?state=FINISHED&limit=500'
finished=$(jq '.items|length' <<<"$body")
first=$(jq '.items[-1].id' <<<"$body")
inflight=()
for i in 1 2 3 4 5 6; do
  start_run by-index "{\"variables\":{\"TID\":\"$(new_tid)\",\"IDX\":\"k$i\"}}"
  inflight+=("$run")
done
awaiting=0
for _ in $(seq 100); do
  call GET '/api/runs?state=AWAITING_TRACE'
  awaiting=$(jq '.items|length' <<<"$body")
  [ "$awaiting" -ge 3 ] && break
  sleep 0.1
done
serve_kill9
if ! serve_start serve2 --db "$db" --timeout 15s --grace 3s; then
  bad "the server did not start again after kill -9: $(tail -n 5 "$dir/serve2.log")"
  done_
fi
call GET '/api/runs?state=FINISHED&limit=500'
now_finished=$(jq '.items|length' <<<"$body")
call GET "/api/runs/$first"
first_ok=$(jq -r '[.state,.result,(.results.specs|length)]|@csv' <<<"$body")
states=
for id in "${inflight[@]}"; do
  call GET "/api/runs/$id"
  states="$states$(jq -r .state <<<"$body") "
done
if [ "$now_finished" = "$finished" ] && [ "$first_ok" = '"FINISHED","passed",2' ] &&
   [ "$states" = "INTERRUPTED INTERRUPTED INTERRUPTED INTERRUPTED INTERRUPTED INTERRUPTED " ] && [ "$awaiting" -ge 3 ] &&
   grep -q 'runs left open by a previous process: INTERRUPTED' "$dir/serve2.log"; then
  ok "kill -9 with $awaiting runs awaiting their trace: $finished finished runs kept with results, the 6 in flight INTERRUPTED"
else bad "kill -9: finished $finished -> $now_finished, first: $first_ok, in flight: $states (awaiting $awaiting)"; fi

# ---- graceful stop: a run that completes within the grace period finishes
serve_stop
serve_start serve3 --db "$db" --grace 20s || bad "start serve3"
tid=$(new_tid)
trace_json "$tid" graceful >"$dir/g.json"
start_run by-index "{\"variables\":{\"TID\":\"$tid\",\"IDX\":\"graceful\"}}"
g1=$run
for _ in $(seq 100); do call GET "/api/runs/$g1"; [ "$(jq -r .state <<<"$body")" = AWAITING_TRACE ] && break; sleep 0.1; done
kill -TERM "$srv_pid"
for _ in $(seq 50); do grep -q 'stopping: no new runs' "$dir/serve3.log" && break; sleep 0.1; done
send_spans "$dir/g.json" || bad "export during the stop"
t0=$(date +%s%N)
serve_stop
took=$(( ($(date +%s%N) - t0) / 1000000 ))
rc3=$srv_rc
# ---- and one that does not is INTERRUPTED by the stopping server
serve_start serve4 --db "$db" --grace 1s || bad "start serve4"
call GET "/api/runs/$g1"
g1_state=$(jq -r '[.state,.result]|@csv' <<<"$body")
start_run by-index "{\"variables\":{\"TID\":\"$(new_tid)\",\"IDX\":\"never\"}}"
g2=$run
for _ in $(seq 100); do call GET "/api/runs/$g2"; [ "$(jq -r .state <<<"$body")" = AWAITING_TRACE ] && break; sleep 0.1; done
t0=$(date +%s%N)
serve_stop
took4=$(( ($(date +%s%N) - t0) / 1000000 ))
rc4=$srv_rc
serve_start serve5 --db "$db" || bad "start serve5"
call GET "/api/runs/$g2"
g2_state=$(jq -r '[.state,.timeline[-1].state]|@csv' <<<"$body")
if [ "$rc3" = 0 ] && [ "$g1_state" = '"FINISHED","passed"' ] && [ "$took" -lt 15000 ]; then
  ok "SIGTERM: the running run finished within the grace period (FINISHED, passed), exit 0 after ${took} ms"
else bad "SIGTERM with a run finishing: exit $rc3, $g1_state, ${took} ms"; fi
if [ "$rc4" = 0 ] && [ "$g2_state" = '"INTERRUPTED","INTERRUPTED"' ] && [ "$took4" -lt 10000 ] &&
   grep -q "run $g2: INTERRUPTED (the server stopped)" "$dir/serve4.log" && ! grep -q 'left open' "$dir/serve5.log"; then
  ok "SIGTERM: a run still waiting after --grace 1s is INTERRUPTED by the stopping server, exit 0 after ${took4} ms"
else bad "SIGTERM with a run waiting: exit $rc4, $g2_state, ${took4} ms"; tail -n 5 "$dir/serve4.log"; fi
if grep -q '^.*stopped$' "$dir/serve4.log" && ! grep -q 'still inside a run' "$dir/serve4.log"; then
  ok "SIGTERM: the interrupted run's worker let go of it, the server stopped in full"
else bad "SIGTERM: a worker stayed inside the interrupted run"; tail -n 3 "$dir/serve4.log"; fi
serve_stop

# ---- a cancel frees its worker; live progress of a run that calls the system
serve_start serve7 --db "$dir/live.db" --workers 1 || bad "start serve7"
cat >"$dir/live.yaml" <<EOF
type: PollingProfile
spec:
  id: patient
  name: patient
  strategy: periodic
  periodic: {retryDelay: 1s, timeout: 20s, selectorMatchRetries: 200, quietWindow: 200ms}
---
type: Test
spec:
  id: live-http
  name: Live HTTP
  pollingProfile: patient
  trigger:
    type: http
    httpRequest: {method: GET, url: "$api/api/health"}
  specs:
  - selector: span[name="SELECT"]
    assertions: ["attr:db.system = \"postgresql\""]
---
type: Test
spec:
  id: waits
  name: Waits
  pollingProfile: patient
  trigger: {type: traceid, traceid: {id: "\${var:TID}"}}
  specs:
  - selector: span[name="GET /"]
    assertions: ["attr:run.index = \"\${var:IDX}\""]
EOF
put_file "$dir/live.yaml"
[ "$code" = 200 ] || bad "PUT live.yaml: $code $body"
start_run waits "{\"variables\":{\"TID\":\"$(new_tid)\",\"IDX\":\"never\"}}"
c1=$run
for _ in $(seq 100); do call GET "/api/runs/$c1"; [ "$(jq -r .state <<<"$body")" = AWAITING_TRACE ] && break; sleep 0.1; done
call POST "/api/runs/$c1/cancel"
t0=$(date +%s%N)
tid=$(new_tid)
trace_json "$tid" after-cancel >"$dir/c2.json"
send_spans "$dir/c2.json"
start_run waits "{\"variables\":{\"TID\":\"$tid\",\"IDX\":\"after-cancel\"}}"
c2=$run
wait_run "$c2" 15
took=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ "$(jq -r '[.state,.result]|@csv' <<<"$body")" = '"FINISHED","passed"' ] && [ "$took" -lt 5000 ] &&
   grep -q "run $c1: ended elsewhere" "$dir/serve7.log"; then
  ok "cancel of a waiting run frees the only worker: the next run passed ${took} ms after the cancel"
else bad "cancel and the next run: $(jq -c '{state,result,error}' <<<"$body"), ${took} ms"; tail -n 3 "$dir/serve7.log"; fi

# a trace from outside stays for the next run of it (evaluate it again
# after editing the specs)
t0=$(date +%s%N)
start_run waits "{\"variables\":{\"TID\":\"$tid\",\"IDX\":\"after-cancel\"}}"
wait_run "$run" 15
took=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ "$(jq -r '[.state,.result,.spans]|@csv' <<<"$body")" = '"FINISHED","passed",2' ] && [ "$took" -lt 5000 ]; then
  ok "a traceid run of a trace already evaluated finds its spans again (passed in ${took} ms)"
else bad "second run of one trace: $(jq -c '{state,result,spans,error}' <<<"$body"), ${took} ms"; fi

# an HTTP-triggered run: its trace id, its live trace (the trigger span and
# the spans so far) and the wait events while a selector has no span yet
start_run live-http '{}'
lv=$run
exec 9< <(curl -sN --max-time 20 "$api/api/runs/$lv/events")
ltid=
for _ in $(seq 100); do
  call GET "/api/runs/$lv"
  ltid=$(jq -r '.trace_id // empty' <<<"$body")
  [ -n "$ltid" ] && [ "$(jq -r .state <<<"$body")" = AWAITING_TRACE ] && break
  sleep 0.1
done
cat >"$dir/lv1.json" <<EOF
{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},
 "scopeSpans":[{"spans":[{"traceId":"$ltid","spanId":"d000000000000001","name":"GET /health","kind":2,
  "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000050000000"}]}]}]}
EOF
send_spans "$dir/lv1.json"
live_ok=
for _ in $(seq 50); do
  call GET "/api/runs/$lv/trace"
  if [ "$code" = 200 ] && [ "$(jq '[.resourceSpans[].scopeSpans[].spans[]] | length' <<<"$body")" = 2 ]; then live_ok=1; break; fi
  sleep 0.1
done
lt=$body
trig=$(jq -r '[.resourceSpans[].scopeSpans[].spans[] | select(.name == "Tracetest trigger") | .spanId][0]' <<<"$lt")
par=$(jq -r '[.resourceSpans[].scopeSpans[].spans[] | select(.name == "GET /health") | .parentSpanId][0]' <<<"$lt")
if [ -n "$ltid" ] && [ "$live_ok" = 1 ] && [ "$trig" != null ] && [ "$trig" = "$par" ]; then
  ok "a waiting HTTP-triggered run: trace id known, live trace with the trigger span and the system's root under it"
else bad "live HTTP run: tid '$ltid', trace $code $(head -c 300 <<<"$lt")"; fi
# the wait event names the selector still without a span
waitline=
deadline=$((SECONDS + 10))
while [ $SECONDS -lt $deadline ] && IFS= read -r -t 5 line <&9; do
  case $line in
    data:*'"unmatched":["span[name=\"SELECT\"]"]'*) waitline=$line; break ;;
  esac
done
if [ -n "$waitline" ] && jq -e '.checked == true and .missing_parents == 0 and .spans == 2 and .quiet_window_ms == 200' \
     <<<"${waitline#data: }" >/dev/null; then
  ok "event: wait while the selector has no span: ${waitline#data: }"
else bad "no wait event naming the unmatched selector (last line: ${line:-none})"; fi
cat >"$dir/lv2.json" <<EOF
{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"db"}}]},
 "scopeSpans":[{"spans":[{"traceId":"$ltid","spanId":"d000000000000002","parentSpanId":"d000000000000001",
  "name":"SELECT","kind":3,"startTimeUnixNano":"1700000000010000000","endTimeUnixNano":"1700000000020000000",
  "attributes":[{"key":"db.system","value":{"stringValue":"postgresql"}}]}]}]}]}
EOF
send_spans "$dir/lv2.json"
wait_run "$lv" 15
if [ "$(jq -r '[.state,.result,.spans]|@csv' <<<"$body")" = '"FINISHED","passed",3' ]; then
  ok "the run completes once the selector's span arrives: FINISHED, passed, 3 spans"
else bad "live HTTP run end: $(jq -c '{state,result,spans,error}' <<<"$body")"; fi
exec 9<&-
serve_stop

# ---- the token and CORS
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/token"
token=$(cat "$dir/token")
serve_start serve6 --db "$dir/token.db" --token-file "$dir/token" --cors http://ui.example --keep-unwatched 1s \
  --timeout 2s || bad "start with a token"
call GET /api/health
h=$code
call GET /api/tests -D "$dir/h401"
n=$code
call GET /api/tests -H "Authorization: Bearer ${token}x"
w=$code
call GET /api/tests -H "Authorization: Bearer $token" -D "$dir/hok"
y=$code
if [ "$h" = 200 ] && [ "$n" = 401 ] && grep -qi '^www-authenticate: bearer' "$dir/h401" && [ "$w" = 401 ] && [ "$y" = 200 ]; then
  ok "token: health open, 401 without it or with a wrong one, 200 with it"
else bad "token: health=$h none=$n wrong=$w right=$y"; fi
call OPTIONS /api/tests -H 'Origin: http://ui.example' -H 'Access-Control-Request-Method: PUT' -D "$dir/hopt"
if grep -qi '^access-control-allow-origin: http://ui.example' "$dir/hok" && [ "$code" = 204 ] &&
   grep -qi '^access-control-allow-methods:.*PUT' "$dir/hopt"; then
  ok "--cors: Access-Control-Allow-Origin on answers, preflight 204"
else bad "cors: preflight $code"; fi
# --keep-unwatched 1s: spans nobody waits for are gone after it (the expiry runs every second)
call PUT /api/resources -H "Authorization: Bearer $token" -H 'Content-Type: application/yaml' --data-binary "@$dir/index.yaml"
tid=$(new_tid)
trace_json "$tid" late >"$dir/late.json"
# the receiver wants the token too
c_none=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
  --data-binary "@$dir/late.json" "$otlp/v1/traces")
c_wrong=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
  -H "Authorization: Bearer ${token}x" --data-binary "@$dir/late.json" "$otlp/v1/traces")
otlp_token=$token
send_spans "$dir/late.json" && c_right=200 || c_right=failed
otlp_token=
if [ "$c_none" = 401 ] && [ "$c_wrong" = 401 ] && [ "$c_right" = 200 ]; then
  ok "token: the OTLP receiver answers 401 to an export without it or with a wrong one, 200 with it"
else bad "receiver token: none=$c_none wrong=$c_wrong right=$c_right"; fi
sleep 2.5 # the time under test: older than --keep-unwatched, and an expiry pass since
call POST /api/tests/by-index/run -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d "{\"variables\":{\"TID\":\"$tid\",\"IDX\":\"late\"}}"
run=$(jq -r .id <<<"$body")
call GET "/api/runs/$run" -H "Authorization: Bearer $token"
for _ in $(seq 100); do
  [ "$(jq -r .finished <<<"$body")" != null ] && break
  sleep 0.1
  call GET "/api/runs/$run" -H "Authorization: Bearer $token"
done
[ "$(jq -r .state <<<"$body")" = TRACE_FAILED ] && ok "--keep-unwatched 1s: a trace exported 2.5 s before its run is gone" ||
  bad "keep-unwatched: $(jq -r '[.state,.error]|@csv' <<<"$body")"
serve_stop

# ---- addresses a server refuses
p=$(free_port)
"$serve_bin" serve --listen "0.0.0.0:$p" --db "$dir/refused.db" --no-receiver >"$dir/refused.out" 2>&1
rc=$?
if [ $rc = 2 ] && grep -q -- '--token-file' "$dir/refused.out" && [ ! -e "$dir/refused.db" ]; then
  ok "--listen 0.0.0.0 without a token or --insecure: refused, exit 2 ($(head -c 120 "$dir/refused.out")...)"
else bad "non-loopback listen: exit $rc: $(cat "$dir/refused.out")"; fi
"$serve_bin" serve --listen "127.0.0.1:$p" --otlp-http "0.0.0.0:$(free_port)" \
  --db "$dir/refused.db" >"$dir/refused2.out" 2>&1
rc=$?
[ $rc = 2 ] && grep -q -- '--insecure' "$dir/refused2.out" && grep -q -- '--token-file' "$dir/refused2.out" &&
  ok "a non-loopback receiver without a token or --insecure: refused, exit 2" ||
  bad "non-loopback receiver: exit $rc: $(cat "$dir/refused2.out")"
sanitizer_check
done_
