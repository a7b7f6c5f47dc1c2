"""``chargeops silence add|list|expire``: maintenance windows kept in the state, honoured
by a replay and by the Azure consumer functions without a redeploy (the same use cases
read them per unit of work)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from shared.storage.sqlite import SqliteStore
from tests.azure.test_pipeline_sim import Run, traffic
from tests.operator.conftest import FLEET_FILE, Day, bodies, outbox_target, write_config
from tests.operator.test_demo import site_outages
from tests.support.azurite import Azurite, fresh
from tests.support.cli import RunCli
from tests.support.receivers import Receiver, serve

# As test_one_path: time runs session_settle past the capture (the day's end is not an
# outage of every charger; a longer tail would make the watchdog declare them silent).
SETTLE = timedelta(minutes=2)
WINDOW = ("--starts", "2026-04-26T10:00:00Z", "--ends", "2026-04-26T12:00:00Z")


def the_outage(day: Day) -> tuple[str, str]:
    ((site_id, _),) = site_outages(day).items()
    return site_id, day.site_name(site_id)


def replay(run: RunCli, day: Day, config: Path, *state: str) -> dict[str, Any]:
    result = run("replay", str(day.capture), "--config", str(config), "--json", "--quiet", *state)
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def test_a_silence_added_by_command_suppresses_the_replayed_outage(
    day: Day, run_cli: RunCli, tmp_path: Path
) -> None:
    site_id, site = the_outage(day)
    config = write_config(tmp_path, {"tickets": outbox_target(tmp_path / "tickets")})
    # control: the same day without the silence opens the site ticket
    control = ("--out", "control")
    assert run_cli("registry", "import", str(FLEET_FILE), *control).returncode == 0
    replay(run_cli, day, config, *control)
    assert [
        b["data"]["site_id"] for b in bodies(tmp_path / "tickets") if b["type"] == "site.offline"
    ] == [site_id]
    for path in (tmp_path / "tickets").iterdir():
        path.unlink()

    assert run_cli("registry", "import", str(FLEET_FILE)).returncode == 0
    added = run_cli(
        "silence", "add", "--site", site, "--type", "charger.offline", *WINDOW,
        "--comment", "uplink maintenance", "--author", "ops@example.com", "--json",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    silence = json.loads(added.stdout)
    assert silence["match"] == {"sites": [site_id], "types": ["charger.offline"]}
    assert silence["matchers"] == f"sites={site} types=charger.offline"
    replay(run_cli, day, config)
    assert [b for b in bodies(tmp_path / "tickets") if b["type"].startswith("site.")] == []
    lines = [
        json.loads(x) for x in (tmp_path / "out" / "deliveries.jsonl").read_text().splitlines()
    ]
    skipped = [d for d in lines if d["status"] == "skipped"]
    assert [d["condition"] for d in skipped] == [f"site|{site_id}"]
    assert f"silence {silence['id']}" in skipped[0]["error"]
    assert "uplink maintenance" in skipped[0]["error"]
    explained = run_cli("alerts", "explain", site, "--config", str(config), "--json")
    assert explained.returncode == 0, explained.stderr
    (outage,) = [c for c in json.loads(explained.stdout)["conditions"] if c["kind"] == "site"]
    assert outage["outcome"] == "silenced"
    assert silence["id"] in outage["summary"]
    # the uptime report counts the stored window as excluded, as it does a YAML one
    report = run_cli("report", "uptime", "--from", "2026-04-26", "--to", "2026-04-27", "--json")
    assert report.returncode == 0, report.stderr
    rows = {c["charger_id"]: c for c in json.loads(report.stdout)["chargers"]}
    for charger in site_outages(day)[site_id]:
        assert rows[charger]["excluded_minutes"] >= 30
        assert control_rows(run_cli)[charger]["excluded_minutes"] == 0


def control_rows(run: RunCli) -> dict[str, Any]:
    report = run(
        "report", "uptime", "--from", "2026-04-26", "--to", "2026-04-27", "--json",
        "--state", "control/state.sqlite3",
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    return {c["charger_id"]: c for c in json.loads(report.stdout)["chargers"]}


def test_list_and_expire(cli_main: RunCli) -> None:
    assert cli_main("registry", "import", str(FLEET_FILE)).returncode == 0
    future = ("--starts", "2099-01-01T00:00:00Z", "--duration", "2h")
    ids = []
    for charger in ("Site A #1", "ZAP100001"):
        added = cli_main(
            "silence", "add", "--charger", charger, *future, "--comment", "swap", "--json"
        )
        assert added.returncode == 0, added.stderr
        ids.append(json.loads(added.stdout)["id"])
    listed = json.loads(cli_main("silence", "list", "--json").stdout)
    assert sorted(r["id"] for r in listed) == sorted(ids)
    assert {r["state"] for r in listed} == {"pending"}
    assert {r["ends"] for r in listed} == {"2099-01-01T02:00:00Z"}
    text = cli_main("silence", "list").stdout
    assert "chargers=Site A #1" in text
    assert "chargers=Site B #1" in text
    expired = cli_main("silence", "expire", ids[0][:5], "--json")
    assert expired.returncode == 0, expired.stderr
    assert json.loads(expired.stdout)["state"] == "expired"
    assert [r["id"] for r in json.loads(cli_main("silence", "list", "--json").stdout)] == [ids[1]]
    every = json.loads(cli_main("silence", "list", "--all", "--json").stdout)
    assert sorted(r["id"] for r in every) == sorted(ids)
    again = cli_main("silence", "expire", ids[0])
    assert again.returncode == 0
    assert "already ended" in again.stdout
    unknown = cli_main("silence", "expire", "ffffffff")
    assert unknown.returncode == 2
    assert "no stored silence 'ffffffff'" in unknown.stderr


def test_bad_silences_are_usage_errors(cli_main: RunCli) -> None:
    assert cli_main("registry", "import", str(FLEET_FILE)).returncode == 0
    hour = ("--duration", "1h", "--comment", "x")
    cases = [
        (hour, "at least one matcher"),
        (("--type", "charger.ofline", *hour), "unknown event type 'charger.ofline'"),
        (("--site", "Atlantis", *hour), "--site 'Atlantis': no such site"),
        (("--charger", "Bay 99", *hour), "--charger 'Bay 99': no such charger"),
        (("--type", "charger.offline", "--duration", "soon", "--comment", "x"), "--duration"),
        (
            (
                "--type",
                "charger.offline",
                "--starts",
                "2026-05-01",
                "--ends",
                "2026-04-01",
                "--comment",
                "x",
            ),
            "ends before it starts",
        ),
    ]
    for args, message in cases:
        result = cli_main("silence", "add", *args)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr, result.stderr
    assert json.loads(cli_main("silence", "list", "--all", "--json").stdout) == []


def config_text(url: str) -> str:
    """The tickets lifecycle to a webhook receiver in alerts mode, site grouping on."""
    return f"""
