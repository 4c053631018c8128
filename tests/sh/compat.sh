#!/usr/bin/env bash
# Real-world compatibility: every Test file from Tracetest's public
# repository (tests/data/tracetest-resources) runs offline on a saved trace
# with `tracecheck run --trace`: it must load and evaluate (exit 0 or 1,
# never 2 or 3) and the JSON report must hold one test with every spec the
# file declares (the count comes from the report's summary and is checked
# against the specs listed). Prints "N passed, N failed".
set -u
bin=${TRACECHECK_BIN:-build/tracecheck}
trace=tests/data/pokeshop.json
pass=0
fail=0
files=$(grep -rlE '^type:[[:space:]]*Test[[:space:]]*$' tests/data/tracetest-resources | sort)
total_specs=0
for f in $files; do
  out=$(POKEMON_APP_API_KEY=key "$bin" run "$f" --trace "$trace" --format json 2>/dev/null)
  rc=$?
  if [ $rc -gt 1 ]; then
    echo "FAIL $f: exit $rc"
    "$bin" run "$f" --trace "$trace" 2>&1 >/dev/null | head -n 5 | sed 's/^/    /'
    fail=$((fail + 1))
    continue
  fi
  listed=$(jq '[.tests[].specs[]] | length' <<<"$out" 2>/dev/null)
  summary=$(jq '.summary.specs' <<<"$out" 2>/dev/null)
  declared=$(jq '[.tests[].specs[] | select(.passed != null)] | length' <<<"$out" 2>/dev/null)
  if [ -z "$listed" ] || [ "$listed" != "$summary" ] || [ "$listed" != "$declared" ]; then
    echo "FAIL $f: report lists $listed specs, summary says $summary"
    fail=$((fail + 1))
    continue
  fi
  total_specs=$((total_specs + listed))
  echo "ok $f ($listed specs, exit $rc)"
  pass=$((pass + 1))
done
echo "# $pass Test files evaluated, $total_specs specs in the reports"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
