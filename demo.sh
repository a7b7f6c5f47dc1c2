#!/usr/bin/env bash
# The main job: set up .venv/ and replay the bundled sample day through ingest, the
# tickets and finance consumers, printing the summary. Outputs land in ./out/.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/bootstrap.sh run
exec .venv/bin/chargeops replay samples/sample-day.jsonl --out out "$@"
