"""Route -> target -> send -> record: each notice delivered once per idempotency key
(at least once across crashes, always with the same key).

Notices wait in the delivery log's outbox until sent. ``flush`` sends them concurrently
(at most ``concurrency`` at a time per target) while keeping each condition's notices
in order at each target: a close never overtakes its open, and a close whose open is
still undelivered waits for it. Network work runs in threads; every store write stays on
the calling thread. A target that keeps failing trips a breaker for a cool-down, so a
dead receiver costs bounded time: what it could not take stays pending for the next run
(or, in Azure, the message is abandoned and Service Bus redelivers it).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Collection
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
from shared.config.loader import Config
from shared.notify.outbox import DeliveryLog
from shared.notify.routing import active_silence, targets_for
from shared.notify.targets import Notice, Target
from shared.timestamps import parse_utc

__all__ = ["Breaker", "Deliverer", "Outcome", "idempotency_key"]

_KEY_NS = uuid.UUID("8e9b2d4c-1f3a-4b6d-9c8e-7a5f3e2d1c0b")
TRIP_AFTER = 3  # consecutive exhausted deliveries before a target is considered down
TRIP_UNREACHABLE = 1  # ... when every attempt found nobody listening (refused, no such host)
COOL_DOWN = 60.0  # seconds a tripped target is left alone before one probe


def idempotency_key(event_id: str, target: str, action: str = "notify") -> str:
    """Stable per (event, target, action): the same on every retry and every re-run."""
    return str(uuid.uuid5(_KEY_NS, f"{event_id}|{target}|{action}"))


@dataclass(frozen=True, slots=True)
class Outcome:
    event_id: str
    target: str
    kind: str
    status: str  # delivered | failed | skipped
    http_status: int | None
    attempts: int
    idempotency_key: str
    action: str = "notify"
    error: str | None = None
    condition: str | None = None
    ref: dict[str, Any] | None = None

    def line(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "target": self.target,
            "kind": self.kind,
            "status": self.status,
            "http_status": self.http_status,
            "attempts": self.attempts,
            "idempotency_key": self.idempotency_key,
            "action": self.action,
            "error": self.error,
            "condition": self.condition,
            "ref": self.ref,
        }


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
class _Job:
    key: str
    target: str
    notice: Notice
    order: str = ""


@dataclass
class _Result:
    job: _Job
    status: str  # delivered | failed
    http_status: int | None = None
    attempts: int = 0
    error: str | None = None
    ref: dict[str, Any] | None = None
    retry: bool = False
    held: bool = False  # not tried: its target's breaker is open


@dataclass
class Deliverer:
    config: Config
    targets: dict[str, Target]
    log: DeliveryLog
    sender: Sender
    outcomes: list[Outcome] = field(default_factory=list)
    breaker: Breaker = field(default_factory=Breaker)

    # -- plain events, sent at once (event streams, finance records) ---------------------

    def route(self, event: dict[str, Any]) -> list[Outcome]:
        """Deliver a plain event to every routed target (webhook-style ``notify``)."""
        done = []
        for name in targets_for(self.config, event):
            if not self.targets[name].supports("notify"):
                continue
            notice = Notice("notify", event, idempotency_key(event["id"], name))
            outcome = self.deliver(name, notice)
            if outcome is not None:
                done.append(outcome)
        return done

    def deliver(
        self, name: str, notice: Notice, *, silenced_by: str | None = None
    ) -> Outcome | None:
        """Send one notice now unless already done; None when nothing new happened."""
        if self.log.done(notice.idempotency_key):
            return None
        silence = silenced_by
        if silence is None and notice.action == "notify":
            hit = active_silence(self.config, notice.event, parse_utc(notice.event["time"]))
            silence = f"silenced: {hit.comment or 'maintenance window'}" if hit else None
        if silence is not None:
            return self.skip(name, notice, silence)
        job = _Job(notice.idempotency_key, name, notice)
        (result,) = self._run_chain(self._prepare([job]))
        return self._record(result)

    # -- the outbox ----------------------------------------------------------------------

    def enqueue(self, name: str, notice: Notice, *, order: str = "") -> bool:
        """Put a notice in the outbox (call inside the caller's unit of work)."""
        if not self.targets[name].supports(notice.action):
            return False
        return self.log.enqueue(notice.idempotency_key, _serialise(name, notice, order))

    def skip(self, name: str, notice: Notice, reason: str) -> Outcome | None:
        """Record a notice as deliberately not sent (silenced): recorded, never retried."""
        if self.log.done(notice.idempotency_key):
            return None
        job = _Job(notice.idempotency_key, name, notice)
        return self._record(_Result(job, "skipped", error=reason))

    def flush(self) -> list[Outcome]:
        """Send everything in the outbox; returns the outcomes recorded."""
        chains: dict[tuple[str, str], list[_Job]] = {}
        for key, stored in self.log.iter_pending():
            name = stored["target"]
            if name not in self.targets:
                continue  # target removed from config: stays pending, reported by status
            if self.breaker.tripped(name) and self.log.failed(key):
                continue  # already reported failed; it waits for the target's next probe
            job = _deserialise(key, stored)
            chain = job.notice.condition or str(job.notice.event.get("subject") or key)
            chains.setdefault((job.target, chain), []).append(job)
        if not chains:
            return []
        ordered = [self._prepare(sorted(jobs, key=lambda j: j.order)) for jobs in chains.values()]
        finished = self._run_all(ordered)
        recorded: list[Outcome] = []
        with self.log.transaction():  # one unit of work for the whole batch
            for results in finished:
                recorded.extend(o for o in map(self._record, results) if o is not None)
        return recorded

    # -- internals -----------------------------------------------------------------------

    def _prepare(self, jobs: list[_Job]) -> list[_Job]:
        """Fill in refs from the log and mark non-idempotent creates as in flight."""
        prepared, inflight = [], []
        for job in jobs:
            notice, target = job.notice, self.targets[job.target]
            open_key = notice.context.get("open_key")
            if open_key and notice.ref is None:
                notice = replace(notice, ref=self.log.ref(open_key))
            if target.needs_ref and notice.action == "open":
                if self.log.maybe_sent(job.key):
                    notice = replace(notice, context={**notice.context, "maybe_sent": True})
                inflight.append(job.key)
            prepared.append(replace(job, notice=notice))
        self.log.begin(inflight)
        return prepared

    def _run_all(self, chains: list[list[_Job]]) -> list[list[_Result]]:
        if len(chains) == 1:
            return [self._run_chain(chains[0])]
        pools: dict[str, ThreadPoolExecutor] = {}
        futures: list[Future[list[_Result]]] = []
        try:
            for chain in chains:
                name = chain[0].target
                if name not in pools:
                    limit = self.targets[name].config.concurrency
                    pools[name] = ThreadPoolExecutor(limit, thread_name_prefix=f"send-{name}")
                futures.append(pools[name].submit(self._run_chain, chain))
            return [f.result() for f in as_completed(futures)]
        finally:
            for pool in pools.values():
                pool.shutdown(wait=True)

    def _run_chain(self, chain: list[_Job]) -> list[_Result]:
        """One condition at one target, in order; stops at the first transient failure."""
        results: list[_Result] = []
        refs: dict[str, dict[str, Any] | None] = {}
        for job in chain:
            notice = job.notice
            open_key = notice.context.get("open_key")
            if notice.ref is None and open_key in refs:
                notice = replace(notice, ref=refs[open_key])
            result = self._send(replace(job, notice=notice))
            results.append(result)
            refs[job.key] = result.ref
            if result.retry:
                break  # later notices of this condition wait for this one
        return results

    def _send(self, job: _Job) -> _Result:
        target = self.targets[job.target]
        if not target.supports(job.notice.action):
            return _Result(job, "skipped", error=f"{target.kind} does not take {job.notice.action}")
        if not self.breaker.allow(job.target):
            error = "target down: left for the next run"
            return _Result(job, "failed", error=error, retry=True, held=True)
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
            return _Result(job, "delivered", status, done.attempts, ref=done.value)
        if isinstance(failure, Transient):
            self.breaker.failed(job.target, unreachable=isinstance(failure, Unreachable))
        retry = not done.permanent
        return _Result(job, "failed", failure.status, done.attempts, failure.reason, retry=retry)

    def _record(self, result: _Result) -> Outcome | None:
        if result.held and self.log.failed(result.job.key):
            return None  # reported when it failed; a held retry is not a new outcome
        job, target = result.job, self.targets[result.job.target]
        notice = job.notice
        outcome = Outcome(
            event_id=notice.event["id"],
            target=target.name,
            kind=target.kind,
            status=result.status,
            http_status=result.http_status,
            attempts=result.attempts,
            idempotency_key=job.key,
            action=notice.action,
            error=_mask(result.error, target.secrets()),
            condition=notice.condition or None,
            ref=result.ref,
        )
        later = _serialise(job.target, notice, job.order) if result.retry else None
        self.log.record(job.key, outcome.line(), retry_later=later)
        self.outcomes.append(outcome)
        return outcome


def _serialise(name: str, notice: Notice, order: str) -> dict[str, Any]:
    context = {k: v for k, v in notice.context.items() if k != "maybe_sent"}
    return {
        "target": name,
        "action": notice.action,
        "event": notice.event,
        "condition": notice.condition,
        "context": context,
        "order": order,
    }


def _deserialise(key: str, stored: dict[str, Any]) -> _Job:
    notice = Notice(
        action=stored["action"],
        event=stored["event"],
        idempotency_key=key,
        condition=stored.get("condition", ""),
        context=stored.get("context", {}),
    )
    return _Job(key, stored["target"], notice, stored.get("order", ""))


def _mask(text: str | None, secrets: list[str]) -> str | None:
    if text is None:
        return None
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
