"""After each commit of a replay the consumers catch up: ``Settle``.

One settle is what a replay does between two ingest commits: the timers (grace periods,
reminders, session fallbacks) at the data clock, every new event through each
subscription (``consume``, as Azure's consumer functions call it), the timers again, and
the output files brought level with the store. It reads the state as the last commit
left it and writes only what the consumers own (alerts, ledger, outages, deliveries,
their cursors and the output files' marks), so whether it runs in the replaying process
or beside it (``shared.app.beside``) the state and the files end the same.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.app.compose import App, Consumers
from shared.app.consume import consume
from shared.app.output_files import FileSink
from shared.app.subscriptions import Subscription
from shared.events.catalogue import FINANCE, TICKETS, for_finance, for_tickets
from shared.storage.schema import DELIVERIES_LOG, EVENTS_LOG, REJECTIONS_LOG

__all__ = ["Settle", "Settled", "record_failure", "sinks_for"]

log = logging.getLogger("chargeops.replay")


@dataclass
class Settled:
    """What the consumers' side of a run adds to its summary."""

    events: Counter[str] = field(default_factory=Counter)  # lines added to events.jsonl
    deliveries: Counter[str] = field(default_factory=Counter)  # target\x00status
    pending: int = 0
    under_review: int = 0
    review: dict[str, int] = field(default_factory=dict)
    peak_rss_mb: float | None = None  # of the process beside ingest, when there is one


def sinks_for(app: App, out: Path) -> list[FileSink]:
    """The output files: events, deliveries (tallied by target and status), rejections."""
    return [
        FileSink(app.store, EVENTS_LOG, out / "events.jsonl"),
        FileSink(app.store, DELIVERIES_LOG, out / "deliveries.jsonl", tally=_target_status),
        FileSink(app.store, REJECTIONS_LOG, out / "rejected.jsonl"),
    ]


class Settle:
    """The consumers' side of a replay on one App: ``begin`` once, then one call per
    commit with the data clock it reached, then ``result``."""

    def __init__(self, app: App, out: Path) -> None:
        self.app = app
        self.consumers: Consumers = app.consumers()
        self.subscriptions = [
            Subscription(app.store, TICKETS, for_tickets),
            Subscription(app.store, FINANCE, for_finance),
        ]
        self.sinks = sinks_for(app, out)
        self.stuck: set[str] = set()  # timers that failed this run: recorded once, tried again

    def begin(self, clock: datetime | None) -> None:
        """What an earlier run could not deliver, then what it left unconsumed."""
        self.consumers.deliverer.flush()
        self(clock)

    def __call__(self, clock: datetime | None) -> None:
        self._tick(clock)
        for sub in self.subscriptions:
            sub.drain(functools.partial(_contained, self.app, sub.name, self.consumers))
        self._tick(clock)
        for sink in self.sinks:
            sink.flush()
        self.consumers.deliverer.outcomes.clear()  # counted from deliveries.jsonl: flat memory

    def wait(self) -> None:
        """Nothing to wait for: a settle in this process is done when its call returns."""

    def close(self) -> None:
        """Nothing to stop (``shared.app.beside`` has a process to end)."""

    def result(self) -> Settled:
        finance = self.consumers.finance
        return Settled(
            events=Counter(self.sinks[0].written),
            deliveries=Counter(self.sinks[1].written),
            pending=self.consumers.deliverer.log.count_pending(),
            under_review=getattr(finance, "under_review", 0),
            review=dict(getattr(finance, "review", {})),
        )

    def _tick(self, clock: datetime | None) -> None:
        if clock is not None:
            _tick_contained(self.app, "tickets", self.consumers.tickets, clock, self.stuck)
            _tick_contained(self.app, "finance", self.consumers.finance, clock, self.stuck)


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
            record_failure(app, f"tick:{name}", "tick_error", f"{type(exc).__name__}: {exc}")


def record_failure(app: App, key: str, reason: str, detail: str) -> None:
    """A failure of the run itself (not of a line) as its own line in rejected.jsonl."""
    entry = {"event": None, "subscription": key, "reason": reason, "detail": detail[:300]}
    stamp = time.time_ns()  # each run's record its own line, not deduplicated away
    app.store.append(REJECTIONS_LOG, [(f"{key}:{stamp}", entry)])


def _target_status(outcome: dict[str, Any]) -> str:
    return f"{outcome.get('target')}\x00{outcome.get('status')}"
