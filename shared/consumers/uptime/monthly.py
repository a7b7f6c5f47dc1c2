"""The monthly uptime report as events: one ``report.uptime`` CloudEvent per site (with its
chargers) and one for the fleet (with every site), for last calendar month.

Ids are deterministic per period and scope, so a timer that fires twice, or a run that
died half way, appends nothing new and sends nothing twice (the delivery's idempotency
key derives from the id). Per-site events keep each message small (Service Bus takes
256 KB) and let routes and receivers select sites like any charger event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.config.loader import Config
from shared.consumers.uptime.report import NO_SITE, UptimeReport, build_report
from shared.events.cloudevents import envelope
from shared.events.log import EventLog
from shared.events.model import event_id
from shared.notify.dispatch import Deliverer
from shared.storage.base import Store
from shared.timestamps import format_utc

__all__ = ["REPORT_TYPE", "gauges", "monthly_report", "previous_month", "report_events"]

REPORT_TYPE = "report.uptime"
SOURCE = "chargeops/uptime"


def previous_month(now: datetime) -> tuple[datetime, datetime]:
    """``[first of last month, first of this month)`` in UTC."""
    now = now.astimezone(UTC)
    end = datetime(now.year, now.month, 1, tzinfo=UTC)
    start = datetime(end.year - (end.month == 1), (end.month - 2) % 12 + 1, 1, tzinfo=UTC)
    return start, end


def report_events(report: UptimeReport, generated_at: datetime) -> list[dict[str, Any]]:
    """The fleet event first, then one per site (chargers without a site: ``site_id``
    null, scope ``no-site``)."""
    doc = report.as_json()
    common = {
        "from": doc["from"],
        "to": doc["to"],
        "method": doc["method"],
        "formula": doc["formula"],
        "unit": doc["unit"],
        "outage_faults": doc["outage_faults"],
        "target_percent": doc["target_percent"],
        "generated_at": format_utc(generated_at),
    }
    fleet = {**common, "scope": "fleet", "site_id": None, "fleet": doc["fleet"]}
    events = [_event(report, "fleet", {**fleet, "sites": doc["sites"]})]
    for site in doc["sites"]:
        sid = site["site_id"]
        chargers = [c for c in doc["chargers"] if (c["site_id"] or NO_SITE) == (sid or NO_SITE)]
        data = {**common, "scope": "site", "site_id": sid, "site": site, "chargers": chargers}
        events.append(_event(report, sid or "no-site", data))
    return events


def _event(report: UptimeReport, scope: str, data: dict[str, Any]) -> dict[str, Any]:
    period = (format_utc(report.since), format_utc(report.until))
    return envelope(
        type=REPORT_TYPE,
        id=event_id(REPORT_TYPE, scope, *period),
        source=SOURCE if scope == "fleet" else f"{SOURCE}/site/{scope}",
        subject=scope,
        time=period[1],
        data=data,
    )


def monthly_report(
    config: Config, store: Store, deliverer: Deliverer, now: datetime
) -> list[dict[str, Any]]:
    """Last month's report: catch the ledger up, append the events to the ``events`` log
    and route each (what was appended before, by an earlier run, is routed as stored).
    Returns the events as routed."""
    since, until = previous_month(now)
    report = build_report(config, store, since, until)
    made = report_events(report, now)
    log = EventLog(store)
    log.append(made)
    stored = [_stored(log, e) for e in made]
    for event in stored:
        deliverer.route(event)
    return stored


def _stored(log: EventLog, event: dict[str, Any]) -> dict[str, Any]:
    """The copy in the log (the first run's), so every send carries the same body."""
    seq = log.seq_of(event["id"])
    if seq is None:
        return event
    rows = log.read(seq - 1, 1)
    return rows[0][1] if rows and rows[0][0] == seq else event


def gauges(events: list[dict[str, Any]]) -> list[tuple[str, float, dict[str, str]]]:
    """Metric points from ``monthly_report``'s events: (name, value, attributes) for the
    fleet and per site, for a telemetry exporter to record as gauges."""
    points: list[tuple[str, float, dict[str, str]]] = []
    for event in events:
        data = event.get("data") or {}
        if event.get("type") != REPORT_TYPE or data.get("scope") != "fleet":
            continue
        period = {"from": str(data["from"]), "to": str(data["to"])}
        scopes = [(period, data["fleet"])]
        scopes += [({**period, "site_id": s["site_id"] or "none"}, s) for s in data["sites"]]
        for attrs, figures in scopes:
            points += [
                ("chargeops.uptime.percent", float(figures["uptime_percent"]), attrs),
                ("chargeops.uptime.outage_minutes", float(figures["outage_minutes"]), attrs),
                ("chargeops.uptime.excluded_minutes", float(figures["excluded_minutes"]), attrs),
            ]
    return points
