"""The fleet-wide ``/state`` guard: one record per charger (kind ``zaptec_state``) holding
the last answer and when an instance last claimed a fetch of it.

Zaptec asks for at most one ``/api/chargers/{id}/state`` call per charger per
``limits.state_cache``; the claim is a compare-and-swap on this record, so scaled-out
instances share the guard. The only code that reads or writes these records
(``ZaptecClient.state`` asks here).
"""

from __future__ import annotations

from typing import Any

from shared.storage.base import AlreadyExists, Conflict, Store
from shared.storage.schema import ZAPTEC_STATE_KIND

__all__ = ["StateCache"]

Record = dict[str, Any]


class StateCache:
    def __init__(self, store: Store) -> None:
        self._store = store

    def claim(self, charger_id: str, now: float, ttl: float) -> Record | None:
        """Claim the next fetch of a charger's ``/state``: None when it is ours to make,
        else the stored answer to serve instead (claimed less than ``ttl`` seconds ago, or
        another instance claimed it first; ``{}`` when it holds no answer yet)."""
        entry = self._store.get(ZAPTEC_STATE_KIND, charger_id)
        old = entry.value if entry else {}
        if entry and now - float(old.get("claimed_at", 0)) < ttl:
            return old
        claim = {**old, "claimed_at": now}
        try:
            self._store.put(
                ZAPTEC_STATE_KIND, charger_id, claim, expect=entry.version if entry else None
            )
        except (Conflict, AlreadyExists):  # another instance is fetching it right now
            latest = self._store.get(ZAPTEC_STATE_KIND, charger_id)
            return latest.value if latest else {}
        return None

    def put(self, charger_id: str, record: Record) -> None:
        """The answer just fetched (``claimed_at``, ``fetched_at``, ``observations``)."""
        self._store.put(ZAPTEC_STATE_KIND, charger_id, record)
