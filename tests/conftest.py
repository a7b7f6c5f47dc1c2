"""Test tiers, and the fixtures that run the CLI.

Every test gets exactly one tier marker, by where it lives (``TIERS``; a test that
carries a tier marker itself keeps it), so a tier runs on its own (``pytest -m unit``);
``./test.sh`` runs them all.

- ``unit``: pure rules and parsers; no store, server, subprocess or CLI. Seconds in all.
- ``functional`` (anything not listed): a real SQLite store, loopback HTTP servers
  (``tests/support/receivers.py``) and the CLI, in process or as the console script.
- ``azure``: the Functions app on the Service Bus simulation, Azurite (any test using
  the ``azurite`` fixture), and the infrastructure code checks (``tests/infra``).
- ``proof``: the operator proof, a replay SIGKILLed and resumed against failing receivers.

Shared builders, loopback receivers and vendor plumbing live in ``tests/support``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.azurite import azurite
from tests.support.cli import RunCli, console, in_process

# ``azurite`` is the fixture, for every suite.
__all__ = ["ROOT", "azurite"]

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"

TIER_NAMES = ("unit", "functional", "azure", "proof")
# Longest matching path (relative to tests/) wins; anything unlisted is functional.
TIERS = {
    "config": "unit",
    "core": "unit",
    "core/test_ingest.py": "functional",
    "core/test_sinks.py": "functional",
    "docs": "unit",
    "events/test_catalogue.py": "unit",
    "finance/test_cdr.py": "unit",
    "finance/test_pricing.py": "unit",
    "finance/test_settings.py": "unit",
    "finance/test_signed.py": "unit",
    "registry/test_budget.py": "unit",
    "stores/test_keys.py": "unit",
    "tickets/test_routing_sites.py": "unit",
    "uptime/test_intervals.py": "unit",
    "azure": "azure",
    "infra": "azure",
    "proof": "proof",
}


def tier(path: Path, fixtures: list[str]) -> str:
    if "azurite" in fixtures:
        return "azure"
    try:
        parts = path.relative_to(TESTS).parts
    except ValueError:
        return "functional"
    for n in range(len(parts), 0, -1):
        found = TIERS.get("/".join(parts[:n]))
        if found is not None:
            return found
    return "functional"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not any(item.get_closest_marker(name) for name in TIER_NAMES):
            item.add_marker(tier(item.path, getattr(item, "fixturenames", [])))


@pytest.fixture
def run_cli(tmp_path: Path) -> RunCli:
    """Run ``chargeops ARGS`` in a subprocess (the installed console script) in tmp_path."""

    def run(
        *args: str, env: dict[str, str] | None = None, input: str | None = None, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        return console(*args, cwd=tmp_path, env=env, input=input, check=check)

    return run


@pytest.fixture
def cli_main(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> RunCli:
    """Run ``chargeops ARGS`` in this process (``shared.cli.main``) in tmp_path: for
    argument and usage handling. Answers like ``run_cli`` (returncode, stdout, stderr)."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return in_process(args, cwd=tmp_path, monkeypatch=monkeypatch, capsys=capsys, env=env)

    return run
