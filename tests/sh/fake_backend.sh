#!/usr/bin/env bash
# The fake trace backend (tests/fake/backend.js) the polling tests run
# against does what its script says: successive responses in order (the
# last one repeating, per trace id when asked), gzip, 500 then 200, 401
# always, a slow answer, a hanging answer, a reset connection, a body that
# never ends, a big body, HTTPS, a request log with headers and bodies,
# OpenSearch paging with search_after that returns every span exactly
# once, gRPC streams of several messages and gRPC status errors; bad
# scripts exit 2 before listening; it stops on SIGTERM and by itself after
# max_seconds. Everything on 127.0.0.1, bounded in time. Prints
# "N passed, N failed".
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
fake=$root/tests/fake/backend.js
demo=$root/demo
dir=$(mktemp -d "${TMPDIR:-/tmp}/tracecheck-fake.XXXXXX")
pid=
pass=0
fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
check() { # check NAME COMMAND... : ok when the command succeeds
  local name=$1; shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}
verdict() { # verdict STATUS NAME : ok when STATUS is 0 (the status of a compound check)
  if [ "$1" = 0 ]; then ok "$2"; else bad "$2"; fi
}
stop_fake() {
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=
}
trap 'stop_fake; rm -rf "$dir"' EXIT

# @grpc/grpc-js comes from the demo's dependencies (installed as demo/scripts/start.sh does)
if [ ! -d "$demo/node_modules" ] || [ "$demo/package-lock.json" -nt "$demo/node_modules" ]; then
  if (cd "$demo" && timeout 600 npm ci --no-audit --no-fund --loglevel=error >"$dir/npm.log" 2>&1); then
    touch "$demo/node_modules"
  else
    bad "npm ci in demo"; cat "$dir/npm.log"; echo "$pass passed, $fail failed"; exit 1
  fi
fi
grpcjs=$demo/node_modules/@grpc/grpc-js

# ---- the script and its files
mkdir -p "$dir/jaeger" "$dir/pb"
echo '{"data":[{"traceID":"abc","spans":[1]}]}' >"$dir/jaeger/half.json"
echo '{"data":[{"traceID":"abc","spans":[1,2,3]}]}' >"$dir/jaeger/whole.json"
printf '\x0a\x03one' >"$dir/pb/c.pb"
tls=
if command -v openssl >/dev/null 2>&1 &&
  timeout 20 openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1; then
  tls='"tls": {"cert": "cert.pem", "key": "key.pem"},'
fi
cat >"$dir/script.json" <<EOF
{
  "max_seconds": 60, $tls
  "routes": [
    {"method": "GET", "path": "/api/traces/{id}", "by_trace_id": true,
     "responses": [
       {"status": 404, "body": "{\"data\":[]}", "headers": {"content-type": "application/json"}},
       {"status": 200, "file": "jaeger/half.json", "delay_ms": 50},
       {"status": 200, "file": "jaeger/whole.json", "gzip": true}]},
    {"method": "GET", "prefix": "/flaky/", "responses": [{"status": 500, "body": "oops"}, {"status": 200, "body": "fine"}]},
    {"path": "/denied", "responses": [{"status": 401, "body": "no"}]},
    {"method": "GET", "path": "/hang", "responses": [{"hang": true}]},
    {"method": "GET", "path": "/forever", "responses": [{"stream_forever": true, "chunk": "[", "interval_ms": 50}]},
    {"method": "GET", "path": "/big", "responses": [{"repeat_bytes": 1048576, "chunk": "x"}]},
    {"method": "GET", "path": "/slow", "responses": [{"body": "late", "delay_ms": 400, "chunked": true}]},
    {"method": "GET", "path": "/reset", "responses": [{"reset": true}]},
    {"method": "POST", "path": "/echo", "responses": [{"status": 202, "body_b64": "YWNjZXB0ZWQ="}]},
    {"method": "POST", "path": "/otel-v1-apm-span/_search", "opensearch_generate": {"spans": 50000, "services": 3}}
  ],
  "grpc": [
    {"path": "/jaeger.api_v2.QueryService/GetTrace", "stream": true,
     "responses": [
       {"code": 5, "message": "trace not found"},
       {"messages_b64": ["CgFh", "CgFi"], "files": ["pb/c.pb"], "delay_ms": 20},
       {"code": 16, "message": "bad token"}]},
    {"path": "/tempopb.Querier/FindTraceByID", "responses": [{"files": ["pb/c.pb"]}]}
  ]
}
EOF