version: 1
targets:
  ops: {{kind: webhook, url: "{url}/ops", mode: alerts, timeout: 5s,
         retry: {{attempts: 2, backoff: 0s, max_backoff: 0s}}}}
routes:
  - match: {{types: [charger.fault.raised, charger.fault.cleared, charger.offline, charger.online]}}
    targets: [ops]
alerting: {{offline_grace: 10m, flap_window: 5m, site_outage_threshold: 3}}
"""


def site_alerts(receiver: Receiver) -> list[tuple[str, str, str]]:
    """(type, site, outage start) of the site alerts a receiver took."""
    return [
        (b["type"], b["data"]["site_id"], b["data"]["offline_since"])
        for b in receiver.bodies()
        if str(b.get("type")).startswith("site.")
    ]


def test_the_azure_functions_honour_a_stored_silence(
    day: Day, harness_factory: Any, azurite: Azurite, run_cli: RunCli, tmp_path: Path
) -> None:
    """The Azure path (functions on the Service Bus simulation, Table Storage on Azurite):
    a silence added with ``--state table`` holds the site outage back; the same day on a
    state without it opens the site alert (so the comparison is not vacuous)."""
    site_id, site = the_outage(day)
    table = fresh()
    env = azurite.env(table)
    for args in (
        ("registry", "import", str(FLEET_FILE), "--state", "table"),
        ("silence", "add", "--site", site, "--type", "charger.offline", *WINDOW,
         "--comment", "uplink maintenance", "--state", "table"),
    ):  # fmt: skip
        result = run_cli(*args, env=env)
        assert result.returncode == 0, result.stderr
    listed = run_cli("silence", "list", "--all", "--state", "table", "--json", env=env)
    assert [s["match"]["sites"] for s in json.loads(listed.stdout)] == [[site_id]]

    control_state = tmp_path / "control.sqlite3"
    assert (
        run_cli("registry", "import", str(FLEET_FILE), "--state", str(control_state)).returncode
        == 0
    )
    control, silenced = Receiver(), Receiver()
    with serve(control), serve(silenced):
        harness = harness_factory(store=SqliteStore(control_state), config=config_text(control.url))
        Run(harness).day(traffic(), tail=SETTLE)
        in_window = [a for a in site_alerts(control) if a[1] == site_id and a[2] < "2026-04-26T12"]
        assert [a[0] for a in in_window] == ["site.offline", "site.online"]
        harness = harness_factory(store=azurite.store(table), config=config_text(silenced.url))
        Run(harness).day(traffic(), tail=SETTLE)
        assert site_alerts(silenced) == [a for a in site_alerts(control) if a not in in_window]
        assert len(silenced.bodies()) == len(control.bodies()) - 2  # nothing else changed
