"""Tolerant parsing of Zaptec API replies into small frozen records. No I/O.

Fields come and go between API versions (zaptec.md pitfall 11: IsOnline and
AuthenticationType vanished from some replies), so every field is optional, keys match
case-insensitively, unknown fields are ignored, and an item without an Id is skipped
(counted) rather than failing the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "Charger",
    "Circuit",
    "Hierarchy",
    "Installation",
    "Page",
    "parse_charger",
    "parse_hierarchy",
    "parse_installation",
    "parse_page",
]


@dataclass(frozen=True, slots=True)
class Installation:
    id: str
    name: str | None
    time_zone: str | None
    active: bool | None
    charger_count: int | None

    def fingerprint(self) -> str:
        """What makes a site 'changed' (its hierarchy may need fetching again)."""
        return "|".join(
            str(v) for v in (self.name, self.time_zone, self.active, self.charger_count)
        )


@dataclass(frozen=True, slots=True)
class Charger:
    id: str
    serial: str | None
    name: str | None
    installation_id: str | None
    circuit_id: str | None
    active: bool | None
    is_online: bool | None
    device_type: int | None


@dataclass(frozen=True, slots=True)
class Circuit:
    id: str
    name: str | None
    charger_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Hierarchy:
    id: str
    name: str | None
    circuits: tuple[Circuit, ...]
    chargers: tuple[Charger, ...]


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list: raw items, and ``pages`` when the reply said how many."""

    items: list[dict[str, Any]] = field(default_factory=list)
    pages: int | None = None


class _Fields:
    """Case-insensitive view of one reply object (keys lowered once)."""

    def __init__(self, d: Mapping[str, Any]) -> None:
        self._d = {str(k).lower(): v for k, v in d.items()} if isinstance(d, Mapping) else {}

    def __call__(self, *names: str) -> Any:
        for name in names:
            value = self._d.get(name.lower())
            if value is not None and value != "":
                return value
        return None


def _get(d: Mapping[str, Any], *names: str) -> Any:
    return _Fields(d)(*names)


def _str(value: Any) -> str | None:
    return str(value) if value is not None else None


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in {"true", "1", "false", "0"}:
        return value.strip().lower() in {"true", "1"}
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_page(body: Any) -> Page:
    """``{"Pages": n, "Data": [...]}``; a bare list (older replies) is one whole page."""
    if isinstance(body, list):
        return Page([i for i in body if isinstance(i, dict)], 1)
    if not isinstance(body, Mapping):
        return Page()
    data = _get(body, "Data", "Items") or []
    items = [i for i in data if isinstance(i, dict)] if isinstance(data, list) else []
    return Page(items, _int(_get(body, "Pages", "PageCount")))


def parse_installation(d: Mapping[str, Any]) -> Installation | None:
    f = _Fields(d)
    ident = _str(f("Id"))
    if not ident:
        return None
    return Installation(
        id=ident,
        name=_str(f("Name")),
        time_zone=_str(f("TimeZoneIanaName", "IanaTimeZone", "TimeZoneIana")),
        active=_bool(f("Active")),
        charger_count=_int(f("ActiveChargerCount")),
    )


def _serial(f: _Fields) -> str | None:
    """DeviceId is the serial; SerialNo is deprecated and may say just "Zaptec" (zaptec.md)."""
    for name in ("DeviceId", "MID", "SerialNo"):
        value = _str(f(name))
        if value and value.lower() != "zaptec":
            return value
    return None


def parse_charger(d: Mapping[str, Any], installation_id: str | None = None) -> Charger | None:
    f = _Fields(d)
    ident = _str(f("Id"))
    if not ident:
        return None
    return Charger(
        id=ident,
        serial=_serial(f),
        name=_str(f("Name")),
        installation_id=_str(f("InstallationId")) or installation_id,
        circuit_id=_str(f("CircuitId")),
        active=_bool(f("Active")),
        is_online=_bool(f("IsOnline")),
        device_type=_int(f("DeviceType")),
    )


def parse_hierarchy(d: Any) -> Hierarchy | None:
    """``{Id, Name, Circuits: [{Id, Name, Chargers: [...]}]}`` (zaptec.md REST endpoints)."""
    if not isinstance(d, Mapping) or not _get(d, "Id"):
        return None
    site = str(_get(d, "Id"))
    circuits: list[Circuit] = []
    chargers: list[Charger] = []
    for raw in _get(d, "Circuits") or []:
        if not isinstance(raw, Mapping) or not _get(raw, "Id"):
            continue
        ident = str(_get(raw, "Id"))
        members = []
        for item in _get(raw, "Chargers") or []:
            charger = parse_charger(item, site) if isinstance(item, Mapping) else None
            if charger is not None:
                charger = replace(charger, circuit_id=charger.circuit_id or ident)
                chargers.append(charger)
                members.append(charger.id)
        circuits.append(Circuit(ident, _str(_get(raw, "Name")), tuple(members)))
    return Hierarchy(site, _str(_get(d, "Name")), tuple(circuits), tuple(chargers))
