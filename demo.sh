#!/usr/bin/env bash
# The main job: set up .venv/, load the sample fleet into the registry (names, sites), replay
# the bundled sample day through ingest and the tickets and finance consumers, print the
# summary, then what became of every condition of the day (a ticket, or why none).
# Outputs land in ./out/. Extra arguments go to `chargeops replay` (e.g. --json, --config
# FILE, --state table, --out DIR); --out, --state and --config are used by every step.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/bootstrap.sh run
out=out json=0
common=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --out) out=${args[i + 1]:-out} ;;
    --out=*) out=${args[i]#--out=} ;;
    --state | --config) common+=("${args[i]}" "${args[i + 1]:-}") ;;
    --state=* | --config=*) common+=("${args[i]}") ;;
    --json) json=1 ;;
  esac
done
mkdir -p "$out"
CHARGEOPS_DEMO_OUT=$(cd "$out" && pwd)
export CHARGEOPS_DEMO_OUT
chargeops=.venv/bin/chargeops
say=/dev/stdout
[ "$json" = 1 ] && say=/dev/stderr # --json: stdout is the replay's JSON summary only
"$chargeops" registry import samples/fleet.json --out "$out" "${common[@]}" >"$say"
"$chargeops" replay samples/sample-day.jsonl --out "$out" --config samples/demo.yaml "$@"
if [ "$json" = 0 ]; then
  echo
  echo "What became of every condition (chargeops alerts explain; one in detail: alerts explain ID):"
  "$chargeops" alerts explain --out "$out" --config samples/demo.yaml "${common[@]}"
fi
