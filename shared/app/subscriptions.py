"""The local stand-in for our topic's subscriptions (a replay's).

In Azure each subscription (``tickets``, ``finance``; their filters are in
``shared.events.catalogue``) is a Service Bus subscription on the topic ``charger-events``.
Locally the event log is the topic and each subscription is a named cursor over it;
handlers are idempotent, so a cursor saved per page is enough.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.events.log import EventLog
from shared.storage.base import Store

__all__ = ["Subscription"]

Handler = Callable[[dict[str, Any]], None]


class Subscription:
    """A named cursor over the event log delivering matching events in order."""

    def __init__(self, store: Store, name: str, accepts: Callable[[str], bool]) -> None:
        self.log, self.name, self.accepts = EventLog(store), name, accepts

    @property
    def cursor(self) -> int:
        return self.log.cursor(self.name)

    def drain(self, handle: Handler, batch: int = 500) -> int:
        """Hand every new matching event to ``handle``; returns how many were handled."""
        handled, after = 0, self.cursor
        while page := self.log.read(after, batch):
            with self.log.store.batch():  # one commit per page, the cursor with it
                for _, event in page:
                    if self.accepts(event["type"]):
                        handle(event)
                        handled += 1
                after = page[-1][0]
                self.log.set_cursor(self.name, after)
        return handled
