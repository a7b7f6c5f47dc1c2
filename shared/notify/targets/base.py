"""What every target kind provides: turn a notice into its vendor's call sequence.

A ``Notice`` is one action on one condition: ``open``, ``close`` or ``reminder`` of an
alert, or a plain ``notify`` for event streams. Requests are rendered at send time from
the live configuration, so a retry after a key rotation uses the new key and no secret is
ever stored. Templates see the notice, never a credential: targets add those afterwards.
"""

from __future__ import annotations

import abc
import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from shared.adapters.http import OutboundRequest, Permanent, Reply
from shared.notify.config import SECRET_FIELDS

__all__ = [
    "STEPS",
    "Http",
    "Notice",
    "Target",
    "TargetResult",
    "basic_auth",
    "notify_alert",
]

Http = Callable[..., Reply]  # http(request, accept=()) -> Reply; raises Transient/Permanent
JSON = {"content-type": "application/json", "accept": "application/json"}
# The context key under which the send stage hands a target the steps of a multi-step
# action already done (a mutable set of names it adds to as it goes; see ``step``).
STEPS = "steps_done"


@dataclass(frozen=True, slots=True)
class Notice:
    """One thing to tell a target."""

    action: str  # "notify" | "open" | "close" | "reminder"
    event: dict[str, Any]  # the CloudEvent behind it
    idempotency_key: str
    condition: str = ""  # stable key of the condition (charger + fault, charger offline…)
    ref: dict[str, Any] | None = None  # what the target answered at "open"
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TargetResult:
    """What a delivered notice left behind (kept by the delivery log)."""

    ref: dict[str, Any] | None = None  # remember for later actions (issue key, sys_id…)


