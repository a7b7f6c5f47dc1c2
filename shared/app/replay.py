"""``chargeops replay``: captured Service Bus traffic through ingest and both consumers,
in one process, with the store's event log standing in for our topic.

Work is committed in fixed-size chunks of input lines; after each commit the consumers
catch up and the output files are brought level with the store. Because chunking is by
line count and every step is idempotent, a run killed anywhere and started again ends
with exactly the files of one uninterrupted run.
"""

from __future__ import annotations

import gzip
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from shared.app.compose import Runtime
from shared.app.ingest_unit import EVENTS_LOG, REJECTIONS_LOG
from shared.app.output_files import FileSink
from shared.app.subscriptions import FINANCE, TICKETS, Subscription, for_finance, for_tickets
from shared.app.summary import Summary
from shared.consumers.uptime.ledger import SUBSCRIPTION as UPTIME
from shared.consumers.uptime.ledger import for_uptime
from shared.inbound.decode import Rejection, decode_line
from shared.notify.outbox import DELIVERIES_LOG

__all__ = ["CHUNK", "InputError", "ReplayOptions", "replay"]

CHUNK = 5000  # input lines per unit of work; fixed, so resumed runs chunk identically


class InputError(ValueError):
    """The input cannot be read at all (missing file, not a file)."""


@dataclass(frozen=True)
class ReplayOptions:
    input: str
    out: Path
    drain: bool = True  # a finished capture: let pending timers run out at the end
    chunk: int = CHUNK


Progress = Callable[[int, int], None]  # (lines done, bytes done)


def replay(rt: Runtime, opts: ReplayOptions, progress: Progress | None = None) -> Summary:
    """Run one replay over an already built runtime; returns the run's summary."""
    started = time.perf_counter()
    sinks = [
        FileSink(rt.store, EVENTS_LOG, opts.out / "events.jsonl"),
        FileSink(rt.store, DELIVERIES_LOG, opts.out / "deliveries.jsonl", tally=_target_status),
        FileSink(rt.store, REJECTIONS_LOG, opts.out / "rejected.jsonl"),
    ]
    for sink in sinks:
        sink.open()
    subscriptions = [
        (Subscription(rt.store, TICKETS, for_tickets), rt.tickets),
        (Subscription(rt.store, FINANCE, for_finance), rt.finance),
        (Subscription(rt.store, UPTIME, for_uptime), rt.uptime),
    ]
    ingest = rt.ingest
    ingest.start()

    def settle() -> None:
        if ingest.clock is not None:
            for _, consumer in subscriptions:
                consumer.tick(ingest.clock)
        for sub, consumer in subscriptions:
            sub.drain(consumer.handle)
        if ingest.clock is not None:
            for _, consumer in subscriptions:
                consumer.tick(ingest.clock)
        for sink in sinks:
            sink.flush()
        rt.deliverer.outcomes.clear()  # counted from deliveries.jsonl: memory stays flat

    rt.deliverer.retry_pending()
    settle()
    lines_done = 0
    for lineno, raw, offset in _lines(opts.input):
        lines_done = lineno
        if raw is None:
            continue
        if isinstance(raw, str):
            ingest.feed(decode_line(raw), {"line": lineno}, raw)
        else:
            ingest.feed(raw, {"line": lineno}, raw.detail)
        if lineno % opts.chunk == 0:
            ingest.commit()
            settle()
            if progress is not None:
                progress(lineno, offset)
    if opts.drain:
        ingest.drain()
    ingest.commit()
    settle()
    if progress is not None:
        progress(lines_done, -1)
    ingest.counts.events = sinks[0].written  # what this run added to events.jsonl
    deliveries: dict[str, dict[str, int]] = {}
    for tally, n in sinks[1].written.items():
        target, status = tally.split("\x00")
        deliveries.setdefault(target, {})[status] = n
    return Summary.of_run(
        ingest.counts,
        deliveries,
        pending=rt.deliverer.log.count_pending(),
        seconds=time.perf_counter() - started,
        out=opts.out,
        state=rt.store.location,
    )


def _target_status(outcome: dict[str, Any]) -> str:
    return f"{outcome.get('target')}\x00{outcome.get('status')}"


def _lines(source: str) -> Iterator[tuple[int, str | Rejection | None, int]]:
    """(line number, text or a decoding rejection or None for blank, bytes read so far)."""
    stream = _open(source)
    try:
        offset = 0
        for lineno, data in enumerate(stream, start=1):
            offset += len(data)
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield lineno, Rejection("invalid_utf8", f"byte {exc.start}: {exc.reason}"), offset
                continue
            if text.strip():
                yield lineno, text, offset
            else:
                yield lineno, None, offset
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _open(source: str) -> IO[bytes]:
    if source == "-":
        return sys.stdin.buffer
    path = Path(source)
    if not path.exists():
        raise InputError(f"INPUT {source}: no such file")
    if not path.is_file():
        raise InputError(f"INPUT {source}: not a file")
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")
