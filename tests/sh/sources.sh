#!/usr/bin/env bash
# Reading traces from the team's backend (DataStore), against the fake
# backend (tests/fake/backend.js) serving recorded bodies: a trace that
# grows over polls (404, then half, then whole) ends FINISHED with the
# polls in the JSON report; the DataStore's headers (tenant, ${env:...})
# go with every request; Tempo over HTTP (JSON and protobuf) and gRPC,
# Zipkin; 500 once is retried; 401 ends the run at once with the secret
# masked; an unknown host ends it at once; a body that never ends and a
# malformed body end it with the cause; a DataStore among the files is
# used; `fetch` writes the trace and exits 3 when it is not there;
# `datastore check` says what it found. Everything on 127.0.0.1, bounded in
# time. Prints "N passed, N failed".
set -u
. "$(dirname "$0")/lib/poll.sh"
poll_setup sources
TEMPO_ID=000000000000000060ba2abb44f13eae
ZIPKIN_ID=5982fe77008310cc80f1da5e10147517

# ---- Tempo over HTTP, JSON bodies: 404, then a span whose parent is missing, then the whole trace
cat >"$dir/tempo-grow.json" <<JSON
{"max_seconds": 60, "routes": [
  {"method": "GET", "path": "/api/traces/{id}", "responses": [
    {"status": 404, "body": "trace not found"},
    {"status": 200, "file": "$data/tempo/api-traces-v1.json", "headers": {"content-type": "application/json"}},
    {"status": 200, "file": "$data/tempo/api-traces-v2.json", "headers": {"content-type": "application/json"}}]}]}
JSON
fake_start "$dir/tempo-grow.json" || bad "the fake did not start"
datastore tempo tempo 'type: http' 'http:' "  url: http://127.0.0.1:$fake_http" '  headers:' '    X-Scope-OrgID: ${env:TEMPO_TENANT}'
TEMPO_TENANT=team-a run_json tempo-grow "$data/sources/test-tempo.yaml" --datastore "$dir/tempo.yaml" --var TRACE_ID=$TEMPO_ID --timeout 20s
expect tempo-grow "FINISHED and passed" test "$rc/$(field tempo-grow '.tests[0].state')/$(field tempo-grow '.tests[0].passed')" = "0/FINISHED/true"
expect tempo-grow "the report names the source and its polls" test "$(field tempo-grow '.tests[0].source | "\(.type) \(.polls>=4) \(.spans_per_poll|startswith("0,1,2,2"))"')" = "tempo true true"
expect tempo-grow "every poll sent the tenant header and asked for protobuf" \
  test "$(jq -s '[.[] | select(.headers["x-scope-orgid"] == "team-a" and (.headers.accept | test("application/protobuf")))] | length' "$fake_log")" = "$(wc -l <"$fake_log")"
expect tempo-grow "the first poll came soon after the trigger (< 1s)" test "$(under 5)" = 1

# ---- Tempo over HTTP, protobuf bodies
cat >"$dir/tempo-pb.json" <<JSON
{"max_seconds": 60, "routes": [
  {"method": "GET", "path": "/api/traces/{id}", "responses": [
    {"status": 200, "file": "$data/sources/tempo-v2.pb", "headers": {"content-type": "application/protobuf"}}]}]}
JSON
fake_start "$dir/tempo-pb.json" || bad "the fake did not start"
datastore tempo-pb tempo 'type: http' 'http:' "  url: http://127.0.0.1:$fake_http/"
run_json tempo-pb "$data/sources/test-tempo.yaml" --datastore "$dir/tempo-pb.yaml" --var TRACE_ID=$TEMPO_ID --timeout 20s
expect tempo-pb "protobuf answer: FINISHED and passed" test "$rc/$(field tempo-pb '.tests[0].state')" = "0/FINISHED"

# ---- Tempo over gRPC: an empty answer (not yet), then the trace
b64=$(base64 -w0 <"$data/sources/tempo-v2.pb")
cat >"$dir/tempo-grpc.json" <<JSON
{"max_seconds": 60, "grpc": [
  {"path": "/tempopb.Querier/FindTraceByID", "responses": [
    {"messages_b64": [""]},
    {"messages_b64": ["$b64"]}]}]}
