#!/usr/bin/env bash
# The CLI as a client of `tracecheck serve`, against a real server on free
# ports of 127.0.0.1 with a temporary SQLite database and a token: apply
# (unchanged documents, a document the server refuses at its line and
# column, a file that does not parse), list (table, json, pages), get
# (json, yaml, pretty, an older version), export -> apply again -> the same
# version, delete (its runs stay); `run --server` of a passing and a
# failing test (traceid trigger, spans exported with curl to the server's
# OTLP receiver) with the exit codes and the JSON report shape of a local
# run, JUnit, a trace that never comes, a missing variable, a suite in a
# directory, a secret from --vars; a missing token, a wrong token, an
# unreachable server, local-only options, the server killed while a run is
# followed. Every wait bounded. Prints "N passed, N failed".
set -u
bin=${TRACECHECK_BIN:-build/tracecheck}
. "$(dirname "$0")/lib/ports.sh"
pass=0
fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
check() { # check NAME COMMAND...: ok when the command succeeds
  local name=$1; shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tracecheck-client.XXXXXX")
srv_pid=
cleanup() {
  if [ -n "$srv_pid" ]; then
    kill -TERM "$srv_pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$srv_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$srv_pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
finish() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
  exit
}
out() { sed 's/^/  | /' "$@" | head -n 40; }

# ---- the server
token=client-test-$RANDOM$RANDOM
printf '%s\n' "$token" >"$tmp/token"
printf 'not-the-token\n' >"$tmp/wrong-token"
for try in 1 2 3; do
  API=127.0.0.1:$(free_port)
  HTTP=127.0.0.1:$(free_port)
  GRPC=127.0.0.1:$(free_port)
  "$bin" serve --listen "$API" --otlp-http "$HTTP" --otlp-grpc "$GRPC" --db "$tmp/runs.db" \
    --token-file "$tmp/token" >"$tmp/serve.out" 2>"$tmp/serve.err" &
  srv_pid=$!
  up=0
  for _ in $(seq 100); do # until it answers (bounded: 10 s)
    if curl -sf -o /dev/null --max-time 2 "http://$API/api/health"; then up=1; break; fi
    kill -0 "$srv_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ $up = 1 ] && break
  kill "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null; srv_pid=
  grep -q 'in use' "$tmp/serve.err" || break # a port taken between the pick and the bind: again
done
if [ $up != 1 ]; then
  bad "tracecheck serve did not start"; out "$tmp/serve.err"
  finish
fi
ok "tracecheck serve answers on $API"
export TRACECHECK_SERVER=http://$API
export TRACECHECK_TOKEN=$token
export NO_COLOR=1
tc() { timeout 60 "$bin" "$@"; } # every call bounded

# ---- test files: a traceid test that passes on the three spans of
# tests/data/live, one that fails on them, and a VariableSet
sed -e 's/live-by-trace-id/client-pass/' tests/data/live/by-trace-id.yaml >"$tmp/pass.yaml"
sed -e 's/live-by-trace-id/client-fail/' -e 's/name: A trace exported in pieces, out of order/name: Expects four spans/' \
  -e 's/selected_spans.count = 3/selected_spans.count = 4/' tests/data/live/by-trace-id.yaml >"$tmp/fail.yaml"
cat >"$tmp/vars.yaml" <<'EOF'
type: VariableSet
spec:
  id: client-vars
  name: Client test variables
  values:
    - key: UNUSED
      value: "1"
EOF

# ---- apply
tc apply -f "$tmp/pass.yaml" -f "$tmp/vars.yaml" >"$tmp/apply1.out" 2>"$tmp/apply1.err"
rc=$?
if [ $rc = 0 ] && grep -qx 'Test client-pass version 1' "$tmp/apply1.out" &&
   grep -qx 'VariableSet client-vars version 1' "$tmp/apply1.out"; then
  ok "apply prints kind, id and version"
else
  bad "apply: exit $rc"; out "$tmp/apply1.out" "$tmp/apply1.err"
fi
tc apply "$tmp/pass.yaml" >"$tmp/apply2.out" 2>&1
check "apply of the same document: unchanged, same version" grep -qx 'Test client-pass version 1 (unchanged)' "$tmp/apply2.out"
tc apply -f "$tmp/fail.yaml" --format json >"$tmp/apply3.json" 2>"$tmp/apply3.err"
check "apply --format json: the server's items" \
  test "$(jq -r '.items[0].id + " " + (.items[0].version|tostring)' "$tmp/apply3.json" 2>/dev/null)" = "client-fail 1"

# a document the local check lets through and the server refuses: where it is
printf 'type: Test\nspec:\n  name: no id\n  trigger:\n    type: traceid\n    traceid:\n      id: x\n' >"$tmp/noid.yaml"
tc apply -f "$tmp/noid.yaml" >"$tmp/apply4.out" 2>"$tmp/apply4.err"
rc=$?
if [ $rc = 2 ] && grep -qE "^$tmp/noid.yaml:[0-9]+:[0-9]+: " "$tmp/apply4.err"; then
  ok "a refused document: exit 2, $(head -n 1 "$tmp/apply4.err" | sed "s|$tmp/||")"
else
  bad "refused document: exit $rc"; out "$tmp/apply4.out" "$tmp/apply4.err"
fi
# a file that does not parse: nothing is sent, FILE:LINE:COL and a caret
printf 'type: Test\nspec:\n  id: broken\n   name: x\n' >"$tmp/broken.yaml"
tc apply -f "$tmp/pass.yaml" -f "$tmp/broken.yaml" >"$tmp/apply5.out" 2>"$tmp/apply5.err"
rc=$?
if [ $rc = 2 ] && grep -qE "^$tmp/broken.yaml:[0-9]+:[0-9]+: invalid YAML" "$tmp/apply5.err" && grep -q '\^' "$tmp/apply5.err" &&
   [ ! -s "$tmp/apply5.out" ]; then
  ok "a file that does not parse: exit 2 at its line, nothing applied"
else
  bad "broken file: exit $rc"; out "$tmp/apply5.out" "$tmp/apply5.err"
fi

# ---- list
tc list tests >"$tmp/list1.out" 2>"$tmp/list1.err"
rc=$?
if [ $rc = 0 ] && head -n 1 "$tmp/list1.out" | grep -q '^ID  *NAME  *VERSION' &&
   grep -q '^client-pass  *A trace exported in pieces' "$tmp/list1.out" && grep -q '^client-fail ' "$tmp/list1.out"; then
  ok "list tests: a table with both tests"
else
  bad "list tests: exit $rc"; out "$tmp/list1.out" "$tmp/list1.err"
fi
tc list tests --format json >"$tmp/list2.json" 2>&1
check "list tests --format json" test "$(jq -r '[.items[].id] | sort | join(",")' "$tmp/list2.json" 2>/dev/null)" = "client-fail,client-pass"
tc list tests --limit 1 >"$tmp/list3.out" 2>"$tmp/list3.err"
tc list tests --limit 1 --all --format json >"$tmp/list4.json" 2>&1
if [ "$(grep -c '^client-' "$tmp/list3.out")" = 1 ] && grep -q -- '--all' "$tmp/list3.err" &&
   [ "$(jq '.items | length' "$tmp/list4.json" 2>/dev/null)" = 2 ]; then
  ok "list --limit 1 shows one page and says there is more; --all follows the cursor"
else
  bad "list --limit/--all"; out "$tmp/list3.out" "$tmp/list3.err" "$tmp/list4.json"
fi
tc list suites >"$tmp/list5.out" 2>"$tmp/list5.err"
check "list suites: none yet (said on stderr)" test $? = 0 -a ! -s "$tmp/list5.out" -a -s "$tmp/list5.err"

# ---- get
tc get test client-pass --format json >"$tmp/get1.json" 2>&1
check "get test --format json: the resource and its document" \
  test "$(jq -r '[.kind, .id, (.version|tostring), .document.spec.id] | join(" ")' "$tmp/get1.json" 2>/dev/null)" \
  = "Test client-pass 1 client-pass"
tc get test client-pass --format yaml >"$tmp/get2.yaml" 2>&1
if grep -qx 'id: client-pass' "$tmp/get2.yaml" && grep -qx 'version: 1' "$tmp/get2.yaml" &&
   grep -qE '^ +- attr:tracetest.selected_spans.count = 3$' "$tmp/get2.yaml"; then
  ok "get test --format yaml"
else
  bad "get --format yaml"; out "$tmp/get2.yaml"
fi
tc get test client-pass >"$tmp/get3.out" 2>&1
check "get test (pretty): header and the document" grep -q '^Test client-pass  version 1' "$tmp/get3.out"
tc get test no-such-test >"$tmp/get4.out" 2>&1
rc=$?
check "get of an unknown test: exit 2, not found" test $rc = 2 -a "$(grep -c 'not found\|not_found' "$tmp/get4.out")" -ge 1

# ---- export -> apply again -> the same version; a change -> the next
tc export test client-pass >"$tmp/exported.yaml" 2>"$tmp/export.err"
rc=$?
tc apply -f "$tmp/exported.yaml" >"$tmp/apply6.out" 2>&1
if [ $rc = 0 ] && grep -qx 'Test client-pass version 1 (unchanged)' "$tmp/apply6.out"; then
  ok "export, then apply the export: the same version"
else
  bad "export round trip: exit $rc"; out "$tmp/exported.yaml" "$tmp/export.err" "$tmp/apply6.out"
fi
tc export test client-pass -o "$tmp/exported2.yaml" >/dev/null 2>&1
sed -i 's/A trace exported in pieces, out of order/Three spans, any order/' "$tmp/exported2.yaml"
tc apply -f "$tmp/exported2.yaml" >"$tmp/apply7.out" 2>&1
check "export -o, edit, apply: version 2" grep -qx 'Test client-pass version 2' "$tmp/apply7.out"
tc get test client-pass --version 1 --format json >"$tmp/get5.json" 2>&1
check "get --version 1: the old name" test "$(jq -r .name "$tmp/get5.json" 2>/dev/null)" = "A trace exported in pieces, out of order"

# ---- run --server: spans first (the server keeps spans nobody waits for yet)
send_trace() { # send_trace TRACE_ID: the three parts to the server's OTLP/HTTP receiver
  local part
  for part in child middle root; do
    sed "s/TRACE_ID/$1/" "tests/data/live/part-$part.json" >"$tmp/$part.json"
    curl -sf -o /dev/null --max-time 5 -H 'Content-Type: application/json' -H "Authorization: Bearer $token" \
      --data-binary @"$tmp/$part.json" "http://$HTTP/v1/traces" || return 1
  done
}
tid=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
send_trace "$tid" || bad "curl to the server's receiver failed"
tc run --server "http://$API" "$tmp/pass.yaml" --var TRACE_ID="$tid" --format json --junit "$tmp/pass.xml" \
  >"$tmp/run1.json" 2>"$tmp/run1.err"
rc=$?
if [ $rc = 0 ] && [ "$(jq -r '.tests[0].passed' "$tmp/run1.json" 2>/dev/null)" = true ] &&
   [ "$(jq -r '.tests[0].trace_id' "$tmp/run1.json")" = "$tid" ] &&
   [ "$(jq -r '.tests[0].file' "$tmp/run1.json")" = "$tmp/pass.yaml" ]; then
  ok "run --server, a passing test: exit 0, passed, its trace id"
else
  bad "run --server pass: exit $rc"; out "$tmp/run1.err"; head -c 1500 "$tmp/run1.json"; echo
fi
if grep -q '<testsuite name="A trace exported in pieces, out of order" tests="2" failures="0"' "$tmp/pass.xml" 2>/dev/null; then
  ok "run --server --junit"
else
  bad "run --server --junit"; out "$tmp/pass.xml"
fi

# the same test run locally: the report has the same shape
LHTTP=127.0.0.1:$(free_port)
LGRPC=127.0.0.1:$(free_port)
ltid=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
TRACECHECK_SERVER= timeout 60 "$bin" run "$tmp/pass.yaml" --var TRACE_ID="$ltid" --otlp-http "$LHTTP" \
  --otlp-grpc "$LGRPC" --timeout 10s --format json >"$tmp/local.json" 2>"$tmp/local.err" &
lpid=$!
for _ in $(seq 100); do
  sed "s/TRACE_ID/$ltid/" tests/data/live/part-child.json >"$tmp/lchild.json"
  curl -sf -o /dev/null -H 'Content-Type: application/json' --data-binary @"$tmp/lchild.json" "http://$LHTTP/v1/traces" && break
  kill -0 $lpid 2>/dev/null || break
  sleep 0.1
done
for part in middle root; do
  sed "s/TRACE_ID/$ltid/" "tests/data/live/part-$part.json" >"$tmp/l$part.json"
  curl -sf -o /dev/null -H 'Content-Type: application/json' --data-binary @"$tmp/l$part.json" "http://$LHTTP/v1/traces"
done
wait $lpid
lrc=$?
shape='[paths | map(if type == "number" then 0 else . end)] | unique'
if [ $lrc = 0 ] && [ -n "$(jq -c "$shape" "$tmp/local.json" 2>/dev/null)" ] &&
   [ "$(jq -c "$shape" "$tmp/local.json")" = "$(jq -c "$shape" "$tmp/run1.json")" ]; then
  ok "the JSON report of run --server has the shape of a local run's"
else
  bad "report shapes differ (local exit $lrc)"
  diff <(jq -c "$shape | .[]" "$tmp/local.json" 2>/dev/null) <(jq -c "$shape | .[]" "$tmp/run1.json" 2>/dev/null) | head -n 20
  out "$tmp/local.err"
fi

# a failing test: exit 1, the failed assertion with its observed value; pretty report
tid2=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
send_trace "$tid2" || bad "curl to the server's receiver failed"
tc run "$tmp/fail.yaml" --var TRACE_ID="$tid2" --format json >"$tmp/run2.json" 2>"$tmp/run2.err"
rc=$?
obs=$(jq -r '.tests[0].specs[0].spans[0].assertions[0] | .observed + " " + .expected' "$tmp/run2.json" 2>/dev/null)
if [ $rc = 1 ] && [ "$(jq -r '.tests[0].passed' "$tmp/run2.json")" = false ] && [ "$obs" = "3 4" ] &&
   [ "$(jq -c .summary "$tmp/run2.json")" = '{"tests":1,"passed":0,"failed":1,"errors":0,"skipped":0,"specs":2,"specs_failed":1}' ]; then
  ok "run --server (TRACECHECK_SERVER), a failing test: exit 1, observed 3, expected 4"
else
  bad "run --server fail: exit $rc"; out "$tmp/run2.err"; head -c 1500 "$tmp/run2.json"; echo
fi
tid3=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n') # a run takes the spans of its trace: a new one
send_trace "$tid3" || bad "curl to the server's receiver failed"
tc run "$tmp/fail.yaml" --var TRACE_ID="$tid3" >"$tmp/run3.out" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q '^✘ Expects four spans' "$tmp/run3.out" && grep -q 'observed 3, expected 4' "$tmp/run3.out" &&
   grep -q '^1 test: 0 passed, 1 failed' "$tmp/run3.out"; then
  ok "run --server, pretty report"
else
  bad "run --server pretty: exit $rc"; out "$tmp/run3.out"
fi

# a trace that never comes: the server's verdict, exit 3
{ printf 'type: PollingProfile\nspec:\n  id: client-quick\n  name: quick\n  strategy: periodic\n'
  printf '  periodic:\n    timeout: 1s\n    retryDelay: 100ms\n---\n'
  sed -e 's/live-by-trace-id/client-notrace/' -e 's/^spec:$/spec:\n  pollingProfile: client-quick/' \
    tests/data/live/by-trace-id.yaml; } >"$tmp/notrace.yaml"
tc run "$tmp/notrace.yaml" --var TRACE_ID="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')" --format json \
  >"$tmp/run4.json" 2>"$tmp/run4.err"
rc=$?
st=$(jq -r '.tests[0].state' "$tmp/run4.json" 2>/dev/null)
if [ $rc = 3 ] && [ "$st" = TRACE_FAILED ]; then
  ok "run --server, no trace: TRACE_FAILED, exit 3"
else
  bad "run --server no trace: exit $rc state $st"; out "$tmp/run4.err"
fi

# a variable the test needs and nobody gives: the run fails as a local one's trigger does
tc run "$tmp/pass.yaml" --format json >"$tmp/novar.json" 2>"$tmp/novar.err"
rc=$?
if [ $rc = 3 ] && [ "$(jq -r '.tests[0].state' "$tmp/novar.json" 2>/dev/null)" = TRIGGER_FAILED ] &&
   jq -r '.tests[0].error' "$tmp/novar.json" | grep -q TRACE_ID; then
  ok "a missing variable: TRIGGER_FAILED naming it, exit 3"
else
  bad "missing variable: exit $rc"; out "$tmp/novar.err"; head -c 800 "$tmp/novar.json"; echo
fi

# a suite in a directory with its two tests: the tests run in the suite only,
# one report entry a step with its local file; a secret from --vars stays secret
mkdir -p "$tmp/suite"
sed -e 's/live-by-trace-id/client-step1/' tests/data/live/by-trace-id.yaml >"$tmp/suite/a.yaml"
sed -e 's/live-by-trace-id/client-step2/' -e 's/var:TRACE_ID/var:TRACE_ID2/' -e 's/name: A trace.*/name: Step two/' \
  tests/data/live/by-trace-id.yaml >"$tmp/suite/b.yaml"
printf 'type: TestSuite\nspec:\n  id: client-suite\n  name: Client suite\n  steps:\n    - client-step1\n    - client-step2\n' \
  >"$tmp/suite/suite.yaml"
printf 'type: VariableSet\nspec:\n  id: client-secret\n  values:\n    - key: TRACE_ID2\n      value: "%s"\n      secret: true\n' \
  "$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')" >"$tmp/secret.yaml"
ta=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
tb=$(sed -n 's/.*value: "\(.*\)"/\1/p' "$tmp/secret.yaml")
send_trace "$ta" && send_trace "$tb" || bad "curl to the server's receiver failed"
tc run "$tmp/suite" --vars "$tmp/secret.yaml" --var TRACE_ID="$ta" --format json >"$tmp/suite.json" 2>"$tmp/suite.err"
rc=$?
if [ $rc = 0 ] && [ "$(jq -r '[.tests[] | .id + "@" + .file] | join(" ")' "$tmp/suite.json" 2>/dev/null)" = \
     "client-step1@$tmp/suite/a.yaml client-step2@$tmp/suite/b.yaml" ]; then
  ok "run --server DIR with a suite: its two steps, each with its file, exit 0"
else
  bad "suite: exit $rc"; out "$tmp/suite.err"; head -c 1500 "$tmp/suite.json"; echo
fi
tc list runs --test client-suite --format json >"$tmp/suite-runs.json" 2>&1
sid=$(jq -r '.items[0].id' "$tmp/suite-runs.json" 2>/dev/null)
tc get run "$sid" --format json >"$tmp/suite-run.json" 2>&1
check "a secret from --vars is sent as secret: masked in the server's run" \
  test "$(jq -r '.variables.TRACE_ID2 | test("^[*]+$")' "$tmp/suite-run.json" 2>/dev/null)" = true

# runs are kept: list and get them
tc list runs --test client-fail --format json >"$tmp/runs1.json" 2>&1
n=$(jq '.items | length' "$tmp/runs1.json" 2>/dev/null)
rid=$(jq -r '.items[0].id' "$tmp/runs1.json" 2>/dev/null)
check "list runs --test: the two runs of the failing test" test "$n" = 2 -a "$(jq -r '.items[0].result' "$tmp/runs1.json")" = failed
tc list runs >"$tmp/runs2.out" 2>&1
check "list runs: a table" grep -qE "^$rid +client-fail +Expects four spans +FINISHED +failed +1/2 " "$tmp/runs2.out"
tc get run "$rid" >"$tmp/run5.out" 2>&1
check "get run: summary and the report" grep -q 'observed 3, expected 4' "$tmp/run5.out"
tc get run "$rid" --format yaml >"$tmp/run6.yaml" 2>&1
check "get run --format yaml" grep -qx "id: $rid" "$tmp/run6.yaml"

# ---- files a test names go with it (the server reads none of its own)
mkdir -p "$tmp/withfiles"
printf '{"item": "book",\n "note": "\\u00e9 \\"quoted\\""}\n' >"$tmp/withfiles/body.json"
cp demo/proto/inventory.proto "$tmp/withfiles/"
cat >"$tmp/withfiles/tests.yaml" <<EOF
type: Test
spec:
  id: client-body-file
  name: A body from a file
  trigger:
    type: http
    httpRequest: {method: POST, url: "http://$API/api/health", body: body.json}
  specs:
  - selector: span[name="Tracetest trigger"]
    assertions: ["attr:tracetest.response.status = 405"]
---
type: Test
spec:
  id: client-proto-file
  trigger:
    type: grpc
    grpc: {protobufFile: inventory.proto, address: "127.0.0.1:1", method: inventory.v1.Inventory.Reserve, request: "{}"}
---
type: Test
spec:
  id: client-server-file
  name: A file name the server must not read
  trigger:
    type: http
    httpRequest: {method: POST, url: "http://$API/api/health", body: "$tmp/withfiles/body.json"}
EOF
(cd "$tmp" && tc apply -f withfiles/tests.yaml) >"$tmp/applyf.out" 2>&1
rc=$?
tc get test client-body-file --format json >"$tmp/bodyfile.json" 2>&1
tc get test client-proto-file --format json >"$tmp/protofile.json" 2>&1
if [ $rc = 0 ] && [ "$(jq -r .document.spec.trigger.httpRequest.body "$tmp/bodyfile.json")" = "$(cat "$tmp/withfiles/body.json")" ] &&
   [ "$(jq -r .document.spec.trigger.grpc.protobufFile "$tmp/protofile.json")" = "$(cat demo/proto/inventory.proto)" ]; then
  ok "apply: an http body and a protobufFile named by a test are sent as their files' text"
else bad "apply with files: exit $rc"; out "$tmp/applyf.out"; fi
# a document PUT directly that names a file of the server's machine: the
# run sends the name as the body, never the file
curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $token" -H 'Content-Type: application/yaml' \
  --data-binary @"$tmp/withfiles/tests.yaml" "http://$API/api/resources"
rid2=$(curl -sf -X POST -H "Authorization: Bearer $token" "http://$API/api/tests/client-server-file/run" | jq -r .id)
for _ in $(seq 100); do
  curl -sf -H "Authorization: Bearer $token" "http://$API/api/runs/$rid2" >"$tmp/sf.json"
  [ "$(jq -r .finished "$tmp/sf.json")" != null ] && break
  sleep 0.1
done
if [ "$(jq -r .trigger.request.body "$tmp/sf.json")" = "$tmp/withfiles/body.json" ]; then
  ok "a server run reads no file of the server: the body stays the name it was given"
else bad "server read a file: $(jq -c .trigger.request "$tmp/sf.json")"; fi

# ---- delete: gone from lists, its runs stay readable
tc delete test client-fail >"$tmp/del.out" 2>&1
rc=$?
tc get test client-fail >/dev/null 2>&1
grc=$?
tc get run "$rid" --format json >"$tmp/run7.json" 2>&1
if [ $rc = 0 ] && grep -qx 'deleted test client-fail' "$tmp/del.out" && [ $grc = 2 ] &&
   [ "$(jq -r .id "$tmp/run7.json" 2>/dev/null)" = "$rid" ]; then
  ok "delete: the test is gone, its runs stay"
else
  bad "delete: exit $rc, get after: $grc"; out "$tmp/del.out"
fi
tc delete test client-fail >"$tmp/del2.out" 2>&1
check "delete of an unknown test: exit 2" test $? = 2

# ---- tokens, reachability, local-only options
TRACECHECK_TOKEN= tc list tests >"$tmp/tok1.out" 2>"$tmp/tok1.err"
rc=$?
check "no token: exit 3, says a token is wanted" test $rc = 3 -a "$(grep -c 'wants a token' "$tmp/tok1.err")" = 1
tc list tests --token-file "$tmp/wrong-token" >"$tmp/tok2.out" 2>"$tmp/tok2.err"
rc=$?
if [ $rc = 3 ] && grep -q 'refused the token' "$tmp/tok2.err"; then
  ok "a wrong token: exit 3, $(head -n 1 "$tmp/tok2.err" | cut -c1-90)…"
else
  bad "wrong token: exit $rc"; out "$tmp/tok2.err"
fi
TRACECHECK_TOKEN=wrong tc run "$tmp/pass.yaml" --var TRACE_ID="$tid" >"$tmp/tok3.out" 2>"$tmp/tok3.err"
check "run --server with a wrong token: exit 3" test $? = 3 -a "$(grep -c 'refused the token' "$tmp/tok3.err")" = 1
closed=127.0.0.1:$(free_port)
tc run --server "http://$closed" "$tmp/pass.yaml" >"$tmp/down.out" 2>"$tmp/down.err"
rc=$?
if [ $rc = 3 ] && grep -q "cannot reach the server at http://$closed" "$tmp/down.err"; then
  ok "an unreachable server: exit 3, $(head -n 1 "$tmp/down.err" | cut -c1-70)…"
else
  bad "unreachable server: exit $rc"; out "$tmp/down.err"
fi
tc list tests --server "http://$closed" >/dev/null 2>"$tmp/down2.err"
check "list on an unreachable server: exit 3" test $? = 3
tc run "$tmp/pass.yaml" --trace tests/data/pokeshop.json >/dev/null 2>"$tmp/local-only.err"
check "run --trace with a server: refused, exit 2" test $? = 2 -a "$(grep -c 'for local runs' "$tmp/local-only.err")" = 1

# the server goes away while a run is followed: exit 3 with the reason, bounded
t0=$(date +%s)
tc run "$tmp/pass.yaml" --var TRACE_ID="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')" >"$tmp/gone.out" 2>"$tmp/gone.err" &
rpid=$!
for _ in $(seq 50); do # until the run waits for its trace
  [ "$(curl -s --max-time 2 -H "Authorization: Bearer $token" "http://$API/api/runs?state=AWAITING_TRACE" |
       jq '.items | length' 2>/dev/null)" = 1 ] && break
  sleep 0.1
done
exec 3>&2 2>/dev/null # no "Killed" line from the shell
kill -KILL "$srv_pid"
wait "$srv_pid"
exec 2>&3 3>&-
srv_pid=
wait $rpid
rc=$?
took=$(( $(date +%s) - t0 ))
if [ $rc = 3 ] && grep -q '^tracecheck: run [0-9]*: cannot reach the server' "$tmp/gone.err" && [ $took -lt 20 ]; then
  ok "the server killed while a run is followed: exit 3 after ${took} s"
else
  bad "server gone: exit $rc after ${took} s"; out "$tmp/gone.err"
fi

finish
