#!/usr/bin/env bash
# `tracecheck lint` and the analyzer in `tracecheck run`: exit codes (0 the
# gate passed, 1 it failed, 2 bad input), the three output formats (JSON
# parsed with jq, JUnit checked as XML with python), Tracetest's Analyzer
# file, --min-score, located errors for a bad Analyzer, the gate joining a
# run's result (on a saved trace, and live: spans exported to the built-in
# receiver on 127.0.0.1, every wait bounded), and a 200,000-span trace with
# an N+1 loop linted within a memory bound. Prints "N passed, N failed".
set -u
bin=${TRACECHECK_BIN:-build/tracecheck}
data=tests/data/lint
fixture=tests/data/tracetest-resources/testing/cli-e2etest/testscenarios/analyzer/resources/new-analyzer.yaml
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() { # name, condition (a command)
  local name=$1
  shift
  if "$@"; then pass=$((pass + 1)); echo "ok $name"; else fail=$((fail + 1)); echo "FAIL $name"; fi
}

run() { # runs tracecheck, keeping stdout, stderr and the exit status
  "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
}

run lint --help
check "help names the options and exit codes" eval '[ $rc -eq 0 ] && grep -q -- "--analyzer FILE" "$tmp/out" && grep -q "Exit status" "$tmp/out"'

run lint "$data/good-new.json"
check "a clean trace passes: exit 0, score 100" eval '[ $rc -eq 0 ] && grep -q "score 100/100" "$tmp/out"'

run lint "$data/api-key.json" --min-score 90
check "a score under --min-score: exit 1 with the reason" eval '[ $rc -eq 1 ] && grep -q "is under the minimum 90" "$tmp/out"'

run lint "$data/api-key.json"
check "findings point at a span by name, service and id" \
  eval 'grep -q "GET /a  api 3000000000000001" "$tmp/out" && grep -q "carries a credential" "$tmp/out"'
check "no colour when stdout is not a terminal" eval '! grep -q $'"'"'\033'"'"' "$tmp/out"'

run lint --format json "$data/api-key.json" "$data/good-new.json"
check "JSON: one object per trace, parseable" eval '[ $rc -eq 0 ] && [ "$(jq ".traces | length" "$tmp/out")" = 2 ]'
check "JSON: the rule's findings with span ids" \
  eval '[ "$(jq -r ".traces[0].analyzer.plugins[] | select(.id==\"security\") | .rules[] | select(.id==\"no-api-key-leak\") | .results[0].span_id" "$tmp/out")" = 3000000000000001 ]'

