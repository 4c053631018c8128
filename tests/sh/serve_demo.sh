#!/usr/bin/env bash
# `tracecheck serve` under load on the demo (its Node.js services and
# PostgreSQL, demo/scripts/start.sh on free ports of 127.0.0.1, every
# service exporting to the server's OTLP receivers): the demo's tests are
# applied through the API with a VariableSet of the demo's addresses (the
# server does not read `${...}` from its environment), then
#   - 50 runs started at once with --workers 50 (all 50 inside workers
#     together: the queue holds none back), a mix of every demo test: each
#     ends FINISHED and passed, but the deliberately failing one, which
#     fails on its known assertion; each run's stored trace holds only spans
#     of its own trace id, and the order an order-creating run made (the id
#     its trigger's response returned) is in the span attributes of that
#     run's trace and of no other run's;
#   - kill -9 of the server with about 20 runs in flight: 26 started at once
#     on 6 workers, killed once 6 have ended, while 6 are inside a worker
#     and the rest still queued; restarted on the same SQLite database,
#     every run that had ended before the kill (read from the API just
#     before it) reads the same (state, result, spec results: all of it),
#     its stored trace too, every run that was queued or running is
#     INTERRUPTED, none is missing or left running; the case fails when the
#     kill did not catch runs both ended and in flight. The restarted server
#     then runs a test on the demo again;
#   - the same kill -9 case on PostgreSQL (tests/sh/lib/pg.sh), skipped with
#     the reason when no PostgreSQL server can be started.
# Every wait is a bounded poll; everything is stopped at exit.
# Prints "N passed, N failed".
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
TRACECHECK_BIN=$(cd "$(dirname "${TRACECHECK_BIN:-build/tracecheck}")" && pwd)/$(basename "${TRACECHECK_BIN:-build/tracecheck}")
cd "$root" || exit 1
. tests/sh/lib/ports.sh
. tests/sh/lib/pg.sh
. tests/sh/lib/serve.sh
dir=$(mktemp -d "${TMPDIR:-/tmp}/tracecheck-serve-demo.XXXXXX")
pass=0
fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
t_start=$(date +%s)

# Free ports, all different: the demo's five, then the server's API and
# receivers (kept across restarts: the demo's exporters point at them).
ports=()
while [ ${#ports[@]} -lt 8 ]; do
  p=$(free_port) || { echo "FAIL no free port"; echo "0 passed, 1 failed"; exit 1; }
  case " ${ports[*]} " in *" $p "*) ;; *) ports+=("$p") ;; esac
done
GATEWAY_PORT=${ports[0]} ORDERS_PORT=${ports[1]} PAYMENTS_PORT=${ports[2]} INVENTORY_PORT=${ports[3]} PGPORT=${ports[4]}
api_port=${ports[5]} http_port=${ports[6]} grpc_port=${ports[7]}
export GATEWAY_PORT ORDERS_PORT PAYMENTS_PORT INVENTORY_PORT PGPORT
export OTLP_HTTP_ENDPOINT=http://127.0.0.1:$http_port OTLP_GRPC_ENDPOINT=http://127.0.0.1:$grpc_port
# the demo's own directory (its PostgreSQL's data: owned by that server's user)
RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tracecheck-serve-demo-run.XXXXXX")
export RUN_DIR

