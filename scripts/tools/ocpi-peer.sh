#!/usr/bin/env bash
# Install extrawest-ocpi (py_ocpi), an OCPI 2.2.1 implementation from PyPI, into its own venv
# for tests/ocpi/test_extrawest.py (idempotent; fast and offline when already installed):
#   .tools/extrawest-ocpi/  extrawest-ocpi and the versions it pins (pydantic 1, fastapi 0.101,
#   httpx 0.24), which cannot live beside the project's pydantic 2 and httpx 0.28.
set -euo pipefail
cd "$(dirname "$0")/../.."

VERSION=2025.7.16
dir=.tools/extrawest-ocpi

if [ ! -x .venv/bin/python ]; then
  echo "ocpi-peer.sh: .venv/ is missing; run scripts/bootstrap.sh dev first" >&2
  exit 2
fi
pyver=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
stamp="$dir/.installed-extrawest-ocpi-$VERSION-py$pyver"

if [ -f "$stamp" ] && [ -x "$dir/bin/python" ]; then
  exit 0
fi
echo "ocpi-peer.sh: installing extrawest-ocpi==$VERSION into $dir ..." >&2
rm -rf "$dir"
mkdir -p .tools
.venv/bin/python -m venv "$dir"
# (the grep drops this machine's notes about absent local package mirrors)
"$dir/bin/python" -m pip install --quiet --disable-pip-version-check \
  -c scripts/tools/constraints/ocpi-peer.txt "extrawest-ocpi==$VERSION" \
  2> >(grep -v "^WARNING: Location .* is ignored" >&2)
touch "$stamp"
