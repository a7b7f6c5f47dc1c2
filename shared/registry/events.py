"""CloudEvents for registry changes and messaging alerts. No I/O.

Ids are deterministic (``shared.events.model.event_id``) over the refresh cycle and the record's
hash, so a page processed twice in one cycle (a resumed or retried run) appends nothing
new, while the same change in a later cycle is a new event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.events.cloudevents import charger_source, envelope
from shared.events.model import event_id
from shared.registry.records import TRACKED, digest
from shared.timestamps import format_utc

__all__ = [
    "ADDED",
    "CHANGED",
    "MESSAGING_CHANGED",
    "MESSAGING_IDLE",
    "REMOVED",
    "charger_event",
    "messaging_event",
]

ADDED, REMOVED, CHANGED = (
    "registry.charger.added",
    "registry.charger.removed",
    "registry.charger.changed",
)
MESSAGING_CHANGED, MESSAGING_IDLE = "registry.messaging.changed", "registry.messaging.idle"
_DATA_FIELDS = ("charger_id", *TRACKED)  # what a registry event carries about the charger


def charger_event(
    kind: str,
    record: dict[str, Any],
    cycle: str,
    at: datetime,
    diff: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``registry.charger.added|removed|changed`` for one record (the old one if removed)."""
    charger_id = str(record["charger_id"])
    data: dict[str, Any] = {f: record.get(f) for f in _DATA_FIELDS}
    data["observed_at"] = format_utc(at)
    if kind == CHANGED:
        data["changes"] = diff or {}
    return envelope(
        type=kind,
        id=event_id(kind, charger_id, cycle, digest(record)),
        source=charger_source(charger_id, record.get("site_id")),
        subject=charger_id,
        time=at,
        data=data,
    )


def messaging_event(
    kind: str, scope: str, identity: str, at: datetime, data: dict[str, Any]
) -> dict[str, Any]:
    """A messaging alert; ``identity`` (credential hash or idle start) makes it unique."""
    return envelope(
        type=kind,
        id=event_id(kind, scope, identity),
        source=f"zaptec/{scope}",
        subject=scope,
        time=at,
        data={**data, "observed_at": format_utc(at)},
    )
