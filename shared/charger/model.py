"""What chargeops remembers per charger, and its JSON form in the store.

Immutable dataclasses: the state machine returns a new state instead of mutating, so a
failed unit of work leaves the cached state untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "ChargerState",
    "CompletedRef",
    "EndedSession",
    "Entry",
    "OpenSession",
    "from_record",
    "to_record",
]


@dataclass(frozen=True, slots=True)
class OpenSession:
    """A session in progress: car connected (710) and/or a SessionIdentifier (721) seen."""

    session_id: str | None
    started_at: datetime
    start_estimated: bool = False
    energy_kwh: float | None = None
    energy_at: datetime | None = None
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class EndedSession:
    """A session that ended on the bus and waits ``due`` for its CompletedSession (723)."""

    session: OpenSession
    ended_at: datetime
    due: datetime


@dataclass(frozen=True, slots=True)
class CompletedRef:
    """A session already announced, kept to recognise a late or repeated 723."""

    session_id: str
    started_at: datetime
    derived: bool = False


# a tracked field's value (mask, or 1/0 online), its time, the bits an event was emitted for
Entry = tuple[datetime, int, int]


@dataclass(frozen=True, slots=True)
class ChargerState:
    charger_id: str
    serial: str | None = None
    device_type: int | None = None
    last: Mapping[int, tuple[datetime, str | None]] = field(default_factory=dict)
    last_seen: datetime | None = None
    online: bool = True
    offline_since: datetime | None = None
    offline_cause: str | None = None
    warnings: int = 0
    raised: Mapping[int, datetime] = field(default_factory=dict)
    mode: int | None = None
    session: OpenSession | None = None
    next_session_id: str | None = None  # a 721 seen while disconnected, for the next session
    ended: tuple[EndedSession, ...] = ()
    completed: tuple[CompletedRef, ...] = ()
    # recent Warnings / IsOnline values, oldest first, to merge late frames (charger.late)
    history: Mapping[int, tuple[Entry, ...]] = field(default_factory=dict)


def _t(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None  # always UTC-aware here


def _p(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


_r = datetime.fromisoformat  # a required timestamp


def _session_out(s: OpenSession) -> dict[str, Any]:
    return {
        "id": s.session_id,
        "start": _t(s.started_at),
        "est": s.start_estimated,
        "kwh": s.energy_kwh,
        "kwh_at": _t(s.energy_at),
        "user": s.user_id,
    }


def _session_in(d: dict[str, Any]) -> OpenSession:
    return OpenSession(
        session_id=d["id"],
        started_at=_r(d["start"]),
        start_estimated=d["est"],
        energy_kwh=d["kwh"],
        energy_at=_p(d["kwh_at"]),
        user_id=d["user"],
    )


def to_record(s: ChargerState) -> dict[str, Any]:
    """JSON-ready dict (stable keys; timestamps as RFC 3339)."""
    return {
        "charger_id": s.charger_id,
        "serial": s.serial,
        "device_type": s.device_type,
        "last": {str(k): [_t(ts), v] for k, (ts, v) in sorted(s.last.items())},
        "last_seen": _t(s.last_seen),
        "online": s.online,
        "offline_since": _t(s.offline_since),
        "offline_cause": s.offline_cause,
        "warnings": str(s.warnings),
        "raised": {str(k): _t(v) for k, v in sorted(s.raised.items())},
        "mode": s.mode,
        "session": _session_out(s.session) if s.session else None,
        "next_session_id": s.next_session_id,
        "ended": [
            {"session": _session_out(e.session), "ended_at": _t(e.ended_at), "due": _t(e.due)}
            for e in s.ended
        ],
        "completed": [
            {"id": c.session_id, "start": _t(c.started_at), "derived": c.derived}
            for c in s.completed
        ],
        "history": {
            str(k): [[_t(ts), str(v), str(e)] for ts, v, e in entries]
            for k, entries in sorted(s.history.items())
        },
    }


def from_record(d: dict[str, Any]) -> ChargerState:
    """Inverse of ``to_record``."""
    return ChargerState(
        charger_id=d["charger_id"],
        serial=d["serial"],
        device_type=d["device_type"],
        last={int(k): (_r(ts), v) for k, (ts, v) in d["last"].items()},
        last_seen=_p(d["last_seen"]),
        online=d["online"],
        offline_since=_p(d["offline_since"]),
        offline_cause=d["offline_cause"],
        warnings=int(d["warnings"]),
        raised={int(k): _r(v) for k, v in d["raised"].items()},
        mode=d["mode"],
        session=_session_in(d["session"]) if d["session"] else None,
        next_session_id=d.get("next_session_id"),
        ended=tuple(
            EndedSession(_session_in(e["session"]), _r(e["ended_at"]), _r(e["due"]))
            for e in d["ended"]
        ),
        completed=tuple(
            CompletedRef(c["id"], _r(c["start"]), c.get("derived", False)) for c in d["completed"]
        ),
        history={  # absent in states stored before late frames were merged
            int(k): tuple((_r(ts), int(v), int(e)) for ts, v, e in entries)
            for k, entries in (d.get("history") or {}).items()
        },
    )
