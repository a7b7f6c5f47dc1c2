"""Why a condition did or did not become a ticket: one decision record per step. No I/O.

Operators ask "20 conditions, 12 tickets: where are the other 8?". The lifecycle
(``lifecycle.py``) decides silently; the consumer hands each step it saves to
:func:`decisions`, which compares the alert before and after and names what happened in
words an operator reads (grace, hold, flap damping, site grouping, silence, the targets
a ticket opened at). The records are kept by ``AlertRepo`` (kind ``alerttrace``) and read
by ``chargeops alerts explain``.

A decision's key is derived from its facts only (subject, time, step, condition), so
re-applying an event (a redelivery, a resumed replay) rewrites the same records instead
of adding new ones; keys sort by time within a subject, so one prefix scan reads a
charger's (or a site's) story in order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.consumers.tickets.config import Alerting
from shared.consumers.tickets.lifecycle import Action, Close, Open, Remind, Silenced, Step
from shared.consumers.tickets.model import Alert
from shared.consumers.tickets.view import site_label
from shared.timestamps import format_utc

__all__ = ["DECISIONS", "TICKET", "decisions", "describe_duration", "subject_of"]

# Every decision, in the order they happen within one instant (the key sorts by it).
DECISIONS = (
    "started",
    "held",
    "released",
    "silenced",
    "opened",
    "resumed",
    "reminded",
    "ending",
    "dropped",
    "closed",
)
TICKET = frozenset({"opened"})  # the decision that made a ticket


def subject_of(key: str) -> str:
    """The charger (or, for a site alert, the site) a condition key is about."""
    parts = key.split("|")
    return parts[1] if len(parts) > 1 else key


def decisions(
    before: Alert | None,
    step: Step,
    at: datetime,
    rules: Alerting,
    *,
    cause: dict[str, Any] | None = None,
    site: str | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """(record key, record) for what this step decided about one condition.

    ``before``: the alert as it was; ``step``: what the lifecycle made of it at ``at``;
    ``cause``: the event being applied (None for a timer); ``site``: the site alert key
    when a site outage holds this alert.
    """
    out: list[tuple[str, dict[str, Any]]] = []
    after = step.alert
    for action in step.actions:
        out.append(_record(action.alert, _of_action(action), action.at, rules, cause, before))
    if step.actions:
        return out
    if before is None and after is not None and after.status == "pending":
        out.append(_record(after, "started", at, rules, cause, before))
    elif before is None or before == after:
        pass
    elif after is None and before.status in ("pending", "held", "silenced"):
        out.append(_record(before, "dropped", at, rules, cause, before))
    elif after is None:
        pass
    elif before.status == "closing" and after.status == "firing":
        out.append(_record(after, "resumed", at, rules, cause, before))
    elif before.status == "firing" and after.status == "closing":
        out.append(_record(after, "ending", at, rules, cause, before))
    elif after.status == "held" and before.status != "held":
        out.append(_record(after, "held", at, rules, cause, before, site=site))
    elif before.status == "held" and after.status == "pending":
        out.append(_record(after, "released", at, rules, cause, before))
    return out


def _of_action(action: Action) -> str:
    if isinstance(action, Open):
        return "opened"
    if isinstance(action, Close):
        return "closed"
    if isinstance(action, Remind):
        return "reminded"
    assert isinstance(action, Silenced)
    return "silenced"


def _record(
    alert: Alert,
    decision: str,
    at: datetime,
    rules: Alerting,
    cause: dict[str, Any] | None,
    before: Alert | None,
    *,
    site: str | None = None,
) -> tuple[str, dict[str, Any]]:
    data = alert.event.get("data") or {}
    subject = subject_of(alert.key)
    ticket = alert.ticket
    record: dict[str, Any] = {
        "subject": subject,
        "key": alert.key,
        "kind": alert.kind,
        "decision": decision,
        "at": format_utc(at),
        "since": format_utc(alert.since),
        "reason": _reason(alert, decision, at, rules, before),
        "event_id": (cause or {}).get("id"),
        "event_type": (cause or {}).get("type"),
        "charger_id": data.get("charger_id"),
        "charger_name": data.get("charger_name"),
        "serial": data.get("serial"),
        "site_id": data.get("site_id"),
        "site_name": data.get("site_name"),
        "fault_code": data.get("fault_code"),
        "severity": data.get("severity"),
        "chargers": data.get("chargers"),
        "charger_names": data.get("charger_names"),
        "episode": ticket.episode if ticket else None,
        "targets": list(ticket.targets) if ticket else None,
        "silence": alert.silence,
        "held_by": site,
        "opening_event_id": alert.event.get("id"),
    }
    order = DECISIONS.index(decision)
    key = f"{subject}|{at.strftime('%Y%m%dT%H%M%S%f')}|{order:02d}|{alert.key}"
    return key, record


def describe_duration(value: timedelta) -> str:
    """``4m 30s``, ``2h 5m``, ``45s``: how long, as a person says it."""
    seconds = int(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m {secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


def _reason(
    alert: Alert, decision: str, at: datetime, rules: Alerting, before: Alert | None
) -> str:
    """The sentence ``alerts explain`` prints for this decision."""
    lasted = describe_duration(max(at - alert.since, timedelta(0)))
    what = {"fault": "fault", "offline": "offline period", "site": "site outage"}[alert.kind]
    if decision == "started":
        wait = describe_duration(alert.due - alert.since) if alert.due else "?"
        rule = (
            f"fault_hold {describe_duration(rules.fault_hold)}"
            if alert.kind == "fault"
            else f"offline_grace {describe_duration(rules.offline_grace)}"
        )
        extra = ""
        if alert.kind == "offline" and alert.due and alert.due - alert.since > rules.offline_grace:
            extra = f", or site_outage_window {describe_duration(rules.site_outage_window)}"
        due = _shown(alert.due) if alert.due else "?"
        return f"{what} began; waits {wait} ({rule}{extra}) before a ticket: due {due}"
    if decision == "opened":
        ticket = alert.ticket
        if ticket is None or not ticket.targets:
            return "due, but no route sends it to a ticket target: no ticket anywhere"
        return f"ticket opened at {', '.join(ticket.targets)}"
    if decision == "silenced":
        until = _shown(alert.due) if alert.due else "?"
        return f"silenced by '{alert.silence}' until {until}: nothing sent"
    if decision == "held":
        where = site_label(alert.event.get("data") or {})
        return (
            f"the outage of {where} covers this charger: its own alert is held back "
            "(inhibited); the site ticket stands for it"
        )
    if decision == "released":
        due = _shown(alert.due) if alert.due else "?"
        return f"the site is back: a fresh wait before its own ticket, due {due}"
    if decision == "resumed":
        return (
            f"came back within flap_window {describe_duration(rules.flap_window)} of its end: "
            "the open ticket continues (flap damping, no new ticket)"
        )
    if decision == "ending":
        return (
            f"ended, {lasted} after it first began; the close waits flap_window "
            f"{describe_duration(rules.flap_window)} in case it comes back"
        )
    if decision == "closed":
        end = alert.ended_at or at
        return f"ticket closed; the condition lasted {describe_duration(end - alert.since)}"
    if decision == "reminded":
        return "reminder on the open ticket (repeat_interval)"
    assert decision == "dropped"
    status = before.status if before is not None else "pending"
    if status == "held":
        return f"ended after {lasted} while a site outage held it: the site ticket covered it"
    if status == "silenced":
        return f"ended after {lasted} inside the silence '{before and before.silence}': no ticket"
    rule = (
        f"fault_hold {describe_duration(rules.fault_hold)}"
        if alert.kind == "fault"
        else f"offline_grace {describe_duration(rules.offline_grace)}"
    )
    due = f" at {_shown(before.due)}" if before is not None and before.due else ""
    return f"ended after {lasted}, before its ticket was due{due} ({rule}): no ticket"


def _shown(at: datetime) -> str:
    """A time inside a reason a person reads: to the second, UTC said in words."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
