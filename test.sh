#!/usr/bin/env bash
# The test command: set up .venv/ with dev tools, the helper tools the tests use
# (Azurite, IaC checkers), then lint, type-check and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/bootstrap.sh dev
for tool in scripts/tools/*.sh; do
  [ -e "$tool" ] && bash "$tool"
done
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports --no-cache
exec .venv/bin/pytest -q -n 2 "$@"
