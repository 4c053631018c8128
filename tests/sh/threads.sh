#!/usr/bin/env bash
# Evaluation on several threads gives the report of one thread: a trace of
# 12,000 spans (made here: three services, http and database spans, shared
# and unique attribute values) and a test of specs that pass and fail
# (selectors with descendants and pseudo-classes, durations, missing
# attributes, an empty selection) run offline with TRACECHECK_THREADS=1, 2
# and 4; the JSON reports must be identical and record the expected
# selections. Prints "N passed, N failed".
set -u
bin=${TRACECHECK_BIN:-build/tracecheck}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pass=0
fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

awk 'BEGIN {
  n = 12000; tid = "5b8efff798038103d269b633813fc60c"
  printf "{\"resourceSpans\":["
  for (s = 0; s < 3; s++) {
    printf "%s{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"svc-%d\"}}]},", s ? "," : "", s
    printf "\"scopeSpans\":[{\"scope\":{\"name\":\"lib\"},\"spans\":["
    first = 1
    for (i = s; i < n; i += 3) {
      parent = i == 0 ? "" : sprintf("%016x", i < 50 ? 1 : int(i / 7) + 1)
      start = 1000000000000000 + i * 1000 # exact in doubles
      dur = (i * 7919) % 3000000 + 1000
      printf "%s{\"traceId\":\"%s\",\"spanId\":\"%016x\"", first ? "" : ",", tid, i + 1
      if (parent != "") printf ",\"parentSpanId\":\"%s\"", parent
      if (i % 2) {
        printf ",\"name\":\"pg.query\",\"kind\":3,\"startTimeUnixNano\":\"%d\",\"endTimeUnixNano\":\"%d\"", start, start + dur
        printf ",\"attributes\":[{\"key\":\"db.system\",\"value\":{\"stringValue\":\"postgresql\"}},{\"key\":\"db.statement\",\"value\":{\"stringValue\":\"SELECT id, name FROM %s WHERE id = %d\"}}]}", i % 5 ? "orders" : "users", i
      } else {
        printf ",\"name\":\"GET /api/%d\",\"kind\":2,\"startTimeUnixNano\":\"%d\",\"endTimeUnixNano\":\"%d\"", i % 13, start, start + dur
        printf ",\"attributes\":[{\"key\":\"http.method\",\"value\":{\"stringValue\":\"GET\"}},{\"key\":\"http.status_code\",\"value\":{\"intValue\":\"%d\"}}]}", i % 17 ? 200 : 500
      }
      first = 0
    }
    printf "]}]}"
  }
  printf "]}\n"
}' >"$dir/trace.json"

cat >"$dir/test.yaml" <<'YAML'
type: Test
spec:
  id: threads
  name: threads
  trigger:
    type: traceid
    traceid:
      id: 5b8efff798038103d269b633813fc60c
  specs:
  - selector: span[tracetest.span.type="http"]
    assertions:
    - attr:http.status_code = 200
    - attr:tracetest.span.duration < 2ms
    - attr:http.method = "GET"
  - selector: span[tracetest.span.type="database"]
    assertions:
    - attr:db.statement contains "orders"
    - attr:tracetest.span.duration + 1ms >= 1500us
    - attr:missing = "x"
  - selector: span[service.name="svc-1"] span[db.system="postgresql"]:first
    assertions:
    - attr:tracetest.selected_spans.count = 1
  - selector: span[name="GET /api/3"]
    assertions:
    - attr:tracetest.span.parent_id != ""
    - attr:http.status_code >= 500
  - selector: span[name="nothing"]
    assertions:
    - attr:tracetest.selected_spans.count = 0
YAML

for t in 1 2 4; do
  TRACECHECK_THREADS=$t "$bin" run "$dir/test.yaml" --trace "$dir/trace.json" --format json >"$dir/raw.$t.json" 2>"$dir/err.$t"
  echo $? >"$dir/rc.$t"
  jq 'del(.. | .duration_ms?)' "$dir/raw.$t.json" >"$dir/report.$t.json" 2>/dev/null # the one field that varies
done
if [ "$(cat "$dir/rc.1")" = 1 ]; then ok "one thread: exit 1 (specs fail)"; else bad "one thread: exit $(cat "$dir/rc.1")"; cat "$dir/err.1"; fi
for t in 2 4; do
  if [ "$(cat "$dir/rc.$t")" = "$(cat "$dir/rc.1")" ] && cmp -s "$dir/report.1.json" "$dir/report.$t.json"; then
    ok "$t threads: the same report"
  else
    bad "$t threads: the report differs (exit $(cat "$dir/rc.$t"))"
    diff "$dir/report.1.json" "$dir/report.$t.json" | head -n 10 | cut -c 1-200
  fi
done
# what the trace was made with: 6000 http and 6000 database spans, 461 named
# "GET /api/3" (even i with i % 13 = 3), nothing named "nothing" (one empty entry)
sel=$(jq -c '[.tests[0].specs[] | .spans | length] | [.[0], .[1], .[3], .[4], (.[2] > 0)]' "$dir/report.1.json" 2>/dev/null)
if [ "$sel" = "[6000,6000,461,1,true]" ]; then ok "selections: $sel"; else bad "selections: $sel"; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
