"""Timers: ``offline_watchdog`` (every minute), ``registry_refresh`` (every 30 minutes;
a fresh registry costs nothing) and ``uptime_report`` (monthly).

The watchdog is what makes wall-clock time pass for the core in Azure. Each run: parked
messages are fed in; sessions whose wait for CompletedSession (723) is over get one
``/state`` look (within the Zaptec budget) for a 723 that never reached the bus; then
chargers silent past ``detection.silence_after`` go offline and the remaining sessions
complete as derived; consumers run their time-driven work and pending deliveries are
retried; anything committed but not yet on our topic is published. Each step runs even
if another fails; the run fails afterwards if any did, so it shows in Application Insights.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import azure.functions as func

from functions.worker import Worker, current

__all__ = ["STATE_LOOKUPS", "bp", "refresh_registry", "uptime_report_run", "watchdog"]

bp = func.Blueprint()  # type: ignore[no-untyped-call]
log = logging.getLogger("chargeops.timers")
STATE_LOOKUPS = 20  # /state calls per watchdog run at most (the budget decides the rest)


class StepsFailed(RuntimeError):
    """One or more watchdog steps failed (the others ran)."""


@bp.function_name("offline_watchdog")
@bp.timer_trigger(arg_name="timer", schedule="%OFFLINE_WATCHDOG_SCHEDULE%", run_on_startup=False)
def offline_watchdog(timer: func.TimerRequest, context: func.Context) -> None:
    from shared.adapters.telemetry import correlate  # noqa: PLC0415

    with correlate(invocation_id=context.invocation_id, function="offline_watchdog"):
        if timer.past_due:
            log.info("offline_watchdog is running late")
        watchdog(current())


@bp.function_name("registry_refresh")
@bp.timer_trigger(arg_name="timer", schedule="%REGISTRY_REFRESH_SCHEDULE%", run_on_startup=False)
def registry_refresh(timer: func.TimerRequest, context: func.Context) -> None:
    from shared.adapters.telemetry import correlate  # noqa: PLC0415

    with correlate(invocation_id=context.invocation_id, function="registry_refresh"):
        refresh_registry(current())


@bp.function_name("uptime_report")
@bp.timer_trigger(arg_name="timer", schedule="%UPTIME_REPORT_SCHEDULE%", run_on_startup=False)
def uptime_report(timer: func.TimerRequest, context: func.Context) -> None:
    from shared.adapters.telemetry import correlate  # noqa: PLC0415

    with correlate(invocation_id=context.invocation_id, function="uptime_report"):
        uptime_report_run(current())


def uptime_report_run(worker: Worker) -> list[dict[str, Any]]:
    """Last month's availability as ``report.uptime`` events, routed like any event."""
    from shared.consumers.uptime.monthly import monthly_report  # noqa: PLC0415

    rt = worker.runtime()
    events = monthly_report(rt.config, rt.store, rt.deliverer, worker.now())
    failed = [o for o in rt.deliverer.outcomes if o.status == "failed"]
    log.info("uptime_report: %d report events, %d deliveries failed", len(events), len(failed))
    _publish(worker)
    return events


def watchdog(worker: Worker) -> dict[str, Any]:
    """One pass; returns what each step did (also stored as ``meta/watchdog``)."""
    from shared.app.health import WATCHDOG  # noqa: PLC0415
    from shared.timestamps import format_utc  # noqa: PLC0415

    now = worker.now()
    report: dict[str, Any] = {"at": format_utc(now)}
    failed: list[str] = []

    def step(name: str, work: Callable[[], object]) -> None:
        try:
            report[name] = work()
        except Exception as exc:
            log.exception("watchdog step %s failed", name)
            report[name] = f"failed: {type(exc).__name__}"
            failed.append(name)

    step("parked", lambda: _unpark(worker))
    step("state_lookups", lambda: _state_fallback(worker, now))
    step("deadlines", lambda: _deadlines(worker, now))
    step("consumers", lambda: _tick_consumers(worker, now))
    step("published", lambda: _publish(worker))
    try:
        worker.store.put(*WATCHDOG, report)
    except Exception:
        log.exception("could not record the watchdog run")
    if failed:
        raise StepsFailed(f"watchdog steps failed: {', '.join(failed)}")
    return report


