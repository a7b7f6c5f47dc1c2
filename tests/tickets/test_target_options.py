"""Per-target options of issue 13: ``send_resolved``, PagerDuty ``client_url``/``links``
and names on the page, Opsgenie notes recorded so a retry never adds a second."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from shared.config.loader import ConfigError, load_config
from tests.support.builders import at
from tests.support.cli import RunCli
from tests.tickets.conftest import Fleet
from tests.tickets.helpers import config_of, harness, offline, online


def test_send_resolved_false_sends_no_close(fleet: Fleet, tmp_path: Path) -> None:
    targets = fleet.targets("pd", "jira")
    targets["jira"]["send_resolved"] = False
    h = harness(config_of(targets, alerting={"flap_window": "0s"}), tmp_path / "s.sqlite3")
    h.feed(offline(1, 0, site=None), tick=at(11))
    h.feed(online(1, 0, 30, site=None), tick=at(31))
    lines = [(d["target"], d["action"], d["status"]) for d in h.lines()]
    h.close()
    assert ("pd", "close", "delivered") in lines
    assert ("jira", "open", "delivered") in lines
    assert not [x for x in lines if x[:2] == ("jira", "close")]
    (issue,) = fleet.jira.issues.values()
    assert issue.status == "To Do"  # left for people to close
    assert fleet.jira.calls("POST", "/transitions") == []


def test_pagerduty_page_names_charger_and_site_and_links_back(
    tmp_path: Path, cli_main: RunCli
) -> None:
    target = {
        "kind": "pagerduty",
        "routing_key": "PD-SECRET-KEY-1",
        "client_url": "https://ops.example.com/chargeops",
        "links": [{"href": "https://portal.example.com/chargers/{charger_id}", "text": "Portal"}],
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"targets": {"pagerduty": target}}))
    result = cli_main("render", "pagerduty", "charger.offline", "--config", str(path), "--json")
    assert result.returncode == 0, result.stderr
    (request,) = json.loads(result.stdout)
    body = request["body"]
    assert body["payload"]["summary"] == "Bay 3 (ZAP000123) offline at Oslo Garage"
    assert body["client_url"] == "https://ops.example.com/chargeops"
    charger = body["payload"]["custom_details"]["charger_id"]
    assert body["links"] == [
        {"href": f"https://portal.example.com/chargers/{charger}", "text": "Portal"}
    ]
    assert "PD-SECRET-KEY-1" not in result.stdout


@pytest.mark.parametrize(
    ("link", "words"),
    [
        ({"href": "https://x.example.com/{nope}"}, "placeholders are"),
        ({"href": "http://x.example.com/{charger_id}"}, "links need https://"),
    ],
)
def test_bad_links_are_config_errors(link: dict[str, str], words: str) -> None:
    doc = {"targets": {"pd": {"kind": "pagerduty", "routing_key": "k", "links": [link]}}}
    with pytest.raises(ConfigError, match=words) as caught:
        load_config(text=yaml.safe_dump(doc), env={})
    assert "targets.pd.links" in str(caught.value)


def test_opsgenie_reminder_note_is_a_recorded_step(fleet: Fleet, tmp_path: Path) -> None:
    """A note is a step of its own: recorded when Opsgenie took it, so no later attempt
    at the same reminder adds it again."""
    config = config_of(fleet.targets("genie"), alerting={"repeat_interval": "1h"})
    h = harness(config, tmp_path / "s.sqlite3")
    h.feed(offline(1, 0, site=None), tick=at(11))
    h.feed(tick=at(75))  # the first reminder
    h.deliverer.flush()  # another run: nothing left to do
    lines = [(d["action"], d["status"], d.get("steps")) for d in h.lines()]
    h.close()
    assert lines == [("open", "delivered", None), ("reminder", "delivered", ["note"])]
    assert len(fleet.opsgenie.notes) == 1
