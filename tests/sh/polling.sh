#!/usr/bin/env bash
# Polling Jaeger, OpenSearch, Elastic APM and AWS X-Ray (the fake backend,
# tests/fake/backend.js, serving those projects' recorded bodies): Jaeger's
# gRPC GetTrace streamed in two chunks after NOT_FOUND, its api_v3
# fallback, its HTTP API; an OpenSearch trace of 50,000 spans paged with
# search_after arrives whole; Elastic APM documents; X-Ray's BatchGetTraces
# signed with SigV4; `datastore check` hints at 16686 vs 16685.
# Everything on 127.0.0.1, bounded in time. Prints "N passed, N failed".
set -u
. "$(dirname "$0")/lib/poll.sh"
poll_setup polling

# ---- Jaeger gRPC api_v2: NOT_FOUND, then the trace streamed in two SpansResponseChunk messages
JID=00000000000000000000000000000011
cat >"$dir/jaeger-grpc.json" <<JSON
{"max_seconds": 60, "grpc": [
  {"path": "/jaeger.api_v2.QueryService/GetTrace", "stream": true, "responses": [
    {"code": 5, "message": "trace not found"},
    {"files": ["$data/jaeger-pb/example_trace.1.pb", "$data/jaeger-pb/example_trace.2.pb"], "delay_ms": 20}]}]}
JSON
fake_start "$dir/jaeger-grpc.json" || bad "the fake did not start"
datastore jaeger jaeger "endpoint: 127.0.0.1:$fake_grpc" 'tls:' '  insecure: true'
run_json jaeger-grpc "$data/sources/test-any.yaml" --datastore "$dir/jaeger.yaml" --var TRACE_ID=$JID --timeout 20s
expect jaeger-grpc "FINISHED with the 5 spans of both chunks" \
  test "$rc/$(field jaeger-grpc '.tests[0].state')/$(field jaeger-grpc '.tests[0].specs[0].selected_spans')" = "0/FINISHED/5"
expect jaeger-grpc "the GetTraceRequest carries the trace id" \
  test "$(jq -r 'select(.n == 0) | .body_b64' "$fake_log" | head -1)" = "$(printf '\x0a\x10' | cat - <(hexbin $JID) | base64 -w0)"

# ---- Jaeger v2 without api_v2: UNIMPLEMENTED, then api_v3 (OTLP chunks)
b64=$(base64 -w0 <"$data/sources/tempo-v2.pb")
cat >"$dir/jaeger-v3.json" <<JSON
{"max_seconds": 60, "grpc": [
  {"path": "/jaeger.api_v3.QueryService/GetTrace", "stream": true, "responses": [{"messages_b64": ["$b64"]}]}]}
JSON
fake_start "$dir/jaeger-v3.json" || bad "the fake did not start"
datastore jaeger3 jaeger "endpoint: 127.0.0.1:$fake_grpc"
run_json jaeger-v3 "$data/sources/test-tempo.yaml" --datastore "$dir/jaeger3.yaml" --var TRACE_ID=000000000000000060ba2abb44f13eae --timeout 20s
expect jaeger-v3 "api_v3 when api_v2 is not served: FINISHED and passed" test "$rc/$(field jaeger-v3 '.tests[0].state')" = "0/FINISHED"

# ---- Jaeger HTTP (/api/traces/{id}, the UI's JSON)
cat >"$dir/jaeger-http.json" <<JSON
{"max_seconds": 60, "routes": [{"method": "GET", "path": "/api/traces/{id}", "responses": [
  {"status": 404, "body": "{\"data\":null,\"errors\":[{\"code\":404,\"msg\":\"trace not found\"}]}"},
  {"file": "$data/jaeger-pb/example_trace.ui.json", "headers": {"content-type": "application/json"}}]}]}
JSON
fake_start "$dir/jaeger-http.json" || bad "the fake did not start"
datastore jaegerh jaeger "endpoint: http://127.0.0.1:$fake_http"
run_json jaeger-http "$data/sources/test-any.yaml" --datastore "$dir/jaegerh.yaml" --var TRACE_ID=$JID --timeout 20s
expect jaeger-http "HTTP: FINISHED with 5 spans" \
  test "$rc/$(field jaeger-http '.tests[0].state')/$(field jaeger-http '.tests[0].specs[0].selected_spans')" = "0/FINISHED/5"