def _unpark(worker: Worker) -> int:
    from functions.ingest import unpark  # noqa: PLC0415

    return unpark(worker)


def _state_fallback(worker: Worker, now: datetime) -> int:
    """Ask ``/state`` for the 723 of sessions whose wait is over; returns 723s found."""
    from shared.app.ingest_unit import CHARGER_KIND  # noqa: PLC0415
    from shared.charger.model import from_record  # noqa: PLC0415
    from shared.inbound.decode import decode_fields  # noqa: PLC0415
    from shared.inbound.observations import Observation, StateId  # noqa: PLC0415
    from shared.zaptec.errors import BudgetExhausted, ZaptecError  # noqa: PLC0415

    waiting = [
        key
        for key, entry in worker.store.scan(CHARGER_KIND)
        if any(e.due <= now for e in from_record(entry.value).ended)
    ]
    if not waiting:
        return 0
    client = worker.zaptec()
    if client is None:
        return 0  # no Zaptec credentials: sessions complete as derived
    ingest = worker.ingest()
    found = 0
    for charger_id in waiting[:STATE_LOOKUPS]:
        try:
            snapshot = client.state(charger_id)
            if not snapshot.cached:
                worker.counters.budget(1, "state")
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
                ingest.feed(decoded, {"source": "state"}, f"state:{charger_id}:{item}")
                found += 1
    ingest.commit()
    return found


def _deadlines(worker: Worker, now: datetime) -> int:
    """Fire due timers of every charger (silence -> offline, settled sessions)."""
    ingest = worker.ingest(data_clock=True)
    ingest.start()
    ingest.advance_to(now)
    added = ingest.commit()
    for _, event in added:
        worker.counters.events(event["type"])
    return len(added)


def _tick_consumers(worker: Worker, now: datetime) -> int:
    """Time-driven consumer work, then deliveries earlier runs left pending."""
    rt = worker.runtime()
    rt.tickets.tick(now)
    if rt.finance is not rt.tickets:
        rt.finance.tick(now)
    rt.deliverer.retry_pending()
    for outcome in rt.deliverer.outcomes:
        worker.counters.delivery(outcome.target, outcome.status)
    return len(rt.deliverer.outcomes)


def _publish(worker: Worker) -> int:
    from shared.adapters.servicebus import publish_pending  # noqa: PLC0415

    result = publish_pending(worker.store, worker.sender())
    worker.counters.published(result.sent)
    if result.error is not None:
        raise RuntimeError(f"publishing failed ({result.error}); backlog {result.backlog}")
    return result.sent


def refresh_registry(worker: Worker) -> dict[str, Any]:
    """Refresh the charger registry within the Zaptec budget, feed its IsOnline
    observations to ingest, publish its events; the run is recorded for ``health``."""
    from shared.app.health import REGISTRY_REFRESH  # noqa: PLC0415
    from shared.registry import refresh  # noqa: PLC0415
    from shared.timestamps import format_utc  # noqa: PLC0415

    now = worker.now()
    record: dict[str, Any] = {"at": format_utc(now)}
    client = worker.zaptec()
    if client is None:
        record["status"] = "not configured (zaptec.username/password)"
        worker.store.put(*REGISTRY_REFRESH, record)
        log.warning("registry_refresh: %s", record["status"])
        return record
    try:
        result = refresh(worker.config(), worker.store, client, now)
    except Exception as exc:
        record["status"] = f"failed: {type(exc).__name__}"
        worker.store.put(*REGISTRY_REFRESH, record)
        raise
    if result.observations:
        ingest = worker.ingest()
        for obs in result.observations:
            ingest.feed(obs, {"source": "registry"}, f"registry:{obs.charger_id}:{obs.timestamp}")
        ingest.commit()
    from functions.ingest import publish  # noqa: PLC0415

    publish(worker)
    for kind, count in result.calls.items():
        worker.counters.budget(count, f"registry:{kind}")
    summary = result.summary()
    record.update({"status": "ok", "result": summary.get("status"), "summary": summary})
    worker.store.put(*REGISTRY_REFRESH, record)
    log.info("registry_refresh: %s", summary.get("status"))
    return record
