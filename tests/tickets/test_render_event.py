"""``chargeops render TARGET --event ID``: the request a target would get for a real event
from the state (issue 15, "render with a real event from the state and a real CDR")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.cli import RunCli

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "sample-day.jsonl"
FLEET = ROOT / "samples" / "fleet.json"
KEY = "R0UT1NGKEY0000000000000000000000"
CONFIG = """\
targets:
  pd:
    kind: pagerduty
    routing_key: ${PD_KEY}
  book:
    kind: webhook
    url: https://billing.example.com/hooks/chargeops
    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
routes:
  - match: {types: ["charger.*", "site.*"]}
    targets: [pd]
  - match: {types: [finance.record.created]}
    targets: [book]
"""


def _events(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]


def _render(run_cli: RunCli, config: Path, *args: str) -> Any:
    done = run_cli("render", *args, "--config", str(config), "--json", env={"PD_KEY": KEY})
    assert done.returncode == 0, done.stderr
    assert KEY not in done.stdout  # the routing key is masked, even from the state's view
    return json.loads(done.stdout)


def test_a_stored_outage_renders_as_its_trigger_and_its_resolve(
    run_cli: RunCli, tmp_path: Path
) -> None:
    assert run_cli("registry", "import", str(FLEET)).returncode == 0
    assert run_cli("replay", str(SAMPLE), "--quiet").returncode == 0  # default config
    config = tmp_path / "chargeops.yaml"
    config.write_text(CONFIG)
    events = _events(tmp_path / "out")
    online = next(e for e in events if e["type"] == "charger.online")
    offline = [
        e for e in events if e["type"] == "charger.offline" and e["subject"] == online["subject"]
    ]
    opened = [e for e in offline if e["time"] <= online["time"]][-1]

    (trigger,) = _render(run_cli, config, "pd", "--event", opened["id"])
    body = trigger["body"]
    assert body["event_action"] == "trigger"
    assert body["dedup_key"] == "chargeops/offline/" + online["subject"]
    name = opened["data"]["charger_name"]
    assert name
    assert name in body["payload"]["summary"]
    assert online["subject"] not in body["payload"]["summary"]

    (resolve,) = _render(run_cli, config, "pd", "--event", online["id"])
    assert resolve["body"]["event_action"] == "resolve"
    assert resolve["body"]["dedup_key"] == body["dedup_key"]  # closes what it opened

    record = next(e for e in events if e["type"] == "finance.record.created")
    (posted,) = _render(run_cli, config, "book", "--event", record["id"])
    assert posted["body"]["data"] == record["data"]  # the real CDR, not a sample
    assert posted["body"]["data"]["id"] == record["data"]["id"]


def test_an_unknown_event_or_both_forms_are_usage_errors(run_cli: RunCli, tmp_path: Path) -> None:
    assert run_cli("replay", str(SAMPLE), "--quiet").returncode == 0
    config = tmp_path / "chargeops.yaml"
    config.write_text(CONFIG)
    env = {"PD_KEY": KEY}
    missing = run_cli("render", "pd", "--event", "nope", "--config", str(config), env=env)
    assert missing.returncode == 2
    assert "no event 'nope'" in missing.stderr
    assert "events.jsonl" in missing.stderr
    both = run_cli(
        "render", "pd", "charger.offline", "--event", "x", "--config", str(config), env=env
    )
    assert both.returncode == 2
    assert "EVENT_TYPE" in both.stderr
    assert "--event" in both.stderr
