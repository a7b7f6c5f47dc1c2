#!/usr/bin/env bash
# Install headless Chromium for the uptime report's rendering test (idempotent; fast when
# already installed). Debian's package, via apt-get: no browser download of its own.
#   /usr/bin/chromium
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium.sh: apt-get not found; install Chromium so /usr/bin/chromium exists" >&2
  exit 2
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "chromium.sh: need root (or sudo) to apt-get install chromium" >&2
    exit 2
  fi
fi
echo "chromium.sh: installing chromium with apt-get ..." >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
if [ ! -x /usr/bin/chromium ]; then
  echo "chromium.sh: apt-get finished but /usr/bin/chromium is missing" >&2
  exit 2
fi
