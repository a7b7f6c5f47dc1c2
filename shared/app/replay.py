"""``chargeops replay``: captured Service Bus traffic through the same use cases Azure
runs (``ingest_batch``, then ``consume`` for each subscription), in one process, with
the event log standing in for our topic and the data clock standing in for the watchdog.

Work is committed in fixed-size chunks of input lines (one ingest batch each); after each
commit the consumers catch up and the output files are brought level with the store.
Because chunking is by line count and every step is idempotent, a run killed anywhere and
started again ends with exactly the files of one uninterrupted run.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.app.compose import App
from shared.app.consume import consume
from shared.app.ingest import ingest_batch
from shared.app.output_files import FileSink
from shared.app.subscriptions import Subscription
from shared.app.summary import Summary
from shared.events.catalogue import FINANCE, TICKETS, for_finance, for_tickets
from shared.inbound.capture import InputError, read_capture
from shared.inbound.envelope import CaptureLine
from shared.storage.schema import DELIVERIES_LOG, EVENTS_LOG, REJECTIONS_LOG

__all__ = ["CHUNK", "InputError", "ReplayOptions", "replay"]

CHUNK = 5000  # input lines per unit of work; fixed, so resumed runs chunk identically


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
    sinks = [
        FileSink(app.store, EVENTS_LOG, opts.out / "events.jsonl"),
        FileSink(app.store, DELIVERIES_LOG, opts.out / "deliveries.jsonl", tally=_target_status),
        FileSink(app.store, REJECTIONS_LOG, opts.out / "rejected.jsonl"),
    ]
    for sink in sinks:
        sink.open()
    consumers = app.consumers()
    subscriptions = [
        Subscription(app.store, TICKETS, for_tickets),
        Subscription(app.store, FINANCE, for_finance),
    ]
    unit = app.ingest_unit()
    unit.start()

    def tick() -> None:
        if unit.clock is not None:
            consumers.tickets.tick(unit.clock)
            consumers.finance.tick(unit.clock)

    def settle() -> None:
        tick()
        for sub in subscriptions:
            sub.drain(functools.partial(consume, app, sub.name, consumers=consumers))
        tick()
        for sink in sinks:
            sink.flush()
        consumers.deliverer.outcomes.clear()  # counted from deliveries.jsonl: memory stays flat

    consumers.deliverer.flush()  # what an earlier run could not deliver
    settle()
    lines_done = 0
    batch: list[CaptureLine] = []
    for lineno, line, offset in read_capture(opts.input):
        lines_done = lineno
        if line is not None:
            batch.append(line)
        if lineno % opts.chunk == 0:
            ingest_batch(app, batch, unit)
            batch = []
            settle()
            if progress is not None:
                progress(lineno, offset)
    ingest_batch(app, batch, unit)
    if opts.drain:
        unit.drain()
    unit.commit()
    settle()
    if progress is not None:
        progress(lines_done, -1)
    unit.counts.events = sinks[0].written  # what this run added to events.jsonl
    deliveries: dict[str, dict[str, int]] = {}
    for tally, n in sinks[1].written.items():
        target, status = tally.split("\x00")
        deliveries.setdefault(target, {})[status] = n
    return Summary.of_run(
        unit.counts,
        deliveries,
        pending=consumers.deliverer.log.count_pending(),
        seconds=time.perf_counter() - started,
        out=opts.out,
        state=app.store.location,
    )


def _target_status(outcome: dict[str, Any]) -> str:
    return f"{outcome.get('target')}\x00{outcome.get('status')}"
