"""The monthly report as events: appended to the event log once, routed to a real local
webhook once per key, the same body on every retry, per-site events routable by site."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.app.compose import open_local
from shared.consumers.uptime.monthly import gauges, monthly_report, previous_month, report_events
from shared.consumers.uptime.report import build_report
from shared.storage.schema import EVENTS_LOG
from shared.storage.sqlite import SqliteStore
from tests.support.builders import SITE_A, SITE_B, charger, config, period, publish, register
from tests.support.receivers import Receiver, serve
from tests.uptime.helpers import at

NOW = datetime(2026, 5, 1, 6, 0, tzinfo=UTC)


def routed_config(url: str) -> str:
    return f"""
targets:
  reports: {{kind: webhook, url: "{url}/reports",
             retry: {{attempts: 2, backoff: 10ms, max_backoff: 20ms}}}}
routes:
  - match: {{types: ["report.*"]}}
    targets: [reports]
"""


@pytest.mark.parametrize(
    ("now", "start", "end"),
    [
        (NOW, datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC)),
        (
            datetime(2027, 1, 31, 23, 59, tzinfo=UTC),
            datetime(2026, 12, 1, tzinfo=UTC),
            datetime(2027, 1, 1, tzinfo=UTC),
        ),
        (
            datetime(2026, 3, 1, 0, 0, tzinfo=UTC),
            datetime(2026, 2, 1, tzinfo=UTC),
            datetime(2026, 3, 1, tzinfo=UTC),
        ),
    ],
)
def test_previous_month(now: datetime, start: datetime, end: datetime) -> None:
    assert previous_month(now) == (start, end)


def test_report_events_are_sent_once_with_the_first_body(tmp_path: Path) -> None:
    receiver = Receiver()
    receiver.down = True
    with serve(receiver) as url:
        store = SqliteStore(str(tmp_path / "state.sqlite3"))
        register(store, {1: SITE_A, 2: SITE_B})
        publish(store, period(1, at(10), at(12), SITE_A))
        publish(store, period(2, at(-24 * 30), at(-24 * 29), SITE_B))  # March: not in April
        app = open_local(config(routed_config(url)), store, data_clock=False)
        deliverer = app.consumers().deliverer
        first = monthly_report(app.config(), app.store, deliverer, NOW)
        assert [e["subject"] for e in first] == ["fleet", SITE_A, SITE_B]
        assert receiver.accepted == {}
        receiver.down = False
        deliverer.breaker.succeeded("reports")  # the receiver is back (skip the cool-down)
        again = monthly_report(app.config(), app.store, deliverer, NOW + timedelta(hours=1))
        assert again == first  # the stored copies: same ids, same generated_at
        monthly_report(app.config(), app.store, deliverer, NOW + timedelta(hours=2))
        app.close()
    assert [b["id"] for b in receiver.bodies()] == [e["id"] for e in first]
    assert sum(receiver.duplicates.values()) == 0
    fleet, site_a, site_b = receiver.bodies()
    assert fleet["type"] == "report.uptime"
    assert fleet["data"]["generated_at"] == "2026-05-01T06:00:00Z"
    assert fleet["data"]["fleet"]["uptime_percent"] == round((2 * 43200 - 120) / 86400 * 100, 4)
    assert [s["site_id"] for s in fleet["data"]["sites"]] == [SITE_A, SITE_B]
    assert site_a["data"]["site_id"] == SITE_A
    assert [c["charger_id"] for c in site_a["data"]["chargers"]] == [charger(1)]
    assert site_a["data"]["site"]["outage_minutes"] == 120.0
    assert site_b["data"]["site"]["uptime_percent"] == 100.0
    assert (site_a["data"]["from"], site_a["data"]["to"]) == (
        "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z"
    )  # fmt: skip
    with SqliteStore(str(tmp_path / "state.sqlite3")) as reopened:
        rows = reopened.read(EVENTS_LOG, 0, 100)
    logged = [e for _, e in rows if e["type"] == "report.uptime"]
    assert [e["id"] for e in logged] == [e["id"] for e in first]


def test_gauges_per_site_and_fleet(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "state.sqlite3"))
    register(store, {1: SITE_A, 2: SITE_B})
    publish(store, period(1, at(10), at(12), SITE_A))
    report = build_report(config(), store, *previous_month(NOW))
    points = {(n, a.get("site_id", "fleet")): v for n, v, a in gauges(report_events(report, NOW))}
    assert points[("chargeops.uptime.outage_minutes", SITE_A)] == 120.0
    assert points[("chargeops.uptime.percent", SITE_B)] == 100.0
    assert points[("chargeops.uptime.percent", "fleet")] == round((86400 - 120) / 86400 * 100, 4)
    assert len(points) == 9  # three measures for the fleet and each of two sites
