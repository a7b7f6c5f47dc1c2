"""``chargeops registry import FILE``: a Zaptec-shaped fleet file into the registry, as a
refresh would have written it, on SQLite and on Table Storage; idempotent; bad input is
exit 2 naming the file, and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators.zaptec_api import generate_fleet
from tests.operator.conftest import FLEET_FILE
from tests.support.azurite import Azurite
from tests.support.cli import RunCli


def expected_rows(fleet: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """What ``registry list --json`` must say for each charger of a fleet file."""
    rows: dict[str, tuple[str, ...]] = {}
    for site in fleet["installations"]:
        for c in site["chargers"]:
            rows[c["Id"]] = (
                c["DeviceId"], c["Name"], site["Id"], site["Name"], site["TimeZoneIanaName"],
            )  # fmt: skip
    return rows


def listed(
    run: RunCli, *state: str, env: dict[str, str] | None = None
) -> dict[str, tuple[str, ...]]:
    result = run("registry", "list", "--json", *state, env=env)
    assert result.returncode == 0, result.stderr
    return {
        r["charger_id"]: (r["serial"], r["name"], r["site_id"], r["site_name"], r["time_zone"])
        for r in json.loads(result.stdout)
    }


def test_the_sample_fleet_is_imported_once_and_then_left_alone(cli_main: RunCli) -> None:
    fleet = json.loads(FLEET_FILE.read_text("utf-8"))
    first = cli_main("registry", "import", str(FLEET_FILE), "--json")
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert result["sites"] == {"added": 3, "changed": 0, "unchanged": 0}
    assert result["chargers"] == {"added": 12, "changed": 0, "unchanged": 0}
    assert listed(cli_main) == expected_rows(fleet)
    again = cli_main("registry", "import", str(FLEET_FILE))
    assert again.returncode == 0, again.stderr
    assert "3 sites (0 added, 0 changed, 3 unchanged)" in again.stdout
    assert "12 chargers (0 added, 0 changed, 12 unchanged)" in again.stdout
    assert listed(cli_main) == expected_rows(fleet)


def test_a_renamed_charger_is_a_change(cli_main: RunCli, tmp_path: Path) -> None:
    fleet = json.loads(FLEET_FILE.read_text("utf-8"))
    assert cli_main("registry", "import", str(FLEET_FILE)).returncode == 0
    fleet["installations"][1]["chargers"][2]["Name"] = "Bay 7"
    fleet["installations"][2]["Name"] = "Depot North"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(fleet), "utf-8")
    result = json.loads(cli_main("registry", "import", str(edited), "--json").stdout)
    assert result["sites"] == {"added": 0, "changed": 1, "unchanged": 2}
    # the renamed charger, and the four chargers of the renamed site (their site_name)
    assert result["chargers"] == {"added": 0, "changed": 5, "unchanged": 7}
    assert listed(cli_main) == expected_rows(fleet)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(size=st.integers(1, 60), seed=st.integers(0, 10_000), per_site=st.integers(1, 12))
def test_any_simulated_fleet_round_trips(
    cli_main: RunCli, tmp_path: Path, size: int, seed: int, per_site: int
) -> None:
    """The simulator's fleet files (circuits, several device families) as the registry
    lists them; a fresh state per example."""
    fleet = generate_fleet(size, seed=seed, per_site=per_site)
    path = tmp_path / f"fleet-{size}-{seed}-{per_site}.json"
    path.write_text(json.dumps(fleet), "utf-8")
    state = str(tmp_path / f"state-{size}-{seed}-{per_site}.sqlite3")
    result = cli_main("registry", "import", str(path), "--state", state, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["chargers"]["added"] == size
    assert listed(cli_main, "--state", state) == expected_rows(fleet)
    circuits = {
        c["Id"]: next(k["Name"] for k in site["Circuits"] if k["Id"] == c["CircuitId"])
        for site in fleet["installations"]
        for c in site["chargers"]
    }
    rows = json.loads(cli_main("registry", "list", "--json", "--state", state).stdout)
    assert {r["charger_id"]: r["circuit_name"] for r in rows} == circuits


BAD = [
    ("{not json", "line 1: not valid JSON"),
    ("[]", "the top level must be an object"),
    ('{"sites": []}', "no 'installations'"),
    ('{"installations": {}}', "'installations' must be a list"),
    ('{"installations": [{"Name": "x"}]}', "installations[0]: no Id"),
    ('{"installations": [{"Id": "site-1"}]}', "installations[0]: Id 'site-1' is not a GUID"),
    (
        '{"installations": [{"Id": "8e860bac-f1b5-5c87-a7c1-d5dafa305849", '
        '"chargers": [{"Id": "879d7c40-2825-50f2-bd18-1398591ff56d"}, '
        '{"Id": "879d7c40-2825-50f2-bd18-1398591ff56d"}]}]}',
        "installations[0].chargers[1]: charger 879d7c40-2825-50f2-bd18-1398591ff56d appears twice",
    ),
    (
        '{"chargers": [{"Id": "879d7c40-2825-50f2-bd18-1398591ff56d", '
        '"InstallationId": "8e860bac-f1b5-5c87-a7c1-d5dafa305849"}]}',
        "InstallationId 8e860bac-f1b5-5c87-a7c1-d5dafa305849, which is neither",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_input_names_the_file_and_writes_nothing(
    cli_main: RunCli, tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "fleet.json"
    path.write_text(text, "utf-8")
    result = cli_main("registry", "import", str(path))
    assert result.returncode == 2
    assert result.stderr.startswith(f"chargeops: error: {path}: "), result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    if (tmp_path / "out" / "state.sqlite3").exists():
        assert listed(cli_main) == {}


def test_a_missing_file_is_a_usage_error(cli_main: RunCli) -> None:
    result = cli_main("registry", "import", "nowhere.json")
    assert result.returncode == 2
    assert "nowhere.json: cannot read" in result.stderr


def test_table_storage_gets_the_same_registry(run_cli: RunCli, azurite: Azurite) -> None:
    env = azurite.env()
    first = run_cli("registry", "import", str(FLEET_FILE), "--state", "table", "--json", env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["chargers"]["added"] == 12
    fleet = json.loads(FLEET_FILE.read_text("utf-8"))
    assert listed(run_cli, "--state", "table", env=env) == expected_rows(fleet)
    again = run_cli("registry", "import", str(FLEET_FILE), "--state", "table", "--json", env=env)
    assert json.loads(again.stdout)["chargers"] == {"added": 0, "changed": 0, "unchanged": 12}
