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

import functools
import logging
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
    failure_of,
)
from shared.adapters.telemetry import redact
from shared.notify.outbox import DeliveryLog
from shared.notify.pacing import Pacer
from shared.notify.stages import Job, Result, Stage, chains
from shared.notify.targets import Target
from shared.notify.targets.base import STEPS

__all__ = ["COOL_DOWN", "TRIP_AFTER", "TRIP_UNREACHABLE", "Breaker", "Cooldown", "Fanout"]
__all__ += ["EXCERPT", "Gate", "InOrder", "Send", "excerpt"]

log = logging.getLogger("chargeops.notify")

EXCERPT = 500  # characters of a vendor's answer kept with a failed delivery
_ANY_STATUS = range(100, 600)  # the send stage classifies replies itself (to keep bodies)
GONE = 410  # Standard Webhooks: the endpoint asks to be disabled

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


@dataclass
class Gate:
    """Targets whose receiver asked to be disabled (410 Gone), as the delivery log has
    them, plus those disabled during this run (so other chains stop at once)."""

    log: DeliveryLog
    _names: dict[str, str] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def load(self) -> None:
        """Read the log (on the calling thread: the store is not shared with senders).
        Once read, kept until this process disables or enables a target in the store
        (``DeliveryLog.targets_written``): it was a store read on every send."""
        if self._names is not None and not self.log.targets_written:
            return
        disabled = {t: str(v.get("reason")) for t, v in self.log.disabled().items()}
        with self._lock:
            self._names = disabled

    def reason(self, name: str) -> str | None:
        with self._lock:
            return (self._names or {}).get(name)

    def close(self, name: str, reason: str) -> None:
        """Disable now (any thread); ``Record`` writes it to the log."""
        with self._lock:
            self._names = {**(self._names or {}), name: reason}


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
    as chains finish. A lone chain, and the chains of a target that writes local files
    (``Target.local``: nothing to wait for but this CPU), run on the calling thread, one
    after another in the order they came."""

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
        local = [chain for chain in todo if self.targets[chain[0].target].local]
        remote = [chain for chain in todo if not self.targets[chain[0].target].local]
        if not remote:
            return decided + [job for chain in local for job in self.inner(chain)]
        pools: dict[str, ThreadPoolExecutor] = {}
        futures: list[Future[list[Job]]] = []
        try:
            for chain in remote:
                name = chain[0].target
                if name not in pools:
                    limit = self.targets[name].config.concurrency
                    pools[name] = ThreadPoolExecutor(limit, thread_name_prefix=f"send-{name}")
                futures.append(pools[name].submit(self._run, chain))
            for chain in local:  # while the network chains wait on their answers
                decided.extend(self.inner(chain))
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
    held (failed, retried later) while its breaker is open or it is disabled, else
    retried with full jitter by the ``Sender``, each request paced to the target's rate
    limit; the outcome feeds the breaker. A failure keeps the vendor's answer (status and
    a bounded, masked excerpt); the steps of a multi-step action done so far are kept
    either way, so a retry never repeats them."""

    targets: dict[str, Target]
    breaker: Breaker
    sender: Sender
    pacer: Pacer = field(default_factory=Pacer)
    gate: Gate | None = None

    def __call__(self, jobs: Iterable[Job], /) -> Iterator[Job]:
        for job in jobs:
            yield job if job.result is not None else replace(job, result=self._send(job))

    def _send(self, job: Job) -> Result:
        target = self.targets[job.target]
        notice = job.notice
        if not target.supports(notice.action):
            return Result("skipped", error=f"{target.kind} does not take {notice.action}")
        gone = self.gate.reason(job.target) if self.gate is not None else None
        if gone is not None:
            return Result("failed", error=f"target disabled: {gone}", retry=True, held=True)
        if not self.breaker.allow(job.target):
            return Result(
                "failed", error="target down: left for the next run", retry=True, held=True
            )
        if notice.context.get("stale_close") and notice.ref is None:
            return Result("skipped", error="no ticket was made for this episode: nothing to close")
        run = _Run(job, target, set(notice.context.get("steps") or ()))
        done = self.sender.retrying(lambda number: self._attempt(run, number), target.config.retry)
        steps = tuple(sorted(run.steps)) or None
        failure = done.failure
        if failure is None:
            self.breaker.succeeded(job.target)
            status = run.statuses[-1] if run.statuses else None
            ref = done.value
            if run.find_only and not ref:
                reason = "condition ended before its ticket could be created; none was found"
                return Result("skipped", status, done.attempts, reason, steps=steps)
            if ref and notice.action == "open":
                url = target.ticket_url(ref)
                ref = {**ref, "url": url} if url else ref
            return Result("delivered", status, done.attempts, ref=ref, steps=steps)
        if isinstance(failure, Transient):
            self.breaker.failed(job.target, unreachable=isinstance(failure, Unreachable))
        disable = None
        if failure.status == GONE and target.gone_disables:
            disable = f"HTTP 410 Gone from {target.kind} target {job.target}"
            if self.gate is not None:
                self.gate.close(job.target, disable)
            log.warning("%s: the receiver answered 410 Gone: target disabled", job.target)
        return Result(
            "failed",
            failure.status,
            done.attempts,
            failure.reason,
            retry=not done.permanent or disable is not None,
            response=run.response,
            steps=steps,
            disable=disable,
        )

    def _attempt(self, run: _Run, number: int) -> dict[str, Any] | None:
        """One attempt at the target's whole sequence; what it cannot parse is permanent."""
        live = replace(run.job.notice, context={**run.job.notice.context, STEPS: run.steps})
        http = functools.partial(self._http, run)  # http(request, accept=())
        try:
            if run.find_only:
                return run.target.find_only(live, http).ref
            return run.target.attempt(live, http, number).ref
        except DeliveryFailure:
            raise
        except (ValueError, KeyError, TypeError, IndexError) as exc:  # template or answer
            raise Permanent(f"{type(exc).__name__}: {exc}"[:300]) from None

    def _http(self, run: _Run, request: OutboundRequest, accept: Collection[int] = ()) -> Reply:
        """One request, paced; a failure keeps the vendor's answer, and a 429 without
        Retry-After waits what the vendor advises (``throttle_wait``)."""
        cfg, target = run.target.config, run.target
        self.pacer.wait(run.job.target, getattr(cfg, "rate_limit", None), self.sender.sleep)
        reply = self.sender.exchange(request, cfg.timeout.total_seconds(), accept=_ANY_STATUS)
        run.statuses.append(reply.status)
        if 200 <= reply.status < 300 or reply.status in accept:
            return reply
        run.response = excerpt(reply, target.secrets())
        failure = failure_of(reply)
        if reply.status == 429 and failure.retry_after is None and target.throttle_wait:
            raise Transient(f"{failure.reason} (throttled)", reply.status, target.throttle_wait)
        raise failure


@dataclass
class _Run:
    """One notice's attempts: what they saw and the steps done (shared across them)."""

    job: Job
    target: Target
    steps: set[str]
    statuses: list[int] = field(default_factory=list)
    response: dict[str, Any] | None = None

    @property
    def find_only(self) -> bool:
        return bool(self.job.notice.context.get("find_only"))


def excerpt(reply: Reply, secrets: list[str]) -> dict[str, Any]:
    """The vendor's answer as kept with a failed delivery: its status and at most
    ``EXCERPT`` characters of its body, with the target's secrets and anything that
    looks like a credential masked (vendors echo requests back)."""
    text = reply.body.decode("utf-8", "replace")
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = redact(text)
    cut = len(text) > EXCERPT
    return {"status": reply.status, "body": text[:EXCERPT] + ("…" if cut else "")}
