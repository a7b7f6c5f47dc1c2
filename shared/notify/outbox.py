"""The delivery log: one record per idempotency key, an outcome line per attempt run,
and the outbox of pending notices (nothing is lost when a target is down).

A notice is written to the outbox in the same unit of work as the alert change that made
it, and leaves it only when its outcome is recorded, so a killed process either recorded
a delivery or will make it again with the same idempotency key. Records hold outcomes
and ticket references (issue keys, sys_ids), never a request, a URL or a credential.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

from shared.storage.base import Store
from shared.storage.schema import DELIVERIES_LOG, DELIVERY_KIND, PENDING_KIND

__all__ = ["DONE", "DeliveryLog"]

DONE = frozenset({"delivered", "skipped"})


class DeliveryLog:
    """The only code that reads or writes ``delivery`` and ``pending`` records and the
    ``deliveries`` log."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def transaction(self) -> AbstractContextManager[None]:
        """One unit of work for a batch of outcomes (and whatever else the caller writes
        to the same store meanwhile): all or nothing where the backend can."""
        return self.store.transaction()

    def get(self, key: str) -> dict[str, Any] | None:
        entry = self.store.get(DELIVERY_KIND, key)
        return entry.value if entry else None

    def done(self, key: str) -> bool:
        record = self.get(key)
        return record is not None and record["status"] in DONE

    def failed(self, key: str) -> bool:
        """Its last outcome was a failure (it is pending, already reported)."""
        record = self.get(key)
        return record is not None and record.get("status") == "failed"

    def maybe_sent(self, key: str) -> bool:
        """True when an earlier run may have reached the target with this key."""
        record = self.get(key)
        return record is not None and (bool(record.get("inflight")) or record.get("runs", 0) > 0)

    def begin(self, keys: list[str]) -> None:
        """Mark non-idempotent sends as in flight before they leave (Powertools INPROGRESS):
        a run killed mid-request leaves the mark, and the next run looks before it creates."""
        if not keys:
            return
        with self.store.transaction():
            for key in keys:
                self.store.put(
                    DELIVERY_KIND,
                    key,
                    {**(self.get(key) or {"status": "sending"}), "inflight": True},
                )

    def record(
        self, key: str, outcome: dict[str, Any], *, retry_later: dict[str, Any] | None
    ) -> None:
        """Store the outcome; ``retry_later`` (a serialised notice) keeps it pending."""
        previous = self.get(key) or {}
        attempts = int(previous.get("total_attempts", 0)) + int(outcome.get("attempts", 0))
        runs = int(previous.get("runs", 0)) + 1
        record = {**previous, **outcome, "total_attempts": attempts, "runs": runs}
        record["inflight"] = False
        with self.store.transaction():
            self.store.put(DELIVERY_KIND, key, record)
            self.store.append(DELIVERIES_LOG, [(f"{key}#{runs}", outcome)])
            if retry_later is not None:
                self.store.put(PENDING_KIND, key, retry_later)
            elif self.store.get(PENDING_KIND, key) is not None:
                self.store.delete(PENDING_KIND, key)

    def enqueue(self, key: str, notice: dict[str, Any]) -> bool:
        """Put a notice in the outbox unless it is already done or waiting."""
        if self.done(key) or self.store.get(PENDING_KIND, key) is not None:
            return False
        self.store.put(PENDING_KIND, key, notice)
        return True

    def pending(self) -> list[tuple[str, dict[str, Any]]]:
        return list(self.iter_pending())

    def iter_pending(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """The outbox, one notice at a time (it can be large while a target is down)."""
        for key, entry in self.store.scan(PENDING_KIND):
            yield key, entry.value

    def count_pending(self) -> int:
        return sum(1 for _ in self.store.scan(PENDING_KIND))

    def is_pending(self, key: str) -> bool:
        return self.store.get(PENDING_KIND, key) is not None

    def ref(self, key: str) -> dict[str, Any] | None:
        record = self.get(key)
        return record.get("ref") if record else None
