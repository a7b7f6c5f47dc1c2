"""Site grouping: when several chargers of one site go offline within a short window, the
site is down and one site alert replaces theirs. No I/O.

The outage starts when ``threshold`` chargers of the site went offline within ``window``
of each other and are still offline; chargers going offline while it lasts join it. It
ends when fewer than ``threshold`` of its members are still offline. Chargers with no
known site are never grouped (the caller never asks). Grouping shapes tickets, never
events.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from shared.events.cloudevents import envelope
from shared.events.model import event_id
from shared.timestamps import format_utc, parse_utc

__all__ = [
    "SiteState",
    "came_online",
    "from_record",
    "site_event",
    "to_record",
    "went_offline",
]


@dataclass(frozen=True, slots=True)
class SiteState:
    site_id: str
    offline: Mapping[str, datetime] = field(default_factory=dict)  # charger -> since
    outage_since: datetime | None = None
    members: frozenset[str] = frozenset()
    held: frozenset[str] = frozenset()  # alert keys held back while the site is down

    @property
    def down(self) -> bool:
        return self.outage_since is not None


def went_offline(
    site: SiteState, charger_id: str, since: datetime, *, threshold: int, window: timedelta
) -> tuple[SiteState, bool]:
    """Record a charger going offline; True when this starts an outage."""
    offline = {**site.offline, charger_id: since}
    site = replace(site, offline=offline)
    if site.down:
        return replace(site, members=site.members | {charger_id}), False
    if threshold <= 0:
        return site, False
    recent = {c for c, s in offline.items() if abs(s - since) <= window}
    if len(recent) < threshold:
        return site, False
    start = min(offline[c] for c in recent)
    return replace(site, outage_since=start, members=frozenset(recent)), True


def came_online(site: SiteState, charger_id: str, *, threshold: int) -> tuple[SiteState, bool]:
    """Record a charger back online; True when this ends the site's outage."""
    offline = {c: s for c, s in site.offline.items() if c != charger_id}
    site = replace(site, offline=offline)
    if not site.down:
        return site, False
    still = [c for c in site.members if c in offline]
    if len(still) >= max(threshold, 1):
        return site, False
    return replace(site, outage_since=None, members=frozenset(), held=frozenset()), True


def to_record(site: SiteState) -> dict[str, Any]:
    return {
        "site_id": site.site_id,
        "offline": {c: format_utc(s) for c, s in sorted(site.offline.items())},
        "outage_since": format_utc(site.outage_since) if site.outage_since else None,
        "members": sorted(site.members),
        "held": sorted(site.held),
    }


def from_record(d: dict[str, Any]) -> SiteState:
    return SiteState(
        site_id=d["site_id"],
        offline={c: parse_utc(s) for c, s in d.get("offline", {}).items()},
        outage_since=parse_utc(d["outage_since"]) if d.get("outage_since") else None,
        members=frozenset(d.get("members", [])),
        held=frozenset(d.get("held", [])),
    )


def site_event(
    kind: str,
    site_id: str,
    since: datetime,
    at: datetime,
    members: Mapping[str, str | None] | Collection[str],
    site_name: str | None = None,
) -> dict[str, Any]:
    """A site alert's CloudEvent: made for notices only, never written to the event log.
    ``members`` maps each charger to its registry name (None when unknown; a plain
    collection of ids knows no names); names are labels, not part of the id."""
    if not isinstance(members, Mapping):
        members = dict.fromkeys(members)
    data: dict[str, Any] = {
        "site_id": site_id,
        "site_name": site_name,
        "offline_since": format_utc(since),
        "observed_at": format_utc(at),
        "chargers": sorted(members),
        "charger_names": {c: members[c] for c in sorted(members)},
        "charger_id": None,
        "charger_name": None,
    }
    if kind == "site.online":
        data.update(online_at=format_utc(at), offline_seconds=(at - since).total_seconds())
    parts = (site_id, format_utc(since)) + ((format_utc(at),) if kind == "site.online" else ())
    return envelope(
        type=kind,
        id=event_id(kind, *parts),
        source=f"chargeops/site/{site_id}",
        subject=site_id,
        time=at,
        data=data,
    )
