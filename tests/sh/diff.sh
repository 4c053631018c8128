#!/usr/bin/env bash
# `tracecheck diff` and `run --baseline` through the CLI: exit codes
# (0 no change of the --fail-on kinds, 1 such a change, 2 bad input),
# both formats, --help, NO_COLOR, and run --baseline twice (saved, then
# diffed) on saved traces with --trace; diff --server with two runs of a
# `tracecheck serve` on free ports (spans exported to its receiver with
# curl). Prints "N passed, N failed".
set -u
bin=${TRACECHECK_BIN:-build/tracecheck}
d=tests/data/diff
tmp=$(mktemp -d)
srv_pid=
trap '[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
check() { # check NAME WANT_RC GOT_RC [GREP_PATTERN FILE]
  if [ "$3" != "$2" ]; then bad "$1: exit $3, want $2"; return; fi
  if [ $# -ge 5 ] && ! grep -qE -- "$4" "$5"; then bad "$1: no '$4' in the output"; cat "$5"; return; fi
  ok "$1"
}

"$bin" diff "$d/shop.json" "$d/shop-ids.json" >"$tmp/o" 2>&1
check "same shape, other ids: exit 0" 0 $? "no differences" "$tmp/o"

"$bin" diff "$d/shop.json" "$d/shop-nplus1.json" >"$tmp/o" 2>&1
check "N+1: exit 1 (shape)" 1 $? "pg.query:SELECT stock \(orders, client\)  1 → 5" "$tmp/o"

"$bin" diff --fail-on attributes "$d/shop.json" "$d/shop-nplus1.json" >"$tmp/o" 2>&1
check "N+1 with --fail-on attributes: exit 0" 0 $? "1 sibling count changed" "$tmp/o"

"$bin" diff "$d/shop.json" "$d/shop-attrs.json" >"$tmp/o" 2>&1
check "attribute changes do not fail by default" 0 $? "http.response.status_code: 201 → 500" "$tmp/o"

"$bin" diff --fail-on attributes "$d/shop.json" "$d/shop-attrs.json" >"$tmp/o" 2>&1
check "attribute changes with --fail-on attributes: exit 1" 1 $? "status: unset → error" "$tmp/o"

"$bin" diff --fail-on attributes --ignore 'http.response.*' --ignore retry --ignore payment.currency \
  --ignore db.statement "$d/shop.json" "$d/shop-attrs.json" >"$tmp/o" 2>&1
check "ignored keys: only the status change is left" 1 $? "1 status change" "$tmp/o"

"$bin" diff --fail-on duration --slower 20% "$d/shop.json" "$d/shop-slow.json" >"$tmp/o" 2>&1
check "--slower 20%: exit 1" 1 $? "10.00ms → 30.00ms \(\+200%\)" "$tmp/o"

"$bin" diff --fail-on duration "$d/shop.json" "$d/shop-slow.json" >"$tmp/o" 2>&1
check "no --slower: durations not compared" 0 $? "no differences" "$tmp/o"

"$bin" diff --format json "$d/shop.json" "$d/shop-nplus1.json" >"$tmp/o.json" 2>&1
rc=$?
if [ $rc = 1 ] && jq -e '.diff.kinds == ["shape"] and .diff.count_changes[0].a == 1 and .diff.count_changes[0].b == 5
    and .a.trace_id == "0af7651916cd43dd8448eb211c80319c" and (.diff.only_in_b | length) == 4' "$tmp/o.json" >/dev/null; then
  ok "JSON: kinds, count change, trace ids"
else
  bad "JSON (exit $rc)"; head -c 2000 "$tmp/o.json"
fi

if "$bin" diff "$d/shop.json" "$d/shop-nplus1.json" | grep -q $'\033'; then bad "colour on a pipe"; else ok "no colour on a pipe"; fi

"$bin" diff "$d/shop.json" "$d/nope.json" >"$tmp/o" 2>&1
check "missing file: exit 2" 2 $? "nope.json" "$tmp/o"

"$bin" diff "$d/shop.json" 42 >"$tmp/o" 2>&1
check "a run id without a server: exit 2" 2 $? "needs --server" "$tmp/o"

printf '{"resourceSpans": [' >"$tmp/bad.json"
"$bin" diff "$d/shop.json" "$tmp/bad.json" >"$tmp/o" 2>&1
check "broken JSON: exit 2 with FILE:LINE:COL" 2 $? "bad.json:1:[0-9]+:" "$tmp/o"

cat "$d/shop.json" "$d/shop-ids.json" | jq -s '{resourceSpans: (.[0].resourceSpans + .[1].resourceSpans)}' >"$tmp/two.json"
"$bin" diff "$d/shop.json" "$tmp/two.json" >"$tmp/o" 2>&1
check "two traces in one file: exit 2" 2 $? "holds 2 traces" "$tmp/o"

"$bin" diff --slower fast "$d/shop.json" "$d/shop.json" >"$tmp/o" 2>&1
check "bad --slower: exit 2" 2 $? "--slower wants a percentage" "$tmp/o"

"$bin" diff --fail-on everything "$d/shop.json" "$d/shop.json" >"$tmp/o" 2>&1
check "bad --fail-on: exit 2" 2 $? "--fail-on wants" "$tmp/o"

"$bin" diff --help >"$tmp/o" 2>&1
check "--help" 0 $? "Usage: tracecheck diff" "$tmp/o"

"$bin" diff "$d/bad-cycle.json" "$d/bad-orphans.json" >"$tmp/o" 2>&1
check "a cycle against orphans: a result, exit 1" 1 $? "only in A" "$tmp/o"

# run --baseline: saved the first time, diffed afterwards
mkdir "$tmp/bl"
run() { "$bin" run "$d/shop-test.yaml" --baseline "$tmp/bl" "$@"; }
run --trace "$d/shop.json" >"$tmp/o" 2>&1
check "baseline: saved the first time" 0 $? "baseline saved: .*shop-order.json" "$tmp/o"
if jq -e '.resourceSpans | length > 0' "$tmp/bl/shop-order.json" >/dev/null 2>&1 && ! ls "$tmp/bl" | grep -q tmp; then
  ok "baseline: an OTLP JSON file, no temporary left"
else
  bad "baseline file"; ls -la "$tmp/bl"
fi
cp "$tmp/bl/shop-order.json" "$tmp/first.json"
run --trace "$d/shop-ids.json" >"$tmp/o" 2>&1
check "baseline: the same shape again" 0 $? "shop-order.json: no differences" "$tmp/o"
run --trace "$d/shop-nplus1.json" >"$tmp/o" 2>&1
check "baseline: an N+1 is reported, not failed without --fail-on-diff" 0 $? "1 → 5" "$tmp/o"
run --trace "$d/shop-nplus1.json" --fail-on-diff shape --junit "$tmp/j.xml" >"$tmp/o" 2>&1
check "baseline: --fail-on-diff shape fails the test" 1 $? "1 test: 0 passed, 1 failed" "$tmp/o"
check "baseline: a JUnit testsuite of its own, failed" 1 1 \
  '<testsuite name="Create an order: baseline" tests="1" failures="1"' "$tmp/j.xml"
run --trace "$d/shop-attrs.json" --fail-on-diff shape >"$tmp/o" 2>&1
check "baseline: attribute changes pass --fail-on-diff shape" 0 $? "differences" "$tmp/o"
if cmp -s "$tmp/bl/shop-order.json" "$tmp/first.json"; then ok "baseline: not overwritten"; else bad "baseline overwritten"; fi
run --trace "$d/shop-attrs.json" --fail-on-diff attributes --format json >"$tmp/o.json" 2>/dev/null
rc=$?
if [ $rc = 1 ] && jq -e '.tests[0].passed == false and .tests[0].baseline.diff.kinds == ["attributes"]
    and (.tests[0].baseline.file | endswith("shop-order.json")) and .summary.failed == 1' "$tmp/o.json" >/dev/null; then
  ok "baseline: the JSON report's baseline object"
else
  bad "baseline JSON (exit $rc)"; head -c 2000 "$tmp/o.json"
fi
printf 'not a trace' >"$tmp/bl/shop-order.json"
run --trace "$d/shop.json" >"$tmp/o" 2>&1
check "baseline: an unreadable baseline fails the test" 1 $? "baseline .*shop-order.json: " "$tmp/o"
run --trace "$d/shop.json" --baseline "$tmp/none" >"$tmp/o" 2>&1
check "baseline: not a directory: exit 2" 2 $? "is not a directory" "$tmp/o"
run --trace "$d/shop.json" --fail-on-diff sometimes >"$tmp/o" 2>&1
check "baseline: bad --fail-on-diff: exit 2" 2 $? "--fail-on-diff wants" "$tmp/o"

# diff --server: two runs a tracecheck server keeps, by run id
. "$(dirname "$0")/lib/ports.sh"
srv_pid=
for try in 1 2 3; do
  API=127.0.0.1:$(free_port) HTTP=127.0.0.1:$(free_port) GRPC=127.0.0.1:$(free_port)
  "$bin" serve --listen "$API" --otlp-http "$HTTP" --otlp-grpc "$GRPC" --db "$tmp/runs.db" >"$tmp/serve.out" 2>"$tmp/serve.err" &
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
if [ "$up" = 1 ]; then
  server_run() { # server_run FIXTURE: export it under a new trace id, run the test on the server, print the run id
    local tid
    tid=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
    jq --arg t "$tid" '(.resourceSpans[].scopeSpans[].spans[].traceId) = $t' "$d/$1" >"$tmp/send.json"
    curl -sf -o /dev/null --max-time 5 -H 'Content-Type: application/json' --data-binary @"$tmp/send.json" \
      "http://$HTTP/v1/traces" || return 1
    timeout 60 "$bin" run --server "http://$API" "$d/shop-test.yaml" --var TRACE_ID="$tid" >/dev/null 2>&1 || return 1
    curl -sf --max-time 5 "http://$API/api/runs" | jq -r --arg t "$tid" '[.. | objects | select(.trace_id? == $t) | .id][0]'
  }
  r1=$(server_run shop.json) r2=$(server_run shop-nplus1.json)
  timeout 60 "$bin" diff --server "http://$API" "$r1" "$r2" >"$tmp/o" 2>&1
  check "diff --server RUN RUN ($r1, $r2): the N+1, exit 1" 1 $? "1 → 5" "$tmp/o"
  TRACECHECK_SERVER=http://$API timeout 60 "$bin" diff "$r1" "$d/shop.json" >"$tmp/o" 2>&1
  check "TRACECHECK_SERVER: a run id against a file" 0 $? "no differences" "$tmp/o"
  TRACECHECK_SERVER=http://$API timeout 60 "$bin" diff "$r1" 999999 >"$tmp/o" 2>&1
  check "an unknown run id: exit 2" 2 $? "999999" "$tmp/o"
  kill "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null
  diff_closed=127.0.0.1:$(free_port)
  timeout 60 "$bin" diff --server "http://$diff_closed" 1 2 >"$tmp/o" 2>&1
  check "a server that cannot be reached: exit 3" 3 $? "cannot reach the server" "$tmp/o"
else
  bad "tracecheck serve did not start"; cat "$tmp/serve.err"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
