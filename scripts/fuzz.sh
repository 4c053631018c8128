#!/usr/bin/env bash
# Runs every libFuzzer harness in dir $1 for $2 seconds each, starting from
# its seed corpus (fuzz/corpus/NAME, copied so the repo is not modified).
# Prints "N passed, N failed" (one per harness); a crash fails.
set -u
dir=${1:-build-fuzz/fuzz}
secs=${2:-20}
pass=0; fail=0
export LSAN_OPTIONS="suppressions=$PWD/.lsan-suppressions${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
for h in "$dir"/*; do
  [ -x "$h" ] || continue
  n=$(basename "$h")
  work=$(mktemp -d)
  cp -r fuzz/corpus/"$n"/. "$work"/ 2>/dev/null || true
  echo "== fuzz $n (${secs}s)"
  if "$h" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
       -print_final_stats=0 "$work" >"$work.log" 2>&1; then
    pass=$((pass + 1)); tail -n 1 "$work.log"
  else
    fail=$((fail + 1)); tail -n 40 "$work.log"
  fi
  rm -rf "$work" "$work.log"
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