run lint --format junit --min-score 100 "$data/api-key.json"
check "JUnit: well-formed, the failing rule a <failure>" eval '[ $rc -eq 1 ] && python3 -c "
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
cases = {c.get(\"name\"): c for c in root.iter(\"testcase\")}
assert cases[\"security/no-api-key-leak\"].find(\"failure\") is not None
assert cases[\"common/prefer-dns\"].find(\"failure\") is None
assert cases[\"analyzer score\"].find(\"failure\") is not None
assert int(root.get(\"failures\")) == sum(1 for c in root.iter(\"failure\"))
" "$tmp/out"'

run lint --analyzer "$fixture" tests/data/pokeshop.json
check "Tracetest's Analyzer file: score 83 under its minimum 95, exit 1" \
  eval '[ $rc -eq 1 ] && grep -q "score 83/100 (minimum 95)" "$tmp/out" && ! grep -q "structure" "$tmp/out"'

run lint --analyzer "$fixture" --min-score 80 tests/data/pokeshop.json
check "--min-score beats the file's minimumScore" eval '[ $rc -eq 0 ]'

printf 'type: Analyzer\nspec:\n  name: a\n  plugins:\n    - id: security\n      rules:\n        - id: no-api-key-leak\n          errorLevel: loud\n' >"$tmp/bad.yaml"
run lint --analyzer "$tmp/bad.yaml" "$data/good-new.json"
check "a bad Analyzer: exit 2, FILE:LINE:COL" eval '[ $rc -eq 2 ] && grep -q "bad.yaml:8:23: .*unknown level \"loud\"" "$tmp/err"'

run lint "$tmp/none.json"
check "a missing trace file: exit 2" eval '[ $rc -eq 2 ]'
run lint --format xml "$data/good-new.json"
check "a bad --format: exit 2" eval '[ $rc -eq 2 ]'
run lint --trace-id 00000000000000000000000000000001 "$data/good-new.json"
check "a --trace-id not in the files: exit 2" eval '[ $rc -eq 2 ]'

run lint "$data/cycle.json" "$data/missing-parent.json" "$data/duplicate-ids.json"
check "cycles, missing parents, duplicate ids: a result for each trace" \
  eval '[ $rc -eq 0 ] && grep -q "3 traces: 3 passed" "$tmp/out" && grep -q "parent chain is a cycle" "$tmp/out"'

# the analyzer in a run: the gate decides with the specs
cat >"$tmp/test.yaml" <<'EOF'
type: Test
spec:
  id: keys
  name: keys
  trigger:
    type: traceid
    traceid:
      id: d17c0692f5a1644bfef3d7506d52020c
  specs:
    - selector: span[name="GET /a"]
      assertions:
        - attr:tracetest.span.duration < 1s
EOF
cat >"$tmp/analyzer.yaml" <<'EOF'
type: Analyzer
spec:
  name: gate
  enabled: true
  minimumScore: 0
  plugins:
    - id: security
      required: true
EOF
run run --trace "$data/api-key.json" "$tmp/test.yaml"
check "a run without an Analyzer: specs pass, exit 0" eval '[ $rc -eq 0 ] && ! grep -q analyzer "$tmp/out"'
run run --trace "$data/api-key.json" "$tmp/test.yaml" "$tmp/analyzer.yaml"
check "a required plugin failing fails the run: exit 1" \
  eval '[ $rc -eq 1 ] && grep -q "required analyzer plugin \"security\" failed" "$tmp/out"'
run run --trace "$data/api-key.json" "$tmp/test.yaml" "$tmp/analyzer.yaml" --format json
check "the run's JSON report carries the analyzer" \
  eval '[ "$(jq ".tests[0].analyzer.passed, .tests[0].passed, .summary.failed" "$tmp/out" | tr "\n" " ")" = "false false 1 " ]'
run run --trace "$data/api-key.json" "$tmp/test.yaml" "$tmp/analyzer.yaml" --junit "$tmp/run.xml"
check "the run's JUnit report has the analyzer suite" \
  eval 'grep -q "keys: analyzer" "$tmp/run.xml" && python3 -c "import sys, xml.etree.ElementTree as ET; ET.parse(sys.argv[1])" "$tmp/run.xml"'
sed 's/enabled: true/enabled: false/' "$tmp/analyzer.yaml" >"$tmp/off.yaml"
run run --trace "$data/api-key.json" "$tmp/test.yaml" "$tmp/off.yaml"
check "a disabled Analyzer is not run" eval '[ $rc -eq 0 ] && ! grep -q analyzer "$tmp/out"'

# a live run: the trace exported to the built-in receiver in pieces, then analysed
. "$(dirname "$0")/lib/ports.sh"
HTTP=127.0.0.1:$(free_port)
GRPC=127.0.0.1:$(free_port)
live_run() { # analyzer file: runs by-trace-id.yaml live, exporting its 3 spans in pieces
  local tid part
  tid=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  for part in child middle root; do
    sed "s/TRACE_ID/$tid/" "tests/data/live/part-$part.json" >"$tmp/$part.json"
  done
  "$bin" run tests/data/live/by-trace-id.yaml "$1" --var TRACE_ID="$tid" \
    --otlp-http $HTTP --otlp-grpc $GRPC --timeout 10s --format json >"$tmp/live.json" 2>"$tmp/live.err" &
  local pid=$!
  sent=0
  for _ in $(seq 100); do # until the receiver answers (bounded: 10 s)
    if curl -sf -o /dev/null -H 'Content-Type: application/json' --data-binary @"$tmp/child.json" \
      "http://$HTTP/v1/traces"; then sent=1; break; fi
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
  done
  for part in middle root; do
    curl -sf -o /dev/null -H 'Content-Type: application/json' --data-binary @"$tmp/$part.json" \
      "http://$HTTP/v1/traces" || sent=0
  done
  wait $pid
  rc=$?
  live_passed=$(jq ".tests[0].passed" "$tmp/live.json" 2>/dev/null)
  live_gate=$(jq ".tests[0].analyzer.passed" "$tmp/live.json" 2>/dev/null)
  live_spans=$(jq ".tests[0].analyzer.spans" "$tmp/live.json" 2>/dev/null)
  live_specs=$(jq "[.tests[0].specs[].passed] | all" "$tmp/live.json" 2>/dev/null)
  echo "# live run: sent=$sent exit=$rc passed=$live_passed gate=$live_gate spans=$live_spans specs=$live_specs"
}
cat >"$tmp/live-analyzer.yaml" <<'EOF2'
type: Analyzer
spec:
  name: live gate
  minimumScore: 100
  plugins:
    - id: security
    - id: structure
      rules:
        - id: missing-parent
        - id: server-root
          errorLevel: error
EOF2
live_run "$tmp/live-analyzer.yaml"
check "a live run carries the analyzer: the 3 spans analysed, gate and specs pass, exit 0" \
  eval '[ "$sent" = 1 ] && [ "$live_spans" = 3 ] && [ "$live_specs" = true ] && [ "$live_gate" = true ] &&
        [ "$live_passed" = true ] && [ "$rc" = 0 ]'
printf 'type: Analyzer\nspec:\n  name: strict\n  minimumScore: 100\n  plugins:\n    - id: standards\n' >"$tmp/strict.yaml"
live_run "$tmp/strict.yaml"
check "a live run whose trace fails the gate (a db span misnamed: 75 < 100) fails with its specs passing: exit 1" \
  eval '[ "$sent" = 1 ] && [ "$live_specs" = true ] && [ "$live_gate" = false ] && [ "$live_passed" = false ] &&
        [ "$rc" = 1 ] && [ "$(jq ".tests[0].analyzer.score" "$tmp/live.json")" = 75 ]'

# a large trace: 200,000 spans, 50 parents of 4,000 queries each
python3 - "$tmp/big.json" <<'EOF'
import json, sys
spans = []
T = 1700000000000000000
for p in range(50):
    pid = "%016x" % (0x100000 + p)
    spans.append('{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"%s","name":"GET /batch","kind":2,'
                 '"startTimeUnixNano":"%d","endTimeUnixNano":"%d"}' % (pid, T, T + 10**9))
    for i in range(3999):
        sid = "%016x" % (0x10000000 + p * 4000 + i)
        spans.append('{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"%s","parentSpanId":"%s",'
                     '"name":"SELECT items","kind":3,"startTimeUnixNano":"%d","endTimeUnixNano":"%d",'
                     '"attributes":[{"key":"db.system.name","value":{"stringValue":"postgresql"}},'
                     '{"key":"db.query.text","value":{"stringValue":"SELECT * FROM items WHERE id = %d"}}]}'
                     % (sid, pid, T + i, T + i + 1, i))
with open(sys.argv[1], "w") as f:
    f.write('{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"batch"}}]},'
            '"scopeSpans":[{"spans":[' + ",".join(spans) + ']}]}]}')
EOF
if command -v /usr/bin/time >/dev/null; then
  /usr/bin/time -f "%M" -o "$tmp/rss" "$bin" lint --format json "$tmp/big.json" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  rss=$(tail -n 1 "$tmp/rss")
else
  run lint --format json "$tmp/big.json"
  rss=0
fi
check "200,000 spans: 50 N+1 findings, one per parent" \
  eval '[ $rc -eq 0 ] && [ "$(jq ".traces[0].analyzer.plugins[] | select(.id==\"structure\") | .rules[] | select(.id==\"n-plus-one\") | .findings" "$tmp/out")" = 50 ]'
echo "# 200,000-span lint: max RSS ${rss} KiB"
check "200,000 spans: memory bounded (under 1 GiB)" eval '[ "$rss" -lt 1048576 ]'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
