#!/usr/bin/env bash
# The web UI in a headless Chromium (Debian's chromium, driven by
# playwright-core from tests/ui/, installed there with `npm ci`): starts the
# demo and a `tracecheck serve` of its own (free ports of 127.0.0.1, a
# database in a temporary directory, the demo exporting to its receivers),
# applies demo/tests (a VariableSet with the demo's addresses, the suite's
# steps as test ids, protobufFile as text), a traceid-triggered test whose
# trace, exported with curl, has HTML in a span name and an attribute value,
# and one whose PollingProfile waits 2 s for spans; a second server with a
# bearer token. Then tests/ui/run.mjs, one node process: the tests page and
# its filter, a run started from the UI followed live, spans shown while a
# run waits, the failing test's spec on the waterfall, the run page's
# details and keyboard, the playground, links and the back button, history
# and compare, untrusted text and the CSP, the token form. Each test saves a
# screenshot in $TC_OUT (else in a temporary directory it prints).
# Everything it starts is stopped on exit (Chromium with its node process),
# every wait is bounded. Prints "N passed, N failed".
#   tests/sh/ui.sh [FILTER]            only the browser tests whose name has FILTER
#   tests/sh/ui.sh --screenshots DIR   instead of the tests: a few runs, then the
#                                      documentation's screenshots (1280x800) in DIR
set -u
root=$(pwd)
tb=${TRACECHECK_BIN:-build/tracecheck}
bin=$(cd "$(dirname "$tb")" && pwd)/$(basename "$tb")
TRACECHECK_BIN=$bin
. "$root/tests/sh/lib/ports.sh"
. "$root/tests/sh/lib/serve.sh"
shots=
filter=
case "${1:-}" in
  --screenshots) shots=${2:?--screenshots DIR}; mkdir -p "$shots" && shots=$(cd "$shots" && pwd) ;;
  *) filter=${1:-} ;;
esac
dir=$(mktemp -d "${TMPDIR:-/tmp}/tracecheck-ui.XXXXXX")
RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tracecheck-ui-demo.XXXXXX") # PostgreSQL's user reads it
pass=0
fail=0
node_pid=
node_pg=
auth_pid=
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
cleanup() {
  # the browser tests and their Chromium: one process group (timeout's),
  # also what is left of it when node itself has ended
  if [ -n "$node_pid" ]; then
    kill -TERM -- -"$node_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$node_pid" 2>/dev/null || break; sleep 0.1; done
    wait "$node_pid" 2>/dev/null
  fi
  [ -n "$node_pg" ] && kill -KILL -- -"$node_pg" 2>/dev/null
  # the demo first: its services flush their spans to the server's receiver as they stop
  bash "$root/demo/scripts/stop.sh" >/dev/null 2>&1
  serve_stop
  if [ -n "$auth_pid" ]; then
    kill -TERM "$auth_pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$auth_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$auth_pid" 2>/dev/null
    wait "$auth_pid" 2>/dev/null
  fi
  rm -rf "$dir" "$RUN_DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
done_() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
  exit
}
t_start=$(date +%s)

