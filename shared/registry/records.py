"""Registry records built from API objects, and what changed between two of them. No I/O.

The records are stored as built here (``shared.registry.repo`` reads and writes them):
one per charger, joined with its site, and one per site with its circuits when fetched.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from shared.zaptec.models import Charger, Hierarchy, Installation

__all__ = [
    "PUBLIC",
    "TRACKED",
    "changes",
    "charger_record",
    "digest",
    "placement",
    "public",
    "site_record",
    "with_hierarchy",
]

# A change in any of these is a ``registry.charger.changed`` event; IsOnline is status,
# not identity, and goes to the offline logic as an observation instead.
TRACKED = (
    "serial",
    "name",
    "site_id",
    "site_name",
    "time_zone",
    "circuit_id",
    "circuit_name",
    "device_type",
    "active",
    "installation_active",
)
PUBLIC = ("charger_id", *TRACKED, "is_online", "updated_at", "seen_at")


def site_record(
    inst: Installation, cycle: str, at: str, previous: dict[str, Any] | None
) -> dict[str, Any]:
    """A site seen in this cycle; its hierarchy is due when it is new or changed."""
    fingerprint = inst.fingerprint()
    prev = previous or {}
    due = (
        previous is None
        or prev.get("fingerprint") != fingerprint
        or bool(prev.get("hierarchy_due"))
    )
    return {
        "site_id": inst.id,
        "name": inst.name,
        "time_zone": inst.time_zone,
        "active": inst.active,
        "charger_count": inst.charger_count,
        "fingerprint": fingerprint,
        "hierarchy_due": due,
        "circuits": prev.get("circuits"),
        "seen_cycle": cycle,
        "seen_at": at,
    }


def with_hierarchy(site: dict[str, Any], tree: Hierarchy | None) -> dict[str, Any]:
    """The site with its circuits (``{circuit_id: {name, chargers}}``); no longer due."""
    circuits = (
        {c.id: {"name": c.name, "chargers": list(c.charger_ids)} for c in tree.circuits}
        if tree is not None
        else site.get("circuits") or {}
    )
    return {**site, "circuits": circuits, "hierarchy_due": False}


def placement(sites: list[dict[str, Any]], charger_id: str) -> tuple[str, str] | None:
    """(site_id, circuit_id) of a charger according to stored hierarchies, if any."""
    for site in sites:
        for circuit_id, circuit in (site.get("circuits") or {}).items():
            if charger_id in circuit.get("chargers", ()):
                return str(site["site_id"]), str(circuit_id)
    return None


def charger_record(
    charger: Charger,
    site: dict[str, Any] | None,
    cycle: str,
    at: str,
    previous: dict[str, Any] | None,
    *,
    site_id: str | None = None,
    circuit_id: str | None = None,
) -> dict[str, Any]:
    """The registry record of a charger as listed now, joined with its site."""
    site = site or {}
    site_id = charger.installation_id or site_id or site.get("site_id")
    circuit_id = charger.circuit_id or circuit_id
    circuit = (site.get("circuits") or {}).get(circuit_id or "", {})
    record: dict[str, Any] = {
        "charger_id": charger.id,
        "serial": charger.serial,
        "name": charger.name,
        "site_id": site_id,
        "site_name": site.get("name"),
        "time_zone": site.get("time_zone"),
        "circuit_id": circuit_id,
        "circuit_name": circuit.get("name"),
        "device_type": charger.device_type,
        "active": charger.active,
        "installation_active": site.get("active"),
        "is_online": charger.is_online,
        "seen_cycle": cycle,
        "seen_at": at,
        "missing_since": None,
    }
    prev = previous or {}
    if charger.is_online is None:  # field missing in this reply: keep what we knew
        record["is_online"] = prev.get("is_online")
    record["updated_at"] = (
        at if previous is None or changes(previous, record) else prev.get("updated_at", at)
    )
    return record


def changes(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Tracked fields that differ: ``{field: {"from": old, "to": new}}`` (empty if none)."""
    if old is None:
        return {}
    return {f: {"from": old.get(f), "to": new.get(f)} for f in TRACKED if old.get(f) != new.get(f)}


def digest(record: dict[str, Any]) -> str:
    """Short stable hash of a record's tracked fields (part of event ids)."""
    text = json.dumps([record.get(f) for f in TRACKED], separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def public(record: dict[str, Any]) -> dict[str, Any]:
    """The fields ``chargeops registry list`` prints."""
    return {f: record.get(f) for f in PUBLIC}
