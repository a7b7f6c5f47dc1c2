"""``chargeops replay``: captured Service Bus traffic through the same use cases Azure
runs (``ingest_batch``, then ``consume`` for each subscription), in one process, with
the event log standing in for our topic and the data clock standing in for the watchdog.

Work is committed in fixed-size chunks of input lines (one ingest batch each); after each
commit the consumers catch up and the output files are brought level with the store.
Because chunking is by line count and every step is idempotent, a run killed anywhere and
started again ends with exactly the files of one uninterrupted run.
"""

from __future__ import annotations

import copy
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.app.clock_guard import FutureGuard
from shared.app.compose import App, Consumers
from shared.app.consume import consume
from shared.app.ingest import DATA_ERRORS, decode_all, ingest_batch
from shared.app.ingest_unit import Ingest, IngestCounts
from shared.app.output_files import FileSink
from shared.app.subscriptions import Subscription
from shared.app.summary import Summary
from shared.events.catalogue import FINANCE, TICKETS, for_finance, for_tickets
from shared.events.log import EventLog
from shared.inbound.capture import InputError, read_capture
from shared.inbound.envelope import CaptureLine, Inbound
from shared.inbound.observations import Decoded, Rejection
from shared.storage.base import StoreConfigError, Writer
from shared.storage.schema import DELIVERIES_LOG, EVENTS_LOG, REJECTIONS_LOG

__all__ = ["CHUNK", "InputError", "ReplayOptions", "StateMismatch", "StoreConfigError", "replay"]

log = logging.getLogger("chargeops.replay")
CHUNK = 5000  # input lines per unit of work; fixed, so resumed runs chunk identically


class StateMismatch(StoreConfigError):
    """The state and the output files are not from the same runs (names both)."""


@dataclass(frozen=True)
class ReplayOptions:
    input: str
    out: Path
    drain: bool = True  # a finished capture: let pending timers run out at the end
    chunk: int = CHUNK


Progress = Callable[[int, int], None]  # (lines done, bytes done)


def replay(app: App, opts: ReplayOptions, progress: Progress | None = None) -> Summary:
    """Run one replay over an ``open_local`` App; returns the run's summary."""
    started = time.perf_counter()
    writer = app.store.writer("chargeops replay")  # StateBusy: another run writes this state
    try:
        return _run(app, opts, progress, writer, started)
    finally:
        writer.release()


def _run(
    app: App, opts: ReplayOptions, progress: Progress | None, writer: Writer, started: float
) -> Summary:
    sinks = _open_sinks(app, opts.out)
    consumers = app.consumers()
    subscriptions = [
        Subscription(app.store, TICKETS, for_tickets),
        Subscription(app.store, FINANCE, for_finance),
    ]
    unit = app.ingest_unit()
    unit.start()

    stuck: set[str] = set()  # timers that failed this run: recorded once, tried again

    def tick() -> None:
        if unit.clock is not None:
            _tick_contained(app, "tickets", consumers.tickets, unit.clock, stuck)
            _tick_contained(app, "finance", consumers.finance, unit.clock, stuck)

    def settle() -> None:
        writer.renew()
        tick()
        for sub in subscriptions:
            sub.drain(functools.partial(_contained, app, sub.name, consumers))
        tick()
        for sink in sinks:
            sink.flush()
        consumers.deliverer.outcomes.clear()  # counted from deliveries.jsonl: memory stays flat

    consumers.deliverer.flush()  # what an earlier run could not deliver
    settle()
    guard = FutureGuard(unit.clock)

    def ingest(batch: list[CaptureLine], *, last: bool = False) -> None:
        nonlocal unit
        messages, decoded = guard.screen(batch, decode_all(batch))
        if last:
            held, refused = guard.finish()
            messages, decoded = messages + held, decoded + refused
        counted = copy.deepcopy(unit.counts)
        try:
            ingest_batch(app, messages, unit, decoded)
        except DATA_ERRORS:
            log.exception("replay: a unit of work could not be committed; line by line")
            unit = _one_by_one(app, counted, messages, decoded)

    lines_done = 0
    batch: list[CaptureLine] = []
    for lineno, line, offset in read_capture(opts.input):
        lines_done = lineno
        if line is not None:
            batch.append(line)
        if lineno % opts.chunk == 0:
            ingest(batch)
            batch = []
            settle()
            if progress is not None:
                progress(lineno, offset)
    ingest(batch, last=True)
    _sweep(app, unit, drain=opts.drain)
    settle()
    if progress is not None:
        progress(lines_done, -1)
    return _summary(app, opts, unit, sinks, consumers, started)


def _summary(
    app: App,
    opts: ReplayOptions,
    unit: Ingest,
    sinks: list[FileSink],
    consumers: Consumers,
    started: float,
) -> Summary:
    unit.counts.events = sinks[0].written  # what this run added to events.jsonl
    summary = Summary.of_run(
        unit.counts,
        _deliveries(sinks[1]),
        pending=consumers.deliverer.log.count_pending(),
        seconds=time.perf_counter() - started,
        out=opts.out,
        state=app.store.location,
    )
    summary.under_review = getattr(consumers.finance, "under_review", 0)
    summary.review_reasons = dict(getattr(consumers.finance, "review", {}))
    return summary


