"""Parking: Zaptec messages ingest cannot process yet (the configuration is unusable),
kept in the store rather than sent back to Zaptec, whose dead-letter queue is not ours.
The watchdog feeds them through ingest once the configuration loads. The only code that
touches the ``parked`` log and its cursor.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from shared.inbound.envelope import Envelope, Inbound
from shared.storage.base import Store
from shared.storage.schema import CURSOR_KIND, PARKED_LOG, Cursor

if TYPE_CHECKING:
    from shared.app.compose import App

__all__ = ["park", "parked", "parked_backlog", "taken"]

log = logging.getLogger("chargeops.ingest")


def park(app: App, batch: Sequence[Inbound], reason: str) -> None:
    """Keep messages we cannot process now; the watchdog feeds them in once we can."""
    rows = []
    for message in batch:
        if not isinstance(message, Envelope):
            raise TypeError("only Service Bus messages are parked")  # replay stops instead
        rows.append((message.dedup, {**message.as_json(), "reason": reason[:300]}))
    app.store.append(PARKED_LOG, rows)
    app.counters.messages(len(batch), "ingest", "parked")
    log.error("ingest parked %d messages: %s", len(batch), reason)


def parked_backlog(store: Store) -> int:
    """Parked messages not yet fed back in (``health`` reports them)."""
    entry = store.get(CURSOR_KIND, Cursor.PARKED)
    return store.head(PARKED_LOG) - (int(entry.value["seq"]) if entry else 0)


def parked(store: Store, page: int = 500) -> Iterator[tuple[int, list[Envelope]]]:
    """Parked messages not yet fed back in, a page at a time, each with the sequence
    number to pass to ``taken`` once the page is committed."""
    entry = store.get(CURSOR_KIND, Cursor.PARKED)
    after = int(entry.value["seq"]) if entry else 0
    while rows := store.read(PARKED_LOG, after, page):
        after = rows[-1][0]
        yield after, [Envelope.from_json(value) for _, value in rows]


def taken(store: Store, seq: int) -> None:
    """Parked messages up to ``seq`` went in: move the cursor past them."""
    store.put(CURSOR_KIND, Cursor.PARKED, {"seq": seq})
