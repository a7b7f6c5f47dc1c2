"""The timer use cases: the watchdog (every minute), the registry refresh (every 30
minutes; a fresh registry costs nothing) and the monthly uptime report.

The watchdog is what makes wall-clock time pass for the core in Azure. Each run: parked
messages are fed in; chargers ingest met but the registry did not know are looked up
(ingest itself never waits on Zaptec); sessions whose wait for CompletedSession (723)
is over get one ``/state`` look (within the Zaptec budget) for a 723 that never reached
the bus; then chargers silent past ``detection.silence_after`` go offline and the
remaining sessions complete as derived; consumers run their time-driven work and pending
deliveries are retried; anything committed but not yet on our topic is published. Each
step runs even if another fails; the run fails afterwards if any did, so it shows in
Application Insights.
(A replay needs no watchdog: its data clock fires the same deadlines inline.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from shared.app.compose import App
from shared.app.ingest import commit_with_retry, decode_all, publish
from shared.app.parking import parked, taken
from shared.inbound.normalize import decode_fields
from shared.inbound.observations import Observation, StateId
from shared.registry.repo import WantedLookups
from shared.registry.view import RegistryView
from shared.storage.charger_states import ChargerStates
from shared.storage.meta import MetaRecords
from shared.storage.schema import Meta
from shared.timestamps import format_utc
from shared.zaptec.errors import BudgetExhausted, ZaptecError

__all__ = [
    "CHARGER_LOOKUPS",
    "STATE_LOOKUPS",
    "StepsFailed",
    "lookups",
    "refresh_registry",
    "unpark",
    "uptime_report",
    "watchdog",
]

log = logging.getLogger("chargeops.timers")
STATE_LOOKUPS = 20  # /state calls per watchdog run at most (the budget decides the rest)
CHARGER_LOOKUPS = 20  # unknown chargers looked up per watchdog run at most (ditto)


class StepsFailed(RuntimeError):
    """One or more watchdog steps failed (the others ran)."""


def watchdog(app: App) -> dict[str, Any]:
    """One pass; returns what each step did (also stored as ``meta/watchdog``)."""
    now = app.now()
    report: dict[str, Any] = {"at": format_utc(now)}
    failed: list[str] = []

    def step(name: str, work: Callable[[], object]) -> None:
        try:
            report[name] = work()
        except Exception as exc:
            log.exception("watchdog step %s failed", name)
            report[name] = f"failed: {type(exc).__name__}"
            failed.append(name)

    step("parked", lambda: unpark(app))
    step("lookups", lambda: lookups(app))
    step("state_lookups", lambda: state_fallback(app, now))
    step("deadlines", lambda: deadlines(app, now))
    step("consumers", lambda: tick_consumers(app, now))
    step("published", lambda: publish_or_raise(app))
    try:
        MetaRecords(app.store).put(Meta.WATCHDOG, report)
    except Exception:
        log.exception("could not record the watchdog run")
    if failed:
        raise StepsFailed(f"watchdog steps failed: {', '.join(failed)}")
    return report


def unpark(app: App) -> int:
    """Feed parked messages through ingest; returns how many were taken. Raises
    ConfigError while the configuration is still bad (they stay parked)."""
    count = 0
    for seq, batch in parked(app.store):
        commit_with_retry(app.ingest_unit(), batch, decode_all(batch))
        taken(app.store, seq)
        count += len(batch)
    return count


def lookups(app: App, limit: int = CHARGER_LOOKUPS) -> int:
    """Look up chargers ingest met but the registry did not know (one coalesced
    ``NameFilter`` call each, within the budget); returns how many are known now."""
    from shared.registry.lookup import UnknownChargerLookup  # noqa: PLC0415

    client = app.zaptec()
    if client is None:
        return 0
    wanted = WantedLookups(app.store)
    pending = wanted.wanted(limit)
    if not pending:
        return 0
    view = RegistryView(app.store)
    lookup = UnknownChargerLookup(app.config().zaptec, app.store, client, view)
    found = 0
    for charger_id, serial in pending:
        if lookup.request(charger_id, serial) is not None:
            wanted.done(charger_id)
            found += 1
    if lookup.calls:
        app.counters.budget(lookup.calls, "lookup")
    return found


def state_fallback(app: App, now: datetime) -> int:
    """Ask ``/state`` for the 723 of sessions whose wait is over; returns 723s found."""
    waiting = ChargerStates(app.store).sessions_due(now)
    if not waiting:
        return 0
    client = app.zaptec()
    if client is None:
        return 0  # no Zaptec credentials: sessions complete as derived
    unit = app.ingest_unit()
    found = 0
    for charger_id in waiting[:STATE_LOOKUPS]:
        try:
            snapshot = client.state(charger_id)
            if not snapshot.cached:
                app.counters.budget(1, "state")
        except BudgetExhausted:
            log.info("state lookups stop: Zaptec budget exhausted")
            break
        except ZaptecError as exc:
            log.warning("state lookup for %s failed: %s", charger_id, exc)
            continue
        for item in snapshot.observations:
            if str(item.get("StateId")) != str(StateId.COMPLETED_SESSION):
                continue
            decoded = decode_fields({"ChargerId": charger_id, **item}, now)
            if isinstance(decoded, Observation):
                unit.feed(decoded, {"source": "state"}, f"state:{charger_id}:{item}")
                found += 1
    unit.commit()
    return found


def deadlines(app: App, now: datetime) -> int:
    """Fire due timers of every charger (silence -> offline, settled sessions)."""
    unit = app.ingest_unit(data_clock=True)
    unit.start()
    unit.advance_to(now)
    added = unit.commit()
    for _, event in added:
        app.counters.events(event["type"])
    return len(added)


def tick_consumers(app: App, now: datetime) -> int:
    """Time-driven consumer work, then deliveries earlier runs left pending."""
    consumers = app.consumers()
    consumers.tickets.tick(now)
    consumers.finance.tick(now)
    consumers.deliverer.flush()
    for outcome in consumers.deliverer.outcomes:
        app.counters.delivery(outcome.target, outcome.status)
    return len(consumers.deliverer.outcomes)


def publish_or_raise(app: App) -> int:
    result = app.topic.publish()
    app.counters.published(result.sent)
    if result.error is not None:
        raise RuntimeError(f"publishing failed ({result.error}); backlog {result.backlog}")
    return result.sent


def uptime_report(app: App) -> list[dict[str, Any]]:
    """Last month's availability as ``report.uptime`` events, routed like any event."""
    from shared.consumers.uptime.monthly import monthly_report  # noqa: PLC0415

    consumers = app.consumers()
    # the deliverer's config holds the stored silences too: they count as excluded
    events = monthly_report(consumers.deliverer.config, app.store, consumers.deliverer, app.now())
    failed = [o for o in consumers.deliverer.outcomes if o.status == "failed"]
    log.info("uptime_report: %d report events, %d deliveries failed", len(events), len(failed))
    publish_or_raise(app)
    return events


