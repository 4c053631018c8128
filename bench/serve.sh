#!/usr/bin/env bash
# `tracecheck serve` figures, with SQLite and with PostgreSQL (a throwaway
# server, tests/sh/lib/pg.sh; skipped when it cannot start): the resident
# memory idle, with the traces of 1,000 runs received (the span buffer
# holds them) and after those 1,000 runs are stored (the difference is what
# stored runs cost: they are on disk), runs per second with 4 workers
# (POST to stored end, traceid runs whose 3-span traces were exported
# first, so the runs measure the server, not a system under test), then
# with 10,000 runs stored: a page of 50 runs (the first, and one 5,000
# runs in), a stored 10,000-span trace (OTLP JSON and protobuf), and a
# run's results (a small run, and the 10,000-span one). Times are the
# mean of several requests with curl (connection included). Everything on
# 127.0.0.1. Usage: bench/serve.sh BUILD_DIR [RUNS]
set -u
B=${1:-build}
N=${2:-10000}
bin=$(cd "$B" && pwd)/tracecheck
. tests/sh/lib/ports.sh
. tests/sh/lib/pg.sh
dir=$(mktemp -d "${TMPDIR:-/tmp}/tracecheck-bench-serve.XXXXXX")
pid=
stop() {
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=
}
trap 'stop; pg_cleanup; rm -rf "$dir"' EXIT

rss_mb() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status"; }

# mean seconds of COUNT GETs of URL (extra curl arguments after)
mean_ms() {
  local url=$1 count=$2
  shift 2
  for _ in $(seq "$count"); do curl -s -o /dev/null -w '%{time_total}\n' "$@" "$url"; done |
    awk '{ s += $1 } END { printf "%.2f", s * 1000 / NR }'
}

# traces.N.json: COUNT traces of 3 spans, ids from FIRST on (hex of the index)
traces() {
  jq -n --argjson first "$1" --argjson count "$2" '
    def tid($i): ($i | tostring) as $s | ("0" * (32 - ($s | length))) + $s;
    {resourceSpans: [{resource: {attributes: [{key: "service.name", value: {stringValue: "api"}}]},
      scopeSpans: [{spans: [range($first; $first + $count) as $i |
        {traceId: tid($i), spanId: "d000000000000001", name: "GET /", kind: 2,
         startTimeUnixNano: "1700000000000000000", endTimeUnixNano: "1700000000050000000"},
        {traceId: tid($i), spanId: "d000000000000002", parentSpanId: "d000000000000001", name: "SELECT", kind: 3,
         startTimeUnixNano: "1700000000010000000", endTimeUnixNano: "1700000000020000000",
         attributes: [{key: "db.system", value: {stringValue: "postgresql"}}]},
        {traceId: tid($i), spanId: "d000000000000003", parentSpanId: "d000000000000001", name: "publish", kind: 4,
         startTimeUnixNano: "1700000000030000000", endTimeUnixNano: "1700000000040000000"}]}]}]}'
}

# exports the traces of runs FIRST .. FIRST+COUNT-1, 2,000 a request
export_traces() {
  local otlp=$1 first=$2 count=$3 i
  for ((i = first; i < first + count; i += 2000)); do
    traces "$i" $((first + count - i < 2000 ? first + count - i : 2000)) >"$dir/t.json"
    curl -sf -o /dev/null -H 'Content-Type: application/json' --data-binary @"$dir/t.json" "$otlp/v1/traces"
  done
}

# POST runs FIRST .. FIRST+COUNT-1 (one curl, 16 at once); prints nothing
post_runs() {
  local api=$1 first=$2 count=$3 i tid
  : >"$dir/posts.cfg"
  for ((i = first; i < first + count; i++)); do
    printf -v tid '%032d' "$i"
    [ "$i" -gt "$first" ] && echo next >>"$dir/posts.cfg"
    printf 'url = "%s/api/tests/bench/run"\ndata = "{\\"variables\\":{\\"TID\\":\\"%s\\"}}"\nheader = "Content-Type: application/json"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' \
      "$api" "$tid" >>"$dir/posts.cfg"
  done
  curl -s --no-progress-meter --parallel --parallel-max 16 -K "$dir/posts.cfg" | sort | uniq -c | grep -v ' 202$' >&2
}

# waits (at most 10 min) until no run is queued or running
drain() {
  local api=$1 st busy
  for _ in $(seq 6000); do
    busy=0
    for st in QUEUED CREATED TRIGGERING AWAITING_TRACE EVALUATING; do
      [ "$(curl -s "$api/api/runs?state=$st&limit=1" | jq '.items|length')" = 0 ] || { busy=1; break; }
    done
    [ $busy = 0 ] && return 0
    sleep 0.1
  done
  return 1
}

