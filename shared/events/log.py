"""The event log: every canonical event once, in commit order, and the named cursors of
those who read it (our topic's publisher, replay's local subscriptions).

It is the outbox behind our topic: ingest, the registry job and the finance ledger commit
events here first; the publisher (Azure) or the local subscriptions (replay) read on from
their cursor. The log ignores an event id it already holds, which is why a replayed or
redelivered input adds nothing. The only code that reads or writes ``events`` and
``cursor`` records.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from shared.storage.base import AlreadyExists, Conflict, Store
from shared.storage.schema import CURSOR_KIND, EVENTS_LOG

__all__ = ["EventLog"]

Event = dict[str, Any]


class EventLog:
    def __init__(self, store: Store) -> None:
        self.store = store

    def append(self, events: Iterable[Event]) -> list[tuple[int, Event]]:
        """Add events (keyed by their id); returns only those not already held, with seq."""
        return self.store.append(EVENTS_LOG, [(e["id"], e) for e in events])

    def read(self, after: int = 0, limit: int = 1000) -> list[tuple[int, Event]]:
        return self.store.read(EVENTS_LOG, after, limit)

    def since(self, after: int = 0, page: int = 1000) -> Iterator[tuple[int, Event]]:
        """Every event after ``after``, paged."""
        while rows := self.read(after, page):
            yield from rows
            after = rows[-1][0]

    def head(self) -> int:
        return self.store.head(EVENTS_LOG)

    def seq_of(self, event_id: str) -> int | None:
        return self.store.seq_of(EVENTS_LOG, event_id)

    # -- cursors ---------------------------------------------------------------------------

    def cursor(self, name: str) -> int:
        """How far reader ``name`` has gone (0: nothing read)."""
        entry = self.store.get(CURSOR_KIND, name)
        return int(entry.value["seq"]) if entry else 0

    def set_cursor(self, name: str, seq: int) -> None:
        """Move a single reader's cursor (replay's subscriptions: one writer)."""
        self.store.put(CURSOR_KIND, name, {"seq": seq})

    def cursor_entry(self, name: str) -> tuple[int, str | None]:
        """Where reader ``name`` stands and the record's version (None: no record yet),
        for ``forward_cursor``."""
        entry = self.store.get(CURSOR_KIND, name)
        return (int(entry.value["seq"]), entry.version) if entry else (0, None)

    def forward_cursor(self, name: str, seq: int, version: str | None) -> tuple[int, str | None]:
        """``advance_cursor`` from a known version: one write instead of a read and a
        write (the publisher moves it after every batch it sends). When another
        instance moved it meanwhile, falls back to reading it; returns where it stands
        and its version."""
        try:
            return seq, self.store.put(CURSOR_KIND, name, {"seq": seq}, expect=version)
        except (Conflict, AlreadyExists):
            self.advance_cursor(name, seq)
            return self.cursor_entry(name)

    def advance_cursor(self, name: str, seq: int) -> int:
        """Move a shared cursor forward to ``seq`` unless another instance already went
        further (compare-and-swap); returns where it stands."""
        while True:
            entry = self.store.get(CURSOR_KIND, name)
            if entry is not None and int(entry.value["seq"]) >= seq:
                return int(entry.value["seq"])
            try:
                self.store.put(
                    CURSOR_KIND, name, {"seq": seq}, expect=entry.version if entry else None
                )
            except (Conflict, AlreadyExists):
                continue
            return seq