start_fake() { # start_fake SCRIPT : the fake in the background, its ports in $dir/ports (10 s at most)
  rm -f "$dir/ports"
  node "$fake" "$1" --log "$dir/requests.jsonl" --ready "$dir/ports" >"$dir/fake.out" 2>"$dir/fake.err" &
  pid=$!
  for _ in $(seq 100); do
    [ -s "$dir/ports" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}

if ! start_fake "$dir/script.json"; then
  bad "the fake did not start"; cat "$dir/fake.err"; echo "$pass passed, $fail failed"; exit 1
fi
http=$(jq -r .http "$dir/ports") grpc=$(jq -r .grpc "$dir/ports") https=$(jq -r .https "$dir/ports")
check "ports file and stdout say the same ($(cat "$dir/ports"))" cmp -s "$dir/ports" "$dir/fake.out"
base=http://127.0.0.1:$http
get() { timeout 10 curl -s -o "$dir/body" -w '%{http_code}' "$@"; }

# ---- successive responses, the last one repeating, a counter per trace id
seq_out=
for _ in 1 2 3 4; do
  code=$(get --compressed -H 'X-Scope-OrgID: tenant-1' -H 'Authorization: Bearer t0k' "$base/api/traces/abc")
  seq_out="$seq_out $code:$(jq -c '.data[0].spans // .data' "$dir/body" 2>/dev/null)"
done
check "404, half, whole, whole again:$seq_out" [ "$seq_out" = " 404:[] 200:[1] 200:[1,2,3] 200:[1,2,3]" ]
code=$(get "$base/api/traces/other")
check "another trace id starts at the first response ($code)" [ "$code" = 404 ]
hdr=$(timeout 10 curl -s -D - -o "$dir/gz" "$base/api/traces/abc" | tr -d '\r' | grep -i '^content-encoding:')
[ "$hdr" = "content-encoding: gzip" ] && gunzip -c "$dir/gz" | cmp -s - "$dir/jaeger/whole.json"
verdict $? "gzip: $hdr, the body gunzips to the file"

# ---- 500 then 200, 401 always
c1=$(get "$base/flaky/x") b1=$(cat "$dir/body") c2=$(get "$base/flaky/y") c3=$(get "$base/flaky/z")
check "500 once, then 200 ($c1 $b1, $c2, $c3)" [ "$c1 $b1 $c2 $c3" = "500 oops 200 200" ]
c1=$(get "$base/denied") c2=$(get -XPOST "$base/denied")
check "401 always, any method ($c1 $c2)" [ "$c1 $c2" = "401 401" ]
code=$(get "$base/nowhere")
check "no route: 404 ($code)" [ "$code" = 404 ]

# ---- hang, a body that never ends, a big body
code=$(get --max-time 1 "$base/hang"); rc=$?
check "hang: no answer within 1 s (curl exit $rc, $code)" [ "$rc $code" = "28 000" ]
get --max-time 1 "$base/forever" >/dev/null; rc=$?
n=$(wc -c <"$dir/body")
check "stream_forever: still going after 1 s, $n chunks (curl exit $rc)" [ "$rc" = 28 -a "$n" -ge 5 ]
code=$(get "$base/big")
others=$(tr -d x <"$dir/body" | wc -c) size=$(wc -c <"$dir/body")
check "repeat_bytes: 1 MiB of x ($code, $size bytes, $others not x)" [ "$code $size $others" = "200 1048576 0" ]

t=$(timeout 10 curl -s -D "$dir/hdr" -o "$dir/body" -w '%{time_total}' "$base/slow")
[ "$(cat "$dir/body")" = late ] && awk -v t="$t" 'BEGIN { exit !(t >= 0.35) }' && grep -qi '^transfer-encoding: chunked' "$dir/hdr"
verdict $? "delay_ms 400, chunked: $(cat "$dir/body") after ${t}s"
code=$(get "$base/reset"); rc=$?
check "reset: the connection closes without an answer (curl exit $rc, $code)" [ "$rc $code" = "52 000" ]

# ---- HTTPS
if [ -n "$tls" ]; then
  code=$(get --cacert "$dir/cert.pem" "https://127.0.0.1:$https/flaky/q")
  check "https on its own port ($code)" [ "$code" = 200 ]
else
  echo "(no openssl: https not checked)"
fi

# ---- the request log
code=$(get -XPOST -H 'Authorization: Basic dTpw' -H 'Content-Type: text/plain' --data-binary 'hello fake' "$base/echo?x=1")
check "POST body_b64 answered ($code $(cat "$dir/body"))" [ "$code $(cat "$dir/body")" = "202 accepted" ]
tail -n 1 "$dir/requests.jsonl" | jq -e '.proto == "http" and .method == "POST" and .path == "/echo" and .query == "x=1"
  and .n == 0 and .headers.authorization == "Basic dTpw" and (.body_b64 | @base64d) == "hello fake"' >/dev/null
verdict $? "log: method, path, query, headers, body of a POST"
head -n 1 "$dir/requests.jsonl" | jq -e '.path == "/api/traces/abc" and .n == 0
  and .headers["x-scope-orgid"] == "tenant-1" and .headers.authorization == "Bearer t0k"' >/dev/null
verdict $? "log: X-Scope-OrgID and Authorization of the first poll"
ns=$(jq -r 'select(.path == "/api/traces/abc") | .n' "$dir/requests.jsonl" | tr '\n' ' ')
check "log: n counts the requests on the route ($ns)" [ "$ns" = "0 1 2 3 4 " ]

# ---- OpenSearch: pages of 10,000 with search_after return 50,000 distinct spans
: >"$dir/spans.jsonl"
after=
pages=
for _ in $(seq 7); do
  q='{"size":10000,"query":{"bool":{"must":[{"term":{"traceId":"5b8efff798038103d269b633813fc60c"}}]}},"sort":[{"startTime":"asc"},{"spanId":"asc"}]'
  [ -n "$after" ] && q="$q,\"search_after\":$after"
  code=$(get -XPOST -H 'Content-Type: application/json' --data-binary "$q}" "$base/otel-v1-apm-span/_search")
  [ "$code" = 200 ] || { pages="$pages error:$code"; break; }
  n=$(jq '.hits.hits | length' "$dir/body")
  pages="$pages $n"
  [ "$n" = 0 ] && break
  jq -c '.hits.hits[]._source' "$dir/body" >>"$dir/spans.jsonl"
  after=$(jq -c '.hits.hits[-1].sort' "$dir/body")
done
total=$(jq '.hits.total.value' "$dir/body" 2>/dev/null)
distinct=$(jq -r .spanId "$dir/spans.jsonl" | sort -u | wc -l)
check "search_after pages:$pages; total $total; $distinct distinct spanIds" \
  [ "$pages $total $distinct" = " 10000 10000 10000 10000 10000 0 50000 50000" ]
jq -r .spanId "$dir/spans.jsonl" | sort -u >"$dir/ids"
jq -r 'select(.parentSpanId != "") | .parentSpanId' "$dir/spans.jsonl" | sort -u >"$dir/parents"
roots=$(jq -r 'select(.parentSpanId == "") | .spanId' "$dir/spans.jsonl" | wc -l)
orphans=$(comm -23 "$dir/parents" "$dir/ids" | wc -l)
check "generated spans: $roots root, $orphans parents missing" [ "$roots $orphans" = "1 0" ]
jq -s -e 'all(.[]; .traceId == "5b8efff798038103d269b633813fc60c" and (.spanId | length) == 16
    and .kind == "SPAN_KIND_INTERNAL" and .["status.code"] == 0 and .serviceName == .["resource.attributes.service@name"]
    and (.startTime | startswith("2024-")) and .durationInNanos > 0)
  and (map(.serviceName) | unique | length) == 3' "$dir/spans.jsonl" >/dev/null
