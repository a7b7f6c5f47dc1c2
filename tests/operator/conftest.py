"""The sample day for the operator commands: its capture, fleet file and ground truth.

The ground truth comes from the simulator that wrote the sample (``simulators.traffic``,
same seed), so a test compares what the commands say with what really happened, not with
what the commands said before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from simulators.fleet import Fleet
from simulators.traffic import Truth, generate
from tests.azure.conftest import harness_factory, receiver
from tests.tickets.conftest import fleet

# fixtures from other suites: the Azure path (test_silence) and the vendor fakes (test_alerts)
__all__ = ["fleet", "harness_factory", "receiver"]

ROOT = Path(__file__).resolve().parents[2]
FLEET_FILE = ROOT / "samples" / "fleet.json"
DEMO_CONFIG = ROOT / "samples" / "demo.yaml"
ALERT_TYPES = ["charger.fault.raised", "charger.fault.cleared", "charger.offline", "charger.online"]


@dataclass(frozen=True)
class Day:
    capture: Path
    fleet: Fleet
    truth: Truth

    def site_name(self, site_id: str) -> str:
        return next(s.name for s in self.fleet.sites if s.site_id == site_id)

    def names(self) -> dict[str, str]:
        """Charger id -> registry name."""
        return {c.charger_id: c.name for s in self.fleet.sites for c in s.chargers}


@pytest.fixture(scope="session")
def day(tmp_path_factory: pytest.TempPathFactory) -> Day:
    """The generated sample day (what ``samples/`` holds: the fleet file must match)."""
    fleet, truth, lines = generate()
    path = tmp_path_factory.mktemp("operator") / "day.jsonl"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    assert json.loads(FLEET_FILE.read_text("utf-8")) == fleet.as_json(), "fleet.json is stale"
    return Day(path, fleet, truth)


def write_config(tmp_path: Path, targets: dict[str, Any], **extra: Any) -> Path:
    """Alert types routed to ``targets``; site grouping and grace as the README shows."""
    config = {
        "version": 1,
        "targets": targets,
        "routes": [{"match": {"types": ALERT_TYPES}, "targets": sorted(targets)}],
        "alerting": {"offline_grace": "10m", "flap_window": "5m", "site_outage_threshold": 3},
        **extra,
    }
    path = tmp_path / "chargeops.yaml"
    path.write_text(json.dumps(config), "utf-8")  # JSON is YAML
    return path


def outbox_target(directory: Path, mode: str = "alerts") -> dict[str, Any]:
    """A webhook writing each request into ``directory`` (one JSON file per notice)."""
    return {"kind": "webhook", "url": directory.resolve().as_uri() + "/", "mode": mode}


def bodies(directory: Path) -> list[dict[str, Any]]:
    """The CloudEvents a file:// webhook target wrote."""
    if not directory.exists():
        return []
    found = []
    for path in sorted(directory.glob("*.json")):
        body = json.loads(path.read_text("utf-8"))["body"]
        found.append(json.loads(body) if isinstance(body, str) else body)
    return found
