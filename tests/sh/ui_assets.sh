#!/usr/bin/env bash
# The web UI's files as `tracecheck serve` answers them (src/server/ui.c):
# index.html at / and at the app's URLs, every file of ui/ at /ui/PATH
# byte for byte with its content type, ETag and 304, HEAD, 405 and 404 as
# JSON, the security headers, and no token needed for the UI while the API
# keeps needing one. Then `node --check` on the UI's own scripts when node
# is there. Prints "N passed, N failed".
set -u
. "$(dirname "$0")/lib/ports.sh"
. "$(dirname "$0")/lib/serve.sh"
dir=$(mktemp -d "${TMPDIR:-/tmp}/tracecheck-ui.XXXXXX")
trap 'serve_kill9; rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM HUP
pass=0
fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
done_() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
  exit
}

# get PATH [CURL ARGS...]: $code, the body in $dir/out, the headers in $dir/hdr
get() {
  local p=$1
  shift
  rm -f "$dir/out" # curl writes no file for an empty body
  code=$(curl -s -o "$dir/out" -D "$dir/hdr" -w '%{http_code}' --max-time 10 "$@" "$api$p")
}
header() { grep -i "^$1:" "$dir/hdr" | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'; }

printf 'ui-test-token-3fK9\n' >"$dir/token"
if ! serve_start serve --db "$dir/ui.db" --token-file "$dir/token"; then
  bad "the server did not start: $(tail -n 5 "$dir/serve.log")"
  done_
fi

# ---- the app's URLs: index.html
for p in / /tests /runs/7 /runs/7/playground /compare/1/2 /tests/checkout '/tests?q=x' /no/such/page; do
  get "$p"
  if [ "$code" = 200 ] && cmp -s "$dir/out" ui/index.html && [[ "$(header Content-Type)" == text/html* ]]; then
    ok "$p: index.html (text/html)"
  else bad "$p: $code $(header Content-Type)"; fi
done

# ---- every file of ui/, byte for byte
n=0
bad_files=
while IFS= read -r f; do
  get "/ui/$f"
  if [ "$code" = 200 ] && cmp -s "$dir/out" "ui/$f" && [ -n "$(header ETag)" ]; then n=$((n + 1))
  else bad_files="$bad_files $f($code)"; fi
done < <(cd ui && find . -type f ! -name '.*' | sed 's|^\./||' | LC_ALL=C sort)
[ -z "$bad_files" ] && [ "$n" -gt 5 ] && ok "all $n files of ui/ served byte-identical, each with an ETag" ||
  bad "files not served as in ui/:$bad_files"

get /ui/app.js
ct=$(header Content-Type)
[[ "$ct" == text/javascript* ]] && ok "/ui/app.js is JavaScript ($ct)" || bad "/ui/app.js type: $ct"
get /ui/style.css
[[ "$(header Content-Type)" == text/css* ]] && ok "/ui/style.css is text/css" || bad "style.css type: $(header Content-Type)"
get /ui/vendor/preact.mjs
[[ "$(header Content-Type)" == text/javascript* ]] && ok "/ui/vendor/preact.mjs is JavaScript" ||
  bad "preact.mjs type: $(header Content-Type)"

# ---- caching: ETag, If-None-Match, no-cache
get /ui/app.js
etag=$(header ETag)
cc=$(header Cache-Control)
get /ui/app.js -H "If-None-Match: $etag"
[ "$code" = 304 ] && [ ! -s "$dir/out" ] && [ "$(header ETag)" = "$etag" ] &&
  ok "If-None-Match with its ETag: 304, no body" || bad "304: $code etag=$etag"
get /ui/app.js -H 'If-None-Match: "other", W/'"$etag"
[ "$code" = 304 ] && ok "If-None-Match with a list (and W/): 304" || bad "304 list: $code"
get /ui/app.js -H 'If-None-Match: "stale"'
[ "$code" = 200 ] && ok "a stale ETag: 200" || bad "stale ETag: $code"
[ "$cc" = no-cache ] && ok "Cache-Control: no-cache" || bad "Cache-Control: $cc"

# ---- HEAD, 405, 404
hc=$(curl -s -o /dev/null -D "$dir/hdr" -w '%{http_code} %{size_download}' --max-time 10 --head "$api/ui/app.js")
[ "$hc" = '200 0' ] && [ "$(header Content-Length)" = "$(wc -c <ui/app.js | tr -d ' ')" ] &&
  ok "HEAD /ui/app.js: 200, the length, no body" || bad "HEAD: $hc $(header Content-Length)"
get /ui/app.js -X POST -d x
[ "$code" = 405 ] && [ "$(jq -r .error.code "$dir/out")" = method_not_allowed ] && [[ "$(header Allow)" == *GET* ]] &&
  ok "POST /ui/app.js: 405 JSON, Allow: $(header Allow)" || bad "POST: $code $(cat "$dir/out")"
get /tests -X DELETE
[ "$code" = 405 ] && ok "DELETE /tests: 405" || bad "DELETE /tests: $code"
get /ui/missing.js
[ "$code" = 404 ] && [ "$(jq -r .error.code "$dir/out")" = not_found ] && ok "/ui/missing.js: 404 JSON" ||
  bad "missing: $code $(cat "$dir/out")"
get /ui/../Makefile --path-as-is
[ "$code" = 404 ] || [ "$code" = 200 ] && ! grep -q 'GNU Make' "$dir/out" && ok "/ui/../Makefile: nothing outside ui/" ||
  bad "traversal: $code"

# ---- security headers on every UI answer
miss=
for p in / /ui/app.js /ui/missing.js; do
  get "$p"
  csp=$(header Content-Security-Policy)
  [[ "$csp" == *"default-src 'self'"* && "$csp" == *"script-src 'self'"* && "$csp" == *"frame-ancestors 'none'"* &&
     "$csp" != *unsafe-eval* && "$csp" != *"script-src 'self' 'unsafe-inline'"* ]] || miss="$miss $p(csp)"
  [ "$(header X-Content-Type-Options)" = nosniff ] || miss="$miss $p(nosniff)"
  [ "$(header Referrer-Policy)" = no-referrer ] || miss="$miss $p(referrer)"
done
[ -z "$miss" ] && ok "CSP (no unsafe-eval, no inline scripts), nosniff, no-referrer on every UI answer" ||
  bad "security headers missing:$miss"

# ---- the token: not for the UI, still for the API
get /ui/app.js
c1=$code
get /api/tests
c2=$code
get /api/tests -H "Authorization: Bearer $(cat "$dir/token")"
c3=$code
[ "$c1" = 200 ] && [ "$c2" = 401 ] && [ "$c3" = 200 ] &&
  ok "with --token-file: /ui/ needs no token, /api/tests is 401 without it and 200 with it" ||
  bad "token: ui=$c1 api=$c2 api+token=$c3"
get /api/nothing
[ "$code" = 401 ] && ok "an unknown /api/ path still needs the token (401)" || bad "/api/nothing: $code"

serve_stop
[ "$srv_rc" = 0 ] && ok "the server stops cleanly" || bad "stop: exit $srv_rc"
sanitizer_check

# ---- the scripts parse
if command -v node >/dev/null 2>&1; then
  errs=
  m=0
  while IFS= read -r f; do
    m=$((m + 1))
    node --check "$f" 2>"$dir/node.err" || errs="$errs $f: $(head -n 3 "$dir/node.err")"
  done < <(find ui -path ui/vendor -prune -o -type f \( -name '*.js' -o -name '*.mjs' \) -print | sort)
  [ -z "$errs" ] && ok "node --check: the $m scripts of ui/ (vendor aside) parse" || bad "node --check:$errs"
else
  echo "skip node --check (no node)"
fi
done_
