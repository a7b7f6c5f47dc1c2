"""The outage ledger in the store: one record per outage (kind ``outage``) and an
append-only trail of the events that made them (log ``outages``, deduplicated by event id).

Fed as a ``Consumer`` (``shared.app.compose``) from the tickets subscription, and caught up
from the event log on demand (``shared.events.log``, cursor ``uptime``, which replay's local
subscription of that name shares), so a report works on any existing state, even one made
before the ledger existed. Both paths may see the same event: the record is merged first
(commutative, compare-and-swap), the trail entry second, so a crash between the two, or a
second writer, changes nothing. ``OutageLedger`` is the only code that reads or writes
``outage`` records and the ``outages`` log.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from shared.consumers.uptime import outages
from shared.consumers.uptime.outages import Outage
from shared.events.log import EventLog
from shared.storage.base import AlreadyExists, Conflict, Store
from shared.storage.schema import OUTAGE_KIND, OUTAGES_LOG, Cursor

__all__ = ["OutageLedger", "OutageRecorder", "for_uptime"]

_TYPES = frozenset(
    {"charger.offline", "charger.online", "charger.fault.raised", "charger.fault.cleared"}
)
_CAS_TRIES = 20


def for_uptime(event_type: str) -> bool:
    """The events the ledger reads (a subset of the tickets subscription's filter)."""
    return event_type in _TYPES


class OutageLedger:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.events = EventLog(store)

    def record(self, event: dict[str, Any]) -> bool:
        """Fold one event in; True when it was new to the ledger."""
        if not for_uptime(str(event.get("type"))):
            return False
        outage = outages.from_event(event)
        event_id = str(event.get("id"))
        if outage is None or self.store.seq_of(OUTAGES_LOG, event_id) is not None:
            return False
        with self.store.transaction():
            self._merge(outage)
            entry = {
                "event_id": event_id,
                "action": "close" if outage.end else "open",
                "key": outage.key,
                **outages.to_record(outage),
            }
            return bool(self.store.append(OUTAGES_LOG, [(event_id, entry)]))

    def _merge(self, outage: Outage) -> None:
        for _ in range(_CAS_TRIES):
            entry = self.store.get(OUTAGE_KIND, outage.key)
            old = outages.from_record(entry.value) if entry else None
            new = outages.merge(old, outage)
            if new == old:
                return
            try:
                expect = entry.version if entry else None
                self.store.put(OUTAGE_KIND, outage.key, outages.to_record(new), expect=expect)
            except (Conflict, AlreadyExists):
                continue
            return
        raise Conflict(f"{OUTAGE_KIND}/{outage.key}: kept changing under us")

    def catch_up(self, page: int = 1000) -> int:
        """Fold every event the ledger has not read from the event log; returns how many
        were new. Each page and the cursor after it form one unit of work."""
        after = self.events.cursor(Cursor.UPTIME)
        added = 0
        while True:
            rows = self.events.read(after, page)
            if not rows:
                return added
            with self.store.transaction():
                for _, event in rows:
                    added += self.record(event)
                after = rows[-1][0]
                self.events.set_cursor(Cursor.UPTIME, after)

    def outages(self) -> Iterator[Outage]:
        """Every outage in the ledger, by charger then start."""
        for _, entry in self.store.scan(OUTAGE_KIND):
            yield outages.from_record(entry.value)


class OutageRecorder:
    """``Consumer`` for charger events: keeps the outage ledger current."""

    def __init__(self, ledger: OutageLedger) -> None:
        self.ledger = ledger

    def handle(self, event: dict[str, Any]) -> None:
        self.ledger.record(event)

    def tick(self, now: datetime) -> None:
        """Nothing time-driven: an open outage is open until its closing event."""
