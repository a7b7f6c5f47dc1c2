"""Each target kind's real call sequence against its vendor fake: one create, one close,
the right references, and no duplicate when an answer is lost or throttled."""

from __future__ import annotations

from pathlib import Path

import pytest
from standardwebhooks import Webhook

from tests.support.builders import at
from tests.tickets.conftest import OLD_SECRET, SECRET, Fleet
from tests.tickets.helpers import cleared, config_of, harness, offline, online, raised


def _fault_cycle(fleet: Fleet, tmp_path: Path, *names: str):
    h = harness(config_of(fleet.targets(*names)), tmp_path / "state.sqlite3")
    h.feed(raised(1, 0), tick=at(1))
    h.feed(cleared(1, 0, 30), tick=at(40))  # past the 5 min flap window: the close goes out
    return h


def test_every_kind_opens_once_and_closes_once(fleet: Fleet, tmp_path: Path) -> None:
    h = _fault_cycle(fleet, tmp_path)
    statuses = [(d["target"], d["action"], d["status"]) for d in h.lines()]
    for name in ("pd", "genie", "jsm", "jira", "snow", "zendesk", "teams", "hook"):
        assert (name, "open", "delivered") in statuses
        assert (name, "close", "delivered") in statuses
    assert len(statuses) == 16
    assert h.deliverer.log.pending() == []
    # PagerDuty: one trigger, one resolve on the stable dedup_key
    assert (
        fleet.pagerduty.triggers
        == fleet.pagerduty.resolves
        == {"chargeops/fault/00000000-0000-4000-8000-000000000001/RELAY_WELDED": 1}
    )
    # Opsgenie and its JSM successor: created and closed by alias
    for genie in (fleet.opsgenie, fleet.jsm):
        assert len(genie.created) == 1
        assert genie.closed == genie.created
        assert genie.open == {}
    # Jira: created, transition looked up then posted, comment with the duration
    (issue,) = fleet.jira.issues.values()
    assert issue.status == "Done"
    assert "30m" in str(issue.comments[-1])
    assert fleet.jira.calls("GET", "/transitions")
    # ServiceNow: incident resolved with close code and notes by sys_id
    (incident,) = fleet.servicenow.incidents.values()
    assert incident["state"] == "6"
    assert incident["close_code"] == "Solution provided"
    assert incident["correlation_id"].startswith("chargeops:")
    # Zendesk: created with Idempotency-Key and external_id, then solved
    (ticket,) = fleet.zendesk.tickets.values()
    assert ticket["status"] == "solved"
    assert ticket["external_id"].startswith("chargeops:")
    assert fleet.zendesk.calls("POST")[0].headers["idempotency-key"]
    # Teams: two adaptive cards; webhook: two CloudEvents
    assert len(fleet.teams.calls("POST")) == 2
    assert [s.json["type"] for s in fleet.webhook.seen] == [
        "charger.fault.raised",
        "charger.fault.cleared",
    ]
    refs = {(d["target"], d["action"]): d["ref"] for d in h.lines()}
    assert refs[("jira", "open")]["key"] == issue.key
    assert refs[("snow", "open")]["sys_id"] == incident["sys_id"]
    assert refs[("zendesk", "open")]["id"] == ticket["id"]
    h.close()


def test_webhook_signatures_verify_with_either_rotated_secret(fleet: Fleet, tmp_path: Path) -> None:
    h = _fault_cycle(fleet, tmp_path, "hook")
    for request in fleet.webhook.seen:
        body = request.raw.decode()
        for secret in (SECRET, OLD_SECRET):
            payload = Webhook(secret).verify(body, request.headers)
            assert payload["id"] == request.headers["webhook-id"]
        assert len(request.headers["webhook-signature"].split(" ")) == 2
    h.close()


