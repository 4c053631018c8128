#!/usr/bin/env bash
# Every DataStore file of Tracetest's public corpus (tests/data/
# tracetest-resources) loads: `tracecheck datastore show` reads it without
# connecting (exit 0), or, for a type tracecheck cannot poll, says so by
# name with what to do instead (exit 2); secrets never appear in what it
# prints. Prints "N passed, N failed".
set -u
bin=${TRACECHECK_BIN:-build/tracecheck}
corpus=${TC_DATA:-tests/data}/tracetest-resources
out=$(mktemp)
trap 'rm -f "$out"' EXIT
pass=0
fail=0
n=0
while IFS= read -r f; do
  n=$((n + 1))
  "$bin" datastore show "$f" >"$out" 2>&1
  rc=$?
  type=$(awk '/^spec:/{s=1} s&&/^  type:/{print $2; exit}' "$f")
  case "$type" in
    signalfx|sumologic|azureappinsights|instana) want=2 ;;
    *) want=0 ;;
  esac
  if [ $rc = "$want" ] && { [ "$want" = 0 ] || grep -q "$type: not supported; export to tracecheck's receiver from your collector" "$out"; } &&
    ! grep -qE 'changeme|glc_ey|Basic [A-Za-z0-9+/=]{12,}' "$out"; then
    echo "ok $f ($type)"
    pass=$((pass + 1))
  else
    echo "FAIL $f ($type): exit $rc, expected $want"
    cat "$out"
    fail=$((fail + 1))
  fi
done < <(grep -rlE '^type: *DataStore' "$corpus" | sort)
if [ "$n" -ge 52 ]; then echo "ok the corpus has $n DataStore files"; pass=$((pass + 1)); else echo "FAIL only $n DataStore files found"; fail=$((fail + 1)); fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