verdict $? "generated spans: Data Prepper fields, three services"
code=$(get -XPOST -H 'Content-Type: application/json' --data-binary \
  '{"size":10001,"query":{"term":{"traceId":{"value":"aa"}}}}' "$base/otel-v1-apm-span/_search")
check "a window over 10,000 is refused ($code)" [ "$code" = 400 ]

# ---- gRPC, with a small client on raw buffers
cat >"$dir/client.js" <<'EOF'
// node client.js GRPC_JS PORT PATH STREAM(0|1) : one call, prints {code, details, messages (base64)}
const grpc = require(process.argv[2]);
const same = b => b;
const stream = process.argv[5] === '1';
const Client = grpc.makeGenericClientConstructor({
  call: { path: process.argv[4], requestStream: false, responseStream: stream,
    requestSerialize: same, requestDeserialize: same, responseSerialize: same, responseDeserialize: same },
});
const c = new Client(`127.0.0.1:${process.argv[3]}`, grpc.credentials.createInsecure());
const md = new grpc.Metadata();
md.set('authorization', 'Bearer grpc-token');
const req = Buffer.from('0a10000102030405060708090a0b0c0d0e0f', 'hex');
const opts = { deadline: Date.now() + 5000 };
const done = (code, details, messages) => { console.log(JSON.stringify({ code, details, messages })); c.close(); };
if (stream) {
  const messages = [];
  const s = c.call(req, md, opts);
  s.on('data', m => messages.push(m.toString('base64')));
  s.on('error', () => {});
  s.on('status', st => done(st.code, st.details, messages));
} else {
  c.call(req, md, opts, (err, m) => (err ? done(err.code, err.details, []) : done(0, 'OK', [m.toString('base64')])));
}
EOF
gcall() { timeout 10 node "$dir/client.js" "$grpcjs" "$grpc" "$@" 2>&1; }
path=/jaeger.api_v2.QueryService/GetTrace
r1=$(gcall $path 1) r2=$(gcall $path 1) r3=$(gcall $path 1) r4=$(gcall $path 1)
check "gRPC status error NOT_FOUND: $r1" [ "$(jq -c '[.code, .details, .messages]' <<<"$r1" 2>/dev/null)" = '[5,"trace not found",[]]' ]
check "gRPC stream of three messages: $r2" [ "$(jq -c '[.code, .messages]' <<<"$r2" 2>/dev/null)" = '[0,["CgFh","CgFi","CgNvbmU="]]' ]
check "gRPC UNAUTHENTICATED, then repeating: $r3 $r4" \
  [ "$(jq -sc 'map([.code, .details])' <<<"$r3$r4" 2>/dev/null)" = '[[16,"bad token"],[16,"bad token"]]' ]