@pytest.mark.parametrize("vendor", ["jira", "servicenow", "zendesk"])
def test_lost_create_answer_is_looked_up_not_repeated(
    fleet: Fleet, tmp_path: Path, vendor: str
) -> None:
    """The vendor creates the ticket but the answer is a 500: the retry finds it."""
    name = {"jira": "jira", "servicenow": "snow", "zendesk": "zendesk"}[vendor]
    fake = getattr(fleet, vendor)
    fake.fail(500, after=True, match="POST")
    h = _fault_cycle(fleet, tmp_path, name)
    created = {
        "jira": len(fleet.jira.issues),
        "servicenow": len(fleet.servicenow.incidents),
        "zendesk": len(fleet.zendesk.tickets),
    }[vendor]
    assert created == 1  # one ticket, although the create was answered 500 once
    opened = [d for d in h.lines() if d["action"] == "open"]
    assert [d["status"] for d in opened] == ["delivered"]
    assert opened[0]["attempts"] == 2
    h.close()


def test_throttling_honours_retry_after_and_never_duplicates(fleet: Fleet, tmp_path: Path) -> None:
    fleet.pagerduty.fail(429, headers={"Retry-After": "1"})
    fleet.pagerduty.fail(503, after=True)
    h = _fault_cycle(fleet, tmp_path, "pd")
    assert 1.0 in h.sleeps  # waited what Retry-After said
    assert sum(fleet.pagerduty.triggers.values()) == 1
    assert sum(fleet.pagerduty.resolves.values()) == 1
    assert [d["status"] for d in h.lines()] == ["delivered", "delivered"]
    h.close()


def test_timeout_is_retried(fleet: Fleet, tmp_path: Path) -> None:
    targets = fleet.targets("genie")
    targets["genie"]["timeout"] = "200ms"
    fleet.opsgenie.fail(202, delay=0.6, match="POST /v2/alerts")
    h = harness(config_of(targets), tmp_path / "s.sqlite3")
    h.feed(offline(1, 0, site=None), tick=at(11))
    (line,) = h.lines()
    assert line["status"] == "delivered"
    assert line["attempts"] == 2
    assert len(fleet.opsgenie.created) == 1
    h.close()


def test_bad_request_is_permanent_reported_and_not_retried(fleet: Fleet, tmp_path: Path) -> None:
    targets = fleet.targets("jira")
    targets["jira"]["project_key"] = "NOPE"  # the fake only knows project OPS
    h = harness(config_of(targets), tmp_path / "s.sqlite3")
    h.feed(offline(1, 0, site=None), tick=at(11))
    (line,) = h.lines()
    assert line["status"] == "failed"
    assert line["http_status"] == 400
    assert line["attempts"] == 1
    assert h.deliverer.log.pending() == []  # permanent: reported, not kept for retry
    assert len(fleet.jira.calls("POST")) == 1
    h.close()


def test_close_waits_for_its_open(fleet: Fleet, tmp_path: Path) -> None:
    """The open fails for a whole run; the close must not overtake it."""
    fleet.zendesk.fail(503, times=8)  # two runs' worth of attempts
    targets = fleet.targets("zendesk")
    targets["zendesk"]["ended_before_sent"] = "record"  # the default makes no late ticket
    h = harness(config_of(targets, alerting={"flap_window": "0s"}), tmp_path / "s.sqlite3")
    h.feed(offline(1, 0, site=None), tick=at(11))
    h.feed(online(1, 0, 30, site=None), tick=at(31))
    # the close stays behind its open, unattempted
    assert [(d["action"], d["status"]) for d in h.lines()] == [("open", "failed")] * 2
    assert len(h.deliverer.log.pending()) == 2
    h.deliverer.flush()  # the next run
    actions = [(d["action"], d["status"]) for d in h.lines()]
    assert actions[-2:] == [("open", "delivered"), ("close", "delivered")]
    (ticket,) = fleet.zendesk.tickets.values()
    assert ticket["status"] == "solved"
    h.close()


def test_jira_missing_transition_is_a_clear_permanent_failure(fleet: Fleet, tmp_path: Path) -> None:
    targets = fleet.targets("jira")
    targets["jira"]["close_transition"] = "Resolved"
    h = harness(config_of(targets, alerting={"flap_window": "0s"}), tmp_path / "s.sqlite3")
    h.feed(offline(1, 0, site=None), tick=at(11))
    h.feed(online(1, 0, 30, site=None), tick=at(31))
    close = h.lines()[-1]
    assert close["status"] == "failed"
    assert "'Resolved' not available" in close["error"]
    assert "Done" in close["error"]
    h.close()
