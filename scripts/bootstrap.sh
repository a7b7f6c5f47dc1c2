#!/usr/bin/env bash
# Create .venv/ at the repository root and install chargeops into it (idempotent).
# Usage: scripts/bootstrap.sh [dev]   -- "dev" adds the test and lint tools.
set -euo pipefail
cd "$(dirname "$0")/.."
want=${1:-run}
py=${PYTHON:-python3}
if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "chargeops needs Python >= 3.11 (found: $("$py" --version 2>&1))" >&2
  exit 2
fi
[ -x .venv/bin/python ] || "$py" -m venv .venv
reqs=requirements.txt
[ "$want" = dev ] && reqs=requirements-dev.txt
stamp=.venv/.installed-$want
pins=requirements-constraints.txt  # every transitive version, as CI last installed it
if [ ! -f "$stamp" ] || [ "$reqs" -nt "$stamp" ] || [ requirements.txt -nt "$stamp" ] || [ "$pins" -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "Setting up .venv ($want dependencies)…" >&2
  # (the grep drops this machine's notes about absent local package mirrors)
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$reqs" -c "$pins" \
    2> >(grep -v "^WARNING: Location .* is ignored" >&2)
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e . \
    2> >(grep -v "^WARNING: Location .* is ignored" >&2)
  touch "$stamp"
fi
