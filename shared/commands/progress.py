"""Feedback on long work, the same for every command: replay, sample, export, reconcile,
registry refresh.

On a terminal a live ``rich`` bar on stderr: how far, how many, how fast, how long so
far and how long to go. Off a terminal (a log, a pipe, CI) a plain line every
``every`` seconds instead, because a redrawn bar turns a log file into noise and
silence for minutes looks like a hang. stdout is never touched, so ``--json`` output
and data written to stdout stay clean. Colours follow ``rich``, which honours
``NO_COLOR`` (https://no-color.org), ``FORCE_COLOR`` and ``TERM=dumb``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import IO, Any, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

__all__ = ["Feedback", "clock", "console", "status_line"]

T = TypeVar("T")


def console(stream: IO[str] | None = None, *, terminal: bool | None = None) -> Console:
    """A console on stderr (or ``stream``) that decides colour the standard way;
    ``terminal`` overrides rich's own terminal detection (None: detect)."""
    return Console(file=stream or sys.stderr, highlight=False, force_terminal=terminal)


def clock(seconds: float) -> str:
    """``H:MM:SS``: hours keep counting past a day, as a long replay can take."""
    whole = int(seconds + 0.5)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def status_line(
    label: str,
    count: int,
    done: float,
    total: float | None,
    elapsed: float,
    *,
    unit: str = "lines",
    bar: bool = False,
    width: int = 20,
) -> str:
    """``replay: 120,000 lines  40% [########............]  24,000/s  0:00:05 elapsed,
    ETA 0:00:08``. ``count`` items at ``done`` of ``total`` (same unit as ``done``:
    bytes, seconds of data, items). Without a known total: no share and no guess."""
    rate = count / elapsed if elapsed > 0 else 0.0
    parts = [f"{label}: {count:,} {unit}"]
    share = min(done / total, 1.0) if total and total > 0 and done >= 0 else None
    if share is not None:
        parts.append(f"{share:4.0%}")
        if bar:
            filled = round(share * width)
            parts.append("[" + "#" * filled + "." * (width - filled) + "]")
    parts.append(f"{rate:,.0f}/s")
    timing = f"{clock(elapsed)} elapsed"
    if share is not None and 0 < share < 1:
        timing += f", ETA {clock(elapsed * (1 - share) / share)}"
    parts.append(timing)
    return "  ".join(parts)


class _Rate(ProgressColumn):
    """Items per second by the item count (the bar may be in bytes or data time)."""

    def render(self, task: Task) -> Text:
        count = int(task.fields.get("count", 0))
        elapsed = task.elapsed or 0.0
        rate = count / elapsed if elapsed > 0 else 0.0
        unit = task.fields.get("unit", "")
        return Text(f"{count:,} {unit}  {rate:,.0f}/s", style="progress.data.speed")


class Feedback:
    """One long job's progress, as a context manager::

        with Feedback("replay", total=size, unit="lines") as fb:
            for ...: fb.update(done=offset, count=lines)

    ``enabled=False`` (``--quiet``) shows nothing. ``tty`` defaults to whether the
    stream is a terminal; ``every`` is the seconds between plain lines off a terminal;
    ``now`` is injectable so tests need not sleep."""

    def __init__(
        self,
        label: str,
        *,
        total: float | None = None,
        unit: str = "items",
        enabled: bool = True,
        stream: IO[str] | None = None,
        tty: bool | None = None,
        every: float = 10.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.total, self.unit, self.enabled = label, total, unit, enabled
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.every, self.now = every, now
        self.count, self.done = 0, 0.0
        self.started = self.last = now()
        self._live: Progress | None = None
        self._task: Any = None

    def __enter__(self) -> Feedback:
        if self.enabled and self.tty:
            self._live = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(bar_width=24),
                TaskProgressColumn(),
                _Rate(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=console(self.stream, terminal=True),
                transient=False,
            )
            self._live.start()
            self._task = self._live.add_task(self.label, total=self.total, count=0, unit=self.unit)
        return self

    def update(self, *, done: float | None = None, count: int | None = None) -> None:
        """Record how far (``done``, in the total's unit) and how many items so far."""
        if count is not None:
            self.count = count
        if done is not None:
            self.done = done
        if not self.enabled:
            return
        if self._live is not None:
            completed = self.done if self.total else self.count
            self._live.update(self._task, completed=completed, count=self.count)
            return
        t = self.now()
        if t - self.last >= self.every:
            self.last = t
            print(self._line(t), file=self.stream, flush=True)

    def advance(self, count: int = 1, done: float | None = None) -> None:
        """``count`` more items (and, by default, as much more of the total)."""
        self.update(count=self.count + count, done=self.done + count if done is None else done)

    def counted(self, items: Iterable[T]) -> Iterator[T]:
        """``items``, counting each as it passes (for work whose total is unknown)."""
        for item in items:
            self.advance()
            yield item

    def _line(self, t: float) -> str:
        return status_line(
            self.label, self.count, self.done, self.total, t - self.started, unit=self.unit
        )

    def close(self) -> None:
        """Finish: the bar shows 100 %; off a terminal, one closing line if any came
        before (a short job stays silent, a long one says it is done and how long)."""
        if self._live is not None:
            if self.total:
                self._live.update(self._task, completed=self.total, count=self.count)
            self._live.stop()
            self._live = None
        elif self.enabled and self.last != self.started:
            t = self.now()
            if self.total:
                self.done = self.total
            print(self._line(t) + "  done", file=self.stream, flush=True)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        elif self._live is not None:  # leave the bar where it stopped
            self._live.stop()
            self._live = None