def _deliveries(sink: FileSink) -> dict[str, dict[str, int]]:
    """What this run wrote to deliveries.jsonl: target -> status -> count."""
    deliveries: dict[str, dict[str, int]] = {}
    for tally, n in sink.written.items():
        target, status = tally.split("\x00")
        deliveries.setdefault(target, {})[status] = n
    return deliveries


def _one_by_one(
    app: App, counts: IngestCounts, messages: list[Inbound], decoded: list[Decoded]
) -> Ingest:
    """A unit of work that could not be committed (nothing of it was: one transaction),
    again one line per commit from the stored state; a line whose own commit fails is
    rejected as ``internal_error`` with its line number, and the run goes on."""
    unit = _fresh(app, counts)
    for message, item in zip(messages, decoded, strict=True):
        before = copy.deepcopy(unit.counts)
        try:
            ingest_batch(app, [message], unit, [item])
        except DATA_ERRORS as exc:
            unit = _fresh(app, before)
            detail = f"commit: {type(exc).__name__}: {exc}"[:300]
            ingest_batch(app, [message], unit, [Rejection("internal_error", detail)])
    return unit


def _fresh(app: App, counts: IngestCounts) -> Ingest:
    unit = app.ingest_unit()
    unit.start()
    unit.counts = counts
    return unit


def _open_sinks(app: App, out: Path) -> list[FileSink]:
    """The output files, checked against the state before anything is written."""
    sinks = [
        FileSink(app.store, EVENTS_LOG, out / "events.jsonl"),
        FileSink(app.store, DELIVERIES_LOG, out / "deliveries.jsonl", tally=_target_status),
        FileSink(app.store, REJECTIONS_LOG, out / "rejected.jsonl"),
    ]
    problems = [p for p in (sink.check() for sink in sinks) if p]
    events = EventLog(app.store)
    head = events.head()
    for name in (TICKETS, FINANCE):
        if events.cursor(name) > head:  # a cursor past the log: events would never come
            problems.append(f"subscription {name} is at {events.cursor(name):,}, past the log")
    if problems:
        raise StateMismatch(
            f"--state {app.store.location} is not the state of --out: {'; '.join(problems)} "
            "(use the state that wrote these files, or a new --out)"
        )
    for sink in sinks:
        sink.open()
    return sinks


def _contained(app: App, subscription: str, consumers: Consumers, event: dict[str, Any]) -> None:
    """One event for one subscription, all or nothing: its store writes roll back if a
    consumer raises, and the event is then recorded in ``rejected.jsonl``
    (``consumer_error``) and passed, so one poisoned event never blocks those behind it
    (in Azure, Service Bus redelivers it and dead-letters it after ten tries)."""
    try:
        with app.store.transaction():
            consume(app, subscription, event, consumers=consumers)
    except Exception as exc:
        log.exception("%s: event %s could not be handled", subscription, event.get("id"))
        entry = {
            "event": event.get("id"),
            "type": event.get("type"),
            "subscription": subscription,
            "reason": "consumer_error",
            "detail": f"{type(exc).__name__}: {exc}"[:300],
        }
        app.store.append(REJECTIONS_LOG, [(f"event={event.get('id')}:{subscription}", entry)])


def _sweep(app: App, unit: Ingest, *, drain: bool) -> None:
    """The end-of-input sweep (sessions and offline periods the silence closed) and the
    last commit. If that cannot be committed, nothing of it was: it is recorded
    (``internal_error``) and the next run sweeps again, rather than a traceback."""
    try:
        if drain:
            unit.drain()
        unit.commit()
    except DATA_ERRORS as exc:
        log.exception("replay: the end-of-input sweep could not be committed")
        _reject(app, "end-of-input", "internal_error", f"drain: {type(exc).__name__}: {exc}")


def _tick_contained(app: App, name: str, consumer: Any, clock: datetime, stuck: set[str]) -> None:
    """A consumer's timer work (grace periods, reminders, session fallbacks), contained:
    if it raises, the run goes on; the first failure of a run is recorded in
    ``rejected.jsonl`` (``tick_error``) so a damaged record cannot stop every later run
    at its first settle.

    Not wrapped in one transaction: the timers commit their own (all or nothing), and
    the sends after them must commit each claim *before* its request leaves. Held in an
    outer transaction, a claim died with a killed run and the next run created the Jira
    issue again without waiting out the search lag."""
    try:
        consumer.tick(clock)
    except Exception as exc:
        if name not in stuck:
            stuck.add(name)
            log.exception("replay: the %s timer failed; later events still run", name)
            _reject(app, f"tick:{name}", "tick_error", f"{type(exc).__name__}: {exc}")


def _reject(app: App, key: str, reason: str, detail: str) -> None:
    entry = {"event": None, "subscription": key, "reason": reason, "detail": detail[:300]}
    stamp = time.time_ns()  # each run's record its own line, not deduplicated away
    app.store.append(REJECTIONS_LOG, [(f"{key}:{stamp}", entry)])


def _target_status(outcome: dict[str, Any]) -> str:
    return f"{outcome.get('target')}\x00{outcome.get('status')}"
