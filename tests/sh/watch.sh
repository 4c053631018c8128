#!/usr/bin/env bash
# `tracecheck run --watch` on a saved trace: the first report, a new report
# when the test file changes (here: an assertion made to fail, then fixed
# again by an editor-style save through a rename), none for a hidden or
# backup file beside it, and Ctrl-C (SIGINT; SIGTERM too) ends it with 130
# and no run left behind. Every wait is bounded. Prints "N passed, N failed".
set -u
bin=${TRACECHECK_BIN:-build/tracecheck}
pass=0
fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
dir=$(mktemp -d "${TMPDIR:-/tmp}/tracecheck-watch.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

mkdir -p "$dir/t"
cp tests/data/tests/pokeshop-pass.yaml "$dir/t/test.yaml"
cp tests/data/pokeshop.json "$dir/trace.json"

reports() { grep -c '^1 test: ' "$dir/out" 2>/dev/null; }
wait_reports() { # wait_reports N: until N reports are out (10 s)
  for _ in $(seq 100); do
    [ "$(reports)" -ge "$1" ] && return 0
    sleep 0.1
  done
  return 1
}

NO_COLOR=1 "$bin" run --watch "$dir/t/test.yaml" --trace "$dir/trace.json" >"$dir/out" 2>"$dir/err" &
pid=$!
if wait_reports 1 && grep -q '^1 test: 1 passed' "$dir/out"; then
  ok "the first run's report: passed"
else bad "no first report: $(tail -n 5 "$dir/out" "$dir/err")"; fi

# an edit: the assertion fails
sed -i 's/attr:http.status_code = 201/attr:http.status_code = 500/' "$dir/t/test.yaml"
if wait_reports 2 && tail -n 40 "$dir/out" | grep -q '^1 test: 0 passed, 1 failed' &&
   grep -q -- '--- run 2 (test.yaml changed) ---' "$dir/out"; then
  ok "an edit that breaks an assertion: a second report, failed"
else bad "no second report after the edit: $(tail -n 8 "$dir/out")"; fi

# files that are not worth a run: hidden, editor backups
touch "$dir/t/.test.yaml.swp" "$dir/t/test.yaml~"
sleep 0.6 # the time under test: no run may start for these (settle is 150 ms)
[ "$(reports)" = 2 ] && ok "a hidden file and an editor backup start no run" ||
  bad "a run started for a backup file ($(reports) reports)"

# an editor-style save: write a new file, rename it over the test
sed 's/attr:http.status_code = 500/attr:http.status_code = 201/' "$dir/t/test.yaml" >"$dir/t/test.yaml.new.tmp"
mv "$dir/t/test.yaml.new.tmp" "$dir/t/test.yaml"
if wait_reports 3 && tail -n 40 "$dir/out" | grep -q '^1 test: 1 passed'; then
  ok "a save by rename: a third report, passed again"
else bad "no third report after a rename: $(tail -n 8 "$dir/out")"; fi

# Ctrl-C (a background job ignores SIGINT in scripts: SIGTERM stands in)
kill -TERM "$pid"
rc=
for _ in $(seq 100); do
  kill -0 "$pid" 2>/dev/null || { wait "$pid"; rc=$?; break; }
  sleep 0.1
done
pid=
[ "$rc" = 130 ] && ok "stopped with 130" || bad "stop: exit ${rc:-still running}"
grep -q 'watching 2 folders for changes' "$dir/err" && ok "says what it watches (the test's folder and the trace's)" || bad "no watching line: $(cat "$dir/err")"

# no file to watch: usage error
"$bin" run --watch --trace "$dir/trace.json" >/dev/null 2>"$dir/err2"
rc=$?
[ $rc = 2 ] && grep -q 'no test file to watch' "$dir/err2" && ok "--watch without a test file: exit 2" ||
  bad "--watch without files: exit $rc $(cat "$dir/err2")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