JSON
fake_start "$dir/tempo-grpc.json" || bad "the fake did not start"
datastore tempo-grpc tempo 'type: grpc' 'grpc:' "  endpoint: 127.0.0.1:$fake_grpc" '  tls:' '    insecure: true' '  headers:' '    authorization: Bearer t0ps3cret'
run_json tempo-grpc "$data/sources/test-tempo.yaml" --datastore "$dir/tempo-grpc.yaml" --var TRACE_ID=$TEMPO_ID --timeout 20s
expect tempo-grpc "gRPC: FINISHED and passed" test "$rc/$(field tempo-grpc '.tests[0].state')" = "0/FINISHED"
expect tempo-grpc "the request carries the trace id and the DataStore's metadata" \
  test "$(jq -r 'select(.n == 0) | "\(.headers.authorization) \(.body_b64)"' "$fake_log" | head -1)" \
  = "Bearer t0ps3cret $(printf '\x0a\x10' | cat - <(hexbin $TEMPO_ID) | base64 -w0)"

# ---- Zipkin: 500 once, then the trace
cat >"$dir/zipkin.json" <<JSON
{"max_seconds": 60, "routes": [
  {"method": "GET", "prefix": "/api/v2/trace/", "responses": [
    {"status": 500, "body": "internal error"},
    {"status": 200, "file": "$data/zipkin/api-v2-trace.json", "headers": {"content-type": "application/json"}}]}]}
JSON
fake_start "$dir/zipkin.json" || bad "the fake did not start"
datastore zipkin zipkin "endpoint: http://127.0.0.1:$fake_http"
run_json zipkin "$data/sources/test-zipkin.yaml" --datastore "$dir/zipkin.yaml" --var TRACE_ID=$ZIPKIN_ID --timeout 20s
expect zipkin "a 500 is retried, then FINISHED" test "$rc/$(field zipkin '.tests[0].state')/$(field zipkin '.tests[0].source.polls >= 3')" = "0/FINISHED/true"

# ---- a DataStore among the files (default: true) is used; fetch writes the trace
cp "$dir/zipkin.yaml" "$dir/zipkin-default.yaml"
sed -i 's/^  type: zipkin/  type: zipkin\n  default: true/' "$dir/zipkin-default.yaml"
run_json among "$dir/zipkin-default.yaml" "$data/sources/test-zipkin.yaml" --var TRACE_ID=$ZIPKIN_ID --timeout 20s
expect among "a DataStore among the files is the source" test "$rc/$(field among '.tests[0].source.type')" = "0/zipkin"
timeout 30 "$bin" fetch $ZIPKIN_ID --datastore "$dir/zipkin.yaml" -o "$dir/fetched.json" 2>"$dir/fetch.err"
rc=$?
n=$("$bin" inspect --format json "$dir/fetched.json" 2>/dev/null | jq '.traces[0].span_count')
if [ $rc = 0 ] && [ "$n" = 2 ]; then ok "fetch writes the trace as OTLP JSON (2 spans)"; else bad "fetch: exit $rc, $n spans"; cat "$dir/fetch.err"; fi
timeout 30 "$bin" fetch $ZIPKIN_ID --datastore "$dir/zipkin.yaml" --format otlp-proto -o "$dir/fetched.pb" 2>/dev/null
n=$("$bin" inspect --format json "$dir/fetched.pb" 2>/dev/null | jq '.traces[0].span_count')
if [ "$n" = 2 ]; then ok "fetch --format otlp-proto"; else bad "fetch --format otlp-proto: $n spans"; fi
timeout 30 "$bin" datastore check "$dir/zipkin.yaml" >"$dir/check.out" 2>&1
rc=$?
if [ $rc = 0 ] && grep -q '✔ trace query' "$dir/check.out"; then ok "datastore check: the backend can be read"; else bad "datastore check: exit $rc"; cat "$dir/check.out"; fi

