#!/usr/bin/env bash
# Install Azurite (the Azure Storage emulator) for the Table Storage contract tests
# (idempotent; fast when already installed). The tests start and stop it themselves.
#   .tools/azurite/node_modules/.bin/azurite-table
# 3.35.0 is the last release that runs on Node 20 (3.36+ need Node 22). Its dependencies
# are pinned by scripts/tools/azurite/package-lock.json (a ranged install broke when the
# registry gained a mysql2 needing a sql-escaper it did not have).
set -euo pipefail
cd "$(dirname "$0")/../.."

AZURITE_VERSION=3.35.0
dir=.tools/azurite
lock=scripts/tools/azurite/package-lock.json  # every dependency pinned: npm ci, not install
stamp="$dir/.installed-azurite-$AZURITE_VERSION-$(sha256sum "$lock" | cut -c1-16)"

if [ -f "$stamp" ] && [ -x "$dir/node_modules/.bin/azurite-table" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "azurite.sh: npm not found; install Node.js 20 (apt-get install nodejs npm)" >&2
  exit 2
fi
echo "azurite.sh: installing azurite@$AZURITE_VERSION into $dir ..." >&2
rm -rf "$dir"
mkdir -p "$dir"
cp scripts/tools/azurite/package.json "$lock" "$dir/"
npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >&2
touch "$stamp"
