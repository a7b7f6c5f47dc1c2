"""A Zaptec-shaped fleet file read into the registry: ``chargeops registry import FILE``.

Why: grouping a site outage into one ticket, and every name people read, need the
registry; a refresh needs Zaptec credentials and API budget, which a demo, a test bench
or an operator seeding a new state may not have. The file is the shape the Zaptec API
simulator serves and ``samples/fleet.json`` holds: ``{"installations": [{Id, Name,
TimeZoneIanaName, Active, Circuits?, chargers: [{Id, DeviceId, Name, DeviceType,
InstallationId?, CircuitId?, Active, IsOnline}]}]}``, plus an optional top-level
``chargers`` list whose items name their ``InstallationId``. Keys are read as the API
client reads replies (``shared.zaptec.models``: any case), so a file saved from the API
works too.

Records are built exactly as a refresh builds them (``shared.registry.records``) and
written through the registry's repository. An import is idempotent: a record whose
fields are unchanged is not written again. It appends no ``registry.charger.*`` events
(the file is a seed, not an observed change) and feeds no IsOnline observations (the
file's IsOnline is not live); a later ``registry refresh`` treats the imported chargers
as known and reports real changes against them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.registry import records as rec
from shared.registry.repo import RegistryRecords
from shared.zaptec.models import (
    Charger,
    Circuit,
    Hierarchy,
    Installation,
    parse_charger,
    parse_installation,
)

__all__ = ["FleetFile", "FleetFileError", "ImportResult", "import_fleet", "read_fleet_file"]

CYCLE = "import"  # the ``seen_cycle`` of imported records (a refresh writes its own)
_MAX_BYTES = 64 * 1024 * 1024  # a fleet file is a few MB for 10,000 chargers


class FleetFileError(ValueError):
    """The file cannot be imported; the message says where in it (exit 2)."""


@dataclass(frozen=True)
class FleetFile:
    """A fleet file, checked: sites with their circuits, and chargers placed on them."""

    sites: list[tuple[Installation, Hierarchy | None]]
    chargers: list[Charger]


@dataclass
class Counts:
    added: int = 0
    changed: int = 0
    unchanged: int = 0

    def as_json(self) -> dict[str, int]:
        return {"added": self.added, "changed": self.changed, "unchanged": self.unchanged}


@dataclass
class ImportResult:
    file: str
    sites: Counts = field(default_factory=Counts)
    chargers: Counts = field(default_factory=Counts)

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sites": self.sites.as_json(),
            "chargers": self.chargers.as_json(),
        }


def read_fleet_file(path: str | Path) -> FleetFile:
    """Parse and check the whole file before anything is written (all or nothing)."""
    where = str(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(_MAX_BYTES + 1)
    except OSError as exc:
        raise FleetFileError(f"{where}: cannot read ({exc.strerror})") from None
    if len(raw) > _MAX_BYTES:
        raise FleetFileError(f"{where}: larger than {_MAX_BYTES // 2**20} MB")
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise FleetFileError(f"{where}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise FleetFileError(f"{where}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
    return parse_fleet(body, where)


def parse_fleet(body: Any, where: str) -> FleetFile:
    if not isinstance(body, Mapping):
        raise FleetFileError(f"{where}: the top level must be an object with 'installations'")
    keys = {str(k).lower(): k for k in body}
    installations = body.get(keys.get("installations", "installations"))
    loose = body.get(keys.get("chargers", "chargers"))
    if installations is None and loose is None:
        raise FleetFileError(f"{where}: no 'installations' (and no 'chargers') list")
    for name, value in (("installations", installations), ("chargers", loose)):
        if value is not None and not isinstance(value, list):
            raise FleetFileError(f"{where}: '{name}' must be a list")
    sites: dict[str, tuple[Installation, Hierarchy | None]] = {}
    chargers: dict[str, Charger] = {}
    for i, item in enumerate(installations or []):
        at = f"{where}: installations[{i}]"
        inst = _installation(item, at)
        if inst.id in sites:
            raise FleetFileError(f"{at}: Id {inst.id} appears twice")
        members: list[Charger] = []
        for j, raw in enumerate(_field(item, "chargers") or []):
            members.append(_charger(raw, f"{at}.chargers[{j}]", inst.id, chargers))
            chargers[members[-1].id] = members[-1]
        sites[inst.id] = (inst, _circuits(item, at, members))
    for j, raw in enumerate(loose or []):
        charger = _charger(raw, f"{where}: chargers[{j}]", None, chargers)
        chargers[charger.id] = charger
    return FleetFile(list(sites.values()), list(chargers.values()))


def import_fleet(records: RegistryRecords, fleet: FleetFile, at: str, where: str) -> ImportResult:
    """Write the file's sites and chargers (in one unit of work where the store can)."""
    result = ImportResult(where)
    old_sites = records.sites_by_id([inst.id for inst, _ in fleet.sites])
    site_records: dict[str, dict[str, Any]] = {}
    new_sites: dict[str, dict[str, Any]] = {}
    for inst, tree in fleet.sites:
        before = old_sites.get(inst.id)
        site = rec.site_record(inst, CYCLE, at, before)
        site = rec.with_hierarchy(site, tree) if tree is not None else site
        if before is not None and _same_site(before, site):
            result.sites.unchanged += 1
            site_records[inst.id] = before
            continue
        if before is None:
            result.sites.added += 1
        else:
            result.sites.changed += 1
        if tree is None and before is not None:  # keep circuits a refresh fetched
            site = {**site, "circuits": before.get("circuits")}
        new_sites[inst.id] = site_records[inst.id] = site
    wanted = sorted({c.installation_id for c in fleet.chargers if c.installation_id})
    missing = [s for s in wanted if s not in site_records]
    site_records.update(records.sites_by_id(missing))
    unknown = [s for s in missing if s not in site_records]
    if unknown:
        raise FleetFileError(
            f"{where}: chargers name InstallationId {unknown[0]}, which is neither in the "
            "file's installations nor in the registry"
        )
    old = records.chargers_by_id([c.id for c in fleet.chargers])
    new_chargers: dict[str, dict[str, Any]] = {}
    for charger in fleet.chargers:
        before = old.get(charger.id)
        placed = site_records.get(charger.installation_id or "")
        record = rec.charger_record(charger, placed, CYCLE, at, before)
        if before is not None:
            record["is_online"] = before.get("is_online")  # the file's IsOnline is not live
        if before is not None and not rec.changes(before, record):
            result.chargers.unchanged += 1
            continue
        if before is None:
            result.chargers.added += 1
        else:
            result.chargers.changed += 1
        new_chargers[charger.id] = record
    with records.transaction():
        records.put_sites(new_sites)
        records.put_chargers(new_chargers)
    return result