# ---- not found: fetch exits 3; a run ends TRACE_FAILED at the timeout with the polls named
cat >"$dir/notfound.json" <<JSON
{"max_seconds": 60, "routes": [{"method": "GET", "prefix": "/api/v2/trace/", "responses": [{"status": 404, "body": "not found"}]}]}
JSON
fake_start "$dir/notfound.json" || bad "the fake did not start"
datastore notfound zipkin "endpoint: http://127.0.0.1:$fake_http"
timeout 30 "$bin" fetch $ZIPKIN_ID --datastore "$dir/notfound.yaml" >/dev/null 2>"$dir/fetch.err"
rc=$?
if [ $rc = 3 ] && grep -q 'was not found in zipkin' "$dir/fetch.err"; then ok "fetch: not found exits 3"; else bad "fetch not found: exit $rc"; cat "$dir/fetch.err"; fi
run_json notfound "$data/sources/test-zipkin.yaml" --datastore "$dir/notfound.yaml" --var TRACE_ID=$ZIPKIN_ID --timeout 2s
expect notfound "TRACE_FAILED after the timeout, polls named" \
  test "$rc/$(field notfound '.tests[0].state')/$(field notfound '.tests[0].error | test("not found in zipkin .* within 2.0s \\([0-9]+ polls, spans per poll: 0,0")')" = "3/TRACE_FAILED/true"

# ---- 401: the run ends at once, with the cause and the secret masked
cat >"$dir/denied.json" <<JSON
{"max_seconds": 60, "routes": [{"prefix": "/", "responses": [{"status": 401, "body": "bad credentials: Bearer t0ps3cret"}]}]}
JSON
fake_start "$dir/denied.json" || bad "the fake did not start"
datastore denied tempo 'type: http' 'http:' "  url: http://127.0.0.1:$fake_http" '  headers:' '    Authorization: Bearer t0ps3cret'
run_json denied "$data/sources/test-tempo.yaml" --datastore "$dir/denied.yaml" --var TRACE_ID=$TEMPO_ID --timeout 20s
expect denied "401 ends the run at once (exit 3, well before the timeout)" test "$rc/$(under 5)" = "3/1"
expect denied "the error names the 401 and masks the secret" \
  test "$(field denied '.tests[0].error | (test("HTTP 401") and test("\\*\\*\\*\\*") and (test("t0ps3cret") | not))')" = true
timeout 30 "$bin" datastore check "$dir/denied.yaml" >"$dir/check.out" 2>&1
rc=$?
if [ $rc = 3 ] && grep -q '✘ authentication' "$dir/check.out" && grep -q 'X-Scope-OrgID' "$dir/check.out" && ! grep -q t0ps3cret "$dir/check.out"; then
  ok "datastore check: authentication fails with a hint, secret masked"; else bad "datastore check on 401: exit $rc"; cat "$dir/check.out"; fi

# ---- a malformed body, a body that never ends
cat >"$dir/broken.json" <<JSON
{"max_seconds": 60, "routes": [
  {"method": "GET", "prefix": "/bad/api/traces/", "responses": [{"status": 200, "body": "<html>not a trace</html>", "headers": {"content-type": "text/html"}}]},
  {"method": "GET", "prefix": "/forever/api/traces/", "responses": [{"stream_forever": true, "chunk": "{", "interval_ms": 50}]}]}
JSON
fake_start "$dir/broken.json" || bad "the fake did not start"
datastore bad tempo 'type: http' 'http:' "  url: http://127.0.0.1:$fake_http/bad"
run_json bad "$data/sources/test-tempo.yaml" --datastore "$dir/bad.yaml" --var TRACE_ID=$TEMPO_ID --timeout 20s
expect bad "a body tracecheck cannot read ends the run at once with the cause" \
  test "$rc/$(field bad '.tests[0].error | test("cannot read the answer \\(text/html")')/$(under 5)" = "3/true/1"
datastore forever tempo 'type: http' 'http:' "  url: http://127.0.0.1:$fake_http/forever"
run_json forever "$data/sources/test-tempo.yaml" --datastore "$dir/forever.yaml" --var TRACE_ID=$TEMPO_ID --timeout 2s
expect forever "a body that never ends: TRACE_FAILED at the timeout, saying so" \
  test "$rc/$(field forever '.tests[0].error | test("did not answer in time")')/$(under 6)" = "3/true/1"

# ---- an unknown host ends the run at once
datastore nohost zipkin "endpoint: http://no-such-host.invalid:9411"
run_json nohost "$data/sources/test-zipkin.yaml" --datastore "$dir/nohost.yaml" --var TRACE_ID=$ZIPKIN_ID --timeout 20s
expect nohost "an unknown host ends the run at once" \
  test "$rc/$(field nohost '.tests[0].error | test("cannot resolve")')/$(under 10)" = "3/true/1"

poll_done
