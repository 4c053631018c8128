#!/usr/bin/env bash
# `make bench` ends: bench/run.sh names (BENCH_LIST=1) every benchmark
# binary of the build and every bench/*.sh once, not itself, and returns.
# Prints "N passed, N failed".
set -u
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/bench"
for n in alpha beta; do printf '#!/bin/sh\necho %s\n' "$n" >"$dir/bench/$n"; chmod +x "$dir/bench/$n"; done
pass=0
fail=0
out=$(BENCH_LIST=1 timeout 10 bash bench/run.sh "$dir")
rc=$?
want=$(printf '## alpha\n## beta\n'; for s in bench/*.sh; do n=$(basename "$s" .sh); [ "$n" = run ] || echo "## $n"; done)
if [ $rc = 0 ] && [ "$out" = "$want" ]; then echo "ok bench/run.sh names each benchmark once and ends"; pass=$((pass + 1));
else echo "FAIL bench/run.sh: exit $rc, got:"; echo "$out"; fail=$((fail + 1)); fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