# distinct free ports: the API and receivers, the demo's services and PostgreSQL, the second server
ports=()
while [ ${#ports[@]} -lt 11 ]; do
  p=$(free_port) || { bad "no free port"; done_; }
  [[ " ${ports[*]} " == *" $p "* ]] || ports+=("$p")
done
api=http://127.0.0.1:${ports[0]}
otlp=http://127.0.0.1:${ports[1]}
export GATEWAY_PORT=${ports[3]} ORDERS_PORT=${ports[4]} PAYMENTS_PORT=${ports[5]} INVENTORY_PORT=${ports[6]} PGPORT=${ports[7]}
export OTLP_HTTP_ENDPOINT=$otlp OTLP_GRPC_ENDPOINT=http://127.0.0.1:${ports[2]}
export RUN_DIR
gateway=http://127.0.0.1:$GATEWAY_PORT
inventory=127.0.0.1:$INVENTORY_PORT

# ---- the browser's driver: installed from the lockfile when missing or older
if [ ! -d tests/ui/node_modules ] || [ tests/ui/package-lock.json -nt tests/ui/node_modules ]; then
  if (cd tests/ui && npm ci --no-audit --no-fund --loglevel=error >"$dir/npm.log" 2>&1); then
    touch tests/ui/node_modules
  else
    bad "npm ci in tests/ui: $(tail -n 5 "$dir/npm.log")"
    done_
  fi
fi
chromium=${TC_CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { bad "no $chromium (scripts/setup.sh installs it)"; done_; }

# ---- the server (the UI is built into it)
"$bin" serve --listen "127.0.0.1:${ports[0]}" --otlp-http "127.0.0.1:${ports[1]}" --otlp-grpc "127.0.0.1:${ports[2]}" \
  --db "$dir/ui.db" --timeout 20s >"$dir/serve.log" 2>&1 &
srv_pid=$!
up=0
for _ in $(seq 300); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$api/api/health")" = 200 ] && { up=1; break; }
  kill -0 "$srv_pid" 2>/dev/null || break
  sleep 0.1
done
[ $up = 1 ] || { bad "the server did not start: $(tail -n 5 "$dir/serve.log")"; done_; }

# ---- the demo, exporting to the server's receivers
if ! bash demo/scripts/start.sh >"$dir/demo-start.log" 2>&1; then
  bad "the demo did not start: $(tail -n 20 "$dir/demo-start.log")"
  done_
fi

# ---- the documents: demo/tests (the VariableSet with the demo's addresses;
# the suite's steps as test ids, the server keeps no files)
expect=
for f in demo/tests/*.yaml; do
  case $f in
    */vars.yaml) sed -e "s#http://127.0.0.1:8080#$gateway#" -e "s#127.0.0.1:8083#$inventory#" "$f" >"$dir/doc.yaml" ;;
    */suite.yaml) sed -E 's/^( *- *[A-Za-z0-9_.-]+)\.ya?ml *$/\1/' "$f" >"$dir/doc.yaml" ;;
    # the server takes a protobufFile's text, not a path (as `tracecheck apply` sends it)
    *) awk -v dir="$(dirname "$f")" '
         match($0, /^ *protobufFile: */) && $0 !~ /\|/ {
           ind = substr($0, 1, index($0, "p") - 1); path = dir "/" substr($0, RLENGTH + 1)
           print ind "protobufFile: |"
           while ((getline l < path) > 0) print ind "  " l
           close(path); next
         }
         { print }' "$f" >"$dir/doc.yaml" ;;
  esac
  put_file "$dir/doc.yaml"
  if [ "$code" != 200 ]; then bad "PUT $f: $code $body"; continue; fi
  expect=$expect$(jq -r '.items[] | select(.kind == "Test" or .kind == "TestSuite") |
    "\(.id):\(if .kind == "Test" then "test" else "suite" end),"' <<<"$body" | tr -d '\n')
done

# ---- the documentation's screenshots
if [ -n "$shots" ]; then
  export TC_UI_URL=$api TC_CHROMIUM=$chromium GATEWAY_URL=$gateway INVENTORY_ADDR=$inventory
  timeout -k 5 150 node tests/ui/screenshots.mjs "$shots" >"$dir/node.out" 2>&1 &
  node_pid=$!
  node_pg=$node_pid
  wait "$node_pid"
  rc=$?
  node_pid=
  cat "$dir/node.out"
  [ $rc = 0 ] && ok "screenshots in $shots" || bad "screenshots: exit $rc"
  done_
fi

# ---- the probes: HTML in a trace; a run that waits for its spans
xss='<img src=x onerror=window.__xss=1>'
cat >"$dir/xss.yaml" <<EOF
type: Test
spec:
  id: xss-probe
  name: XSS probe $xss
  trigger:
    type: traceid
    traceid:
      id: \${var:TID}
  specs:
    - name: $xss
      selector: span[xss.payload contains "img"]
      assertions:
        - attr:xss.payload = "$xss"
EOF
put_file "$dir/xss.yaml"
[ "$code" = 200 ] || bad "PUT the XSS probe: $code $body"
# every run waits 1 s without new spans (a page opened as the run starts sees
# it wait), live-probe's 2 s
cat >"$dir/live.yaml" <<'EOF'
type: PollingProfile
spec:
  id: standard
  name: Settled after 1 s without spans
  default: true
  strategy: periodic
  periodic:
    retryDelay: 100ms
    timeout: 20s
    quietWindow: 1s
---
type: PollingProfile
spec:
  id: quiet-2s
  name: Settled after 2 s without spans
  strategy: periodic
  periodic:
    retryDelay: 100ms
    timeout: 20s
    quietWindow: 2s
---
type: Test
spec:
  id: live-probe
  name: Spans arriving in two parts
  pollingProfile: quiet-2s
  trigger:
    type: traceid
    traceid:
      id: ${var:TID}
  specs:
    - selector: span[service.name="live"]
      assertions:
        - attr:tracetest.selected_spans.count = 3
EOF
put_file "$dir/live.yaml"
[ "$code" = 200 ] || bad "PUT the live probe: $code $body"
tid=$(new_tid)
cat >"$dir/xss.json" <<EOF
{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},
 "scopeSpans":[{"spans":[
  {"traceId":"$tid","spanId":"d000000000000001","name":"$xss","kind":2,
   "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000050000000",
   "attributes":[{"key":"xss.payload","value":{"stringValue":"$xss"}}]},
  {"traceId":"$tid","spanId":"d000000000000002","parentSpanId":"d000000000000001","name":"SELECT","kind":3,
   "startTimeUnixNano":"1700000000010000000","endTimeUnixNano":"1700000000020000000",
   "attributes":[{"key":"db.system","value":{"stringValue":"postgresql"}}]}]}]}]}
