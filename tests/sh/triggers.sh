#!/usr/bin/env bash
# `tracecheck run` with the gRPC and GraphQL triggers, end to end: the
# trigger calls the system (tests/grpc/server.js: Tracetest's Pokeshop gRPC
# API; the fake backend's /graphql), the trace is read from the fake
# backend (a templated Zipkin trace for the run's own trace id), and specs
# assert on the trigger span's response (gRPC status and JSON body; the
# GraphQL answer, an "errors" array included) beside the backend's spans; a
# .proto that does not parse ends TRIGGER_FAILED with its place; Kafka
# brokers that cannot be reached end it within the timeout. On
# 127.0.0.1, bounded in time. Prints "N passed, N failed".
set -u
. "$(dirname "$0")/lib/poll.sh"
. "$(dirname "$0")/lib/ports.sh"
poll_setup triggers
api=$data/tracetest-resources/testing/cli-e2etest/testscenarios/test/resources/api.proto

# the gRPC server: "port N" on stdout when ready, exits when its stdin closes
mkfifo "$dir/grpc.in"
node tests/grpc/server.js <"$dir/grpc.in" >"$dir/grpc.out" 2>"$dir/grpc.err" &
gpid=$!
exec 7>"$dir/grpc.in"
trap 'exec 7>&-; kill $gpid 2>/dev/null; fake_stop; rm -rf "$dir"' EXIT
for _ in $(seq 100); do grep -q '^port ' "$dir/grpc.out" && break; sleep 0.1; done
gport=$(sed -n 's/^port //p' "$dir/grpc.out")
[ -n "$gport" ] || { bad "the gRPC test server did not start"; cat "$dir/grpc.err"; }

cat >"$dir/s.json" <<JSON
{"max_seconds": 120, "routes": [
  {"method": "POST", "path": "/graphql", "responses": [
    {"body": "{\"data\":{\"order\":null},\"errors\":[{\"message\":\"order o-404 not found\"}]}", "headers": {"content-type": "application/json"}}]},
  {"method": "GET", "path": "/api/v2/trace/{id}", "responses": [
    {"file": "$data/sources/zipkin-template.json", "template": true, "headers": {"content-type": "application/json"}}]}]}
JSON
fake_start "$dir/s.json" || bad "the fake did not start"
datastore zipkin zipkin "endpoint: http://127.0.0.1:$fake_http"
cp "$api" "$dir/api.proto"

# ---- gRPC
cat >"$dir/grpc.yaml" <<EOF2
type: Test
spec:
  id: grpc-create
  name: Create Pokemon over gRPC
  trigger:
    type: grpc
    grpc:
      protobufFile: ./api.proto
      address: 127.0.0.1:$gport
      method: pokeshop.Pokeshop.createPokemon
      request: |-
        {"name": "Pikachu", "type": "eletric", "isFeatured": true}
  specs:
  - name: The call answers OK with the pokemon
    selector: span[tracetest.span.type="general" name="Tracetest trigger"]
    assertions:
    - attr:tracetest.response.status = 0
    - attr:tracetest.response.body | json_path '\$.name' = "Pikachu"
    - attr:tracetest.run.trigger.type = "grpc"
  - name: The system's spans are there
    selector: span[name="get /hello"]
    assertions:
    - attr:tracetest.selected_spans.count = 1
EOF2
run_json grpc "$dir/grpc.yaml" --datastore "$dir/zipkin.yaml" --timeout 20s
expect grpc "FINISHED and passed: gRPC status and JSON body on the trigger span" \
  test "$rc/$(field grpc '.tests[0].state')/$(field grpc '[.tests[0].specs[].passed] | all')" = "0/FINISHED/true"

sed 's/isFeatured": true}/isFeatured": true, "color": "yellow"}/' "$dir/grpc.yaml" >"$dir/grpc-bad-request.yaml"
run_json grpc-bad-request "$dir/grpc-bad-request.yaml" --datastore "$dir/zipkin.yaml" --timeout 20s
expect grpc-bad-request "a request field the message does not have: TRIGGER_FAILED naming it" \
  test "$rc/$(field grpc-bad-request '.tests[0].state')/$(field grpc-bad-request '.tests[0].error | test("color")')" = "3/TRIGGER_FAILED/true"
printf 'syntax = "proto3";\nmessage Broken {\n  string name = 1\n}\n' >"$dir/broken.proto"
sed 's#protobufFile: ./api.proto#protobufFile: ./broken.proto#' "$dir/grpc.yaml" >"$dir/grpc-broken.yaml"
run_json grpc-broken "$dir/grpc-broken.yaml" --datastore "$dir/zipkin.yaml" --timeout 20s
expect grpc-broken "a .proto that does not parse: TRIGGER_FAILED at its line and column" \
  test "$rc/$(field grpc-broken '.tests[0].state')/$(field grpc-broken '.tests[0].error | test("broken.proto:4:1")')" = "3/TRIGGER_FAILED/true"

# ---- GraphQL: an "errors" array in a 200 answer is a response for the specs
cat >"$dir/graphql.yaml" <<EOF2
type: Test
spec:
  id: graphql-order
  name: An unknown order over GraphQL
  trigger:
    type: graphql
    graphql:
      url: http://127.0.0.1:$fake_http/graphql
      body:
        query: 'query Order(\$id: ID!) { order(id: \$id) { id status } }'
        variables:
          id: o-404
        operationName: Order
  specs:
  - name: The answer carries the GraphQL error
    selector: span[tracetest.span.type="general" name="Tracetest trigger"]
    assertions:
    - attr:tracetest.response.status = 200
    - attr:tracetest.response.body | json_path '\$.errors[0].message' = "order o-404 not found"
EOF2
run_json graphql "$dir/graphql.yaml" --datastore "$dir/zipkin.yaml" --timeout 20s
expect graphql "FINISHED and passed with the errors array" \
  test "$rc/$(field graphql '.tests[0].state')/$(field graphql '[.tests[0].specs[].passed] | all')" = "0/FINISHED/true"
expect graphql "the POST carried query, variables and operationName as JSON" \
  test "$(jq -r 'select(.path == "/graphql") | (.body_b64 | @base64d | fromjson | "\(.variables.id) \(.operationName)") + " " + .headers["content-type"]' "$fake_log")" = "o-404 Order application/json"

# ---- Kafka: brokers that cannot be reached end the run as TRIGGER_FAILED, naming them
kport=$(free_port)
cat >"$dir/kafka.yaml" <<EOF2
type: Test
spec:
  id: kafka-produce
  name: Produce an order event
  trigger:
    type: kafka
    kafka:
      brokerUrls:
        - 127.0.0.1:$kport
      topic: orders
      messageKey: o-1
      messageValue: '{"id": "o-1"}'
  specs:
  - selector: span[name="get /hello"]
    assertions:
    - attr:tracetest.selected_spans.count = 1
EOF2
run_json kafka "$dir/kafka.yaml" --datastore "$dir/zipkin.yaml" --timeout 2s
expect kafka "unreachable brokers: TRIGGER_FAILED within the timeout, naming the broker" \
  test "$rc/$(field kafka '.tests[0].state')/$(field kafka ".tests[0].error | test(\"127.0.0.1:$kport\")")/$(under 6)" = "3/TRIGGER_FAILED/true/1"

poll_done
