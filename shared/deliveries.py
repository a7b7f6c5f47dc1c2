"""The delivery log: one record per idempotency key, an outcome line per attempt run,
and a pending list for what must be retried later (nothing is lost when a target is down).

Record and outcome are written in one unit of work, so a killed process either recorded a
delivery or will make it again with the same idempotency key.
"""

from __future__ import annotations

from typing import Any

from shared.stores.base import Store

__all__ = ["DELIVERIES_LOG", "DeliveryLog"]

DELIVERIES_LOG = "deliveries"
_RECORD, _PENDING = "delivery", "pending"
DONE = frozenset({"delivered", "skipped"})


class DeliveryLog:
    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, key: str) -> dict[str, Any] | None:
        entry = self.store.get(_RECORD, key)
        return entry.value if entry else None

    def done(self, key: str) -> bool:
        record = self.get(key)
        return record is not None and record["status"] in DONE

    def record(
        self, key: str, outcome: dict[str, Any], *, retry_later: dict[str, Any] | None
    ) -> None:
        """Store the outcome; ``retry_later`` (a serialised notice) keeps it pending."""
        previous = self.get(key) or {}
        attempts = int(previous.get("attempts", 0)) + int(outcome.get("attempts", 0))
        runs = int(previous.get("runs", 0)) + 1
        record = {**previous, **outcome, "total_attempts": attempts, "runs": runs}
        with self.store.transaction():
            self.store.put(_RECORD, key, record)
            self.store.append(DELIVERIES_LOG, [(f"{key}#{runs}", outcome)])
            if retry_later is not None:
                self.store.put(_PENDING, key, retry_later)
            elif previous.get("status") not in DONE and self.store.get(_PENDING, key):
                self.store.delete(_PENDING, key)

    def pending(self) -> list[tuple[str, dict[str, Any]]]:
        return [(key, entry.value) for key, entry in self.store.scan(_PENDING)]

    def ref(self, key: str) -> dict[str, Any] | None:
        record = self.get(key)
        return record.get("ref") if record else None
