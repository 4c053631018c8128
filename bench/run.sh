#!/usr/bin/env bash
# Runs every benchmark binary built in $1/bench and prints its table.
set -eu
B=${1:-build}
for b in "$B"/bench/*; do
  [ -x "$b" ] || continue
  echo "## $(basename "$b")"
  "$b"
  echo
done
for s in bench/*.sh; do
  [ -f "$s" ] || continue
  echo "## $(basename "$s" .sh)"
  bash "$s" "$B"
  echo
done
