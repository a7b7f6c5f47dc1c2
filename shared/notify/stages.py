"""The notify pipeline: small stages with one job each, composed by the Deliverer.

The shape is Alertmanager's notify pipeline: a stage takes the jobs still to handle and
returns the ones left (with what it decided), a ``Pipeline`` runs stages in turn, and the
Deliverer builds the pipeline it needs, so each rule lives in one place and can be read
(and tested) on its own. Plain events and the outbox run:

    route → dedup → mute → order → claim → send (fan-out, in order, breaker, retry) → record

A job that a stage has decided (a silenced notice, say) carries its ``Result`` and
passes untouched through the rest until ``Record`` writes it. Stages take any iterable
and filters stay lazy, so the outbox is read one notice at a time (it can be large while
a target is down). Every store read and write happens on the calling thread; only the
send stages (``shared.notify.send``) run network work in threads.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from shared.config.loader import Config
from shared.notify.outbox import DeliveryLog
from shared.notify.routing import active_silence, targets_for
from shared.notify.targets import Notice, Target
from shared.timestamps import parse_utc

__all__ = [
    "Claim",
    "Dedup",
    "Each",
    "Job",
    "Mute",
    "Order",
    "Outcome",
    "Pipeline",
    "Record",
    "Result",
    "Route",
    "Stage",
    "Unit",
    "chains",
    "from_stored",
    "idempotency_key",
    "to_stored",
]

_KEY_NS = uuid.UUID("8e9b2d4c-1f3a-4b6d-9c8e-7a5f3e2d1c0b")


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
    # The vendor's answer to a failure: {"status", "body"} (bounded, secrets masked).
    response: dict[str, Any] | None = None
    steps: tuple[str, ...] | None = None  # steps of a multi-step action done so far
    title: str | None = None  # the alert as people name it ("Bay 3 (ZAP000123) offline")

    def line(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.title is not None:
            extra["title"] = self.title
        if self.response is not None:
            extra["response"] = self.response
        if self.steps:
            extra["steps"] = list(self.steps)
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
            **extra,
        }


@dataclass(frozen=True, slots=True)
class Result:
    """What became of a job: decided by a stage (muted) or by sending it."""

    status: str  # delivered | failed | skipped
    http_status: int | None = None
    attempts: int = 0
    error: str | None = None
    ref: dict[str, Any] | None = None
    retry: bool = False  # stays in the outbox for the next run
    held: bool = False  # not tried: its target's breaker is open, or it is disabled
    response: dict[str, Any] | None = None  # the vendor's answer to the failure
    steps: tuple[str, ...] | None = None  # steps of a multi-step action done so far
    disable: str | None = None  # the receiver asked to be disabled (410): why


@dataclass(frozen=True, slots=True)
class Job:
    """One notice for one target on its way through the pipeline. An unrouted job (no
    target, no key yet) carries a plain event for ``Route`` to fan out."""

    key: str
    target: str
    notice: Notice
    order: str = ""  # sort key among the notices of one condition at one target
    chain: str = ""  # the condition (or subject) whose notices keep their order
    result: Result | None = None
    outcome: Outcome | None = None


class Stage(Protocol):
    """Take the jobs still to handle; return those left, with what was decided."""

    def __call__(self, jobs: Iterable[Job], /) -> Iterable[Job]: ...


def chains(jobs: Iterable[Job]) -> list[list[Job]]:
    """Jobs grouped by (target, chain), in order of first appearance."""
    grouped: dict[tuple[str, str], list[Job]] = {}
    for job in jobs:
        grouped.setdefault((job.target, job.chain), []).append(job)
    return list(grouped.values())


# -- composition -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pipeline:
    """Stages in turn (Alertmanager's MultiStage); running it drains the lazy ones."""

    stages: Sequence[Stage]

    def __call__(self, jobs: Iterable[Job], /) -> list[Job]:
        for stage in self.stages:
            jobs = stage(jobs)
        return list(jobs)


@dataclass(frozen=True, slots=True)
class Each:
    """One job at a time through ``inner``, each finished (recorded) before the next is
    looked at: a plain event reaches its targets one after another, in route order."""

    inner: Stage

    def __call__(self, jobs: Iterable[Job], /) -> Iterator[Job]:
        for job in jobs:
            yield from list(self.inner([job]))


@dataclass(frozen=True, slots=True)
class Unit:
    """``inner`` inside one unit of work, so a batch of outcomes is written all or
    nothing where the backend can (nothing is opened for an empty batch)."""

    log: DeliveryLog
    inner: Stage

    def __call__(self, jobs: Iterable[Job], /) -> list[Job]:
        batch = list(jobs)
        if not batch:
            return []
        with self.log.transaction():
            return list(self.inner(batch))


# -- deciding what to send -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Route:
    """Which targets: an unrouted event goes to every routed target that takes a plain
    ``notify``; a stored notice goes on only while its target is still configured (one
    removed from the config stays pending, and ``status`` reports it)."""

    config: Config
    targets: dict[str, Target]

    def __call__(self, jobs: Iterable[Job], /) -> Iterator[Job]:
        for job in jobs:
            if job.target:
                if job.target in self.targets:
                    yield job
                continue
            event = job.notice.event
            for name in targets_for(self.config, event):
                if not self.targets[name].supports("notify"):
                    continue
                key = idempotency_key(event["id"], name)
                yield Job(key, name, Notice("notify", event, key))


@dataclass(frozen=True, slots=True)
class Dedup:
    """Drops what is already delivered or skipped under its idempotency key: a
    redelivered message or a second replay sends nothing and records nothing."""

    log: DeliveryLog

    def __call__(self, jobs: Iterable[Job], /) -> Iterator[Job]:
        return (job for job in jobs if not self.log.done(job.key))


@dataclass(frozen=True, slots=True)
class Mute:
    """A plain notice whose event falls in a silence (a maintenance window) is decided
    as skipped: recorded with the silence's comment, never sent, never retried."""

    config: Config

    def __call__(self, jobs: Iterable[Job], /) -> Iterator[Job]:
        for job in jobs:
            yield self._muted(job)

    def _muted(self, job: Job) -> Job:
        notice = job.notice
        if job.result is not None or notice.action != "notify":
            return job
        hit = active_silence(self.config, notice.event, parse_utc(notice.event["time"]))
        if hit is None:
            return job
        reason = f"silenced: {hit.comment or 'maintenance window'}"
        return replace(job, result=Result("skipped", error=reason))


@dataclass(frozen=True, slots=True)
class Order:
    """Puts each condition's notices at a target into one chain, oldest first, and gives
    a later action (close, reminder) the ref its open got in an earlier run. The send
    stage keeps the chain's order (``shared.notify.send.InOrder``)."""

    log: DeliveryLog

    def __call__(self, jobs: Iterable[Job], /) -> list[Job]:
        decided: list[Job] = []
        grouped: dict[tuple[str, str], list[Job]] = {}
        for job in jobs:
            if job.result is not None:
                decided.append(job)
                continue
            chain = job.notice.condition or str(job.notice.event.get("subject") or job.key)
            grouped.setdefault((job.target, chain), []).append(replace(job, chain=chain))
        ordered = [job for chain in grouped.values() for job in sorted(chain, key=_order)]
        return decided + [self._with_ref(job) for job in ordered]

    def _with_ref(self, job: Job) -> Job:
        """The open's ref, and the steps an earlier run already did (never repeated)."""
        notice = job.notice
        # Only closes and reminders take several steps (an open is one create).
        steps = self.log.steps(job.key) if notice.action in ("close", "reminder") else []
        if steps:
            notice = replace(notice, context={**notice.context, "steps": steps})
        open_key = notice.context.get("open_key")
        if open_key and notice.ref is None:
            notice = replace(notice, ref=self.log.ref(open_key))
        return job if notice is job.notice else replace(job, notice=notice)


@dataclass(frozen=True, slots=True)
class Claim:
    """Marks non-idempotent creates (an open at a target that needs its ref) in flight
    before they leave, chain by chain (Powertools' INPROGRESS): a run killed mid-request
    leaves the mark, and the next run's target looks before it creates again."""

    log: DeliveryLog
    targets: dict[str, Target]

    def __call__(self, jobs: Iterable[Job], /) -> list[Job]:
        decided: list[Job] = []
        claimed: list[Job] = []
        for chain in chains(jobs):
            inflight: list[str] = []
            for job in chain:
                if job.result is not None:
                    decided.append(job)
                    continue
                notice = job.notice
                if self.targets[job.target].needs_ref and notice.action == "open":
                    if self.log.maybe_sent(job.key):
                        at = (self.log.get(job.key) or {}).get("claimed_at")
                        extra = {"maybe_sent": True, "claimed_at": at}
                        notice = replace(notice, context={**notice.context, **extra})
                    inflight.append(job.key)
                claimed.append(replace(job, notice=notice))
            self.log.begin(inflight)
        return decided + claimed


# -- recording -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    """Writes each decided job's outcome line to the delivery log (a retryable failure
    stays in the outbox) and hands it to ``sink``. A notice held by an open breaker that
    was already reported failed is not a new outcome, so it writes nothing."""

    log: DeliveryLog
    targets: dict[str, Target]
    sink: Callable[[Outcome], None]
    disabled: Callable[[str, str], None] = lambda target, reason: None

    def __call__(self, jobs: Iterable[Job], /) -> Iterator[Job]:
        for job in jobs:
            result = job.result
            if result is None:
                raise ValueError(f"{job.key}: reached record undecided")
            if result.disable is not None:
                self.disabled(job.target, result.disable)
            if result.held and self.log.failed(job.key):
                continue
            target, notice = self.targets[job.target], job.notice
            outcome = Outcome(
                event_id=notice.event["id"],
                target=target.name,
                kind=target.kind,
                status=result.status,
                http_status=result.http_status,
                attempts=result.attempts,
                idempotency_key=job.key,
                action=notice.action,
                error=_mask(result.error, target),
                condition=notice.condition or None,
                ref=result.ref,
                response=result.response,
                steps=result.steps,
                title=(notice.context.get("alert") or {}).get("title"),
            )
            stored = to_stored(job.target, notice, job.order)
            later = stored if result.retry else None
            kept = stored if result.status == "failed" else None
            self.log.record(job.key, outcome.line(), retry_later=later, notice=kept)
            self.sink(outcome)
            yield replace(job, outcome=outcome)


# -- the outbox's stored form ----------------------------------------------------------


def to_stored(name: str, notice: Notice, order: str) -> dict[str, Any]:
    """A notice as the outbox keeps it: no ref and no secret (both are found again at
    send time), and no ``maybe_sent`` (the next run asks the log afresh)."""
    context = {k: v for k, v in notice.context.items() if k not in _PER_RUN}
    return {
        "target": name,
        "action": notice.action,
        "event": notice.event,
        "condition": notice.condition,
        "context": context,
        "order": order,
    }


def from_stored(key: str, stored: dict[str, Any]) -> Job:
    notice = Notice(
        action=stored["action"],
        event=stored["event"],
        idempotency_key=key,
        condition=stored.get("condition", ""),
        context=stored.get("context", {}),
    )
    return Job(key, stored["target"], notice, stored.get("order", ""))


# Context a stage adds for one run only: asked afresh of the log on the next.
_PER_RUN = frozenset({"maybe_sent", "steps", "find_only", "stale_close", "claimed_at"})


def _order(job: Job) -> str:
    return job.order


def _mask(text: str | None, target: Target) -> str | None:
    if text is None:  # most outcomes: the secrets (a walk over the config) are not needed
        return None
    for secret in target.secrets():
        if secret:
            text = text.replace(secret, "***")
    return text
