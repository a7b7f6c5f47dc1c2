"""``chargeops alerts list|explain`` on the sample day: names, not UUIDs; the ticket each
alert opened at a real-shaped vendor (the Jira fake); the step-by-step story of a
charger; the same answers from SQLite and from Table Storage."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shared.timestamps import parse_utc
from tests.operator.conftest import FLEET_FILE, Day, write_config
from tests.operator.test_demo import WINDOW, site_outages
from tests.support.azurite import Azurite
from tests.support.cli import RunCli
from tests.tickets.conftest import Fleet

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def until(day: Day, cutoff: datetime, path: Path) -> Path:
    """The capture's lines enqueued before ``cutoff`` (a day still in progress)."""
    kept = []
    for line in day.capture.read_text("utf-8").splitlines():
        try:
            obj = json.loads(line)
            stamp = obj.get("enqueued_time_utc") or obj.get("Timestamp")
            if stamp and parse_utc(stamp) >= cutoff:
                break
        except (ValueError, AttributeError):
            pass  # a broken line: kept, the replay rejects it
        kept.append(line)
    path.write_text("\n".join(kept) + "\n", "utf-8")
    return path


def outage(day: Day) -> tuple[str, set[str], datetime]:
    """The site outage: its site, chargers, and when the first of them went offline."""
    ((site_id, members),) = site_outages(day).items()
    starts = [
        o.get("since") or o["silent_from"] for o in day.truth.offline if o["charger_id"] in members
    ]
    together = [t for t in starts if sum(abs(u - t) <= WINDOW for u in starts) >= 3]
    return site_id, members, min(together)


def listed(run: RunCli, *args: str, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    result = run("alerts", "list", "--json", *args, env=env)
    assert result.returncode == 0, result.stderr
    loaded: list[dict[str, Any]] = json.loads(result.stdout)
    return loaded


def test_list_during_the_site_outage_names_everything_and_links_the_ticket(
    day: Day, fleet: Fleet, run_cli: RunCli, tmp_path: Path
) -> None:
    site_id, members, began = outage(day)
    names = day.names()
    config = write_config(tmp_path, fleet.targets("jira"))
    assert run_cli("registry", "import", str(FLEET_FILE)).returncode == 0
    # 5 minutes in: the members are held back, the site alert waits for its grace
    early = until(
        day,
        began + timedelta(minutes=5),
        tmp_path / "a.jsonl",
    )
    replayed = run_cli("replay", str(early), "--config", str(config), "--no-drain", "--quiet")
    assert replayed.returncode == 0, replayed.stderr
    inhibited = listed(run_cli, "--state", "inhibited")
    assert {a["charger_id"] for a in inhibited} == members
    assert {a["charger_name"] for a in inhibited} == {names[c] for c in members}
    assert {a["held_by"] for a in inhibited} == {site_id}
    (pending,) = [a for a in listed(run_cli, "--state", "pending") if a["kind"] == "site"]
    assert pending["site_name"] == day.site_name(site_id)
    assert "site" not in {a["kind"] for a in listed(run_cli, "--state", "open")}
    assert listed(run_cli, "--status", "inhibited") == inhibited  # the unambiguous spelling
    # 20 minutes in: the site ticket is open at Jira, and the list says which issue
    later = until(
        day,
        began + timedelta(minutes=20),
        tmp_path / "b.jsonl",
    )
    replayed = run_cli("replay", str(later), "--config", str(config), "--no-drain", "--quiet")
    assert replayed.returncode == 0, replayed.stderr
    (site,) = [a for a in listed(run_cli, "--state", "open") if a["kind"] == "site"]
    assert site["title"].startswith(day.site_name(site_id) + ": ")
    (ticket,) = site["tickets"]
    assert ticket["target"] == "jira"
    assert ticket["status"] == "delivered"
    (issue,) = [
        i
        for i in fleet.jira.issues.values()
        if i.fields["summary"].startswith(day.site_name(site_id) + ":")
    ]
    assert issue.key in ticket["reference"]
    text = run_cli("alerts", "list").stdout
    assert not UUID.search(text), text
    assert f"{site['id']}  open" in text
    assert issue.key in text


def test_explain_tells_one_chargers_story_by_any_of_its_names(
    day: Day, fleet: Fleet, run_cli: RunCli, tmp_path: Path
) -> None:
    config = write_config(tmp_path, fleet.targets("jira"))
    assert run_cli("registry", "import", str(FLEET_FILE)).returncode == 0
    assert run_cli("replay", str(day.capture), "--config", str(config), "--quiet").returncode == 0
    site_id, members, _ = outage(day)
    member = sorted(members)[0]
    charger = next(c for s in day.fleet.sites for c in s.chargers if c.charger_id == member)
    answers = []
    for name in (charger.charger_id, charger.serial, charger.name):
        result = run_cli("alerts", "explain", name, "--config", str(config), "--json")
        assert result.returncode == 0, result.stderr
        answers.append(json.loads(result.stdout))
    assert answers[0] == answers[1] == answers[2]
    conditions = answers[0]["conditions"]
    periods = [o for o in day.truth.offline if o["charger_id"] == member]
    faults = [f for f in day.truth.faults if f["charger_id"] == member]
    mine = [c for c in conditions if c["kind"] != "site"]
    assert len(mine) == len(periods) + len(faults)
    (site,) = [c for c in conditions if c["kind"] == "site"]  # the outage it was part of
    assert site["outcome"] == "ticket"
    assert member in site["chargers"]
    by_id = run_cli("alerts", "explain", site["id"], "--config", str(config), "--json")
    assert [c["key"] for c in json.loads(by_id.stdout)["conditions"]] == [f"site|{site_id}"]
    text = run_cli("alerts", "explain", charger.name, "--config", str(config)).stdout
    assert "route (current config): routes[0] → jira" in text
    assert "notice open  → jira: delivered, HTTP 201" in text
    assert "notice close → jira: delivered" in text
    assert "held " in text
    assert "grouped" in text
    unknown = run_cli("alerts", "explain", "Bay 99")
    assert unknown.returncode == 2
    assert "nothing recorded about 'Bay 99'" in unknown.stderr


def test_table_storage_answers_as_sqlite_does(
    day: Day, run_cli: RunCli, azurite: Azurite, tmp_path: Path
) -> None:
    env = azurite.env()
    config = write_config(
        tmp_path,
        {"hook": {"kind": "webhook", "url": (tmp_path / "t").as_uri() + "/", "mode": "alerts"}},
    )
    stores = (("--state", "table", "--out", "ot"), ("--out", "o0"))
    for state in stores:
        assert run_cli("registry", "import", str(FLEET_FILE), *state, env=env).returncode == 0
        result = run_cli(
            "replay", str(day.capture), "--config", str(config), "--quiet", *state, env=env
        )
        assert result.returncode == 0, result.stderr
    explain = [
        run_cli("alerts", "explain", "--json", "--config", str(config), *state, env=env)
        for state in stores
    ]
    assert explain[0].returncode == 0, explain[0].stderr
    assert json.loads(explain[0].stdout) == json.loads(explain[1].stdout)
    assert sum(json.loads(explain[0].stdout)["totals"].values()) > 20
    lists = [listed(run_cli, *s, env=env) for s in stores]
    assert lists[0] == lists[1]
