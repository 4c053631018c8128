#!/usr/bin/env bash
# Installs the Debian packages tracecheck's build and tests need. Idempotent:
# does nothing when every package is present, runs `apt-get update` once when
# something is missing. Usage: scripts/setup.sh [--fuzz]
set -euo pipefail

pkgs=(
  build-essential pkg-config
  protobuf-c-compiler libprotobuf-c-dev
  libjansson-dev libyajl-dev libfyaml-dev libpcre2-dev
  libcurl4-openssl-dev libmicrohttpd-dev libnghttp2-dev
  libsqlite3-dev libpq-dev zlib1g-dev
  librdkafka-dev libprotobuf-dev libprotoc-dev
  libcmocka-dev libxml2-utils jq curl openssl
  clang libclang-rt-14-dev llvm
  postgresql
  chromium fonts-liberation # the web UI's browser tests (tests/sh/ui.sh, headless)
)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# The demo's services run on Node.js; use the machine's when it has one.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  for p in nodejs npm; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done" >&2
