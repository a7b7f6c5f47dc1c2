"""The ``alert`` templates see: plain strings and numbers describing one notice. No I/O.

Every key is always present (None when it does not apply), so user templates running
with StrictUndefined can test values without tripping over missing keys. Titles and
summaries name chargers and sites as people know them (registry names, carried in the
event data); without a name a charger is its serial, then its id, and a site its id.
Ids stay where machines read them (dedup keys, details).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from shared.consumers.tickets.model import Alert
from shared.timestamps import format_utc

__all__ = ["condition_key", "dedup_key", "view"]


def condition_key(kind: str, *parts: str) -> str:
    """``fault|<charger>|<code>``, ``offline|<charger>``, ``site|<site>``."""
    return "|".join((kind, *parts))


def dedup_key(key: str) -> str:
    """Stable per charger and condition (PagerDuty dedup_key, Opsgenie alias)."""
    return "chargeops/" + key.replace("|", "/")


def view(alert: Alert, action: str, at: datetime, reminder: int | None = None) -> dict[str, Any]:
    data = alert.event.get("data") or {}
    ticket = alert.ticket
    started = ticket.started_at if ticket else alert.since
    episode = ticket.episode if ticket else str(alert.event.get("id"))
    ended = alert.ended_at if action == "close" else None
    chargers = list(data.get("chargers") or [])
    names = data.get("charger_names") or {}
    charger_names = [names.get(c) for c in chargers]
    who = charger_label(data)
    site = site_label(data)
    members = [n or c for c, n in zip(chargers, charger_names, strict=True)]
    title, summary = _texts(alert.kind, data, who, site, members, started)
    details = {
        "charger_id": data.get("charger_id"),
        "serial": data.get("serial"),
        "site_id": data.get("site_id"),
        "fault_code": data.get("fault_code"),
        "ocpp_error_code": data.get("ocpp_error_code"),
        "since": format_utc(started),
        "event_id": alert.event.get("id"),
        "chargers": chargers or None,
    }
    return {
        "key": alert.key,
        "kind": alert.kind,
        "status": "resolved" if action == "close" else "firing",
        "severity": _severity(alert.kind, data),
        "title": title,
        "summary": summary,
        "charger_id": data.get("charger_id"),
        "serial": data.get("serial"),
        "site_id": data.get("site_id"),
        "charger_name": data.get("charger_name"),
        "site_name": data.get("site_name"),
        "charger_label": who if data.get("charger_id") else None,
        "site_label": site if data.get("site_id") else None,
        "fault_code": data.get("fault_code"),
        "ocpp_error_code": data.get("ocpp_error_code"),
        "chargers": chargers,
        "charger_names": charger_names,
        "charger_count": len(chargers),
        "since": format_utc(started),
        "started_at": format_utc(started),
        "opened_at": format_utc(ticket.opened_at) if ticket else format_utc(at),
        "ended_at": format_utc(ended) if ended else None,
        "duration_seconds": (ended - started).total_seconds() if ended else None,
        "open_for_seconds": (at - started).total_seconds(),
        "reminder": reminder,
        "dedup_key": dedup_key(alert.key),
        "episode": episode,
        "episode_label": "chargeops-" + hashlib.sha256(episode.encode()).hexdigest()[:20],
        "correlation_id": f"chargeops:{episode}",
        "details": {k: v for k, v in details.items() if v is not None},
        "details_text": {k: _text(v) for k, v in details.items() if v is not None},
    }


def charger_label(data: dict[str, Any]) -> str:
    """``Bay 3 (ZAP000123)``, ``Bay 3``, or ``Charger ZAP000123`` / ``Charger <id>``."""
    name, serial = data.get("charger_name"), data.get("serial")
    if name:
        return f"{name} ({serial})" if serial and serial != name else str(name)
    return f"Charger {serial or data.get('charger_id')}"


def site_label(data: dict[str, Any]) -> str:
    """``Oslo Garage``, or ``site <id>`` / ``unknown site``."""
    if data.get("site_name"):
        return str(data["site_name"])
    return f"site {data['site_id']}" if data.get("site_id") else "unknown site"


def _texts(
    kind: str, data: dict[str, Any], who: str, site: str, members: list[str], started: datetime
) -> tuple[str, str]:
    since = format_utc(started)
    if kind == "fault":
        code, ocpp = data.get("fault_code"), data.get("ocpp_error_code")
        return (
            f"{who}: fault {code} ({ocpp})",
            f"{who} (id {data.get('charger_id')}, {site}) reports {code} "
            f"(OCPP {ocpp}), severity {data.get('severity')}, since {since}.",
        )
    if kind == "site":
        return (
            f"{site[:1].upper() + site[1:]}: {len(members)} chargers offline",
            f"{len(members)} chargers of {site} went offline together since {since}: "
            + ", ".join(members)
            + ". Their own alerts are held back while the site is down.",
        )
    return (
        f"{who} offline",
        f"{who} (id {data.get('charger_id')}, {site}) has been offline since {since}.",
    )


def _severity(kind: str, data: dict[str, Any]) -> str:
    if kind == "fault":
        return str(data.get("severity") or "warning")
    return "critical" if kind == "site" else "error"


def _text(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
