# fake.sh - sourced by the shell tests that poll a fake trace backend
# (tests/fake/backend.js): installs the demo's Node dependencies when they
# are missing (the fake takes @grpc/grpc-js from them), starts the fake on a
# script and waits (bounded) for its ports, stops it.
#   fake_setup DIR      once, before the first fake_start (returns 1 on failure)
#   fake_start SCRIPT   sets $fake_http, $fake_grpc, $fake_https, $fake_log
#   fake_stop
fake_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
fake_pid=
fake_setup() {
  fake_dir=$1
  local demo=$fake_root/demo
  if [ ! -d "$demo/node_modules" ] || [ "$demo/package-lock.json" -nt "$demo/node_modules" ]; then
    (cd "$demo" && timeout 600 npm ci --no-audit --no-fund --loglevel=error >"$fake_dir/npm.log" 2>&1) ||
      { cat "$fake_dir/npm.log"; return 1; }
    touch "$demo/node_modules"
  fi
}
fake_start() {
  fake_stop
  local script=$1
  fake_log=$fake_dir/requests.jsonl
  rm -f "$fake_dir/ports" "$fake_log"
  node "$fake_root/tests/fake/backend.js" "$script" --log "$fake_log" --ready "$fake_dir/ports" \
    >"$fake_dir/fake.out" 2>"$fake_dir/fake.err" &
  fake_pid=$!
  for _ in $(seq 100); do [ -s "$fake_dir/ports" ] && break; sleep 0.1; done
  if [ ! -s "$fake_dir/ports" ]; then cat "$fake_dir/fake.err"; return 1; fi
  fake_http=$(jq -r .http "$fake_dir/ports")
  fake_grpc=$(jq -r .grpc "$fake_dir/ports")
  fake_https=$(jq -r .https "$fake_dir/ports")
}
fake_stop() {
  [ -n "$fake_pid" ] || return 0
  kill -TERM "$fake_pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$fake_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$fake_pid" 2>/dev/null
  wait "$fake_pid" 2>/dev/null
  fake_pid=
}
