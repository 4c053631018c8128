#!/usr/bin/env bash
# Runs every test against the binaries in build dir $1 and prints one
# closing line "N passed, N failed". Exit 0 only when nothing failed.
#   - data-driven cases:   tests/cases/*.test through the case driver
#   - unit tests (cmocka): build/tests/unit/*, TAP output, one line a test
#   - fuzz corpora:        every harness replays its corpus (fuzz/corpus/NAME)
#   - shell tests:         tests/sh/*.sh (each prints "N passed, N failed")
set -u
B=${1:-build}
export TRACECHECK_BIN="$PWD/$B/tracecheck"
export TC_DATA="$PWD/tests/data"
# leaks inside libraries we cannot fix (see the file) are not ours
export LSAN_OPTIONS="suppressions=$PWD/.lsan-suppressions${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
pass=0
fail=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

count_plain() { # reads "N passed, N failed" from $log
  local line p f
  line=$(grep -E '^([A-Za-z_-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  if [ -z "$line" ]; then fail=$((fail + 1)); echo "  (no summary line: counted as a failure)"; return; fi
  p=$(sed -E 's/^([A-Za-z_-]+: )?([0-9]+) passed.*/\2/' <<<"$line")
  f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
  pass=$((pass + p)); fail=$((fail + f))
}

cases=$(ls tests/cases/*.test 2>/dev/null)
if [ -n "$cases" ]; then
  echo "== cases"
  "$B/tests/casedriver" $cases >"$log" 2>&1
  rc=$?
  grep -v '^ok ' "$log"
  count_plain
  [ $rc -gt 1 ] && fail=$((fail + 1))
fi

for t in "$B"/tests/unit/*_test; do
  [ -x "$t" ] || continue
  echo "== unit $(basename "$t")"
  CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$log" 2>&1
  rc=$?
  p=$(grep -c '^ok ' "$log"); f=$(grep -c '^not ok ' "$log")
  grep -E '^not ok|^#' "$log"
  pass=$((pass + p)); fail=$((fail + f))
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then echo "  exited $rc"; fail=$((fail + 1)); fi
  echo "  $p passed, $f failed"
done

for r in "$B"/fuzz-replay/*; do
  [ -x "$r" ] || continue
  n=$(basename "$r")
  echo "== fuzz corpus $n"
  "$r" fuzz/corpus/"$n" >"$log" 2>&1
  cat "$log" | tail -n 3
  count_plain
done

for s in tests/sh/*.sh; do
  [ -f "$s" ] || continue
  echo "== $(basename "$s")"
  B="$B" bash "$s" >"$log" 2>&1
  rc=$?
  grep -vE '^ok ' "$log"
  count_plain
  [ $rc -ne 0 ] && grep -qE ' 0 failed' "$log" && { echo "  exited $rc"; fail=$((fail + 1)); }
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
