"""The ``charger`` records: each charger's state-machine state, as ingest last committed
it (with the outbox of events a writer committed but may not have appended to the event
log yet). The only code that reads or writes them; ingest's unit of work
(``shared.app.ingest_unit``) and the watchdog ask here."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from shared.charger.model import from_record
from shared.storage.base import ANY, Entry, Store
from shared.storage.schema import CHARGER_KIND

__all__ = ["ChargerStates"]

Record = dict[str, Any]


class ChargerStates:
    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, charger_id: str) -> Entry | None:
        """The stored record and its version (None: a charger never seen)."""
        return self.store.get(CHARGER_KIND, charger_id)

    def all(self) -> Iterator[tuple[str, Entry]]:
        return self.store.scan(CHARGER_KIND)

    def put(self, charger_id: str, record: Record, *, expect: object = ANY) -> str:
        """Write one state; ``expect`` a version for compare-and-swap (None: insert only)."""
        return self.store.put(CHARGER_KIND, charger_id, record, expect=expect)

    def get_many(self, charger_ids: list[str]) -> dict[str, Entry]:
        """Several stored records with their versions (absent ones left out)."""
        return self.store.get_many(CHARGER_KIND, charger_ids)

    def put_versioned(self, records: Mapping[str, tuple[Record, object]]) -> dict[str, str]:
        """Compare-and-swap several states at once (``(record, expected version)`` each);
        their new versions. ``Conflict`` when any changed meanwhile."""
        return self.store.put_versioned(CHARGER_KIND, records)

    def put_many(self, records: Mapping[str, Record]) -> None:
        """Upsert several states (a replay: this process is the only writer)."""
        self.store.put_many(CHARGER_KIND, records)

    def sessions_due(self, now: datetime) -> list[str]:
        """Chargers with an ended session whose wait for CompletedSession is over."""
        return [
            key
            for key, entry in self.all()
            if any(e.due <= now for e in from_record(entry.value).ended)
        ]