r=$(gcall /tempopb.Querier/FindTraceByID 0)
check "gRPC unary: $r" [ "$(jq -c '[.code, .messages]' <<<"$r" 2>/dev/null)" = '[0,["CgNvbmU="]]' ]
jq -s -e --arg path "$path" 'map(select(.proto == "grpc" and .path == $path)) | length == 4 and .[3].n == 3
  and .[0].headers.authorization == "Bearer grpc-token" and .[0].body_b64 == "ChAAAQIDBAUGBwgJCgsMDQ4P"' \
  "$dir/requests.jsonl" >/dev/null
verdict $? "log: gRPC metadata and request bytes"

# ---- SIGTERM stops it
kill -TERM "$pid"
rc=
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || { wait "$pid"; rc=$?; break; }; sleep 0.1; done
check "SIGTERM: exits 0 within 5 s (exit ${rc:-none})" [ "$rc" = 0 ]
[ -n "$rc" ] && pid=
stop_fake

# ---- max_seconds stops it by itself
echo '{"max_seconds": 1, "routes": [{"path": "/x", "responses": [{"body": "x"}]}]}' >"$dir/short.json"
if start_fake "$dir/short.json"; then
  rc=
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || { wait "$pid"; rc=$?; break; }; sleep 0.1; done
  check "max_seconds 1: gone within 5 s (exit ${rc:-none}), no gRPC port ($(cat "$dir/ports"))" \
    [ -n "$rc" -a "$(jq -r .grpc "$dir/ports")" = null ]
  [ -n "$rc" ] && pid=
else
  bad "max_seconds: the fake did not start"; cat "$dir/fake.err"
fi
stop_fake

# ---- bad scripts: exit 2 with a message, before listening
bad_script() { # bad_script NAME JSON EXPECTED-IN-MESSAGE
  echo "$2" >"$dir/bad.json"
  timeout 10 node "$fake" "$dir/bad.json" --ready "$dir/bad.ports" >/dev/null 2>"$dir/bad.err"
  local rc=$? msg
  msg=$(head -n 1 "$dir/bad.err")
  [ $rc = 2 ] && [ ! -e "$dir/bad.ports" ] && grep -q "$3" <<<"$msg"
  verdict $? "$1: exit $rc, $msg"
}
bad_script "unknown key" '{"routes": [{"path": "/x", "responses": [{"staus": 200}]}]}' 'routes\[0\].responses\[0\]: unknown key "staus"'
bad_script "missing file" '{"routes": [{"path": "/x", "responses": [{"file": "nope.json"}]}]}' 'cannot read file "nope.json"'
bad_script "not JSON" '{"routes": [' 'bad.json'
bad_script "unary with two messages" '{"grpc": [{"path": "/a.B/C", "responses": [{"messages_b64": ["AA==", "AA=="]}]}]}' 'exactly one message'

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