def _same_site(before: Mapping[str, Any], site: Mapping[str, Any]) -> bool:
    fields = ("name", "time_zone", "active")
    same = all(before.get(f) == site.get(f) for f in fields)
    return same and (
        site.get("circuits") in (None, {}) or before.get("circuits") == site["circuits"]
    )


def _field(item: Mapping[str, Any], name: str) -> Any:
    for key, value in item.items():
        if str(key).lower() == name:
            return value
    return None


def _guid(value: str | None, at: str, what: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise FleetFileError(f"{at}: {what} {value!r} is not a GUID") from None


def _installation(item: Any, at: str) -> Installation:
    if not isinstance(item, Mapping):
        raise FleetFileError(f"{at}: must be an object")
    inst = parse_installation(item)
    if inst is None:
        raise FleetFileError(f"{at}: no Id")
    _guid(inst.id, at, "Id")
    chargers = _field(item, "chargers")
    if chargers is not None and not isinstance(chargers, list):
        raise FleetFileError(f"{at}.chargers: must be a list")
    return inst


def _charger(raw: Any, at: str, site_id: str | None, seen: Mapping[str, Charger]) -> Charger:
    if not isinstance(raw, Mapping):
        raise FleetFileError(f"{at}: must be an object")
    charger = parse_charger(raw, site_id)
    if charger is None:
        raise FleetFileError(f"{at}: no Id")
    _guid(charger.id, at, "Id")
    if charger.id in seen:
        raise FleetFileError(f"{at}: charger {charger.id} appears twice")
    if site_id is not None and charger.installation_id != site_id:
        raise FleetFileError(
            f"{at}: InstallationId {charger.installation_id} is not its installation {site_id}"
        )
    if site_id is None and not charger.installation_id:
        raise FleetFileError(f"{at}: no InstallationId (a charger outside installations needs one)")
    return charger


def _circuits(item: Mapping[str, Any], at: str, members: list[Charger]) -> Hierarchy | None:
    """The site's circuits when the file lists them (the simulator's ``Circuits``)."""
    raw = _field(item, "circuits")
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise FleetFileError(f"{at}.Circuits: must be a list")
    circuits: list[Circuit] = []
    for k, c in enumerate(raw):
        if not isinstance(c, Mapping) or not _field(c, "id"):
            raise FleetFileError(f"{at}.Circuits[{k}]: an object with an Id")
        ident = str(_field(c, "id"))
        name = _field(c, "name")
        ids = tuple(m.id for m in members if m.circuit_id == ident)
        circuits.append(Circuit(ident, str(name) if name is not None else None, ids))
    site_id = str(_field(item, "id"))
    return Hierarchy(site_id, None, tuple(circuits), tuple(members))
