"""What every target kind provides: render a notice into requests, and deliver it.

A ``Notice`` is one action on one condition (open, close, reminder, or a plain notify
for event streams). Rendering happens at send time from the live configuration, so a
retry after a key rotation uses the new key and no secret is ever stored.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from shared.config import SECRET_FIELDS
from shared.delivery import OutboundRequest, SendResult

__all__ = ["Notice", "Send", "Target", "TargetResult"]

Send = Callable[[OutboundRequest], SendResult]


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
    result: SendResult
    ref: dict[str, Any] | None = None  # remember for later actions (issue key, sys_id…)


class Target(abc.ABC):
    """A configured target; subclasses declare their kind and build requests."""

    kind: ClassVar[str]

    def __init__(self, name: str, config: Any) -> None:
        self.name = name
        self.config = config

    @abc.abstractmethod
    def requests(self, notice: Notice) -> list[OutboundRequest]:
        """The request(s) this notice becomes (what ``chargeops render`` shows)."""

    def deliver(self, notice: Notice, send: Send) -> TargetResult:
        """Send the notice; multi-step vendors override this (lookup, then create/close)."""
        result: SendResult | None = None
        for request in self.requests(notice):
            result = send(request)
            if not result.ok:
                break
        assert result is not None, "a target must produce at least one request"
        return TargetResult(result)

    def secrets(self) -> list[str]:
        """Configured secret values, for masking in previews and errors."""
        values: list[str] = []
        for name in SECRET_FIELDS:
            value = getattr(self.config, name, None)
            if isinstance(value, str) and value:
                values.append(value)
            elif isinstance(value, list):
                values.extend(v for v in value if isinstance(v, str) and v)
        for header, value in self.config.headers.items():
            if header.lower() in {"authorization", "x-api-key", "api-key"} and value:
                values.append(value)
        return values
