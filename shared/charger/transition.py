"""The result type of the state machine and the timing rules it follows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from shared.charger.model import ChargerState
from shared.events.model import ChargerEvent
from shared.inbound.observations import Rejection

__all__ = ["APPLIED", "DUPLICATE", "NO_VALUE", "STALE", "Detection", "Transition"]

APPLIED, DUPLICATE, STALE, NO_VALUE = "applied", "duplicate", "stale", "no_value"


@dataclass(frozen=True, slots=True)
class Detection:
    """Timing rules of the event core (config ``detection``)."""

    session_settle: timedelta = timedelta(minutes=2)  # wait for a 723 after 710 -> 1
    silence_after: timedelta | None = timedelta(hours=1)  # None: no silence detection
    match_tolerance: timedelta = timedelta(minutes=2)  # 723 start vs tracked start


@dataclass(frozen=True, slots=True)
class Transition:
    """New state, the events it produced, and what happened to the input."""

    state: ChargerState
    events: tuple[ChargerEvent, ...] = ()
    outcome: str | Rejection = APPLIED
