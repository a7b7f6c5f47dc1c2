"""``chargeops replay``: captured Service Bus traffic through the same use cases Azure
runs (``ingest_batch``, then ``consume`` for each subscription), in one process, with
the event log standing in for our topic and the data clock standing in for the watchdog.

Work is committed in fixed-size chunks of input lines (one ingest batch each); after each
commit the consumers catch up and the output files are brought level with the store
(``shared.app.settle``), in this process or, with ``beside``, in a second one that
settles a commit while this one decodes the next chunk (``shared.app.beside``): the same
steps in the same order either way. Because chunking is by line count and every step is
idempotent, a run killed anywhere and started again ends with exactly the files of one
uninterrupted run.
"""

from __future__ import annotations

import copy
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shared.app.beside import Beside, ConsumerProcessError
from shared.app.clock_guard import FutureGuard
from shared.app.compose import App, state_file
from shared.app.ingest import DATA_ERRORS, decode_all, ingest_batch
from shared.app.ingest_unit import Ingest, IngestCounts
from shared.app.settle import Settle, Settled, record_failure, sinks_for
from shared.app.summary import Summary
from shared.events.catalogue import FINANCE, TICKETS
from shared.events.log import EventLog
from shared.inbound.capture import InputError, read_capture
from shared.inbound.envelope import CaptureLine, Inbound
from shared.inbound.observations import Decoded, Rejection
from shared.storage.base import StoreConfigError, Writer

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
    beside: bool = False  # the consumers in a second process (shared.app.beside)


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
    _open_sinks(app, opts.out)
    unit = app.ingest_unit()
    unit.start()
    settle = _settler(app, opts)
    unit.before_commit = settle.wait  # the consumers done with the last commit first
    try:
        settle.begin(unit.clock)
        unit, lines = _ingest_all(app, opts, progress, writer, unit, settle)
        settled = settle.result()
    except ConsumerProcessError as exc:  # what it raised, as it raised it (exit 2 stays 2)
        if exc.original is not None:
            raise exc.original from None
        raise
    finally:
        settle.close()
    if progress is not None:
        progress(lines, -1)
    return _summary(app, opts, unit, settled, started)


def _settler(app: App, opts: ReplayOptions) -> Settle | Beside:
    """The settles beside ingest when asked and the state is a file, else in this process."""
    location = state_file(app)
    if opts.beside and location is not None and not app.lookups:  # ingest asks Zaptec nothing
        with app.store.released():  # the child opens its own connection, inherits none
            return Beside(app.config(), location, opts.out)
    return Settle(app, opts.out)


def _ingest_all(
    app: App,
    opts: ReplayOptions,
    progress: Progress | None,
    writer: Writer,
    unit: Ingest,
    settle: Settle | Beside,
) -> tuple[Ingest, int]:
    """Every chunk: decode, screen and feed it, wait for the last settle, commit, settle."""
    guard = FutureGuard(unit.clock)

    def ingest(batch: list[CaptureLine], *, last: bool = False) -> None:
        nonlocal unit
        messages, decoded = guard.screen(batch, decode_all(batch))
        if last:
            held, refused = guard.finish()
            messages, decoded = messages + held, decoded + refused
        counted = copy.deepcopy(unit.counts)
        try:  # fed while the consumers settle the last commit; committed after they are done
            ingest_batch(app, messages, unit, decoded)
        except DATA_ERRORS:
            log.exception("replay: a unit of work could not be committed; line by line")
            unit = _one_by_one(app, counted, messages, decoded, settle.wait)

    def settled() -> None:
        writer.renew()
        settle(unit.clock)

    lines = 0
    batch: list[CaptureLine] = []
    for lineno, line, offset in read_capture(opts.input):
        lines = lineno
        if line is not None:
            batch.append(line)
        if lineno % opts.chunk == 0:
            ingest(batch)
            batch = []
            settled()
            if progress is not None:
                progress(lineno, offset)
    ingest(batch, last=True)
    _sweep(app, unit, drain=opts.drain)  # its commit waits for the last settle
    settled()
    return unit, lines


def _summary(
    app: App,
    opts: ReplayOptions,
    unit: Ingest,
    settled: Settled,
    started: float,
) -> Summary:
    unit.counts.events = settled.events  # what this run added to events.jsonl
    summary = Summary.of_run(
        unit.counts,
        _deliveries(settled.deliveries),
        pending=settled.pending,
        seconds=time.perf_counter() - started,
        out=opts.out,
        state=app.store.location,
    )
    summary.under_review = settled.under_review
    summary.review_reasons = settled.review
    summary.consumers_peak_rss_mb = settled.peak_rss_mb
    return summary


def _deliveries(written: Counter[str]) -> dict[str, dict[str, int]]:
    """What this run wrote to deliveries.jsonl: target -> status -> count."""
    deliveries: dict[str, dict[str, int]] = {}
    for tally, n in written.items():
        target, status = tally.split("\x00")
        deliveries.setdefault(target, {})[status] = n
    return deliveries


def _one_by_one(
    app: App,
    counts: IngestCounts,
    messages: list[Inbound],
    decoded: list[Decoded],
    before_commit: Callable[[], None],
) -> Ingest:
    """A unit of work that could not be committed (nothing of it was: one transaction),
    again one line per commit from the stored state; a line whose own commit fails is
    rejected as ``internal_error`` with its line number, and the run goes on."""
    unit = _fresh(app, counts, before_commit)
    for message, item in zip(messages, decoded, strict=True):
        before = copy.deepcopy(unit.counts)
        try:
            ingest_batch(app, [message], unit, [item])
        except DATA_ERRORS as exc:
            unit = _fresh(app, before, before_commit)
            detail = f"commit: {type(exc).__name__}: {exc}"[:300]
            ingest_batch(app, [message], unit, [Rejection("internal_error", detail)])
    return unit


def _fresh(app: App, counts: IngestCounts, before_commit: Callable[[], None]) -> Ingest:
    unit = app.ingest_unit()
    unit.before_commit = before_commit
    unit.start()
    unit.counts = counts
    return unit


def _open_sinks(app: App, out: Path) -> None:
    """The output files, checked against the state and recovered (a killed run's tail
    cut off) before anything is written; the settles then append to them."""
    sinks = sinks_for(app, out)
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
        record_failure(app, "end-of-input", "internal_error", f"drain: {type(exc).__name__}: {exc}")
