"""Route -> target -> send -> record: each notice delivered at most once per idempotency key
(at least once across crashes, always with the same key).

A target that keeps failing trips a breaker for the rest of the run, so a dead receiver
costs bounded time: what it could not take stays pending for the next run (or, in Azure,
the message is abandoned and Service Bus redelivers it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from shared.config import Config
from shared.deliveries import DeliveryLog
from shared.delivery import OutboundRequest, Sender, SendResult
from shared.routing import active_silence, targets_for
from shared.targets import Notice, Target
from shared.timestamps import parse_utc

__all__ = ["Deliverer", "Outcome", "idempotency_key"]

_KEY_NS = uuid.UUID("8e9b2d4c-1f3a-4b6d-9c8e-7a5f3e2d1c0b")
TRIP_AFTER = 3  # consecutive exhausted deliveries before a target is considered down


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
        }


@dataclass
class Deliverer:
    config: Config
    targets: dict[str, Target]
    log: DeliveryLog
    sender: Sender
    outcomes: list[Outcome] = field(default_factory=list)
    _failures: dict[str, int] = field(default_factory=dict)

    def route(self, event: dict[str, Any]) -> list[Outcome]:
        """Deliver a plain event to every routed target (webhook-style ``notify``)."""
        done = []
        for name in targets_for(self.config, event):
            notice = Notice("notify", event, idempotency_key(event["id"], name))
            outcome = self.deliver(name, notice)
            if outcome is not None:
                done.append(outcome)
        return done

    def deliver(
        self, name: str, notice: Notice, *, silenced_by: str | None = None
    ) -> Outcome | None:
        """Send one notice unless already done; returns None when nothing new happened."""
        key = notice.idempotency_key
        if self.log.done(key):
            return None
        target = self.targets[name]
        event = notice.event
        silence = silenced_by
        if silence is None:
            hit = active_silence(self.config, event, parse_utc(event["time"]))
            silence = f"silenced: {hit.comment or 'maintenance window'}" if hit else None
        if silence is not None:
            return self._finish(target, notice, "skipped", None, 0, silence, retry=False)
        if self._failures.get(name, 0) >= TRIP_AFTER:
            return self._finish(target, notice, "failed", None, 0, "target down", retry=True)
        cfg = target.config

        def send(request: OutboundRequest) -> SendResult:
            return self.sender.send(request, cfg.retry, cfg.timeout.total_seconds())

        try:
            result = target.deliver(notice, send)
        except ValueError as exc:  # a template or payload problem: permanent, reported
            return self._finish(target, notice, "failed", None, 0, str(exc)[:300], retry=False)
        sent = result.result
        status = sent.reply.status if sent.reply else None
        if sent.ok:
            self._failures[name] = 0
            return self._finish(
                target, notice, "delivered", status, sent.attempts, None, ref=result.ref
            )
        if not sent.permanent:
            self._failures[name] = self._failures.get(name, 0) + 1
        return self._finish(
            target, notice, "failed", status, sent.attempts, sent.error, retry=not sent.permanent
        )

    def retry_pending(self) -> None:
        """Retry what earlier runs could not deliver."""
        for key, pending in self.log.pending():
            name = pending["target"]
            if name not in self.targets:
                continue  # target removed from config: stays pending, reported by status
            notice = Notice(
                action=pending["action"],
                event=pending["event"],
                idempotency_key=key,
                condition=pending.get("condition", ""),
                ref=pending.get("ref"),
                context=pending.get("context", {}),
            )
            self.deliver(name, notice)

    def _finish(
        self,
        target: Target,
        notice: Notice,
        status: str,
        http_status: int | None,
        attempts: int,
        error: str | None,
        *,
        retry: bool = False,
        ref: dict[str, Any] | None = None,
    ) -> Outcome:
        outcome = Outcome(
            event_id=notice.event["id"],
            target=target.name,
            kind=target.kind,
            status=status,
            http_status=http_status,
            attempts=attempts,
            idempotency_key=notice.idempotency_key,
            action=notice.action,
            error=_mask(error, target.secrets()),
        )
        later = None
        if retry:
            later = {
                "target": target.name,
                "action": notice.action,
                "event": notice.event,
                "condition": notice.condition,
                "ref": notice.ref,
                "context": notice.context,
            }
        record = outcome.line()
        if ref is not None:
            record["ref"] = ref
        self.log.record(notice.idempotency_key, record, retry_later=later)
        self.outcomes.append(outcome)
        return outcome


def _mask(text: str | None, secrets: list[str]) -> str | None:
    if text is None:
        return None
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
