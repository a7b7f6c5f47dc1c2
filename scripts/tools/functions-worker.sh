#!/usr/bin/env bash
# Install the Azure Functions Python worker's own loader for tests/azure/test_worker_loader.py
# (idempotent; fast and offline when already installed):
#   .tools/functions-worker/  azure-functions-runtime (the worker's indexing and loading code)
# It declares Python >= 3.13, but its loader runs on 3.11, hence --ignore-requires-python. It is
# installed --no-deps and without azure-functions: the test runs it with the project's
# site-packages on sys.path, so the azure-functions pinned in requirements.txt validates, as in
# Azure. The venv is made from the project's interpreter, whose compiled packages it imports.
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNTIME_VERSION=1.3.0
EXTENSIONS_BASE_VERSION=1.2.0
dir=.tools/functions-worker

if [ ! -x .venv/bin/python ]; then
  echo "functions-worker.sh: .venv/ is missing; run scripts/bootstrap.sh dev first" >&2
  exit 2
fi
pyver=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
stamp="$dir/.installed-azure-functions-runtime-$RUNTIME_VERSION-py$pyver"

if [ -f "$stamp" ] && [ -x "$dir/bin/python" ]; then
  exit 0
fi
echo "functions-worker.sh: installing azure-functions-runtime==$RUNTIME_VERSION into $dir ..." >&2
rm -rf "$dir"
mkdir -p .tools
.venv/bin/python -m venv "$dir"
# (the grep drops this machine's notes about absent local package mirrors)
"$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
  --ignore-requires-python \
  "azure-functions-runtime==$RUNTIME_VERSION" \
  "azurefunctions-extensions-base==$EXTENSIONS_BASE_VERSION" \
  2> >(grep -v "^WARNING: Location .* is ignored" >&2)
touch "$stamp"
