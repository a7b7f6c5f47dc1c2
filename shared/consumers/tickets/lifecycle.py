"""Alert lifecycle: condition start/end and timers -> new alert + notices to make. No I/O.

Decisions depend only on event times and the ``now`` of ticks, never on a wall clock,
so a replay gives the same notices however it is chunked or resumed:

- a start makes a ``pending`` alert due at ``since + grace`` (offline) or ``+ hold``
  (fault); an end before that drops it unsent (``never send anything``);
- at its due time it opens (or, inside a maintenance window, is ``silenced`` until the
  window ends and is looked at again);
- an end puts a firing alert in ``closing`` for ``flap_window``; a return inside that
  window resumes the same ticket (no close, no new ticket); after it the close goes out
  with the whole duration;
- a firing alert reminds every ``repeat_interval`` (ticks only; missed ones collapse).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from shared.consumers.tickets.model import Alert, Kind, Ticket

__all__ = [
    "Action",
    "Close",
    "Open",
    "Policy",
    "Remind",
    "Silenced",
    "Step",
    "Timing",
    "end",
    "fire",
    "hold",
    "release",
    "start",
]


@dataclass(frozen=True, slots=True)
class Open:
    alert: Alert
    at: datetime


@dataclass(frozen=True, slots=True)
class Close:
    alert: Alert
    at: datetime


@dataclass(frozen=True, slots=True)
class Remind:
    alert: Alert
    at: datetime
    number: int


@dataclass(frozen=True, slots=True)
class Silenced:
    alert: Alert
    at: datetime


Action = Open | Close | Remind | Silenced


@dataclass(frozen=True, slots=True)
class Step:
    alert: Alert | None
    actions: tuple[Action, ...] = ()


@dataclass(frozen=True, slots=True)
class Timing:
    flap: timedelta = timedelta(minutes=5)
    repeat: timedelta | None = None


class Policy(Protocol):
    """What the configuration decides for an alert at a moment (silences, routes)."""

    def silence(self, alert: Alert, at: datetime) -> tuple[str, datetime] | None:
        """(comment, end) of a silence covering the alert at ``at``, if any."""

    def targets(self, alert: Alert) -> tuple[str, ...]:
        """Targets a newly opened ticket goes to."""


def start(
    current: Alert | None,
    *,
    key: str,
    kind: Kind,
    event: dict[str, Any],
    since: datetime,
    due: datetime,
    timing: Timing,
) -> Step:
    """The condition began (or began again)."""
    if current is None:
        return Step(Alert(key, kind, "pending", since, event, due=due))
    if current.status == "closing" and current.ticket is not None:
        return Step(
            current.but(
                status="firing",
                due=_next_reminder(current.ticket, timing),
                ended_at=None,
                end_event=None,
            )
        )
    return Step(current)  # already active: a repeated start changes nothing


def end(current: Alert | None, *, at: datetime, event: dict[str, Any], timing: Timing) -> Step:
    """The condition ended at ``at``. Call :func:`fire` up to ``at`` first."""
    if current is None:
        return Step(None)
    if current.status in ("pending", "held", "silenced"):
        return Step(None)  # never sent: below grace, covered by a site, or silenced
    if current.status == "closing":
        return Step(current)
    ending = current.but(status="closing", ended_at=at, end_event=event, due=at + timing.flap)
    if timing.flap <= timedelta(0):
        return _close(ending, at)
    return Step(ending)


def fire(
    current: Alert | None, now: datetime, policy: Policy, timing: Timing, *, remind: bool = True
) -> Step:
    """Run the alert's timers that are due by ``now``, in order."""
    alert: Alert | None = current
    actions: list[Action] = []
    while alert is not None and alert.due is not None and alert.due <= now:
        at = alert.due
        if alert.status in ("pending", "silenced"):
            step = _decide(alert, at, policy, timing)
        elif alert.status == "closing":
            step = _close(alert, at)
        elif alert.status == "firing" and remind and timing.repeat and alert.ticket:
            step = _remind(alert, now, timing.repeat)
        else:
            break
        alert = step.alert
        actions.extend(step.actions)
    return Step(alert, tuple(actions))


def hold(current: Alert | None) -> Step:
    """A site outage covers this alert: keep it back (only while not yet sent)."""
    if current is None or current.status not in ("pending", "silenced"):
        return Step(current)
    return Step(current.but(status="held", due=None, silence=None))


def release(current: Alert | None, due: datetime) -> Step:
    """The site is back: a held alert gets a fresh wait, due at ``due``."""
    if current is None or current.status != "held":
        return Step(current)
    return Step(current.but(status="pending", due=due))


def _decide(alert: Alert, at: datetime, policy: Policy, timing: Timing) -> Step:
    covered = policy.silence(alert, at)
    if covered is not None:
        comment, until = covered
        first = alert.status != "silenced"
        silenced = alert.but(status="silenced", due=until, silence=comment, step=alert.step + 1)
        return Step(silenced, (Silenced(silenced, at),) if first else ())
    ticket = Ticket(alert.event["id"], at, alert.since, policy.targets(alert))
    opened = alert.but(
        status="firing",
        ticket=ticket,
        silence=None,
        due=_next_reminder(ticket, timing),
        step=alert.step + 1,
    )
    return Step(opened, (Open(opened, at),))


def _close(alert: Alert, at: datetime) -> Step:
    closed = alert.but(step=alert.step + 1)
    return Step(None, (Close(closed, at),))


def _remind(alert: Alert, now: datetime, repeat: timedelta) -> Step:
    assert alert.ticket is not None
    number = int((now - alert.ticket.opened_at) / repeat)
    ticket = Ticket(
        alert.ticket.episode,
        alert.ticket.opened_at,
        alert.ticket.started_at,
        alert.ticket.targets,
        reminders=number,
    )
    reminded = alert.but(
        ticket=ticket, due=ticket.opened_at + repeat * (number + 1), step=alert.step + 1
    )
    return Step(reminded, (Remind(reminded, now, number),))


def _next_reminder(ticket: Ticket, timing: Timing) -> datetime | None:
    if timing.repeat is None:
        return None
    return ticket.opened_at + timing.repeat * (ticket.reminders + 1)
