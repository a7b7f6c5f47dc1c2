"""Names where people read them: titles and descriptions name chargers and sites as the
registry knows them (carried in the event data by ingest); without names, the serial and
then the id. Ids stay where machines read them (dedup keys, custom details)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.builders import SITE, at, charger
from tests.tickets.conftest import Fleet
from tests.tickets.helpers import config_of, harness, offline, online, raised

SITE_NAME = "Oslo Garage"


def named(event: dict[str, Any], n: int | None = None) -> dict[str, Any]:
    """``event`` as ingest enriches it when the registry knows charger ``n`` and its site
    (names are labels, not identity: the id stays the same)."""
    n = n if n is not None else int(event["data"]["charger_id"][-12:])
    data = {**event["data"], "charger_name": f"Bay {n}", "site_name": SITE_NAME}
    return {**event, "data": data}


def _bodies(fleet: Fleet) -> dict[str, dict[str, Any]]:
    """The open bodies as the vendors received them: PagerDuty, Jira, Teams."""
    (pd,) = [s.json for s in fleet.pagerduty.calls("POST")]
    (issue,) = fleet.jira.issues.values()
    (teams,) = [s.json for s in fleet.teams.calls("POST")]
    return {"pd": pd, "jira": issue.fields, "teams": teams}


def _teams_card(body: dict[str, Any]) -> tuple[str, dict[str, str]]:
    card = body["attachments"][0]["content"]["body"]
    return card[0]["text"], {f["title"]: f["value"] for f in card[2]["facts"]}


def _adf_text(doc: dict[str, Any]) -> str:
    return "\n".join(c["text"] for p in doc["content"] for c in p["content"])


def test_charger_alert_names_the_charger_and_its_site(fleet: Fleet, tmp_path: Path) -> None:
    h = harness(config_of(fleet.targets("pd", "jira", "teams")), tmp_path / "s.sqlite3")
    h.feed(named(offline(1, 0)), tick=at(11))
    bodies = _bodies(fleet)
    payload = bodies["pd"]["payload"]
    assert payload["summary"] == "Bay 1 (ZAP000001) offline at Oslo Garage"  # on a pager
    assert bodies["pd"]["dedup_key"] == f"chargeops/offline/{charger(1)}"  # ids for machines
    assert payload["custom_details"]["charger_id"] == charger(1)
    assert payload["custom_details"]["site_id"] == SITE
    assert bodies["jira"]["summary"] == "Bay 1 (ZAP000001) offline"
    description = _adf_text(bodies["jira"]["description"])
    assert description.startswith(f"Bay 1 (ZAP000001) (id {charger(1)}, Oslo Garage)")
    heading, facts = _teams_card(bodies["teams"])
    assert heading == "🔴 Bay 1 (ZAP000001) offline"
    assert (facts["Charger"], facts["Site"]) == ("Bay 1", SITE_NAME)
    h.close()


def test_without_names_the_serial_then_the_id(fleet: Fleet, tmp_path: Path) -> None:
    h = harness(config_of(fleet.targets("pd", "jira", "teams")), tmp_path / "s.sqlite3")
    event = raised(1, 0)
    assert (event["data"]["charger_name"], event["data"]["site_name"]) == (None, None)
    h.feed(event, tick=at(1))
    bodies = _bodies(fleet)
    title = "Charger ZAP000001: fault RELAY_WELDED (PowerSwitchFailure)"
    assert bodies["pd"]["payload"]["summary"] == bodies["jira"]["summary"] == title
    assert f"site {SITE}" in _adf_text(bodies["jira"]["description"])
    heading, facts = _teams_card(bodies["teams"])
    assert heading == "🔴 " + title
    assert (facts["Charger"], facts["Site"]) == ("ZAP000001", SITE)

    no_serial = {**offline(2, 0, site=None)}
    no_serial["data"] = {**no_serial["data"], "serial": None}
    h.feed(no_serial, tick=at(11))
    summaries = [s.json["payload"]["summary"] for s in fleet.pagerduty.calls("POST")]
    assert summaries[-1] == f"Charger {charger(2)} offline"
    h.close()


def test_site_outage_names_the_site_and_its_chargers(fleet: Fleet, tmp_path: Path) -> None:
    targets = fleet.targets("pd", "jira", "teams", "hook")
    h = harness(config_of(targets), tmp_path / "s.sqlite3")
    h.feed(named(offline(1, 0)), named(offline(2, 1)), tick=at(1))
    h.feed(offline(3, 2), tick=at(3))  # the registry does not know charger 3
    h.feed(named(offline(4, 6)), tick=at(30))  # joins the outage
    pd = fleet.pagerduty.calls("POST")[0].json
    assert pd["payload"]["summary"] == "Oslo Garage: 4 chargers offline"
    assert pd["dedup_key"] == f"chargeops/site/{SITE}"
    assert pd["payload"]["custom_details"]["chargers"] == [charger(n) for n in (1, 2, 3, 4)]
    (issue,) = fleet.jira.issues.values()
    assert issue.fields["summary"] == "Oslo Garage: 4 chargers offline"
    description = _adf_text(issue.fields["description"])
    assert (
        f"4 chargers of Oslo Garage went offline together since 2026-04-26T08:00:00Z: "
        f"Bay 1, Bay 2, {charger(3)}, Bay 4." in description
    )
    heading, facts = _teams_card(fleet.teams.calls("POST")[0].json)
    assert heading == "🔴 Oslo Garage: 4 chargers offline"
    assert facts["Site"] == SITE_NAME

    h.feed(online(1, 0, 40), online(2, 1, 40.2), online(3, 2, 40.5), tick=at(60))
    sent = [json.loads(s.body) for s in fleet.webhook.calls("POST")]
    by_type = {e["type"]: e["data"] for e in sent if e["type"].startswith("site.")}
    for data in by_type.values():
        assert data["site_name"] == SITE_NAME
        assert data["charger_name"] is None
        assert data["charger_names"] == {
            charger(1): "Bay 1",
            charger(2): "Bay 2",
            charger(3): None,
            charger(4): "Bay 4",
        }
    assert set(by_type) == {"site.offline", "site.online"}
    h.close()


def test_site_outage_without_names_keeps_the_ids(fleet: Fleet, tmp_path: Path) -> None:
    h = harness(config_of(fleet.targets("pd")), tmp_path / "s.sqlite3")
    h.feed(offline(1, 0), offline(2, 1), offline(3, 2), tick=at(11))
    pd = fleet.pagerduty.calls("POST")[0].json
    assert pd["payload"]["summary"] == f"Site {SITE}: 3 chargers offline"
    h.close()
