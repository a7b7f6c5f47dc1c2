"""The sending end of the notify pipeline: the breaker, the fan-out over targets, each
condition's order, and one notice sent with retries through the ``Sender``.

``Fanout(InOrder(Send))`` is the shape: chains run side by side (at most a target's
``concurrency`` at a time), each chain one notice after another, so a close never
overtakes its open. Only this network work runs in threads; what it decides comes back
to the calling thread, where ``Record`` writes it. A target that keeps failing trips a
breaker for a cool-down, so a dead receiver costs bounded time: what it could not take
stays pending for the next run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from typing import Any

from shared.adapters.http import (
    DeliveryFailure,
    OutboundRequest,
    Permanent,
    Reply,
    Sender,
    Transient,
    Unreachable,
)
from shared.notify.outbox import DeliveryLog
from shared.notify.stages import Job, Result, Stage, chains
from shared.notify.targets import Target

__all__ = ["COOL_DOWN", "TRIP_AFTER", "TRIP_UNREACHABLE", "Breaker", "Cooldown", "Fanout"]
__all__ += ["InOrder", "Send"]

TRIP_AFTER = 3  # consecutive exhausted deliveries before a target is considered down
TRIP_UNREACHABLE = 1  # ... when every attempt found nobody listening (refused, no such host)
COOL_DOWN = 60.0  # seconds a tripped target is left alone before one probe


@dataclass
class Breaker:
    """Per-target circuit breaker: trips after TRIP_AFTER exhausted deliveries in a row."""

    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, int] = field(default_factory=dict)
    _until: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allow(self, name: str) -> bool:
        with self._lock:
            until = self._until.get(name)
            if until is None:
                return True
            if self.clock() < until:
                return False
            self._until[name] = self.clock() + COOL_DOWN  # one probe per cool-down
            return True

    def tripped(self, name: str) -> bool:
        """Down and still cooling off (asking does not use up the probe)."""
        with self._lock:
            until = self._until.get(name)
            return until is not None and self.clock() < until

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)
            self._until.pop(name, None)

    def failed(self, name: str, *, unreachable: bool = False) -> None:
        with self._lock:
            self._failures[name] = self._failures.get(name, 0) + 1
            if self._failures[name] >= (TRIP_UNREACHABLE if unreachable else TRIP_AFTER):
                self._until[name] = self.clock() + COOL_DOWN


@dataclass(frozen=True, slots=True)
class Cooldown:
    """Leaves in the outbox, untouched, a notice already reported failed while its
    target is still cooling off: trying would only find the breaker open, and saying so
    again would not be a new outcome. It waits for the target's next probe."""

    breaker: Breaker
    log: DeliveryLog

    def __call__(self, jobs: Iterable[Job], /) -> Iterator[Job]:
        for job in jobs:
            if not (self.breaker.tripped(job.target) and self.log.failed(job.key)):
                yield job


@dataclass(frozen=True, slots=True)
class Fanout:
    """Runs each chain (one condition at one target) through ``inner`` at the same time
    as the others, in a pool per target sized by its ``concurrency``; results come back
    as chains finish. A lone chain runs on the calling thread."""

    targets: dict[str, Target]
    inner: Stage

    def __call__(self, jobs: Iterable[Job], /) -> list[Job]:
        decided: list[Job] = []
        pending: list[Job] = []
        for job in jobs:
            (pending if job.result is None else decided).append(job)
        todo = chains(pending)
        if len(todo) == 1:
            return decided + list(self.inner(todo[0]))
        pools: dict[str, ThreadPoolExecutor] = {}
        futures: list[Future[list[Job]]] = []
        try:
            for chain in todo:
                name = chain[0].target
                if name not in pools:
                    limit = self.targets[name].config.concurrency
                    pools[name] = ThreadPoolExecutor(limit, thread_name_prefix=f"send-{name}")
                futures.append(pools[name].submit(self._run, chain))
            return decided + [job for f in as_completed(futures) for job in f.result()]
        finally:
            for pool in pools.values():
                pool.shutdown(wait=True)

    def _run(self, chain: list[Job]) -> list[Job]:
        return list(self.inner(chain))


@dataclass(frozen=True, slots=True)
class InOrder:
    """One chain through ``inner`` a notice at a time, oldest first: a later action
    takes the ref an earlier one just got, and the chain stops at the first notice that
    must be retried, so what follows it waits (still pending) rather than overtaking."""

    inner: Stage

    def __call__(self, chain: Iterable[Job], /) -> list[Job]:
        done: list[Job] = []
        refs: dict[str, dict[str, Any] | None] = {}
        for job in chain:
            notice = job.notice
            open_key = notice.context.get("open_key")
            if notice.ref is None and open_key in refs:
                notice = replace(notice, ref=refs[open_key])
            sent = list(self.inner([replace(job, notice=notice)]))
            done.extend(sent)
            retry = False
            for one in sent:
                refs[one.key] = one.result.ref if one.result else None
                retry = retry or bool(one.result and one.result.retry)
            if retry:
                break
        return done


@dataclass(frozen=True, slots=True)
class Send:
    """One attempt sequence per notice: skipped when the target takes no such action,
    held (failed, retried later) while its breaker is open, else retried with full
    jitter by the ``Sender``; the outcome feeds the breaker."""

    targets: dict[str, Target]
    breaker: Breaker
    sender: Sender

    def __call__(self, jobs: Iterable[Job], /) -> Iterator[Job]:
        for job in jobs:
            yield job if job.result is not None else replace(job, result=self._send(job))

    def _send(self, job: Job) -> Result:
        target = self.targets[job.target]
        if not target.supports(job.notice.action):
            return Result("skipped", error=f"{target.kind} does not take {job.notice.action}")
        if not self.breaker.allow(job.target):
            return Result(
                "failed", error="target down: left for the next run", retry=True, held=True
            )
        cfg = target.config
        timeout = cfg.timeout.total_seconds()
        statuses: list[int] = []

        def http(request: OutboundRequest, accept: Collection[int] = ()) -> Reply:
            reply = self.sender.exchange(request, timeout, accept=accept)
            statuses.append(reply.status)
            return reply

        def attempt(number: int) -> dict[str, Any] | None:
            try:
                return target.attempt(job.notice, http, number).ref
            except DeliveryFailure:
                raise
            except (ValueError, KeyError, TypeError, IndexError) as exc:  # template or answer
                raise Permanent(f"{type(exc).__name__}: {exc}"[:300]) from None

        done = self.sender.retrying(attempt, cfg.retry)
        failure = done.failure
        if failure is None:
            self.breaker.succeeded(job.target)
            status = statuses[-1] if statuses else None
            return Result("delivered", status, done.attempts, ref=done.value)
        if isinstance(failure, Transient):
            self.breaker.failed(job.target, unreachable=isinstance(failure, Unreachable))
        retry = not done.permanent
        return Result("failed", failure.status, done.attempts, failure.reason, retry=retry)
