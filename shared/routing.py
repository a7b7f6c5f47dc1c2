"""Routes: which targets an event goes to (Alertmanager habits: first match wins unless
``continue: true``) and whether a silence covers it. Pure functions over plain events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.config import Config, Match, Silence

__all__ = ["active_silence", "matches", "targets_for"]


def matches(match: Match, event: dict[str, Any]) -> bool:
    """True when every list in the matcher holds the event's value."""
    data = event.get("data") or {}
    checks: list[tuple[list[str] | None, Any]] = [
        (match.types, event.get("type")),
        (match.sites, data.get("site_id")),
        (match.chargers, data.get("charger_id")),
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
