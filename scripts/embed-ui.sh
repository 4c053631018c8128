#!/usr/bin/env bash
# embed-ui.sh - writes the C source of the web UI's asset table: every file
# under DIR (default ui/) as {path, content type, bytes, length, ETag}, for
# src/server/ui.c. The bytes are written with od (POSIX), the ETag is the
# start of the file's SHA-256 (cksum's CRC where sha256sum is missing).
#   scripts/embed-ui.sh OUT.c [DIR]
set -eu
out=$1
dir=${2:-ui}
[ -d "$dir" ] || { echo "embed-ui.sh: no directory $dir" >&2; exit 1; }

ctype() {
  case $1 in
  *.html) echo 'text/html; charset=utf-8' ;;
  *.js | *.mjs) echo 'text/javascript; charset=utf-8' ;;
  *.css) echo 'text/css; charset=utf-8' ;;
  *.json | *.map) echo 'application/json' ;;
  *.svg) echo 'image/svg+xml' ;;
  *.png) echo 'image/png' ;;
  *.ico) echo 'image/x-icon' ;;
  *.md) echo 'text/markdown; charset=utf-8' ;;
  *.txt | */LICENSE* | LICENSE*) echo 'text/plain; charset=utf-8' ;;
  *) echo 'application/octet-stream' ;;
  esac
}

etag() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -c1-20
  else
    cksum "$1" | awk '{printf "%08x%x", $1, $2}'
  fi
}

files=$(cd "$dir" && find . -type f ! -name '.*' | sed 's|^\./||' | LC_ALL=C sort)
tmp=$out.tmp
{
  echo "/* generated from $dir/ by scripts/embed-ui.sh: do not edit */"
  echo '#include <stddef.h>'
  echo
  echo '/* the same layout as in src/server/ui.c */'
  echo 'typedef struct ui_asset {'
  echo '    const char *path; /* relative to ui/, e.g. "vendor/preact.mjs" */'
  echo '    const char *type; /* Content-Type */'
  echo '    const unsigned char *data;'
  echo '    size_t len;'
  echo '    const char *etag; /* quoted */'
  echo '} ui_asset;'
  echo
  echo 'extern const ui_asset ui_assets[];'
  echo 'extern const size_t ui_assets_n;'
  i=0
  for f in $files; do
    case $f in
    *[!A-Za-z0-9._/-]*) echo "embed-ui.sh: $dir/$f: only letters, digits and ._/- in asset names" >&2; exit 1 ;;
    esac
    echo
    echo "/* $f */"
    echo "static const unsigned char a$i[] = {"
    od -An -v -tx1 "$dir/$f" | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'
    echo '0x00};'
    i=$((i + 1))
  done
  echo
  echo 'const ui_asset ui_assets[] = {'
  i=0
  for f in $files; do
    echo "    {\"$f\", \"$(ctype "$f")\", a$i, sizeof a$i - 1, \"\\\"$(etag "$dir/$f")\\\"\"},"
    i=$((i + 1))
  done
  [ "$i" -gt 0 ] || echo '    {NULL, NULL, NULL, 0, NULL},'
  echo '};'
  echo "const size_t ui_assets_n = $i;"
} >"$tmp"
mv "$tmp" "$out"
