"""What an alert is, and its JSON form in the store (kind ``alert``).

An alert follows one *condition* (its ``key``): a fault code on a charger, a charger
offline, or a site outage. It is ``pending`` until grace/hold have passed, then
``firing`` with a ticket open at its targets, then ``closing`` for the flap window after
the condition ended, and finally gone. ``held`` (a site outage covers it) and
``silenced`` (a maintenance window) keep it from being sent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from shared.timestamps import format_utc, parse_utc

__all__ = ["Alert", "Status", "Ticket", "from_record", "to_record"]

Status = Literal["pending", "held", "silenced", "firing", "closing"]
Kind = Literal["fault", "offline", "site"]


@dataclass(frozen=True, slots=True)
class Ticket:
    """The ticket an alert opened: every notice key derives from ``episode``."""

    episode: str  # id of the event that opened it
    opened_at: datetime
    started_at: datetime  # when the condition began
    targets: tuple[str, ...]
    reminders: int = 0


@dataclass(frozen=True, slots=True)
class Alert:
    key: str
    kind: Kind
    status: Status
    since: datetime  # start of the current period
    event: dict[str, Any]  # the CloudEvent that started it
    due: datetime | None = None  # next timer: open, silence end, reminder, or close
    ticket: Ticket | None = None
    ended_at: datetime | None = None
    end_event: dict[str, Any] | None = None
    silence: str | None = None  # comment of the silence that holds it back
    step: int = 0  # notices made so far: orders one condition's notices

    @property
    def site_id(self) -> str | None:
        return (self.event.get("data") or {}).get("site_id")

    def but(self, **changes: Any) -> Alert:
        return replace(self, **changes)


def _t(value: datetime | None) -> str | None:
    return format_utc(value) if value is not None else None


def _p(value: str | None) -> datetime | None:
    return parse_utc(value) if value else None


def to_record(alert: Alert) -> dict[str, Any]:
    ticket = alert.ticket
    return {
        "key": alert.key,
        "kind": alert.kind,
        "status": alert.status,
        "since": format_utc(alert.since),
        "event": alert.event,
        "due": _t(alert.due),
        "ticket": None
        if ticket is None
        else {
            "episode": ticket.episode,
            "opened_at": format_utc(ticket.opened_at),
            "started_at": format_utc(ticket.started_at),
            "targets": list(ticket.targets),
            "reminders": ticket.reminders,
        },
        "ended_at": _t(alert.ended_at),
        "end_event": alert.end_event,
        "silence": alert.silence,
        "step": alert.step,
    }


def from_record(d: dict[str, Any]) -> Alert:
    t = d.get("ticket")
    ticket = (
        None
        if t is None
        else Ticket(
            episode=t["episode"],
            opened_at=parse_utc(t["opened_at"]),
            started_at=parse_utc(t["started_at"]),
            targets=tuple(t["targets"]),
            reminders=int(t.get("reminders", 0)),
        )
    )
    return Alert(
        key=d["key"],
        kind=d["kind"],
        status=d["status"],
        since=parse_utc(d["since"]),
        event=d["event"],
        due=_p(d.get("due")),
        ticket=ticket,
        ended_at=_p(d.get("ended_at")),
        end_event=d.get("end_event"),
        silence=d.get("silence"),
        step=int(d.get("step", 0)),
    )
