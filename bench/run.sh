#!/usr/bin/env bash
# Runs every benchmark binary in build dir $1 (bench/*.c builds to $1/bench/).
set -u
B=${1:-build}
rc=0
for b in "$B"/bench/*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b" || rc=1
done
exit $rc
