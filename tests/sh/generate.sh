#!/usr/bin/env bash
# tracecheck generate, proved by running what it writes: a test generated
# from every trace of every fixture under tests/data (each trace of a file
# with several, chosen with --trace-id), the demo's recorded traces among
# them (tests/data/generate/demo-*.json), passes on its own trace with
# `tracecheck run --trace`; it fails (exit 1) on broken copies of a trace
# (a status code changed, a database span missing, an error cleared) and
# on the demo's declined payment; bad input (parent cycles, missing
# parents, duplicate ids) gives a test that passes, and a 1,000,000-span
# trace a clear error (exit 2) in bounded memory. Prints "N passed, N failed".
set -u
bin=$(cd "$(dirname "${TRACECHECK_BIN:-build/tracecheck}")" && pwd)/$(basename "${TRACECHECK_BIN:-build/tracecheck}")
data=tests/data
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export NO_COLOR=1
pass=0
fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

# gen_run LABEL TRACEFILE [generate options...]: generate, then run on the trace; sets rc_gen, rc_run
gen_run() {
  local label=$1 file=$2; shift 2
  "$bin" generate "$@" -o "$work/test.yaml" "$file" >"$work/gen.out" 2>"$work/gen.err"
  rc_gen=$?
  rc_run=-1
  [ $rc_gen = 0 ] || return
  "$bin" run --trace "$file" "$work/test.yaml" >"$work/run.out" 2>&1
  rc_run=$?
}

# 1. every trace of every fixture
n_traces=0
while IFS= read -r f; do
  ids=$("$bin" inspect --format json "$f" 2>/dev/null | jq -r '.traces[].trace_id' 2>/dev/null) || continue
  [ -n "$ids" ] || continue
  count=$(wc -w <<<"$ids")
  for id in $ids; do
    opts=()
    # with several traces the test must name its trace: a traceid trigger
    [ "$count" -gt 1 ] && opts=(--trace-id "$id" --trigger traceid)
    gen_run "$f" "$f" "${opts[@]}"
    n_traces=$((n_traces + 1))
    specs=$(grep -c '^    - name:' "$work/test.yaml" 2>/dev/null)
    if [ $rc_gen = 0 ] && [ $rc_run = 0 ] && [ "${specs:-0}" -ge 1 ]; then
      ok "$f $id: $specs specs pass on their trace"
    else
      bad "$f $id: generate exit $rc_gen, run exit $rc_run"
      cat "$work/gen.err" "$work/run.out" 2>/dev/null | head -30
    fi
  done
done < <(find "$data" -type f \( -name '*.json' -o -name '*.pb' -o -name '*.gz' -o -name '*.grpc-frame' \) \
           ! -path '*/tracetest-resources/*' ! -path '*/bad/*' | LC_ALL=C sort)
[ $n_traces -ge 40 ] && ok "$n_traces traces generated from" || bad "only $n_traces traces found under $data"

# 2. broken copies fail: the test generated from the demo's create-order trace
co=$data/generate/demo-create-order.json
"$bin" generate -o "$work/co.yaml" "$co" 2>"$work/gen.err" || bad "generate $co: $(cat "$work/gen.err")"
grep -q 'type: http' "$work/co.yaml" && grep -q 'url: http://127.0.0.1:' "$work/co.yaml" &&
  ok "create-order: the trigger is the entry span's HTTP request" || bad "create-order: no http trigger"
broken() { # broken LABEL JQ-FILTER: the create-order test on a changed copy exits 1
  local label=$1
  jq "$2" "$co" >"$work/broken.json"
  "$bin" run --trace "$work/broken.json" "$work/co.yaml" --format json >"$work/broken.out" 2>"$work/broken.err"
  local rc=$? failed
  failed=$(jq -r '[.tests[0].specs[] | select(.passed != true) | .name] | join(", ")' "$work/broken.out" 2>/dev/null)
  if [ $rc = 1 ] && [ -n "$failed" ]; then ok "$label: exit 1 ($failed)"; else bad "$label: exit $rc"; cat "$work/broken.err"; fi
}
broken "status code changed" \
  '(.resourceSpans[].scopeSpans[].spans[] | select(.name == "POST /orders" and .kind == 2) | .attributes[]
    | select(.key == "http.response.status_code") | .value) = {"intValue": "500"}'
