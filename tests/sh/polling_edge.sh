#!/usr/bin/env bash
# Polling at the edges: a live run (HTTP trigger) whose trace is read from
# the backend, the trigger span included; HTTPS with a CA file, with
# insecureSkipVerify, and failing at once without either (datastore check
# says TLS), tls.serverName; an answer over TRACECHECK_MAX_BODY, a trace
# over TRACECHECK_MAX_SPANS; a slow answer; a gRPC call
# that never answers. Against the fake backend (tests/fake/backend.js), on
# 127.0.0.1, bounded in time. Prints "N passed, N failed".
set -u
. "$(dirname "$0")/lib/poll.sh"
poll_setup edge
ZID=5982fe77008310cc80f1da5e10147517

tls=
if timeout 20 openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=backend.test \
  -addext "subjectAltName=DNS:backend.test" -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1; then
  tls='"tls": {"cert": "cert.pem", "key": "key.pem"},'
fi
cat >"$dir/s.json" <<JSON
{"max_seconds": 120, $tls "routes": [
  {"method": "GET", "path": "/hello", "responses": [{"body": "hello"}]},
  {"method": "GET", "path": "/api/v2/trace/{id}", "responses": [
    {"status": 404, "body": "not yet"},
    {"file": "$data/sources/zipkin-template.json", "template": true, "headers": {"content-type": "application/json"}}]},
  {"method": "GET", "prefix": "/slow/api/v2/trace/", "responses": [
    {"file": "$data/zipkin/api-v2-trace.json", "delay_ms": 1500}]},
  {"method": "GET", "prefix": "/big/api/v2/trace/", "responses": [{"repeat_bytes": 1048576, "chunk": "["}]}],
 "grpc": [{"path": "/jaeger.api_v2.QueryService/GetTrace", "stream": true, "responses": [{"hang": true}]}]}
JSON
fake_start "$dir/s.json" || bad "the fake did not start"

# ---- a live run: the HTTP trigger calls the system, the trace is read from the backend
datastore zipkin zipkin "endpoint: http://127.0.0.1:$fake_http"
run_json live "$data/sources/test-live.yaml" --datastore "$dir/zipkin.yaml" --var SYSTEM_URL=http://127.0.0.1:$fake_http --timeout 20s
expect live "FINISHED and passed, the trigger span and the backend's spans together" \
  test "$rc/$(field live '.tests[0].state')/$(field live '[.tests[0].specs[].passed] | all')" = "0/FINISHED/true"
tid=$(field live '.tests[0].trace_id')
expect live "the backend was asked for the run's own trace id" \
  grep -q "\"path\":\"/api/v2/trace/$tid\"" "$fake_log"

# ---- HTTPS
if [ -n "$tls" ]; then
  datastore ca zipkin "endpoint: https://127.0.0.1:$fake_https" 'tls:' '  serverName: backend.test' '  settings:' "    cAFile: $dir/cert.pem"
  run_json ca "$data/sources/test-live.yaml" --datastore "$dir/ca.yaml" --var SYSTEM_URL=http://127.0.0.1:$fake_http --timeout 20s
  expect ca "HTTPS verified with the DataStore's CA file and server name" test "$rc/$(field ca '.tests[0].state')" = "0/FINISHED"
  datastore noname zipkin "endpoint: https://127.0.0.1:$fake_https" 'tls:' '  settings:' "    cAFile: $dir/cert.pem"
  run_json noname "$data/sources/test-live.yaml" --datastore "$dir/noname.yaml" --var SYSTEM_URL=http://127.0.0.1:$fake_http --timeout 20s
  expect noname "without the server name the certificate does not match: TLS fails at once" \
    test "$rc/$(field noname '.tests[0].error | test("TLS")')/$(under 5)" = "3/true/1"
  datastore skip zipkin "endpoint: https://127.0.0.1:$fake_https" 'tls:' '  insecureSkipVerify: true'
  run_json skip "$data/sources/test-live.yaml" --datastore "$dir/skip.yaml" --var SYSTEM_URL=http://127.0.0.1:$fake_http --timeout 20s
  expect skip "HTTPS with insecureSkipVerify" test "$rc/$(field skip '.tests[0].state')" = "0/FINISHED"
  datastore notrust zipkin "endpoint: https://127.0.0.1:$fake_https"
  run_json notrust "$data/sources/test-live.yaml" --datastore "$dir/notrust.yaml" --var SYSTEM_URL=http://127.0.0.1:$fake_http --timeout 20s
  expect notrust "an untrusted certificate ends the run at once, naming TLS" \
    test "$rc/$(field notrust '.tests[0].error | test("TLS")')/$(under 5)" = "3/true/1"
  timeout 30 "$bin" datastore check "$dir/notrust.yaml" >"$dir/check.out" 2>&1
  rc=$?
  if [ $rc = 3 ] && grep -q '✘ TLS' "$dir/check.out" && grep -q 'hint: .*cAFile' "$dir/check.out"; then
    ok "datastore check: TLS fails with a hint"; else bad "datastore check TLS: exit $rc"; cat "$dir/check.out"; fi
else
  bad "openssl could not make a test certificate"
fi

# ---- an answer over the limit, a slow answer, a gRPC call that never answers
datastore big zipkin "endpoint: http://127.0.0.1:$fake_http/big"
TRACECHECK_MAX_BODY=64K run_json big "$data/sources/test-zipkin.yaml" --datastore "$dir/big.yaml" --var TRACE_ID=$ZID --timeout 20s
expect big "an answer over TRACECHECK_MAX_BODY ends the run at once, naming the limit" \
  test "$rc/$(field big '.tests[0].error | test("larger than the limit of 65536 bytes")')/$(under 5)" = "3/true/1"
cat >"$dir/many.json" <<JSON
{"max_seconds": 60, "routes": [{"method": "POST", "path": "/traces/_search",
  "opensearch_generate": {"spans": 25000, "services": 2}}]}
JSON
fake_stop
fake_start "$dir/many.json" || bad "the fake did not start"
datastore many opensearch 'addresses:' "  - http://127.0.0.1:$fake_http" 'index: traces'
TRACECHECK_MAX_SPANS=15000 run_json many "$data/sources/test-zipkin.yaml" --datastore "$dir/many.yaml" --var TRACE_ID=$ZID --timeout 20s
expect many "a trace over TRACECHECK_MAX_SPANS ends the run at once, naming the limit, after 2 of 3 pages" \
  test "$rc/$(field many '.tests[0].error | test("more than 15000 spans")')/$(wc -l <"$fake_log")" = "3/true/2"
fake_stop
fake_start "$dir/s.json" || bad "the fake did not start"
datastore slow zipkin "endpoint: http://127.0.0.1:$fake_http/slow"
run_json slow "$data/sources/test-zipkin.yaml" --datastore "$dir/slow.yaml" --var TRACE_ID=$ZID --timeout 20s
expect slow "slow answers (1.5 s each) still give the verdict" test "$rc/$(field slow '.tests[0].state')" = "0/FINISHED"
datastore hang jaeger "endpoint: 127.0.0.1:$fake_grpc"
run_json hang "$data/sources/test-zipkin.yaml" --datastore "$dir/hang.yaml" --var TRACE_ID=$ZID --timeout 2s
expect hang "a gRPC call that never answers: TRACE_FAILED at the timeout, saying so" \
  test "$rc/$(field hang '.tests[0].error | test("did not answer in time")')/$(under 6)" = "3/true/1"

poll_done