class Target(abc.ABC):
    """A configured target; subclasses declare their kind and their call sequence."""

    kind: ClassVar[str]
    actions: ClassVar[frozenset[str]] = frozenset({"open", "close", "reminder"})
    needs_ref: ClassVar[bool] = False  # close/reminder use what "open" returned
    template_name: ClassVar[str]
    # Pagers and chats page people: an open whose condition ended before it could be
    # delivered is not sent at all (the close still is: resolve-only, as Alertmanager).
    pages: ClassVar[bool] = False
    # Seconds to wait after a 429 that names no Retry-After (the vendor's own advice).
    throttle_wait: ClassVar[float | None] = None
    # A 410 Gone means "stop sending" (Standard Webhooks): disable the target.
    gone_disables: ClassVar[bool] = False

    def __init__(self, name: str, config: Any, clock: Callable[[], float] = time.time) -> None:
        self.name = name
        self.config = config
        self.clock = clock

    def supports(self, action: str) -> bool:
        """Takes this action; a close only while ``send_resolved`` is on (Alertmanager's
        option: with it off, people close the ticket themselves)."""
        if action == "close" and not getattr(self.config, "send_resolved", True):
            return False
        return action in self.actions

    @property
    def ended_before_sent(self) -> str:
        """``skip`` or ``record``: a ticket for a condition over before it could be sent."""
        return str(getattr(self.config, "ended_before_sent", "record"))

    def find_only(self, notice: Notice, http: Http) -> TargetResult:
        """Look for what an earlier attempt at this open may have made, creating nothing
        (a ticket for a condition already over). Kinds that keep a ref override it."""
        return TargetResult()

    def made_before(self, notice: Notice, http: Http, number: int) -> TargetResult | None:
        """On a retry of an open, or when an earlier attempt's answer was lost, the ticket
        that attempt made if the vendor shows one: creating again would duplicate it."""
        if number > 1 or notice.context.get("maybe_sent"):
            found = self.find_only(notice, http)
            if found.ref:
                return found
        return None

    def ticket_url(self, ref: dict[str, Any]) -> str | None:
        """Where a person opens the ticket a ref names (None: no such page)."""
        return None

    @property
    def local(self) -> bool:
        """True when this target's requests are files written on this machine (a
        ``file://`` outbox): no network wait to overlap, so threads would only add their
        start-up and the GIL's hand-offs to work that is all on this CPU."""
        return str(getattr(self.config, "url", "")).startswith("file:")

    @property
    def streams(self) -> bool:
        """True for event-stream targets: every routed event, no alert lifecycle."""
        return False

    @abc.abstractmethod
    def preview(self, notice: Notice) -> list[OutboundRequest]:
        """The request sequence for this notice (what ``chargeops render`` shows)."""

    def attempt(self, notice: Notice, http: Http, number: int) -> TargetResult:
        """One attempt at the whole sequence; vendors with lookups or answers override it."""
        for request in self.preview(notice):
            http(request)
        return TargetResult()

    # -- helpers for subclasses --------------------------------------------------------

    def context(self, notice: Notice) -> dict[str, Any]:
        """Template variables: the notice, the alert, the ref and non-secret settings."""
        return {
            "action": notice.action,
            "event": notice.event,
            "data": notice.event.get("data") or {},
            "alert": notice.context.get("alert") or notify_alert(notice.event),
            "ref": notice.ref or {},
            "target": self.settings(),
            "idempotency_key": notice.idempotency_key,
        }

    def settings(self) -> dict[str, Any]:
        hidden = {*SECRET_FIELDS, "headers", "template", "retry", "url", "timeout"}
        values = self.config.model_dump(mode="json", exclude=hidden)
        return {"name": self.name, **values}

    def headers(self, extra: dict[str, str]) -> dict[str, str]:
        return {"user-agent": "chargeops", **extra, **self.config.headers}

    @staticmethod
    def step(notice: Notice, name: str, run: Callable[[], Any]) -> None:
        """Run one step of a multi-step action unless an earlier attempt (or run) did it;
        record it as done the moment it succeeds, so a retry after a later step failed
        never repeats it (a transition, a note)."""
        done: set[str] | None = notice.context.get(STEPS)
        if done is not None and name in done:
            return
        run()
        if done is not None:
            done.add(name)

    def ref_of(self, notice: Notice, field_name: str) -> str:
        """A value the open returned; Permanent when the open never got one."""
        value = (notice.ref or {}).get(field_name)
        if not value:
            raise Permanent(f"no {field_name} to {notice.action}: the open was not delivered")
        return str(value)

    def secrets(self) -> list[str]:
        """Configured secret values, for masking in previews and errors."""
        values: list[str] = []
        for name in SECRET_FIELDS:
            value = getattr(self.config, name, None)
            if isinstance(value, str) and value:
                values.append(value)
            elif isinstance(value, list):
                values.extend(v for v in value if isinstance(v, str) and v)
        email, token = getattr(self.config, "email", None), getattr(self.config, "api_token", None)
        user, password = (
            getattr(self.config, "username", None),
            getattr(self.config, "password", None),
        )
        if email and token:
            values += [basic_auth(email, token), basic_auth(f"{email}/token", token)]
        if user and password:
            values.append(basic_auth(user, password))
        for header, value in self.config.headers.items():
            if value and header.lower() in {"authorization", "x-api-key", "api-key"}:
                values.append(value)
        return sorted(set(values), key=len, reverse=True)


def basic_auth(user: str, password: str) -> str:
    """The base64 part of an HTTP Basic ``Authorization`` header."""
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def notify_alert(event: dict[str, Any]) -> dict[str, Any]:
    """A minimal alert view for a plain event (templates can rely on ``alert.title``)."""
    data = event.get("data") or {}
    subject = data.get("serial") or event.get("subject") or ""
    return {
        "key": f"event|{event.get('id')}",
        "kind": "event",
        "title": f"{event.get('type')} {subject}".strip(),
        "summary": f"{event.get('type')} at {event.get('time')}",
        "severity": data.get("severity") or "info",
        "charger_id": data.get("charger_id"),
        "serial": data.get("serial"),
        "site_id": data.get("site_id"),
        "status": "event",
        "dedup_key": f"chargeops:event:{event.get('id')}",
    }