bench() { # bench NAME DB_URL: one column of figures in $dir/NAME
  local name=$1 db=$2 ap hp gp api otlp out=$dir/$1
  ap=$(free_port) hp=$(free_port) gp=$(free_port)
  api=http://127.0.0.1:$ap
  otlp=http://127.0.0.1:$hp
  "$bin" serve --listen 127.0.0.1:"$ap" --otlp-http 127.0.0.1:"$hp" --otlp-grpc 127.0.0.1:"$gp" --db "$db" \
    --workers 4 --keep-unwatched 1h >"$dir/$name.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf -o /dev/null "$api/api/health" && break; sleep 0.1; done
  : >"$out"
  echo "idle RSS (MB)|$(rss_mb)" >>"$out"
  cat >"$dir/bench.yaml" <<'EOF'
type: Test
spec:
  id: bench
  name: bench
  trigger:
    type: traceid
    traceid:
      id: ${var:TID}
  specs:
    - selector: span[tracetest.span.type="database"]
      assertions:
        - attr:db.system = "postgresql"
    - selector: span[]
      assertions:
        - attr:tracetest.selected_spans.count = 3
EOF
  curl -s -o /dev/null -X PUT -H 'Content-Type: application/yaml' --data-binary @"$dir/bench.yaml" "$api/api/resources"
  # 1,000 runs: the rate, and the memory after (their traces exported first)
  local t0 t1 first=1000
  [ "$N" -lt 1000 ] && first=$N
  export_traces "$otlp" 1 "$first"
  sleep 6 # the server gives freed memory back every 5 s
  echo "RSS with $first traces received (MB)|$(rss_mb)" >>"$out"
  t0=$(date +%s%N)
  post_runs "$api" 1 "$first"
  drain "$api"
  t1=$(date +%s%N)
  echo "runs/s, 4 workers ($first runs)|$(awk -v n="$first" -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (ns / 1e9) }')" >>"$out"
  sleep 6 # as above: the difference is what 1,000 stored runs cost in memory
  echo "RSS after $first runs (MB)|$(rss_mb)" >>"$out"
  if [ "$N" -gt "$first" ]; then
    export_traces "$otlp" $((first + 1)) $((N - first))
    post_runs "$api" $((first + 1)) $((N - first))
    drain "$api"
  fi
  local total passed=0 page cur=
  total=$(curl -s "$api/api/tests" | jq '.items[0].last_run.id')
  while :; do
    page=$(curl -s "$api/api/runs?state=FINISHED&limit=500${cur:+&cursor=$cur}")
    passed=$((passed + $(jq '[.items[] | select(.result == "passed")] | length' <<<"$page")))
    cur=$(jq -r '.next // empty' <<<"$page")
    [ -n "$cur" ] || break
  done
  # a 10,000-span trace
  jq -n '{resourceSpans: [{resource: {attributes: [{key: "service.name", value: {stringValue: "big"}}]},
    scopeSpans: [{spans: [range(10000) as $i |
      {traceId: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", spanId: ("e" + (($i + 1) | tostring | ("0" * (15 - length)) + .)),
       name: "op \($i)", kind: 1, startTimeUnixNano: "1700000000000000000", endTimeUnixNano: "1700000000001000000",
       attributes: [{key: "i", value: {intValue: ($i | tostring)}}, {key: "db.system", value: {stringValue: "postgresql"}}]}
      + (if $i == 0 then {} else {parentSpanId: "e000000000000001"} end)]}]}]}' \
    >"$dir/big.json"
  curl -sf -o /dev/null -H 'Content-Type: application/json' --data-binary @"$dir/big.json" "$otlp/v1/traces"
  local big
  big=$(curl -s -H 'Content-Type: application/json' -d '{"variables":{"TID":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}}' \
    "$api/api/tests/bench/run" | jq .id)
  drain "$api"
  local cursor
  cursor=$(curl -s "$api/api/runs?limit=500" | jq -r .next)
  for _ in $(seq 9); do cursor=$(curl -s "$api/api/runs?limit=500&cursor=$cursor" | jq -r .next); done
  echo "runs stored (passed)|$total ($passed)" >>"$out"
  echo "page of 50 runs, the newest (ms)|$(mean_ms "$api/api/runs?limit=50" 20)" >>"$out"
  echo "page of 50 runs, 5,000 in (ms)|$(mean_ms "$api/api/runs?limit=50&cursor=$cursor" 20)" >>"$out"
  echo "10,000-span trace, OTLP JSON (ms)|$(mean_ms "$api/api/runs/$big/trace" 5)" >>"$out"
  echo "10,000-span trace, protobuf (ms)|$(mean_ms "$api/api/runs/$big/trace" 5 -H 'Accept: application/x-protobuf')" >>"$out"
  echo "a run's results, 3 spans (ms)|$(mean_ms "$api/api/runs/$((big - 1))" 20)" >>"$out"
  echo "a run's results, 10,000 spans (ms)|$(mean_ms "$api/api/runs/$big" 5)" >>"$out"
  echo "RSS at the end (MB)|$(rss_mb)" >>"$out"
  stop
}

bench sqlite "$dir/bench.db"
cols=(sqlite)
if pg_init && pg_start && pg_createdb bench >/dev/null 2>&1; then
  bench postgresql "$(pg_url bench)"
  cols+=(postgresql)
else
  echo "(PostgreSQL skipped: $pg_why)"
fi
printf '%-40s' ""
for c in "${cols[@]}"; do printf ' %14s' "$c"; done
echo
while IFS='|' read -r label value; do
  printf '%-40s %14s' "$label" "$value"
  [ -f "$dir/postgresql" ] && printf ' %14s' "$(grep -F "$label|" "$dir/postgresql" | cut -d'|' -f2)"
  echo
done <"$dir/sqlite"
