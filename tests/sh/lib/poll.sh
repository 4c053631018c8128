# poll.sh - sourced by the shell tests that run tracecheck against the fake
# backend: counters and verdicts, a DataStore file maker, a `tracecheck run`
# with a JSON report, and the fake's helpers (fake.sh). Sets $bin, $data,
# $dir (removed at exit); the caller runs `poll_setup NAME` first.
. "$(dirname "${BASH_SOURCE[0]}")/fake.sh"
pass=0
fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
poll_setup() { # poll_setup NAME: temp dir, binary, fake dependencies; cd to the repository
  bin=$(cd "$(dirname "${TRACECHECK_BIN:-build/tracecheck}")" && pwd)/$(basename "${TRACECHECK_BIN:-build/tracecheck}")
  data=$fake_root/tests/data
  dir=$(mktemp -d "${TMPDIR:-/tmp}/tracecheck-$1.XXXXXX")
  trap 'fake_stop; rm -rf "$dir"' EXIT
  fake_setup "$dir" || { bad "npm ci in demo"; echo "$pass passed, $fail failed"; exit 1; }
  cd "$fake_root" || exit 1
}
poll_done() { # the closing line and status
  fake_stop
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
datastore() { # datastore NAME TYPE LINE... : writes $dir/NAME.yaml, the LINEs under the type's block
  local name=$1 type=$2; shift 2
  { printf 'type: DataStore\nspec:\n  id: %s\n  name: %s\n  type: %s\n  %s:\n' "$name" "$name" "$type" "$type"
    for l in "$@"; do printf '    %s\n' "$l"; done; } >"$dir/$name.yaml"
}
run_json() { # run_json NAME ARGS... : tracecheck run, report in $dir/NAME.json, status in $rc, seconds in $secs
  local name=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  timeout 90 "$bin" run "$@" --format json >"$dir/$name.json" 2>"$dir/$name.err"
  rc=$?
  t1=$(date +%s.%N)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}
under() { awk -v s="$secs" -v n="$1" 'BEGIN { print (s < n) ? 1 : 0 }'; } # under N: 1 when the last run took < N s
hexbin() { printf '%b' "$(sed 's/../\\x&/g' <<<"$1")"; }                # hexbin HEX: the bytes
field() { jq -r "$2" "$dir/$1.json" 2>/dev/null; }
expect() { # expect NAME WHAT TEST-COMMAND... : ok when the command succeeds, else the report
  local name=$1 what=$2; shift 2
  if "$@"; then ok "$name: $what"; else
    bad "$name: $what"
    echo "  exit $rc; report: $(head -c 1500 "$dir/$name.json" 2>/dev/null)"
    head -c 600 "$dir/$name.err" 2>/dev/null
  fi
}
