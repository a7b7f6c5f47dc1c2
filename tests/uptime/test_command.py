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


EPOCH = "1777777777"  # SOURCE_DATE_EPOCH: 2026-05-03T03:09:37Z, so two runs print the same


def report(run_cli: RunCli, replayed: Replayed, *extra: str) -> str:
    args = ("--state", str(replayed.state), "--config", str(replayed.config))
    done = run_cli("report", "uptime", *DAY, *args, *extra, env={"SOURCE_DATE_EPOCH": EPOCH})
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
        ("charger", charger(3)), ("charger", charger(4)), ("site", ""), ("fleet", ""),
        ("outage", charger(3)), ("outage", charger(4)),
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


def test_json_lists_every_outage_in_the_sites_local_time(
    run_cli: RunCli, replayed: Replayed
) -> None:
    """The registry puts both sites in Europe/Oslo (CEST, UTC+2 in April): the default
    ``--tz site`` shows local times, and each outage has its own row."""
    doc = json.loads(report(run_cli, replayed, "--json"))
    assert doc["generated_at"] == "2026-05-03T03:09:37Z"
    assert doc["time_zone"] == "site"
    assert {s["time_zone"] for s in doc["sites"]} == {"Europe/Oslo"}
    rows = [
        (o["charger_id"], o["cause"], o["detail"], o["start"], o["start_local"], o["end_local"],
         o["minutes"], o["excluded_minutes"], o["open"])
        for o in doc["outages"]
    ]  # fmt: skip
    assert rows == [
        # charger 3: from 23:00 on the 25th, clipped to the window's start
        (charger(3), "offline", "is_online", "2026-04-26T00:00:00Z", "2026-04-26 02:00:00 CEST",
         "2026-04-26 03:00:00 CEST", 60.0, 0.0, False),
        # charger 1: offline 10-11 inside the silence; the fault 10:30-11:30 half inside it
        (charger(1), "offline", "is_online", "2026-04-26T10:00:00Z", "2026-04-26 12:00:00 CEST",
         "2026-04-26 13:00:00 CEST", 60.0, 60.0, False),
        (charger(1), "fault", "RELAY_WELDED", "2026-04-26T10:30:00Z", "2026-04-26 12:30:00 CEST",
         "2026-04-26 13:30:00 CEST", 60.0, 30.0, False),
        # charger 4: from 22:00, never back: counted to the window's end
        (charger(4), "offline", "is_online", "2026-04-26T22:00:00Z", "2026-04-27 00:00:00 CEST",
         "2026-04-27 02:00:00 CEST", 120.0, 0.0, True),
    ]  # fmt: skip
    assert {o["site"] for o in doc["outages"]} == {"Site A", "Site B"}
    assert doc == json.loads(report(run_cli, replayed, "--format", "json"))  # one shape


def test_tz_overrides_every_site_and_a_bad_zone_is_a_usage_error(
    run_cli: RunCli, cli_main: RunCli, replayed: Replayed
) -> None:
    doc = json.loads(report(run_cli, replayed, "--json", "--tz", "UTC"))
    assert doc["time_zone"] == "UTC"
    assert doc["outages"][1]["start_local"] == "2026-04-26 10:00:00 UTC"
    rows = list(csv.DictReader(io.StringIO(report(run_cli, replayed, "--format", "csv",
                                                  "--tz", "America/New_York"))))  # fmt: skip
    outage = [r for r in rows if r["scope"] == "outage"]
    assert [(r["name"], r["start_local"], r["outage_minutes"]) for r in outage][1] == (
        "Charger 1",
        "2026-04-26 06:00:00 EDT",
        "60.0",
    )
    assert {r["time_zone"] for r in outage} == {"America/New_York"}
    done = cli_main("report", "uptime", *DAY, "--state", str(replayed.state), "--tz", "Mars/Base")
    assert done.returncode == 2
    assert "--tz: 'Mars/Base' is not an IANA time zone" in done.stderr


def test_table_pages_marks_below_target_in_words_and_lists_outages(
    run_cli: RunCli, replayed: Replayed
) -> None:
    table = report(run_cli, replayed, "--top", "1")
    assert "Generated 2026-05-03T03:09:37Z; local times in each site's own zone" in table
    # the worst charger, then one row for the other three: (4320 - (150 - 60)) / 4320
    charger_rows = table.split("\n\n")[2].splitlines()[2:]
    assert charger_rows[0].startswith("Charger 4")
    assert charger_rows[0].endswith("BELOW")
    assert charger_rows[1].startswith("(3 more chargers)")
    assert f"{(4320 - 90) / 4320 * 100:.3f}" in charger_rows[1]
    assert len(charger_rows) == 2
    outages = table.split("\n\n")[3]
    assert outages.startswith("Outages: 4 (the 1 longest; --top 0 lists all)")
    assert "2026-04-27 00:00 CEST" not in outages  # seconds shown: 00:00:00
    assert "2026-04-27 00:00:00 CEST  2026-04-27 02:00:00 CEST (open)" in outages