def refresh_registry(app: App) -> dict[str, Any]:
    """Refresh the charger registry within the Zaptec budget, feed its IsOnline
    observations to ingest, publish its events; the run is recorded for ``health``."""
    from shared.registry import refresh  # noqa: PLC0415

    now = app.now()
    record: dict[str, Any] = {"at": format_utc(now)}
    client = app.zaptec()
    if client is None:
        record["status"] = "not configured (zaptec.username/password)"
        MetaRecords(app.store).put(Meta.REGISTRY_REFRESH, record)
        log.warning("registry_refresh: %s", record["status"])
        return record
    try:
        result = refresh(app.config(), app.store, client, now)
    except Exception as exc:
        record["status"] = f"failed: {type(exc).__name__}"
        MetaRecords(app.store).put(Meta.REGISTRY_REFRESH, record)
        raise
    if result.observations:
        unit = app.ingest_unit()
        for obs in result.observations:
            unit.feed(obs, {"source": "registry"}, f"registry:{obs.charger_id}:{obs.timestamp}")
        unit.commit()
    publish(app)
    for kind, count in result.calls.items():
        app.counters.budget(count, f"registry:{kind}")
    summary = result.summary()
    record.update({"status": "ok", "result": summary.get("status"), "summary": summary})
    MetaRecords(app.store).put(Meta.REGISTRY_REFRESH, record)
    log.info("registry_refresh: %s", summary.get("status"))
    return record
