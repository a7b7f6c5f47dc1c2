"""Zaptec observations: the state ids we act on, the normalized observation itself, and
what else decoding can give (a telemetry sighting, an ignore, a rejection).

Ids from Zaptec's ``/api/constants`` (shipped as ``shared/data/zaptec_constants.json``);
meanings in zaptec.md. Everything else on the bus is telemetry that only proves the
charger is alive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

__all__ = [
    "ACTIONABLE",
    "ZERO_CHARGER",
    "Decoded",
    "Ignored",
    "Observation",
    "Rejection",
    "Seen",
    "StateId",
]


class StateId:
    """Observation ids chargeops acts on (names as in Zaptec's Schema)."""

    IS_ONLINE = -2
    PULSE = -1
    TOTAL_CHARGE_POWER = 513  # W
    TOTAL_CHARGE_POWER_SESSION = 553  # kWh, since session start
    CHARGER_OPERATION_MODE = 710  # 1 Disconnected, 2 Requesting, 3 Charging, 5 Finished
    FINAL_STOP_ACTIVE = 718
    SESSION_IDENTIFIER = 721
    CHARGER_CURRENT_USER_UUID = 722
    COMPLETED_SESSION = 723  # JSON
    WARNINGS = 804  # bitmask


ACTIONABLE: frozenset[int] = frozenset(
    {
        StateId.IS_ONLINE,
        StateId.TOTAL_CHARGE_POWER_SESSION,
        StateId.CHARGER_OPERATION_MODE,
        StateId.SESSION_IDENTIFIER,
        StateId.CHARGER_CURRENT_USER_UUID,
        StateId.COMPLETED_SESSION,
        StateId.WARNINGS,
    }
)

ZERO_CHARGER = "00000000-0000-0000-0000-000000000000"  # dropped, zaptec.md pitfall 14


class Observation(NamedTuple):
    """One actionable, validated observation. ``value`` is None when Zaptec sent none.

    A NamedTuple rather than a frozen dataclass: millions are built, and a frozen
    dataclass costs several times more to construct.
    """

    charger_id: str
    state_id: int
    timestamp: datetime
    value: str | None
    serial: str | None = None
    device_type: int | None = None
    received_at: datetime | None = None  # broker enqueue time, when the envelope had one


class Seen(NamedTuple):
    """Telemetry nobody acts on: it only tells us the charger was alive at ``stamp``
    (the raw timestamp text; parsed only when needed, to the second)."""

    charger_id: str
    stamp: str | None
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    """Input we could not use; ``code`` is stable snake_case, ``detail`` is for humans."""

    code: str
    detail: str


@dataclass(frozen=True, slots=True)
class Ignored:
    """Valid input we drop on purpose (counted, not rejected)."""

    reason: str


Decoded = Observation | Seen | Ignored | Rejection
