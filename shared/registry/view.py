"""Read side of the charger registry: what ingest needs to enrich events (site, serial).

The registry job (``shared.registry``) writes one record per charger
(``shared.registry.repo``); this view reads them lazily and caches per process, so
enrichment costs one lookup per charger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.registry.repo import RegistryRecords

if TYPE_CHECKING:
    from shared.storage.base import Store

__all__ = ["ChargerInfo", "RegistryView"]


@dataclass(frozen=True, slots=True)
class ChargerInfo:
    charger_id: str
    serial: str | None
    name: str | None
    site_id: str | None
    site_name: str | None
    time_zone: str | None

    @classmethod
    def from_record(cls, d: dict[str, Any]) -> ChargerInfo:
        return cls(
            charger_id=d["charger_id"],
            serial=d.get("serial"),
            name=d.get("name"),
            site_id=d.get("site_id"),
            site_name=d.get("site_name"),
            time_zone=d.get("time_zone"),
        )


class RegistryView:
    """Cached lookups of registry records; ``invalidate`` one the process added."""

    def __init__(self, store: Store) -> None:
        self._records = RegistryRecords(store)
        self._cache: dict[str, ChargerInfo | None] = {}

    def lookup(self, charger_id: str) -> ChargerInfo | None:
        if charger_id not in self._cache:
            record = self._records.charger(charger_id)
            info = ChargerInfo.from_record(record) if record is not None else None
            self._cache[charger_id] = info
        return self._cache[charger_id]

    def invalidate(self, charger_id: str) -> None:
        """Drop one cached entry (e.g. after an unknown-charger lookup added it)."""
        self._cache.pop(charger_id, None)
