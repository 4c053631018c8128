# serve.sh - sourced by tests/sh/serve*.sh: a `tracecheck serve` of the
# test's own on free ports of 127.0.0.1 (ports.sh first), calls to its API,
# spans exported to its receiver with curl (traceid-triggered tests: no
# system under test), and the API checks both back-ends share (serve_suite).
# Every wait is a bounded poll. The caller sets $dir (a temporary
# directory) and has ok/bad counters; it calls serve_stop (or serve_kill9)
# from its EXIT trap.
#   serve_start NAME ARGS...  starts a server (log $dir/NAME.log): $api, $otlp,
#                             $srv_pid; 1 when it exits or does not answer
#   serve_stop                SIGTERM and wait (SIGKILL after 30 s): $srv_rc
#   serve_kill9               kill -9, no stop at all
#   call METHOD PATH ARGS...  curl: $code (HTTP status), $body
#   put_file FILE             PUT /api/resources (YAML)
#   new_tid                   a random trace id
#   trace_json TID IDX [ATTR VALUE]  a two-span trace (root "GET /" with run.index=IDX,
#                             and ATTR=VALUE when given; child "SELECT") as OTLP JSON
#   send_spans FILE           POST FILE to the OTLP/HTTP receiver (with $otlp_token as
#                             a bearer token when set)
#   start_run TEST JSON       POST /api/tests/TEST/run: $run (the id)
#   wait_run ID [SECONDS]     until the run has ended (default 30 s): $body is the run
#   sanitizer_check           a failure when a server's log has a sanitizer report
serve_bin=${TRACECHECK_BIN:-build/tracecheck}
srv_pid=
srv_rc=
api=
otlp=
srv_wait=${srv_wait:-30}

serve_start() {
  local name=$1 ap hp gp
  shift
  ap=$(free_port) && hp=$(free_port) && gp=$(free_port) || return 1
  api=http://127.0.0.1:$ap
  otlp=http://127.0.0.1:$hp
  "$serve_bin" serve --listen 127.0.0.1:"$ap" --otlp-http 127.0.0.1:"$hp" --otlp-grpc 127.0.0.1:"$gp" "$@" \
    >>"$dir/$name.log" 2>&1 &
  srv_pid=$!
  for _ in $(seq $((srv_wait * 10))); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$api/api/health")" != 000 ] && return 0
    kill -0 "$srv_pid" 2>/dev/null || { wait "$srv_pid"; srv_rc=$?; srv_pid=; return 1; }
    sleep 0.1
  done
  return 1
}

serve_stop() {
  [ -n "$srv_pid" ] || return 0
  kill -TERM "$srv_pid" 2>/dev/null
  for _ in $(seq 300); do
    kill -0 "$srv_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$srv_pid" 2>/dev/null && kill -KILL "$srv_pid" 2>/dev/null
  wait "$srv_pid"
  srv_rc=$?
  srv_pid=
}

serve_kill9() {
  [ -n "$srv_pid" ] || return 0
  kill -KILL "$srv_pid" 2>/dev/null
  wait "$srv_pid" 2>/dev/null
  srv_pid=
}

call() {
  local m=$1 p=$2
  shift 2
  code=$(curl -s -o "$dir/call.out" -w '%{http_code}' --max-time 30 -X "$m" "$@" "$api$p")
  body=$(cat "$dir/call.out")
}

put_file() { call PUT /api/resources -H 'Content-Type: application/yaml' --data-binary "@$1"; }

new_tid() { od -An -tx1 -N16 /dev/urandom | tr -d ' \n'; }

trace_json() {
  local extra=
  [ $# -ge 4 ] && extra=",{\"key\":\"$3\",\"value\":{\"stringValue\":\"$4\"}}"
  cat <<EOF
{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},
 "scopeSpans":[{"spans":[
  {"traceId":"$1","spanId":"c000000000000001","name":"GET /","kind":2,
   "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000050000000",
   "attributes":[{"key":"run.index","value":{"stringValue":"$2"}}$extra]},
  {"traceId":"$1","spanId":"c000000000000002","parentSpanId":"c000000000000001","name":"SELECT","kind":3,
   "startTimeUnixNano":"1700000000010000000","endTimeUnixNano":"1700000000020000000",
   "attributes":[{"key":"db.system","value":{"stringValue":"postgresql"}}]}]}]}]}
