"""Routes: which targets an event goes to (Alertmanager habits: first match wins unless
``continue: true``) and whether a silence covers it. Pure functions over plain events.

Site alerts (``site.offline`` / ``site.online``, made by grouping) follow the routes and
silences written for ``charger.offline`` / ``charger.online`` as well as their own names.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.config.loader import Config
from shared.notify.config import Match, Silence

__all__ = ["active_silence", "matches", "matching_routes", "targets_for", "type_matches"]

_ALSO = {"site.offline": "charger.offline", "site.online": "charger.online"}


def type_matches(patterns: list[str], event_type: str) -> bool:
    """Exact names, ``prefix.*`` globs, and site alerts under their charger names."""
    names = (event_type, _ALSO.get(event_type, event_type))
    for pattern in patterns:
        if pattern.endswith("*"):
            if any(n.startswith(pattern[:-1]) for n in names):
                return True
        elif pattern in names:
            return True
    return False


def matches(match: Match, event: dict[str, Any]) -> bool:
    """True when every list in the matcher holds the event's value."""
    data = event.get("data") or {}
    if match.types is not None and not type_matches(match.types, str(event.get("type"))):
        return False
    # finance records: the chargeops extension rides beside the CDR (inside it before)
    ours = event.get("chargeops") or data.get("chargeops") or {}
    checks: list[tuple[list[str] | None, Any]] = [
        (match.sites, data.get("site_id", ours.get("site_id"))),
        (match.chargers, data.get("charger_id", ours.get("charger_id"))),
        (match.severities, data.get("severity")),  # type: ignore[list-item]
        (match.fault_codes, data.get("fault_code")),
    ]
    return all(allowed is None or value in allowed for allowed, value in checks)


def targets_for(config: Config, event: dict[str, Any]) -> list[str]:
    """Target names for an event, in route order, each once."""
    chosen: list[str] = []
    for route in config.routes:
        if matches(route.match, event):
            chosen.extend(t for t in route.targets if t not in chosen)
            if not route.continue_:
                break
    return chosen


def active_silence(config: Config, event: dict[str, Any], at: datetime) -> Silence | None:
    """The first silence covering this event at ``at`` (a maintenance window), if any."""
    for silence in config.silences:
        if silence.starts <= at < silence.ends and matches(silence.match, event):
            return silence
    return None


def matching_routes(config: Config, event: dict[str, Any]) -> list[int]:
    """Indexes of the routes an event passes through, as ``targets_for`` walks them
    (first match stops unless ``continue``): what ``config check --routes-test`` and
    ``alerts explain`` show."""
    hit: list[int] = []
    for i, route in enumerate(config.routes):
        if matches(route.match, event):
            hit.append(i)
            if not route.continue_:
                break
    return hit
