"""``chargeops report uptime`` end to end: a replayed capture, the real console script,
figures against the hand-computed ones (docs/uptime.md's method)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.support.builders import SITE_A, SITE_B, charger
from tests.support.cli import RunCli
from tests.uptime.conftest import Replayed

DAY = ("--from", "2026-04-26", "--to", "2026-04-27")

# Charger 1: outage 10:00-11:30 = 90; the silence (offline only, 10-12) excludes 10:00-11:00
# (the fault from 10:30 runs alongside the silenced offline period), so 30 count.
# Charger 3: 60 (00:00-01:00 of a period from the 25th). Charger 4: 22:00-24:00 open = 120.
EXPECTED = {
    charger(1): (97.9167, 90.0, 60.0, 1, 90.0),
    charger(2): (100.0, 0.0, 0.0, 0, 0.0),
    charger(3): (95.8333, 60.0, 0.0, 1, 60.0),
    charger(4): (91.6667, 120.0, 0.0, 1, 120.0),
}
FIELDS = ("uptime_percent", "outage_minutes", "excluded_minutes", "outage_count",
          "longest_outage_minutes")  # fmt: skip


def report(run_cli: RunCli, replayed: Replayed, *extra: str) -> str:
    args = ("--state", str(replayed.state), "--config", str(replayed.config))
    done = run_cli("report", "uptime", *DAY, *args, *extra)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_json_has_the_contract_shape_and_hand_computed_figures(
    run_cli: RunCli, replayed: Replayed
) -> None:
    doc = json.loads(report(run_cli, replayed, "--format", "json"))
    assert (doc["from"], doc["to"]) == ("2026-04-26T00:00:00Z", "2026-04-27T00:00:00Z")
    assert doc["method"] == "NEVI 23 CFR 680.116(b)"
    got = {c["charger_id"]: tuple(c[f] for f in FIELDS) for c in doc["chargers"]}
    assert got == EXPECTED
    sites = {s["site_id"]: s for s in doc["sites"]}
    assert set(sites) == {SITE_A, SITE_B}
    assert sites[SITE_A]["uptime_percent"] == round((2880 - 30) / 2880 * 100, 4)
    assert sites[SITE_B]["uptime_percent"] == round((2880 - 180) / 2880 * 100, 4)
    assert (sites[SITE_B]["outage_count"], sites[SITE_B]["longest_outage_minutes"]) == (2, 120.0)
    assert doc["fleet"]["uptime_percent"] == round((5760 - 210) / 5760 * 100, 4)
    assert {c["site_id"] for c in doc["chargers"]} == {SITE_A, SITE_B}


def test_site_filter_csv_and_table(run_cli: RunCli, replayed: Replayed) -> None:
    rows = list(csv.DictReader(io.StringIO(report(run_cli, replayed, "--format", "csv",
                                                  "--site", SITE_B))))  # fmt: skip
    assert [(r["scope"], r["charger_id"]) for r in rows] == [
        ("charger", charger(3)), ("charger", charger(4)), ("site", ""), ("fleet", "")
    ]  # fmt: skip
    assert rows[2]["uptime_percent"] == str(round((2880 - 180) / 2880 * 100, 4))
    table = report(run_cli, replayed)
    assert "97.917" in table
    assert "Site A" in table
    assert "Site B" in table
    assert table.index("Charger 4") < table.index("Charger 3") < table.index("Charger 1")


def test_output_file_holds_what_stdout_would(
    run_cli: RunCli, replayed: Replayed, tmp_path: Path
) -> None:
    printed = report(run_cli, replayed, "--format", "json")
    assert report(run_cli, replayed, "--format", "json", "--output", "uptime.json") == ""
    assert json.loads((tmp_path / "uptime.json").read_text()) == json.loads(printed)
    assert not (tmp_path / "uptime.json.tmp").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "2026-04-27", "--to", "2026-04-26"), "--to must be after --from"),
        (("--from", "yesterday", "--to", "2026-04-26"), "--from 'yesterday': not a date"),
        (
            ("--from", "2026-04-26", "--to", "2026-04-27", "--state", "nope.sqlite3"),
            "--state nope.sqlite3: no such state file",
        ),
    ],
)
def test_usage_errors_exit_2(cli_main: RunCli, args: tuple[str, ...], message: str) -> None:
    done = cli_main("report", "uptime", *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_unknown_site_and_bad_config_exit_2(cli_main: RunCli, replayed: Replayed) -> None:
    done = cli_main("report", "uptime", *DAY, "--state", str(replayed.state), "--site", "nowhere")
    assert done.returncode == 2
    assert "--site nowhere: no chargers known" in done.stderr
    bad = replayed.folder / "bad.yaml"
    bad.write_text("uptime:\n  exclusions:\n    - {starts: 2026-04-26T00:00:00Z, "
                   "ends: 2026-04-27T00:00:00Z}\n")  # fmt: skip
    done = cli_main("report", "uptime", *DAY, "--state", str(replayed.state), "--config", str(bad))
    assert done.returncode == 2
    assert "uptime.exclusions" in done.stderr
    assert "reason" in done.stderr
