"""Our topic ``charger-events``, as a use case sees it: where committed events go.

Events are committed to the event log first (the outbox) and published after, so a
Service Bus outage never loses an event and never sends Zaptec's message back: the
publisher cursor says what has been sent, and the next invocation or the watchdog sends
the rest. Re-sending is harmless: the message id is the event id, so the topic's
duplicate detection drops repeats, and consumers are idempotent. ``publish`` never
raises for a send failure; it reports it. In a replay the event log itself is the topic
(local subscriptions read it with cursors), so there is nothing to send.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from shared.adapters.servicebus import MessageSender, encoded, to_message
from shared.events.catalogue import on_topic
from shared.events.log import EventLog
from shared.storage.schema import Cursor

__all__ = ["LocalTopic", "Published", "ServiceBusTopic", "Topic", "publish_pending"]

log = logging.getLogger("chargeops.topic")

_MAX_BATCH = 100
_MAX_BATCH_BYTES = 200_000  # under the Standard tier's 256 KB per batch, with headroom

Row = tuple[int, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Published:
    sent: int
    cursor: int
    head: int
    error: str | None = None

    @property
    def backlog(self) -> int:
        return self.head - self.cursor


class Topic(Protocol):
    def publish(self, *, new_events: bool = True) -> Published: ...


class LocalTopic:
    """Replay: the event log is the topic; subscriptions are cursors over it."""

    def publish(self, *, new_events: bool = True) -> Published:
        return Published(0, 0, 0)


class ServiceBusTopic:
    """Azure: our topic on Service Bus, its sender opened on first publish."""

    def __init__(self, events: EventLog, sender_factory: Callable[[], MessageSender]) -> None:
        self.events = events
        self._factory = sender_factory
        self._sender: MessageSender | None = None
        self._lock = threading.Lock()
        self._clear = False  # this worker's last publish left nothing behind

    def sender(self) -> MessageSender:
        """Opened once; sends are serialised (the SDK's sender is not thread-safe and the
        worker runs invocations on a thread pool)."""
        with self._lock:
            if self._sender is None:
                self._sender = _Serialised(self._factory())
            return self._sender

    def publish(self, *, new_events: bool = True) -> Published:
        """Send what waits. ``new_events=False`` (a batch that committed none) after a
        publish that left nothing behind costs no storage request: most batches are
        telemetry only, and two reads per batch were a fifth of ingest's requests.
        Another instance's leftovers are its own next publish's, or the watchdog's."""
        if not new_events and self._clear:
            return Published(0, 0, 0)
        self._clear = False
        try:
            sender = self.sender()
        except Exception as exc:  # settings, identity, network: the events wait
            log.warning("our topic is unreachable (%s); events wait in the store", exc)
            cursor = self.events.cursor(Cursor.PUBLISHER)
            return Published(0, cursor, self.events.head(), type(exc).__name__)
        result = publish_pending(self.events, sender)
        self._clear = result.error is None and result.backlog == 0
        return result


def publish_pending(events: EventLog, sender: MessageSender, *, limit: int = 5000) -> Published:
    """Send every committed event after the cursor that belongs on our topic, in log order,
    moving the cursor after each batch; events kept in the log only (finance records, see
    ``shared.events.catalogue``) are passed over. Never raises for a send failure: it is
    reported, and the rest waits."""
    cursor, version = events.cursor_entry(Cursor.PUBLISHER)
    sent = 0
    while sent < limit:
        page = min(1000, limit - sent)
        rows = events.read(cursor, page)
        if not rows:
            return Published(sent, cursor, cursor)
        for batch in _batches([row for row in rows if on_topic(str(row[1]["type"]))]):
            try:
                sender.send_messages([to_message(event) for _, event in batch])
            except Exception as exc:  # network, auth, throttling: try again next time
                log.warning("publishing to our topic failed, %d events wait: %s", len(batch), exc)
                return Published(sent, cursor, events.head(), f"{type(exc).__name__}")
            cursor, version = events.forward_cursor(Cursor.PUBLISHER, batch[-1][0], version)
            sent += len(batch)
        if rows[-1][0] > cursor:  # log-only ones too
            cursor, version = events.forward_cursor(Cursor.PUBLISHER, rows[-1][0], version)
        if len(rows) < page:  # the log's end: nothing more to read (one request saved)
            return Published(sent, cursor, max(cursor, rows[-1][0]))
    return Published(sent, cursor, events.head())


def _batches(rows: Sequence[Row]) -> Iterator[list[Row]]:
    batch: list[Row] = []
    size = 0
    for row in rows:
        cost = len(encoded(row[1])) + 300  # body plus headers and properties
        if batch and (len(batch) >= _MAX_BATCH or size + cost > _MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(row)
        size += cost
    if batch:
        yield batch


class _Serialised:
    def __init__(self, inner: MessageSender) -> None:
        self._inner = inner
        self._lock = threading.Lock()

    def send_messages(self, message: Any, **kwargs: Any) -> None:
        with self._lock:
            self._inner.send_messages(message, **kwargs)
