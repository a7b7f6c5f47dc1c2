"""``meta`` records: one named value each (see ``schema.Meta`` for the names and their
owners). Small, read by ``health``, written by the code that owns each name."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.storage.base import AlreadyExists, Conflict, Store
from shared.storage.schema import META_KIND
from shared.timestamps import format_utc, parse_utc

__all__ = ["MetaRecords"]


class MetaRecords:
    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, name: str) -> dict[str, Any] | None:
        entry = self.store.get(META_KIND, name)
        return entry.value if entry else None

    def put(self, name: str, value: dict[str, Any]) -> None:
        self.store.put(META_KIND, name, value)

    def time(self, name: str) -> datetime | None:
        """The ``at`` time a record holds (None when absent)."""
        value = self.get(name)
        return parse_utc(value["at"]) if value else None

    def advance_time(self, name: str, at: datetime, *, tries: int = 5) -> None:
        """Keep the newest ``at`` across writers: compare-and-swap, never moved back."""
        for _ in range(tries):
            entry = self.store.get(META_KIND, name)
            if entry is not None and parse_utc(entry.value["at"]) >= at:
                return
            try:
                expect = entry.version if entry else None
                self.store.put(META_KIND, name, {"at": format_utc(at)}, expect=expect)
                return
            except (AlreadyExists, Conflict):
                continue