# The demo's services are killed outright (SIGTERM takes orders 5 s and
# more, stop.sh's wait), then stop.sh stops its PostgreSQL.
demo_stop() {
  local f
  for f in "$RUN_DIR"/*.pid; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done
  bash demo/scripts/stop.sh >/dev/null 2>&1
}
trap 'demo_stop; serve_kill9; pg_cleanup; rm -rf "$dir" "$RUN_DIR"' EXIT
trap 'exit 1' INT TERM HUP
done_() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
  exit
}

# serve_at NAME ARGS...: a server on the fixed ports (log $dir/NAME.log); 1 when it does not answer
serve_at() {
  local name=$1
  shift
  api=http://127.0.0.1:$api_port
  otlp=http://127.0.0.1:$http_port
  # the answers must come from this one: nothing on the port before
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$api/api/health")" = 000 ] ||
    { echo "  $name: something answers on $api already" >>"$dir/$name.log"; return 1; }
  "$serve_bin" serve --listen 127.0.0.1:"$api_port" --otlp-http 127.0.0.1:"$http_port" \
    --otlp-grpc 127.0.0.1:"$grpc_port" "$@" >>"$dir/$name.log" 2>&1 &
  srv_pid=$!
  for _ in $(seq $((srv_wait * 10))); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$api/api/health")" = 200 ] && return 0
    kill -0 "$srv_pid" 2>/dev/null || { wait "$srv_pid"; srv_rc=$?; srv_pid=; return 1; }
    sleep 0.1
  done
  return 1
}

# The demo's documents as the server takes them: the VariableSet with the
# demo's addresses, the gRPC tests' protobufFile as the .proto's text (a
# server reads no file of its own: a client sends the text, as Tracetest's
# CLI does).
sed -e "s#http://127.0.0.1:8080#http://127.0.0.1:$GATEWAY_PORT#" -e "s#127.0.0.1:8083#127.0.0.1:$INVENTORY_PORT#" \
  demo/tests/vars.yaml >"$dir/docs.yaml"
for t in create-order get-order graphql-order declined-payment unknown-order invalid-order grpc-reserve grpc-watch failing; do
  echo --- >>"$dir/docs.yaml"
  awk 'match($0, /^ *protobufFile: /) {
         ind = substr($0, 1, RLENGTH - 14); f = "demo/tests/" substr($0, RLENGTH + 1)
         print ind "protobufFile: |"
         while ((getline l < f) > 0) print (l == "" ? "" : ind "  " l)
         close(f); next }
       { print }' "demo/tests/$t.yaml" >>"$dir/docs.yaml"
done
apply_demo() { # apply_demo LABEL: PUT the documents, ok when all ten are stored
  put_file "$dir/docs.yaml"
  if [ "$code" = 200 ] && [ "$(jq '.items | length' <<<"$body")" = 10 ]; then
    ok "$1: the demo's VariableSet and 9 tests applied"
  else bad "$1: apply: $code $(head -c 600 <<<"$body")"; return 1; fi
}

# post_runs NAME TEST...: starts one run of each TEST at once (one curl, all
# requests in parallel), with the demo's VariableSet and ORDER_ID=$order0;
# the ids in $NAME.ids, one "ID TEST" a line; 1 when a POST was refused
post_runs() {
  local name=$1 i=0 t
  shift
  : >"$dir/$name.cfg"
  for t in "$@"; do
    i=$((i + 1))
    [ $i -gt 1 ] && echo next >>"$dir/$name.cfg"
    printf 'url = "%s/api/tests/%s/run"\ndata = "{\\"variableSets\\":[\\"demo-vars\\"],\\"variables\\":{\\"ORDER_ID\\":\\"%s\\"}}"\nheader = "Content-Type: application/json"\noutput = "%s"\nmax-time = 30\n' \
      "$api" "$t" "$order0" "$dir/$name.post.$i" >>"$dir/$name.cfg"
  done
  curl -s --no-progress-meter --parallel --parallel-immediate --parallel-max 64 -K "$dir/$name.cfg" >/dev/null
  : >"$dir/$name.ids"
  i=0
  for t in "$@"; do
    i=$((i + 1))
    if [[ $(cat "$dir/$name.post.$i" 2>/dev/null) =~ \"id\":[[:space:]]*([0-9]+) ]]; then
      echo "${BASH_REMATCH[1]} $t" >>"$dir/$name.ids"
    else echo "  POST $t: $(head -c 300 "$dir/$name.post.$i" 2>/dev/null)"; return 1; fi
  done
}

# The summaries of every run, newest first (one page: fewer than 500 runs here)
list_runs() { curl -s --max-time 30 "$api/api/runs?limit=500" >"$dir/$1"; }

# wait_ids NAME SECONDS: until every run in $NAME.ids has ended
wait_ids() {
  local ids left
  ids=$(cut -d' ' -f1 "$dir/$1.ids" | jq -sc .)
  for _ in $(seq $(($2 * 10))); do
    list_runs list.json
    left=$(jq --argjson ids "$ids" '[.items[] | select((.id as $i | $ids | index($i)) and .finished == null)] | length' \
      "$dir/list.json" 2>/dev/null)
    [ "${left:-1}" = 0 ] && return 0
    sleep 0.1
  done
  return 1
}

# fetch DIR TAIL ID...: GET /api/runs/ID/TAIL (TAIL "" for the run itself)
# of each into DIR/ID, as they are (one curl, one connection)
fetch() {
  local d=$1 tail=$2 id args=()
  shift 2
  mkdir -p "$d"
  for id in "$@"; do args+=(-o "$d/$id" "$api/api/runs/$id${tail:+/$tail}"); done
  [ ${#args[@]} -eq 0 ] || curl -s --max-time 30 "${args[@]}"
}
fetch_runs() { local d=$1; shift; fetch "$d" "" "$@"; }
# canon DIR ID...: a line ["ID",DOCUMENT] for each answer (keys sorted,
# compact), for comparing them whole; none for a missing or empty one
canon() {
  local d=$1
  shift
  [ $# -gt 0 ] || return 0
  (cd "$d" && jq -S -c '[input_filename, .]' "$@" 2>/dev/null)
}

# kill_case LABEL ARGS...: a server (ARGS: its --db) with 6 workers, 26 demo
# runs started at once, kill -9 once 6 have ended while others are inside a
# worker and others queued; then a restart on the same database and the checks
kill_case() {
  local label=$1 n
  shift
  if ! serve_at "$label-1" "$@" --workers 6 --timeout 20s; then
    bad "$label: the server did not start: $(tail -n 5 "$dir/$label-1.log")"; return
  fi
  apply_demo "$label" || return
  local mix=(create-order failing-on-purpose create-order declined-payment get-order create-order unknown-order create-order
    grpc-reserve create-order get-order failing-on-purpose create-order declined-payment create-order graphql-order create-order
    invalid-order declined-payment get-order create-order grpc-watch failing-on-purpose create-order unknown-order
    create-order)
  local before=$dir/$label.before
  # the runs of earlier cases (ended): their details now
  mkdir -p "$before"
  list_runs "$label.list0"
  fetch_runs "$before" $(jq -r '.items[] | select(.finished != null) | .id' "$dir/$label.list0")
  n=${#mix[@]}
  post_runs "$label" "${mix[@]}" || { bad "$label: starting $n runs"; return; }
  local ids ended=0 running=0 queued=0 k
  ids=$(cut -d' ' -f1 "$dir/$label.ids" | jq -sc .)
  # wait (bounded) for runs ended, inside a worker and queued at once; the
  # details of each run as it ends (an ended run does not change: after the
  # restart it reads the same, all of it)
  for _ in $(seq 900); do
    list_runs "$label.list"
    fetch_runs "$before" $(for id in $(jq -r '.items[] | select(.finished != null) | .id' "$dir/$label.list"); do
      [ -f "$before/$id" ] || echo "$id"; done)
    read -r ended running queued < <(jq -r --argjson ids "$ids" '[.items[] | select(.id as $i | $ids | index($i))] |
      "\([.[] | select(.finished != null)] | length) \([.[] | select(.finished == null and .state != "QUEUED")] | length) \([.[] | select(.state == "QUEUED")] | length)"' \
      "$dir/$label.list")
    [ "${ended:-0}" -ge 6 ] && [ "${running:-0}" -ge 1 ] && [ "${queued:-0}" -ge 1 ] && break
    [ "${ended:-0}" = "$n" ] && break
    sleep 0.1
  done
  # the last look, and the kill
  local look_ms kill_ms pid=$srv_pid
  look_ms=$(date +%s%3N)
  list_runs "$label.last"
  serve_kill9
  kill_ms=$(date +%s%3N)
  kill -0 "$pid" 2>/dev/null && { bad "$label: the server survived kill -9"; return; }
  read -r ended running queued < <(jq -r --argjson ids "$ids" '[.items[] | select(.id as $i | $ids | index($i))] |
    "\([.[] | select(.finished != null)] | length) \([.[] | select(.finished == null and .state != "QUEUED")] | length) \([.[] | select(.state == "QUEUED")] | length)"' \
    "$dir/$label.last")
  echo "  $label: at the kill, of the $n runs: $ended ended, $running inside a worker ($(jq -r --argjson ids "$ids" \
    '[.items[] | select((.id as $i | $ids | index($i)) and .finished == null and .state != "QUEUED") | .state] | group_by(.) | map("\(length) \(.[0])") | join(", ")' \
    "$dir/$label.last")), $queued queued; $(jq '[.items[] | select(.finished != null)] | length' "$dir/$label.last") ended runs in the store"
  if [ "$ended" -ge 1 ] && [ "$running" -ge 1 ]; then
    ok "$label: kill -9 caught $ended of the $n runs ended, $running running and $queued queued"
  else bad "$label: kill -9 caught $ended ended, $running running, $queued queued: the case proves nothing"; fi

  if ! serve_at "$label-2" "$@" --workers 6 --timeout 20s; then
    bad "$label: no restart after kill -9: $(tail -n 5 "$dir/$label-2.log")"; return
  fi
  list_runs "$label.after"
  local after=$dir/$label.after.d
  fetch_runs "$after" $(jq -r '.items[].id' "$dir/$label.last")
  local same=0 bysum=0 diff=0 interrupted=0 gap=0 wrong=0 missing=0 id fin st res
  local done_ids=() sum_ids=() flight_ids=() before_ids after_ids
  # the same runs in the list, none missing, none more
  before_ids=$(jq -c '[.items[].id] | sort' "$dir/$label.last")
  after_ids=$(jq -c '[.items[].id] | sort' "$dir/$label.after")
  while read -r id fin; do
    if [ "$fin" = null ]; then flight_ids+=("$id")
    elif [ -f "$before/$id" ]; then done_ids+=("$id")
    else sum_ids+=("$id"); fi
  done < <(jq -r '.items[] | "\(.id) \(.finished)"' "$dir/$label.last")
  # every run of the last look answers
  missing=$(( ${#done_ids[@]} + ${#sum_ids[@]} + ${#flight_ids[@]} -
    $( (cd "$after" && jq -r 'select(.id != null and (.id | tostring) == input_filename) | .id' \
      "${done_ids[@]}" "${sum_ids[@]}" "${flight_ids[@]}" 2>/dev/null </dev/null) | wc -l) ))
  # ended before the kill: the same, all of it (state, result, spec results, trigger, timeline...)
  canon "$before" "${done_ids[@]}" | sort >"$dir/$label.canon.before"
  canon "$after" "${done_ids[@]}" | sort >"$dir/$label.canon.after"
  same=$(comm -12 "$dir/$label.canon.before" "$dir/$label.canon.after" | wc -l)
  diff=$(( ${#done_ids[@]} - same ))
  if [ $diff -gt 0 ]; then # the first few, with what changed
    for id in $(comm -23 "$dir/$label.canon.before" "$dir/$label.canon.after" | jq -r '.[0]' | head -n 5); do
      echo "  run $id changed across the restart: $(jq -n -c --slurpfile a "$before/$id" --slurpfile b "$after/$id" \
        '[($a[0] | keys_unsorted[]) as $k | select($a[0][$k] != $b[0][$k]) | {($k): {before: $a[0][$k], after: $b[0][$k]}}] | add' \
        2>&1 | cut -c1-600)"
    done
  fi
  # ended between the details and the last look: their summaries, the same
  if [ ${#sum_ids[@]} -gt 0 ]; then
    bysum=${#sum_ids[@]}
    k='{id, state, result, passed, failed, trace_id, finished, duration_ms}'
    if [ "$(jq -S -c --argjson ids "$(printf '%s\n' "${sum_ids[@]}" | jq -sc .)" \
           ".items[] | select(.id as \$i | \$ids | index(\$i)) | $k" "$dir/$label.last" | sort)" = \
         "$( (cd "$after" && jq -S -c "$k" "${sum_ids[@]}") | sort)" ]; then
      same=$((same + bysum))
    else diff=$((diff + bysum)); echo "  runs ended at the last look changed across the restart: ${sum_ids[*]}"; fi
  fi
  # queued or running at the last look: INTERRUPTED (or ended in the moment before the kill)
  if [ ${#flight_ids[@]} -gt 0 ]; then
    while read -r id st res fin; do
      if [ "$st $res" = "INTERRUPTED error" ] && [ "$fin" != null ]; then
        interrupted=$((interrupted + 1))
      elif [ "$fin" != null ] && [ "$st" != INTERRUPTED ] && [ "$(date -d "$fin" +%s%3N)" -le "$kill_ms" ]; then
        gap=$((gap + 1))
        echo "  run $id ended between the last look ($(date -u -d @"${look_ms:0:-3}.${look_ms: -3}" +%T.%3N)) and the kill ($(date -u -d @"${kill_ms:0:-3}.${kill_ms: -3}" +%T.%3N)): $st $res $fin"
      else
        wrong=$((wrong + 1)); echo "  run $id (in flight at the kill) after the restart: $st $res $fin"
      fi
    done < <(cd "$after" && jq -r '"\(.id) \(.state) \(.result) \(.finished)"' "${flight_ids[@]}" 2>/dev/null)
  fi
  n=$(jq '.items | length' "$dir/$label.last")
  local open
  open=$(jq '[.items[] | select(.finished == null or (.state | IN("QUEUED","CREATED","TRIGGERING","AWAITING_TRACE","EVALUATING")))] | length' \
    "$dir/$label.after")
  local logged
  logged=$(sed -n 's/.*: \([0-9]*\) runs\{0,1\} left open by a previous process: INTERRUPTED.*/\1/p' "$dir/$label-2.log")
  if [ "$before_ids" = "$after_ids" ] && [ $missing = 0 ] && [ $diff = 0 ] && [ $wrong = 0 ] && [ "$open" = 0 ] &&
     [ $interrupted -ge 1 ] && [ "${logged:-0}" = $interrupted ]; then
    ok "$label: after the restart all $n runs are there: $same ended ones unchanged (state, result, spec results, the whole run$([ $bysum -gt 0 ] && echo "; $bysum by their summary, ended at the last look")), the $interrupted in flight INTERRUPTED$([ $gap -gt 0 ] && echo ", $gap ended just before the kill"), none running"
  else
    bad "$label: after the restart: ids same: $([ "$before_ids" = "$after_ids" ] && echo yes || echo "no ($before_ids / $after_ids)"), missing $missing, changed $diff, interrupted $interrupted (logged ${logged:-none}), wrong $wrong, still open $open"
  fi
  # the traces stored before (the 50 runs at once) are the same
  if [ "$label" = sqlite ] && [ -d "$dir/c50.trace" ]; then
    local tids=() tsame
    mapfile -t tids < <(cut -d' ' -f1 "$dir/c50.ids")
    fetch "$dir/c50.trace2" trace "${tids[@]}"
    tsame=$(comm -12 <(canon "$dir/c50.trace" "${tids[@]}" | sort) <(canon "$dir/c50.trace2" "${tids[@]}" | sort) | wc -l)
    [ "$tsame" = ${#tids[@]} ] && ok "$label: the ${#tids[@]} traces stored before are the same after the restart" ||
      bad "$label: $((${#tids[@]} - tsame)) of ${#tids[@]} stored traces changed across the restart"
  fi
  # what an interrupted run says (one queued, one running at the kill)
  for k in 'select(.state == "QUEUED")' 'select(.state != "QUEUED")'; do
    id=$(jq -r "[.items[] | select(.finished == null) | $k][0].id" "$dir/$label.last")
    [ "$id" != null ] || continue
    call GET "/api/runs/$id"
    echo "  run $id, $(jq -r ".items[] | select(.id == $id) | .state" "$dir/$label.last") at the kill, after the restart: $(jq -c \
      '{state, result, error, timeline: [.timeline[].state] | join(" "), spans}' <<<"$body")"
  done
  # the restarted server runs on the demo again (its receivers on the same
  # ports). The demo's exporters lost their connections at the kill and
  # reconnect with a backoff of their own (gRPC: 1 s, growing), so spans of
  # the first run may come late or be dropped by them: up to three tries.
  local try got=
  for try in 1 2 3; do
    post_runs "$label.again$try" create-order || { bad "$label: a run after the restart: refused"; return; }
    if wait_ids "$label.again$try" 60 && call GET "/api/runs/$(cut -d' ' -f1 "$dir/$label.again$try.ids")" &&
       [ "$(jq -r '[.state, .result] | @tsv' <<<"$body")" = "$(printf 'FINISHED\tpassed')" ]; then
      got=$try
      break
    fi
    echo "  $label: run $try after the restart: $(jq -c '[.state, .result, .error]' <<<"$body")"
  done
  if [ -n "$got" ]; then
    ok "$label: the restarted server runs create-order on the demo: FINISHED, passed (try $got)"
  else bad "$label: no run passed after the restart in 3 tries"; fi
}

# ---- the demo, and a server its services export to
if ! bash demo/scripts/start.sh >"$dir/start.log" 2>&1; then
  bad "the demo did not start: $(tail -n 5 "$dir/start.log")"
  done_
fi
if ! serve_at serve --db "$dir/runs.db" --workers 50 --timeout 20s; then
  bad "the server did not start: $(tail -n 5 "$dir/serve.log")"
  done_
fi
apply_demo sqlite || done_

# one order first: the one get-order and graphql-order read back
order0=
post_runs first create-order || { bad "POST create-order"; done_; }
if wait_ids first 60 && call GET "/api/runs/$(cut -d' ' -f1 "$dir/first.ids")" &&
   [ "$(jq -r '[.state, .result] | @tsv' <<<"$body")" = "$(printf 'FINISHED\tpassed')" ]; then
  order0=$(jq -r .outputs.ORDER_ID <<<"$body")
  ok "create-order through the server: FINISHED, passed in $(jq .duration_ms <<<"$body") ms, ORDER_ID=$order0"
else
  bad "create-order through the server: $(head -c 1500 <<<"$body")"
  done_
fi

# ---- 50 runs at once, 50 workers
mix=()
for r in $(seq 5); do
  mix+=(create-order create-order get-order declined-payment graphql-order unknown-order invalid-order grpc-reserve)
  [ "$r" -le 3 ] && mix+=(failing-on-purpose)
done
mix+=(create-order create-order create-order create-order grpc-watch grpc-watch grpc-watch)
t0=$(date +%s%N)
if ! post_runs c50 "${mix[@]}"; then
  bad "50 runs at once: a POST was refused"
  done_
fi
if wait_ids c50 120; then
  took=$(( ($(date +%s%N) - t0) / 1000000 ))
  ok "50 runs started at once all ended in ${took} ms"
else bad "50 runs at once: not all ended within 120 s: $(jq -c '[.items[] | select(.finished == null) | [.id, .state]]' "$dir/list.json")"; fi
mapfile -t c50 < <(cut -d' ' -f1 "$dir/c50.ids")
fetch_runs "$dir/c50.run" "${c50[@]}"
fetch "$dir/c50.trace" trace "${c50[@]}"
# id|test|state|result|trace_id|spans|response's id, and the trace's
# id|trace ids|span count|order ids in it (the services' order_id attributes, /orders/ID paths)
(cd "$dir/c50.run" && jq -r '[.id, .test_id, .state, .result, .trace_id, .spans,
   ((.trigger.response.body // "") | (try (fromjson | .id // "-") catch "-"))] | map(tostring) | join("|")' "${c50[@]}") \
  >"$dir/c50.runs"
(cd "$dir/c50.trace" && jq -r '[.resourceSpans[]?.scopeSpans[]?.spans[]?] as $s |
   [input_filename, ($s | map(.traceId) | unique | join(",")), ($s | length),
    ([$s[].attributes[]? | select(.key == "inventory.order_id" or .key == "payment.order_id") |
      (.value.stringValue // .value.intValue | tostring)] +
     [$s[].attributes[]? | select(.key == "url.path" or .key == "url.full") | .value.stringValue |
      capture("/orders/(?<id>[0-9]+)$").id] | unique | join(","))] | map(tostring) | join("|")' "${c50[@]}" 2>/dev/null) \
  >"$dir/c50.traces"
awk -F'|' 'NR == FNR { t[$1] = $2 "|" $3 "|" $4; next } { print $0 "|" (($1 in t) ? t[$1] : "||") }' \
  "$dir/c50.traces" "$dir/c50.runs" >"$dir/c50.rows"
states_ok=0 traces_ok=0 own_ok=0 creators=0 failing_ok=0 nfailing=0
while IFS='|' read -r id test state result tid spans rid tids nspans oids; do
  if [ "$test" = failing-on-purpose ]; then
    nfailing=$((nfailing + 1))
    first=$(jq -r '[.results.specs[].spans[].assertions[] | select(.passed == false)][0] | "\(.assertion)\t\(.observed)"' "$dir/c50.run/$id")
    if [ "$state/$result" = FINISHED/failed ] && [ "${first%%$'\t'*}" = 'attr:tracetest.span.duration < 0ms' ] &&
       [ -n "${first#*$'\t'}" ] && [ "${first#*$'\t'}" != null ]; then
      failing_ok=$((failing_ok + 1)); states_ok=$((states_ok + 1))
    else echo "  run $id ($test): $state $result, first failed assertion: $first"; fi
  elif [ "$state/$result" = FINISHED/passed ]; then states_ok=$((states_ok + 1))
  else
    echo "  run $id ($test): $state $result: $(jq -c '[.error, [.results.specs[]? | select(.passed != true) | {name, a: [.spans[].assertions[] | select(.passed != true) | [.assertion, .observed, .error]]}]]' "$dir/c50.run/$id" | head -c 800)"
  fi
  if [ -n "$tid" ] && [ "$tids" = "$tid" ] && [ "$nspans" = "$spans" ] && [ "$nspans" -ge 2 ]; then traces_ok=$((traces_ok + 1))
  else echo "  run $id ($test): trace_id $tid, spans $spans; its trace: $nspans spans of trace ids $tids"; fi
  case $test in
    create-order | declined-payment | failing-on-purpose)
      creators=$((creators + 1))
      # its order: in its own trace only (the services' order_id attributes and /orders/ID paths)
      others=$(awk -F'|' -v me="$id" -v o="$rid" '$1 != me { n = split($10, a, ","); for (i = 1; i <= n; i++) if (a[i] == o) print $1 }' \
        "$dir/c50.rows" | tr '\n' ' ')
      if [ "$rid" != - ] && [ "$rid" != "$order0" ] && [ "$oids" = "$rid" ] && [ -z "$others" ]; then own_ok=$((own_ok + 1))
      else echo "  run $id ($test): order $rid; order ids in its trace: $oids; the order in the traces of runs: ${others:-none}"; fi ;;
    get-order | graphql-order)
      [ "$oids" = "$order0" ] && own_ok=$((own_ok + 1)) || echo "  run $id ($test): order ids in its trace: $oids (wanted $order0)" ;;
    *) own_ok=$((own_ok + 1)) ;;
  esac
done <"$dir/c50.rows"
n=$(wc -l <"$dir/c50.rows")
# how many ran at once: the most runs between their start (CREATED, taken by a worker) and their end
peak=$( (cd "$dir/c50.run" && cat "${c50[@]}") | jq -rs '
  [.[] | (.timeline[] | select(.state == "CREATED") | [.at, 1]), [.finished, -1]] | sort |
  reduce .[] as $e ({n: 0, max: 0}; .n += $e[1] | .max = ([.max, .n] | max)) | .max')
durs=$( (cd "$dir/c50.run" && cat "${c50[@]}") | jq -rs '
  [.[].duration_ms] | sort | "\(.[length / 2 | floor]) ms median, \(.[length * 95 / 100 | floor]) ms p95, \(max) ms max"')
[ "${peak:-0}" -ge 45 ] && ok "50 at once: $peak runs inside workers at the same time (from their timelines); run durations $durs" ||
  bad "50 at once: only ${peak:-?} runs inside workers at the same time (from their timelines)"
[ "$n" = 50 ] && [ "$states_ok" = 50 ] &&
  ok "50 at once: every run FINISHED, passed, but the $nfailing deliberately failing ones, failed on 'attr:tracetest.span.duration < 0ms'" ||
  bad "50 at once: $states_ok of $n ended as they should ($failing_ok of $nfailing failing ones on their assertion)"
[ "$traces_ok" = 50 ] && ok "50 at once: each run's trace holds only spans of its own trace id, as many as the run counted" ||
  bad "50 at once: $traces_ok of 50 traces are the run's own"
[ "$own_ok" = 50 ] && [ "$creators" -ge 20 ] &&
  ok "50 at once: each of the $creators orders created is in its own run's trace and no other's; get-order and graphql-order runs saw only order $order0" ||
  bad "50 at once: $own_ok of 50 runs saw only their own orders"

# ---- kill -9 with about 20 runs in flight: SQLite, on the same database
serve_stop
[ "$srv_rc" = 0 ] && ok "SIGTERM after the 50 runs: exit 0" || bad "SIGTERM: exit $srv_rc: $(tail -n 3 "$dir/serve.log")"
kill_case sqlite --db "$dir/runs.db"

# ---- the same on PostgreSQL (started while the server holds its ports: no port of theirs for it)
if pg_init && pg_start && pg_createdb tracecheck_serve_demo >"$dir/createdb.out" 2>&1; then
  serve_stop
  kill_case postgresql --db "$(pg_url tracecheck_serve_demo)"
else
  serve_stop
  echo "skip postgresql kill -9 case: ${pg_why:-createdb failed: $(cat "$dir/createdb.out" 2>/dev/null)}"
fi

demo_stop
serve_stop
sanitizer_check
echo "  (took $(($(date +%s) - t_start)) s)"
done_