broken "database span missing" \
  '.resourceSpans[].scopeSpans[].spans |= map(select(.name != "pg.query:INSERT orders"))'
broken "an outgoing call became an error" \
  '(.resourceSpans[].scopeSpans[].spans[] | select(.name == "PATCH") | .status) = {"code": 2, "message": "boom"}'
broken "an extra database statement" \
  '(.resourceSpans[].scopeSpans[] | select(any(.spans[]; .name == "pg.query:UPDATE orders")) | .spans) |=
    (. + [(.[] | select(.name == "pg.query:UPDATE orders") | .spanId = "00000000000000ff")])'
# the deliberately broken demo case: the payment is declined (402, an error span)
"$bin" run --trace "$data/generate/demo-declined-payment.json" "$work/co.yaml" >"$work/declined.out" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q 'tracetest.response.status = 201' "$work/declined.out"; then
  ok "create-order test on the declined payment: exit 1, the response status"
else
  bad "create-order test on the declined payment: exit $rc"; head -20 "$work/declined.out"
fi
# and the test from the Pokeshop trace fails when its error is gone
"$bin" generate -o "$work/poke.yaml" "$data/pokeshop.json" 2>/dev/null
jq '(.resourceSpans[].scopeSpans[].spans[] | select(.name == "Update pokemon on database") | .status) = {}' \
  "$data/pokeshop.json" >"$work/poke.json"
"$bin" run --trace "$work/poke.json" "$work/poke.yaml" >"$work/poke.out" 2>&1
rc=$?
[ $rc = 1 ] && ok "pokeshop test without its error span: exit 1" || bad "pokeshop test without its error: exit $rc"

# 3. the YAML written to a file is the YAML written to standard output
"$bin" generate "$data/pokeshop.json" >"$work/stdout.yaml" 2>/dev/null
cmp -s "$work/stdout.yaml" "$work/poke.yaml" && ok "-o FILE and standard output agree" || bad "-o FILE differs from stdout"

# 4. a 1,000,000-span trace: a clear error, bounded memory, no crash
awk -v n=1000000 'BEGIN {
  printf "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{\"stringValue\":\"big\"}}]},\"scopeSpans\":[{\"spans\":[";
  for (i = 1; i <= n; i++) {
    printf "%s{\"traceId\":\"0123456789abcdef0123456789abcdef\",\"spanId\":\"%016x\"", (i > 1 ? "," : ""), i;
    if (i > 1) printf ",\"parentSpanId\":\"%016x\"", i - 1;
    printf ",\"name\":\"s%d\",\"kind\":3,\"startTimeUnixNano\":\"%d\",\"endTimeUnixNano\":\"%d\"}", i % 100, 1000 + i, 2000 + i;
  }
  print "]}]}]}" }' >"$work/big.json"
if [ -x /usr/bin/time ]; then
  /usr/bin/time -f '%M' -o "$work/rss" "$bin" generate "$work/big.json" >"$work/big.out" 2>"$work/big.err"
  rc=$?
  rss=$(tail -n 1 "$work/rss")
else
  "$bin" generate "$work/big.json" >"$work/big.out" 2>"$work/big.err"
  rc=$?
  rss=0
fi
if [ $rc = 2 ] && grep -q 'the trace has 1000000 spans; generate reads at most 100000' "$work/big.err" &&
   [ ! -s "$work/big.out" ] && [ "${rss:-0}" -lt 2097152 ]; then
  ok "1,000,000 spans: exit 2, $(cat "$work/big.err"), ${rss} KB at most"
else
  bad "1,000,000 spans: exit $rc, rss ${rss} KB"; head -5 "$work/big.err"
fi
rm -f "$work/big.json"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
