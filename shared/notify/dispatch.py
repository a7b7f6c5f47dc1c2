"""The Deliverer: each notice delivered once per idempotency key (at least once across
crashes, always with the same key), by pipelines of small stages it builds.

Notices wait in the delivery log's outbox until sent. ``flush`` sends them concurrently
(at most ``concurrency`` at a time per target) while keeping each condition's notices
in order at each target: a close never overtakes its open, and a close whose open is
still undelivered waits for it. Network work runs in threads; every store write stays on
the calling thread. A target that keeps failing trips a breaker for a cool-down, so a
dead receiver costs bounded time: what it could not take stays pending for the next run
(or, in Azure, the message is abandoned and Service Bus redelivers it).

Each rule is one stage (``shared.notify.stages``, ``shared.notify.send``), composed the
way Alertmanager composes its notify pipeline; this class only says which stages each
entry point runs, so the callers' API (``route``, ``enqueue``/``flush``, ``skip``,
``outcomes``, ``breaker``, ``log``, ``targets``) stays as it was.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.adapters.http import Sender
from shared.config.loader import Config
from shared.notify.lateness import Stale
from shared.notify.outbox import DeliveryLog
from shared.notify.pacing import Pacer
from shared.notify.send import Breaker, Cooldown, Fanout, Gate, InOrder, Send
from shared.notify.stages import (
    Claim,
    Dedup,
    Each,
    Job,
    Mute,
    Order,
    Outcome,
    Pipeline,
    Record,
    Result,
    Route,
    Stage,
    Unit,
    from_stored,
    idempotency_key,
    to_stored,
)
from shared.notify.targets import Notice, Target

__all__ = ["Breaker", "Deliverer", "Outcome", "idempotency_key"]

log = logging.getLogger("chargeops.notify")


@dataclass
class Deliverer:
    config: Config
    targets: dict[str, Target]
    log: DeliveryLog
    sender: Sender
    outcomes: list[Outcome] = field(default_factory=list)
    breaker: Breaker = field(default_factory=Breaker)
    pacer: Pacer = field(default_factory=Pacer)
    gate: Gate | None = None  # disabled targets; made from ``log`` when not given

    def __post_init__(self) -> None:
        if self.gate is None:
            self.gate = Gate(self.log)

    # -- plain events, sent at once (event streams, finance records) ---------------------

    def route(self, event: dict[str, Any]) -> list[Outcome]:
        """Deliver a plain event to every routed target (webhook-style ``notify``), one
        target after another, each recorded before the next is tried."""
        unrouted = Job("", "", Notice("notify", event, ""))
        each = Each(Pipeline(self._delivering()))
        return _outcomes(Pipeline([Route(self.config, self.targets), each])([unrouted]))

    def deliver(
        self, name: str, notice: Notice, *, silenced_by: str | None = None
    ) -> Outcome | None:
        """Send one notice now unless already done; None when nothing new happened."""
        muted = None if silenced_by is None else Result("skipped", error=silenced_by)
        job = Job(notice.idempotency_key, name, notice, result=muted)
        return next(iter(_outcomes(Pipeline(self._delivering())([job]))), None)

    # -- the outbox ----------------------------------------------------------------------

    def enqueue(self, name: str, notice: Notice, *, order: str = "") -> bool:
        """Put a notice in the outbox (call inside the caller's unit of work)."""
        if not self.targets[name].supports(notice.action):
            return False
        return self.log.enqueue(notice.idempotency_key, to_stored(name, notice, order))

    def skip(self, name: str, notice: Notice, reason: str) -> Outcome | None:
        """Record a notice as deliberately not sent (silenced): recorded, never retried."""
        job = Job(notice.idempotency_key, name, notice, result=Result("skipped", error=reason))
        return next(iter(_outcomes(Pipeline([Dedup(self.log), self._record()])([job]))), None)

    def flush(self, only: set[str] | None = None) -> list[Outcome]:
        """Send everything in the outbox (for the ``only`` targets, when given); returns
        the outcomes recorded (written in one unit of work for the whole batch)."""
        outbox = (
            from_stored(key, stored)
            for key, stored in self.log.iter_pending()
            if only is None or stored.get("target") in only
        )
        stages: list[Stage] = [
            Route(self.config, self.targets),
            Cooldown(self.breaker, self.log),
            *self._sending(),
            Unit(self.log, self._record()),
        ]
        return _outcomes(Pipeline(stages)(outbox))

    # -- the stages both paths share -----------------------------------------------------

    def _delivering(self) -> list[Stage]:
        """One notice now: dedup before mute, so a notice already done is not even
        looked up against the silences (as before the split)."""
        return [Dedup(self.log), Mute(self.config), *self._sending(), self._record()]

    def _sending(self) -> list[Stage]:
        """Order each condition's chain, decide what came too late to page, claim
        creates in flight, then send the chains."""
        assert self.gate is not None
        self.gate.load()
        send = Send(self.targets, self.breaker, self.sender, self.pacer, self.gate)
        return [
            Order(self.log),
            Stale(self.log, self.targets),
            Claim(self.log, self.targets),
            Fanout(self.targets, InOrder(send)),
        ]

    def _record(self) -> Record:
        return Record(self.log, self.targets, self._note, self._disable)

    def _disable(self, target: str, reason: str) -> None:
        """Keep a receiver's 410 in the state: the target stays off (its notices wait)
        until ``chargeops deliveries retry --target`` re-enables it."""
        if target not in self.log.disabled():
            at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
            self.log.disable(target, reason, at)
            log.warning(
                "target %s disabled: %s; its notices wait in the outbox until "
                "`chargeops deliveries retry --target %s`",
                target,
                reason,
                target,
            )

    def _note(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)


def _outcomes(jobs: list[Job]) -> list[Outcome]:
    return [job.outcome for job in jobs if job.outcome is not None]