# the gRPC port given as an HTTP URL and the reverse: datastore check hints
datastore wrongport jaeger "endpoint: 127.0.0.1:$fake_http"
timeout 30 "$bin" datastore check "$dir/wrongport.yaml" >"$dir/check.out" 2>&1
rc=$?
if [ $rc = 3 ] && grep -q '✘ trace query' "$dir/check.out" && grep -q 'hint: .*16685' "$dir/check.out"; then
  ok "datastore check: an HTTP port given as gRPC fails with the 16685 hint"; else bad "datastore check wrong port: exit $rc"; cat "$dir/check.out"; fi

# ---- OpenSearch: a 50,000-span trace, paged with search_after
OID=4bf92f3577b34da6a3ce929d0e0e4736
cat >"$dir/opensearch.json" <<JSON
{"max_seconds": 120, "routes": [{"method": "POST", "path": "/traces/_search",
  "opensearch_generate": {"spans": 50000, "services": 3, "trace_id": "$OID"}}]}
JSON
fake_start "$dir/opensearch.json" || bad "the fake did not start"
datastore opensearch opensearch 'addresses:' "  - http://127.0.0.1:$fake_http" 'index: traces' 'username: admin' 'password: s3cr3t-pw'
run_json opensearch "$data/sources/test-any.yaml" --datastore "$dir/opensearch.yaml" --var TRACE_ID=$OID --timeout 60s
expect opensearch "50,000 spans arrive whole: FINISHED, every span selected" \
  test "$rc/$(field opensearch '.tests[0].state')/$(field opensearch '.tests[0].specs[0].selected_spans')" = "0/FINISHED/50000"
expect opensearch "paged with search_after, basic auth on every request" \
  test "$(jq -s '[.[] | select(.headers.authorization == "Basic YWRtaW46czNjcjN0LXB3")] | length == (. | length) and ([.[] | (.body_b64 | @base64d | fromjson | has("search_after"))] | any)' "$fake_log")" = true

# ---- Elastic APM: real transaction and span documents
EID=945254c567a5417eaaaaaaaaaaaaaaaa
cat >"$dir/elastic.json" <<JSON
{"max_seconds": 60, "routes": [{"method": "POST", "prefix": "/traces-apm", "responses": [
  {"file": "$data/elasticapm/search-trace.json", "headers": {"content-type": "application/json"}}]}]}
JSON
fake_start "$dir/elastic.json" || bad "the fake did not start"
datastore elastic elasticapm 'addresses:' "  - http://127.0.0.1:$fake_http"
run_json elastic "$data/sources/test-any.yaml" --datastore "$dir/elastic.yaml" --var TRACE_ID=$EID --timeout 20s
expect elastic "FINISHED with the transaction and its spans" \
  test "$rc/$(field elastic '.tests[0].state')/$(field elastic '.tests[0].specs[0].selected_spans > 1')" = "0/FINISHED/true"

# ---- AWS X-Ray: BatchGetTraces, SigV4
XID=5d82881a0a9126e92a73e971eed891b9
cat >"$dir/xray.json" <<JSON
{"max_seconds": 60, "routes": [{"method": "POST", "path": "/Traces", "responses": [
  {"body": "{\"Traces\":[],\"UnprocessedTraceIds\":[]}"},
  {"file": "$data/xray/cli-batch-get-traces.json", "headers": {"content-type": "application/json"}}]}]}
JSON
fake_start "$dir/xray.json" || bad "the fake did not start"
datastore xray awsxray 'region: eu-west-1' 'accessKeyId: AKIDEXAMPLE' 'secretAccessKey: wJalrXUtnFEMIxK7MDENGbPxRfiCY' "endpoint: http://127.0.0.1:$fake_http"
run_json xray "$data/sources/test-any.yaml" --datastore "$dir/xray.yaml" --var TRACE_ID=$XID --timeout 20s
expect xray "FINISHED" test "$rc/$(field xray '.tests[0].state')" = "0/FINISHED"
expect xray "requests are signed with SigV4 for xray in the region, the body names the trace" \
  test "$(jq -r 'select(.n == 0) | "\(.headers.authorization | test("^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/[0-9]{8}/eu-west-1/xray/aws4_request")) \(.headers["x-amz-date"] != null) \(.body_b64 | @base64d)"' "$fake_log")" \
  = 'true true {"TraceIds":["1-5d82881a-0a9126e92a73e971eed891b9"]}'
expect xray "the secret key appears nowhere in the report" test "$(grep -c wJalrXUtnFEMIxK7MDENGbPxRfiCY "$dir/xray.json" "$dir/xray.err" | awk -F: '{s+=$2} END {print s}')" = 0

poll_done