EOF
}

send_spans() { curl -sf -o /dev/null --max-time 10 -H 'Content-Type: application/json' ${otlp_token:+-H "Authorization: Bearer $otlp_token"} --data-binary "@$1" "$otlp/v1/traces"; }

start_run() {
  call POST "/api/tests/$1/run" -H 'Content-Type: application/json' -d "$2"
  run=$(jq -r '.id // empty' <<<"$body" 2>/dev/null)
}

wait_run() {
  local id=$1 n=$(( ${2:-30} * 10 ))
  for _ in $(seq "$n"); do
    call GET "/api/runs/$id"
    if [ "$code" = 200 ] && [ "$(jq -r .finished <<<"$body")" != null ]; then return 0; fi
    sleep 0.1
  done
  return 1
}

sanitizer_check() {
  local hit
  hit=$(grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$dir"/*.log 2>/dev/null)
  if [ -n "$hit" ]; then bad "sanitizer report in $hit"; grep -h -A 12 -E 'Sanitizer|runtime error' $hit | head -40
  else ok "no sanitizer report in the servers' logs"; fi
}

# The documents the suite applies.
serve_docs() {
  cat >"$dir/index.yaml" <<'EOF'
type: Test
spec:
  id: by-index
  name: The trace of run ${var:IDX}
  trigger:
    type: traceid
    traceid:
      id: ${var:TID}
  specs:
    - name: Both spans, its own index
      selector: span[name="GET /"]
      assertions:
        - attr:run.index = "${var:IDX}"
        - attr:tracetest.selected_spans.count = 1
    - selector: span[]
      assertions:
        - attr:tracetest.selected_spans.count = 2
  outputs:
    - name: INDEX_SEEN
      selector: span[name="GET /"]
      value: attr:run.index
EOF
  cat >"$dir/secret.yaml" <<'EOF'
type: VariableSet
spec:
  id: creds
  name: Credentials
  values:
    - key: API_TOKEN
      value: tok-7Hq2ZpX9wLk4
      secret: true
    - key: REGION
      value: eu-west-1
---
type: Test
spec:
  id: uses-secret
  name: A test that reads a secret
  trigger:
    type: traceid
    traceid:
      id: ${var:TID}
  specs:
    - name: The token went through
      selector: span[name="GET /"]
      assertions:
        - attr:auth.token = "${var:API_TOKEN}"
        - attr:auth.token != "${var:REGION}"
  outputs:
    - name: TOKEN_SEEN
      selector: span[name="GET /"]
      value: attr:auth.token
EOF
  cat >"$dir/second.yaml" <<'EOF'
type: Test
spec:
  id: second-step
  name: The second step
  trigger:
    type: traceid
    traceid:
      id: ${var:TID2}
  specs:
    - selector: span[name="GET /"]
      assertions:
        - attr:run.index = "${var:INDEX_SEEN}"
---
type: TestSuite
spec:
  id: two-steps
  name: Two steps
  steps:
    - by-index
    - second-step
EOF
}

# The API checks of docs/api.md on a running server ($1 names the back-end
# in the messages). Leaves the server running.
serve_suite() {
  local be=$1 i tid events
  serve_docs

  # ---- health, OpenAPI
  call GET /api/health
  if [ "$code" = 200 ] && [ "$(jq -r .status <<<"$body")" = ok ] && [ "$(jq -r .store <<<"$body")" = "$be" ]; then
    ok "$be: health answers ok ($body)"
  else bad "$be: health: $code $body"; fi
  call GET /api/openapi.json
  if [ "$code" = 200 ] && cmp -s "$dir/call.out" docs/openapi.json; then ok "$be: /api/openapi.json is docs/openapi.json"
  else bad "$be: openapi: $code"; fi

  # ---- resources: put, put again, YAML round trip, JSON, versions, list
  put_file tests/data/live/by-trace-id.yaml
  if [ "$code" = 200 ] && [ "$(jq -c '.items[0]|[.kind,.id,.version,.created]' <<<"$body")" = '["Test","live-by-trace-id",1,true]' ]; then
    ok "$be: PUT a test: version 1, created"
  else bad "$be: PUT a test: $code $body"; fi
  put_file tests/data/live/by-trace-id.yaml
  [ "$(jq -c '.items[0]|[.version,.created]' <<<"$body")" = '[1,false]' ] && ok "$be: PUT it again: no new version" \
    || bad "$be: PUT again: $body"
  call GET /api/tests/live-by-trace-id -H 'Accept: application/yaml'
  cp "$dir/call.out" "$dir/export.yaml"
  if [ "$code" = 200 ] && cmp -s "$dir/export.yaml" tests/data/live/by-trace-id.yaml; then
    ok "$be: GET as YAML gives the document back as applied"
  else bad "$be: GET YAML: $code"; fi
  call GET /api/tests/live-by-trace-id
  jq '.document' <<<"$body" >"$dir/doc.json"
  call PUT /api/resources -H 'Content-Type: application/json' --data-binary "@$dir/doc.json"
  if [ "$(jq -c '.items[0]|[.version,.created]' <<<"$body")" = '[1,false]' ] &&
     [ "$(jq -r .spec.trigger.traceid.id "$dir/doc.json")" = '${var:TRACE_ID}' ]; then
    ok "$be: the JSON document applied back is the same version"
  else bad "$be: JSON round trip: $body"; fi
  jq '.spec.name = "Renamed"' "$dir/doc.json" >"$dir/doc2.json"
  call PUT /api/resources -H 'Content-Type: application/json' --data-binary "@$dir/doc2.json"
  [ "$(jq -c '.items[0]|[.version,.created,.name]' <<<"$body")" = '[2,true,"Renamed"]' ] &&
    ok "$be: a changed document is version 2" || bad "$be: version 2: $body"
  call GET '/api/tests/live-by-trace-id?version=1'
  [ "$(jq -r '[.version,.latest_version,.name]|@csv' <<<"$body")" = '1,2,"A trace exported in pieces, out of order"' ] &&
    ok "$be: ?version=1 gives the first version" || bad "$be: ?version=1: $body"
  put_file "$dir/index.yaml"
  put_file "$dir/secret.yaml"
  put_file "$dir/second.yaml"
  call GET '/api/tests?limit=1'
  local first next
  first=$(jq -r '.items[0].id' <<<"$body")
  next=$(jq -r '.next' <<<"$body")
  call GET "/api/tests?limit=1&cursor=$next"
  if [ "$first" = by-index ] && [ "$(jq -r '.items[0].id' <<<"$body")" = live-by-trace-id ]; then
    ok "$be: tests list by id, a page at a time"
  else bad "$be: list pages: $first then $body"; fi
  call GET '/api/tests?q=SECRET'
  [ "$(jq -c '[.items[].id]' <<<"$body")" = '["uses-secret"]' ] && ok "$be: ?q= filters by id or name" ||
    bad "$be: ?q=: $body"

  # ---- bad requests
  printf 'type: Test\nspec:\n  id: broken\n  trigger: [\n' >"$dir/bad.yaml"
  put_file "$dir/bad.yaml"
  if [ "$code" = 400 ] && [ "$(jq -r .error.code <<<"$body")" = bad_request ] && [ "$(jq -r .error.line <<<"$body")" != null ]; then
    ok "$be: bad YAML: 400 at line $(jq -r .error.line <<<"$body"), column $(jq -r .error.column <<<"$body")"
  else bad "$be: bad YAML: $code $body"; fi
  printf -- '---\ntype: Test\nspec:\n  id: ok-one\n  trigger: {type: traceid, traceid: {id: x}}\n---\ntype: Test\nspec:\n  name: no id\n' >"$dir/bad2.yaml"
  put_file "$dir/bad2.yaml"
  local l=$(jq -r .error.line <<<"$body")
  call GET /api/tests/ok-one
  if [ "$l" = 7 ] && [ "$code" = 404 ]; then ok "$be: all or nothing: a document without id (line 7) and none stored"
  else bad "$be: all or nothing: line=$l get=$code"; fi
  printf 'type: Test\nspec:\n  id: warned\n  colour: blue\n  trigger: {type: traceid, traceid: {id: x}}\n  specs:\n    - selector: span[name=\n' >"$dir/warn.yaml"
  put_file "$dir/warn.yaml"
  if [ "$code" = 200 ] && [ "$(jq -c '[.warnings[] | [.line, .column]] | sort' <<<"$body")" = '[[4,3],[7,27]]' ]; then
    ok "$be: an unknown key and a selector that does not parse: stored, with located warnings"
  else bad "$be: warnings: $code $body"; fi
  start_run live-by-trace-id '{"variables":{"TRACE_ID":"00"},"verbose":true}'
  [ "$code" = 400 ] && [ "$(jq -r .error.code <<<"$body")" = unknown_field ] &&
    ok "$be: an unknown field: 400 unknown_field ($(jq -r .error.message <<<"$body"))" || bad "$be: unknown field: $code $body"
  start_run live-by-trace-id '{}'
  [ "$code" = 400 ] && grep -q TRACE_ID <<<"$body" && ok "$be: a missing variable is named: $(jq -r .error.message <<<"$body")" ||
    bad "$be: missing variable: $code $body"
  start_run no-such-test '{}'
  [ "$code" = 404 ] && ok "$be: an unknown test: 404" || bad "$be: unknown test: $code"
  head -c $((5 << 20)) /dev/zero | tr '\0' 'a' >"$dir/big"
  call PUT /api/resources -H 'Content-Type: application/yaml' --data-binary "@$dir/big"
  [ "$code" = 413 ] && ok "$be: a 5 MiB body: 413" || bad "$be: big body: $code"
  call PUT /api/resources -H 'Content-Type: text/plain' -d 'x'
  [ "$code" = 415 ] && ok "$be: text/plain: 415" || bad "$be: text/plain: $code"
  call DELETE /api/runs
  [ "$code" = 405 ] && ok "$be: DELETE /api/runs: 405" || bad "$be: 405: $code"

  # ---- a run: events, results, trace
  tid=$(new_tid)
  for part in child middle root; do sed "s/TRACE_ID/$tid/" "tests/data/live/part-$part.json" >"$dir/$part.json"; done
  start_run live-by-trace-id "{\"variables\":{\"TRACE_ID\":\"$tid\"}}"
  [ "$code" = 202 ] && [ -n "$run" ] || bad "$be: POST run: $code $body"
  timeout 30 curl -sN "$api/api/runs/$run/events" >"$dir/events.txt" 2>/dev/null &
  events=$!
  for _ in $(seq 100); do [ -s "$dir/events.txt" ] && break; sleep 0.1; done
  for part in child middle root; do send_spans "$dir/$part.json" || bad "$be: export $part"; done
  wait "$events"
  local states
  states=$(grep -A1 '^event: state' "$dir/events.txt" | sed -n 's/^data: //p' | jq -r .state | tr '\n' ' ')
  if [ "$states" = "QUEUED CREATED TRIGGERING AWAITING_TRACE EVALUATING FINISHED " ] &&
     [ "$(grep '^event:' "$dir/events.txt" | tail -n 1)" = "event: result" ] && grep -q '^event: spans' "$dir/events.txt"; then
    ok "$be: events: $states, spans, result last, then the stream closed"
  else bad "$be: events: $states"; head -c 1500 "$dir/events.txt"; fi
  wait_run "$run" || bad "$be: run $run did not end"
  if [ "$(jq -r '[.state,.result,.passed,.failed,.spans,.trace_id]|@csv' <<<"$body")" = "\"FINISHED\",\"passed\",2,0,3,\"$tid\"" ] &&
     [ "$(jq '.results.specs|length' <<<"$body")" = 2 ] && [ "$(jq -r '.results.passed' <<<"$body")" = true ]; then
    ok "$be: the run FINISHED, passed, its results are the report's test object"
  else bad "$be: run: $(head -c 1500 <<<"$body")"; fi
  call GET "/api/runs/$run/trace"
  [ "$code" = 200 ] && [ "$(jq "[.resourceSpans[].scopeSpans[].spans[] | select(.traceId == \"$tid\")] | length" <<<"$body")" = 3 ] &&
    ok "$be: its trace as OTLP JSON: 3 spans" || bad "$be: trace JSON: $code"
  curl -s -o "$dir/trace.pb" -H 'Accept: application/x-protobuf' "$api/api/runs/$run/trace"
  "$serve_bin" inspect "$dir/trace.pb" >"$dir/inspect.txt" 2>&1
  grep -q "Trace $tid  3 spans" "$dir/inspect.txt" && ok "$be: its trace as OTLP protobuf reads back: 3 spans" ||
    bad "$be: trace protobuf: $(head -3 "$dir/inspect.txt")"
  call POST /api/select -H 'Content-Type: application/json' -d "{\"run\":$run,\"selector\":\"span[tracetest.span.type=\\\"database\\\"]\"}"
  [ "$(jq -c .spans <<<"$body")" = '["b000000000000003"]' ] && ok "$be: select on the stored trace" || bad "$be: select: $body"
  call POST /api/select -H 'Content-Type: application/json' -d "{\"run\":$run,\"selector\":\"span[name=\"}"
  [ "$code" = 400 ] && [ "$(jq -r .error.column <<<"$body")" != null ] && ok "$be: a bad selector: 400 with its column" ||
    bad "$be: bad selector: $code $body"
  call POST /api/eval -H 'Content-Type: application/json' -d "{\"run\":$run,\"span\":\"b000000000000003\",\"expression\":\"attr:db.system\"}"
  [ "$(jq -c . <<<"$body")" = '{"value":"postgresql","type":"string"}' ] && ok "$be: eval on a span of the stored trace" ||
    bad "$be: eval: $body"

  # ---- spans that arrived before the run (kept, nobody watching)
  tid=$(new_tid)
  trace_json "$tid" early >"$dir/early.json"
  send_spans "$dir/early.json" || bad "$be: export early"
  start_run by-index "{\"variables\":{\"TID\":\"$tid\",\"IDX\":\"early\"}}"
  if wait_run "$run" && [ "$(jq -r '.result' <<<"$body")" = passed ] && [ "$(jq -r .outputs.INDEX_SEEN <<<"$body")" = early ]; then
    ok "$be: a trace exported before its run started is picked up; outputs kept"
  else bad "$be: early trace: $(head -c 800 <<<"$body")"; fi

  # ---- 24 runs at once, each gets its own trace
  local ids=()
  for i in $(seq 24); do
    tid=$(new_tid)
    echo "$tid" >"$dir/tid.$i"
    start_run by-index "{\"variables\":{\"TID\":\"$tid\",\"IDX\":\"$i\"}}"
    ids+=("$run")
  done
  local senders=()
  for i in $(seq 24); do
    trace_json "$(cat "$dir/tid.$i")" "$i" >"$dir/c.$i.json"
    send_spans "$dir/c.$i.json" &
    senders+=($!)
  done
  wait "${senders[@]}"
  local good=0
  for i in $(seq 24); do
    wait_run "${ids[$((i - 1))]}" 60 || continue
    [ "$(jq -r '[.result,.trace_id,.outputs.INDEX_SEEN]|@csv' <<<"$body")" = "\"passed\",\"$(cat "$dir/tid.$i")\",\"$i\"" ] || continue
    call GET "/api/runs/${ids[$((i - 1))]}/trace"
    [ "$(jq -c '[.resourceSpans[].scopeSpans[].spans[].traceId]|unique' <<<"$body")" = "[\"$(cat "$dir/tid.$i")\"]" ] &&
      good=$((good + 1))
  done
  [ "$good" = 24 ] && ok "$be: 24 concurrent runs, each passed on its own trace (no span of another)" ||
    bad "$be: concurrent runs: $good of 24 right"

  # ---- lists: filters, cursor
  call GET '/api/runs?limit=10'
  local p1 n1
  p1=$(jq -c '[.items[].id]' <<<"$body")
  n1=$(jq -r .next <<<"$body")
  call GET "/api/runs?limit=10&cursor=$n1"
  local p2=$(jq -c '[.items[].id]' <<<"$body")
  if [ "$(jq length <<<"$p1")" = 10 ] && [ "$(jq length <<<"$p2")" = 10 ] &&
     [ "$(jq -n "$p1 + $p2 | (. == (sort | reverse)) and (length == (unique | length))")" = true ]; then
    ok "$be: runs newest first, a page at a time, no repeats"
  else bad "$be: pages: $p1 $p2"; fi
  call GET '/api/runs?test=by-index&state=FINISHED&limit=500'
  [ "$(jq '[.items[] | select(.test_id == "by-index" and .state == "FINISHED")] | length' <<<"$body")" = 25 ] &&
    [ "$(jq '.items|length' <<<"$body")" = 25 ] && ok "$be: ?test= and ?state= filter" || bad "$be: filters: $(jq '.items|length' <<<"$body")"
  call GET '/api/runs?from=2999-01-01T00:00:00Z'
  [ "$(jq '.items|length' <<<"$body")" = 0 ] && ok "$be: ?from= in the future: no runs" || bad "$be: from: $body"
  call GET '/api/runs?state=DONE'
  [ "$code" = 400 ] && ok "$be: an unknown state: 400" || bad "$be: state=DONE: $code"
  call GET /api/tests
  [ "$(jq -r '.items[] | select(.id == "by-index") | .last_run.result' <<<"$body")" = passed ] &&
    ok "$be: tests list with each one's last run" || bad "$be: last_run: $body"

  # ---- a suite: outputs of a step are variables of the next
  tid=$(new_tid)
  local tid2=$(new_tid)
  trace_json "$tid" s1 >"$dir/s1.json"
  trace_json "$tid2" s1 >"$dir/s2.json"
  send_spans "$dir/s1.json" && send_spans "$dir/s2.json" || bad "$be: export suite traces"
  call POST /api/testsuites/two-steps/run -H 'Content-Type: application/json' \
    -d "{\"variables\":{\"TID\":\"$tid\",\"TID2\":\"$tid2\",\"IDX\":\"s1\"}}"
  run=$(jq -r .id <<<"$body")
  if wait_run "$run" && [ "$(jq -r '[.kind,.state,.result,.passed]|@csv' <<<"$body")" = '"suite","FINISHED","passed",3' ] &&
     [ "$(jq '.results.tests|length' <<<"$body")" = 2 ] &&
     [ "$(jq -c '[.trigger.steps[]|[.test,.trace_id]]' <<<"$body")" = "[[\"by-index\",\"$tid\"],[\"second-step\",\"$tid2\"]]" ] &&
     call GET "/api/runs/$run/trace" &&
     [ "$(jq -c '[.resourceSpans[].scopeSpans[].spans[].traceId]|unique|length' <<<"$body")" = 2 ]; then
    ok "$be: a suite runs its steps in order, outputs feeding the next; its trace holds both"
  else bad "$be: suite: $(head -c 1000 <<<"$body")"; fi

  # ---- cancel
  start_run by-index "{\"variables\":{\"TID\":\"$(new_tid)\",\"IDX\":\"never\"}}"
  local c=$run
  for _ in $(seq 50); do call GET "/api/runs/$c"; [ "$(jq -r .state <<<"$body")" = AWAITING_TRACE ] && break; sleep 0.1; done
  call POST "/api/runs/$c/cancel"
  local cc=$code
  call GET "/api/runs/$c"
  local st=$(jq -r '[.state,.result]|@csv' <<<"$body")
  call POST "/api/runs/$c/cancel"
  [ "$cc" = 202 ] && [ "$st" = '"CANCELLED","error"' ] && [ "$code" = 409 ] &&
    ok "$be: cancel a run waiting for its trace: 202, CANCELLED; again: 409" || bad "$be: cancel: $cc $st $code"

  # ---- secrets: never in an answer, a stored document or the log
  tid=$(new_tid)
  trace_json "$tid" sec auth.token tok-7Hq2ZpX9wLk4 >"$dir/sec.json"
  send_spans "$dir/sec.json" || bad "$be: export secret trace"
  call POST /api/tests/uses-secret/run -H 'Content-Type: application/json' \
    -d "{\"variables\":{\"TID\":\"$tid\",\"EXTRA\":{\"value\":\"pw-Zr8Kq1Vm3Nx\",\"secret\":true}},\"variableSets\":[\"creds\"]}"
  run=$(jq -r .id <<<"$body")
  wait_run "$run" || bad "$be: secret run did not end"
  : >"$dir/answers.txt"
  call GET "/api/runs/$run"; echo "$body" >>"$dir/answers.txt"
  local res=$(jq -r '[.result,.variables.API_TOKEN,.variables.EXTRA,.outputs.TOKEN_SEEN]|@csv' <<<"$body")
  call GET "/api/runs/$run/trace"; echo "$body" >>"$dir/answers.txt"
  local masked_in_trace=$(jq -r '[.. | objects | select(.key? == "auth.token") | .value.stringValue] | first' <<<"$body")
  curl -s -H 'Accept: application/x-protobuf' "$api/api/runs/$run/trace" >>"$dir/answers.txt"
  curl -s --max-time 10 "$api/api/runs/$run/events" >>"$dir/answers.txt"
  call GET '/api/runs?limit=500'; echo "$body" >>"$dir/answers.txt"
  call GET /api/variablesets/creds; echo "$body" >>"$dir/answers.txt"
  local vs_masked=$(jq -r '.document.spec.values[0].value' <<<"$body")
  call GET /api/variablesets/creds -H 'Accept: application/yaml'; cp "$dir/call.out" "$dir/creds-export.yaml"
  cat "$dir/creds-export.yaml" >>"$dir/answers.txt"
  call PUT /api/resources -H 'Content-Type: application/yaml' --data-binary "@$dir/creds-export.yaml"
  local reput=$(jq -c '.items[0]|[.version,.created]' <<<"$body")
  if [ "$res" = '"passed","****","****","****"' ] && [ "$masked_in_trace" = '****' ] && [ "$vs_masked" = '****' ] &&
     ! grep -q -e tok-7Hq2ZpX9wLk4 -e pw-Zr8Kq1Vm3Nx "$dir/answers.txt" && [ "$reput" = '[1,false]' ]; then
    ok "$be: secrets masked in the run, its trace, events, lists and the VariableSet (which applies back unchanged)"
  else bad "$be: secrets: res=$res trace=$masked_in_trace vs=$vs_masked reput=$reput"; grep -o -e '.\{60\}tok-7Hq2ZpX9wLk4.\{20\}' "$dir/answers.txt" | head -3; fi
  if grep -q -e tok-7Hq2ZpX9wLk4 -e pw-Zr8Kq1Vm3Nx "$dir"/*.log; then bad "$be: a secret in the server's log"
  else ok "$be: no secret in the server's log"; fi

  # ---- an http trigger (the server's own health endpoint: no span follows), a polling profile, delete
  cat >"$dir/http.yaml" <<'EOF'
type: PollingProfile
spec:
  id: fast
  name: Fast
  strategy: periodic
  periodic:
    retryDelay: 100ms
    timeout: 1s
---
type: Test
spec:
  id: http-health
  name: Calls the health endpoint
  pollingProfile: fast
  trigger:
    type: http
    httpRequest:
      method: GET
      url: ${var:API}/api/health
      headers:
        - key: Authorization
          value: Bearer ${var:API_TOKEN}
        - key: X-Region
          value: ${var:REGION}
  specs:
    - selector: span[]
      assertions:
        - attr:tracetest.response.status = 200
EOF
  put_file "$dir/http.yaml"
  call POST /api/tests/http-health/run -H 'Content-Type: application/json' \
    -d "{\"variables\":{\"API\":\"$api\"},\"variableSets\":[\"creds\"]}"
  run=$(jq -r .id <<<"$body")
  wait_run "$run" 20
  local got
  got=$(jq -r '[.state,.trigger.type,.trigger.request.method,.trigger.request.headers[0].value,.trigger.request.headers[1].value,.trigger.response.status,(.trigger.response.body|fromjson|.status),.spans]|@csv' <<<"$body" 2>/dev/null)
  if [ "$got" = '"TRACE_FAILED","http","GET","****","eu-west-1",200,"ok",1' ] && grep -q 'no span of trace' <<<"$(jq -r .error <<<"$body")"; then
    ok "$be: an http trigger: request (Authorization masked) and response kept; no span within the profile's 1s: TRACE_FAILED"
  else bad "$be: http trigger: $got $(jq -r .error <<<"$body" 2>/dev/null)"; fi
  call DELETE /api/pollingprofiles/fast
  local d1=$code
  call DELETE /api/tests/http-health
  local d2=$code
  call GET /api/tests/http-health
  local g1=$code
  call GET "/api/runs/$run"
  if [ "$d1" = 204 ] && [ "$d2" = 204 ] && [ "$g1" = 404 ] && [ "$code" = 200 ]; then
    ok "$be: DELETE a test: 204, then 404; its runs stay readable"
  else bad "$be: delete: $d1 $d2 $g1 $code"; fi
  call DELETE /api/tests/http-health
  [ "$code" = 404 ] && ok "$be: DELETE it again: 404" || bad "$be: delete again: $code"
}
