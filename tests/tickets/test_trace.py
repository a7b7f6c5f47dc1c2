"""The decision trace (``trace.py``, read back by ``explain.py``): every condition an event
began is accounted for exactly once, its outcome agrees with the notices the consumer
really made, and a redelivered event adds no decision."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings

from shared.consumers.tickets.explain import conditions
from shared.consumers.tickets.repo import AlertRepo
from tests.support.builders import at
from tests.tickets.helpers import config_of, harness
from tests.tickets.test_lifecycle import _events, _steps

OPENING = ("charger.offline", "charger.fault.raised")


def _run(
    events: list[dict[str, Any]], folder: Path
) -> tuple[list[Any], list[dict[str, Any]], list[Any]]:
    targets = {"box": {"kind": "webhook", "url": (folder / "box").as_uri() + "/", "mode": "alerts"}}
    config = config_of(targets, alerting={"site_outage_threshold": 2, "offline_grace": "10m"})
    h = harness(config, folder / "s.sqlite3")
    for event in events:
        h.consumer.handle(event)
    h.consumer.tick(at(24 * 60))
    repo = AlertRepo(h.store)
    trace = list(repo.trace())
    for event in events:  # Service Bus redelivers everything
        h.consumer.handle(event)
    h.consumer.tick(at(24 * 60))
    again = list(repo.trace())
    lines = h.lines()
    h.close()
    assert again == trace
    return conditions(trace), lines, trace


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=_steps)
def test_every_condition_has_one_outcome_that_matches_the_notices(
    steps: list[tuple[int, str, float]],
) -> None:
    events = _events(steps)
    with tempfile.TemporaryDirectory() as folder:
        found, lines, _ = _run(events, Path(folder))
    began = sorted(c.began["event_id"] for c in found if c.kind != "site")
    assert began == sorted(e["id"] for e in events if e["type"] in OPENING)
    opens = [d for d in lines if d["action"] == "open" and d["status"] == "delivered"]
    tickets = [c for c in found if c.outcome == "ticket"]
    assert len(tickets) == len(opens)
    assert {c.opened["episode"] for c in tickets} == {d["event_id"] for d in opens}
    for c in found:
        if c.outcome in ("grace", "hold", "grouped", "silenced", "resumed"):
            assert c.opened is None  # a condition without a ticket made no open


def test_grace_flap_and_grouping_read_as_people_say_them(tmp_path: Path) -> None:
    from tests.tickets.helpers import cleared, offline, online, raised  # noqa: PLC0415

    events = [
        offline(1, 0), online(1, 0, 4),  # 4 minutes: below the 10m grace
        raised(2, 10), cleared(2, 10, 11), raised(2, 13), cleared(2, 13, 30),  # flaps once
        offline(3, 60), offline(4, 61), online(3, 60, 120), online(4, 61, 121),  # a site
    ]  # fmt: skip
    found, _, _ = _run(events, tmp_path)
    outcome = {(c.kind, c.began.get("charger_id")): c for c in found}
    short = outcome[("offline", "00000000-0000-4000-8000-000000000001")]
    assert (short.outcome, short.summary) == (
        "grace",
        "ended after 4m, before its ticket was due at 2026-04-26 08:10:00 UTC (offline_grace 10m): "
        "no ticket",
    )
    faults = [c for c in found if c.kind == "fault"]
    assert [c.outcome for c in faults] == ["ticket", "resumed"]
    assert faults[1].summary.startswith("came back within flap_window 5m of its end")
    site = next(c for c in found if c.kind == "site")
    assert site.outcome == "ticket"
    grouped = [c for c in found if c.outcome == "grouped"]
    assert {c.began["charger_id"] for c in grouped} == {
        "00000000-0000-4000-8000-000000000003", "00000000-0000-4000-8000-000000000004",
    }  # fmt: skip