EOF
send_spans "$dir/xss.json" || bad "export the XSS probe's trace to $otlp"
start_run xss-probe "{\"variables\":{\"TID\":\"$tid\"}}"
xss_run=$run
if [ -n "$xss_run" ] && wait_run "$xss_run" 20 && [ "$(jq -r .result <<<"$body")" = passed ]; then
  ok "setup: demo, server, $(tr ',' '\n' <<<"$expect" | grep -c .) tests applied, the XSS probe's run $xss_run passed"
else bad "setup: the XSS probe's run: $(head -c 600 <<<"$body")"; fi

# a second server with a bearer token: the UI asks for it, then follows a run with it
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/token"
auth_api=http://127.0.0.1:${ports[8]}
"$bin" serve --listen "127.0.0.1:${ports[8]}" --otlp-http "127.0.0.1:${ports[9]}" --otlp-grpc "127.0.0.1:${ports[10]}" \
  --db "$dir/auth.db" --token-file "$dir/token" >"$dir/serve-auth.log" 2>&1 &
auth_pid=$!
up=0
for _ in $(seq 300); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$auth_api/api/health")" = 200 ] && { up=1; break; }
  kill -0 "$auth_pid" 2>/dev/null || break
  sleep 0.1
done
if [ $up = 1 ] && curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $(cat "$dir/token")" -H 'Content-Type: application/yaml' \
  --data-binary "@$dir/live.yaml" "$auth_api/api/resources"; then :
else bad "the server with a token: $(tail -n 5 "$dir/serve-auth.log")"; fi
export TC_AUTH_URL=$auth_api TC_AUTH_OTLP=http://127.0.0.1:${ports[9]} TC_AUTH_TOKEN
TC_AUTH_TOKEN=$(cat "$dir/token")

export TC_UI_URL=$api TC_OTLP_URL=$otlp TC_CHROMIUM=$chromium GATEWAY_URL=$gateway INVENTORY_ADDR=$inventory
export TC_UI_EXPECT=$expect TC_XSS_RUN=$xss_run TC_XSS_TEXT=$xss

# ---- the browser tests (one node process, its own process group)
timeout -k 5 110 node tests/ui/run.mjs "$filter" >"$dir/node.out" 2>&1 &
node_pid=$!
node_pg=$node_pid
wait "$node_pid"
rc=$?
node_pid=
grep -vE '^[0-9]+ passed, [0-9]+ failed$' "$dir/node.out"
p=$(grep -c '^ok ' "$dir/node.out")
f=$(grep -c '^FAIL ' "$dir/node.out")
pass=$((pass + p))
fail=$((fail + f))
if [ $rc -ne 0 ] && [ "$f" = 0 ]; then bad "the browser tests exited $rc"; fi
[ "$p" -gt 0 ] || bad "no browser test passed"
if [ "$fail" -gt 0 ]; then
  echo "  server log (tail):"; tail -n 15 "$dir/serve.log" | sed 's/^/    /'
fi
sanitizer_check
echo "took $(($(date +%s) - t_start)) s"
done_
