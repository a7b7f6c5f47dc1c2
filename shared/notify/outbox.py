"""The delivery log: one record per idempotency key, an outcome line per attempt run,
and the outbox of pending notices (nothing is lost when a target is down).

A notice is written to the outbox in the same unit of work as the alert change that made
it, and leaves it only when its outcome is recorded, so a killed process either recorded
a delivery or will make it again with the same idempotency key. Records hold outcomes,
ticket references (issue keys, sys_ids, the ticket's web address), the steps of a
multi-step action already done, the vendor's (redacted, bounded) answer to a failure,
and, while a delivery has failed, its notice (so ``chargeops deliveries retry`` can send
it again with the same key); never a request or a credential.

The read API (``records``, ``tickets``, ``disabled``) is what the CLI shows
(``chargeops deliveries list``, ``chargeops alerts list``).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

from shared.storage.base import Store
from shared.storage.schema import (
    DELIVERIES_LOG,
    DELIVERY_KIND,
    PENDING_KIND,
    TARGET_STATE_KIND,
)

__all__ = ["DONE", "DeliveryLog"]

DONE = frozenset({"delivered", "skipped"})

# Stores whose targets this process has disabled or enabled (any ``DeliveryLog`` on them).
# Until then a ``Gate`` may keep what it read: in a replay the state has one writer (this
# process), and in Azure a deliverer lives for one message. After such a write it reads
# again on every send, as it always did, so a write rolled back is never remembered.
_TARGETS_WRITTEN: weakref.WeakSet[Store] = weakref.WeakSet()


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
        a run killed mid-request leaves the mark, and the next run looks before it creates
        (``claimed_at``, wall-clock seconds: how long a lagging search may still miss it)."""
        if not keys:
            return
        now = time.time()
        with self.store.transaction():
            for key in keys:
                record = self.get(key) or {"status": "sending"}
                self.store.put(DELIVERY_KIND, key, {**record, "inflight": True, "claimed_at": now})

    def record(
        self,
        key: str,
        outcome: dict[str, Any],
        *,
        retry_later: dict[str, Any] | None,
        notice: dict[str, Any] | None = None,
    ) -> None:
        """Store the outcome; ``retry_later`` (a serialised notice) keeps it pending. A
        failure keeps ``notice`` with the record, so it can be sent again on request."""
        previous = self.get(key) or {}
        attempts = int(previous.get("total_attempts", 0)) + int(outcome.get("attempts", 0))
        runs = int(previous.get("runs", 0)) + 1
        record = {**previous, **outcome, "total_attempts": attempts, "runs": runs}
        record["inflight"] = False
        if outcome.get("status") == "failed" and (notice or retry_later):
            record["notice"] = notice or retry_later
        else:
            record.pop("notice", None)
        with self.store.transaction():
            self.store.put(DELIVERY_KIND, key, record)
            self.store.append(DELIVERIES_LOG, [(f"{key}#{runs}", outcome)])
            if retry_later is not None:
                self.store.put(PENDING_KIND, key, retry_later)
            else:  # deleting what is not there is a no-op (a read first was one more)
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

    # -- the read API (the CLI) ------------------------------------------------------------

    def records(
        self, *, status: str | None = None, target: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every delivery record (its last outcome, totals, ref), with its key as
        ``idempotency_key``; filtered by last ``status`` and ``target`` when given. The
        kept notice is left out: it is for ``requeue``."""
        for key, entry in self.store.scan(DELIVERY_KIND):
            record = entry.value
            if status is not None and record.get("status") != status:
                continue
            if target is not None and record.get("target") != target:
                continue
            shown = {k: v for k, v in record.items() if k != "notice"}
            alert = ((record.get("notice") or {}).get("context") or {}).get("alert") or {}
            if alert.get("title") and not shown.get("title"):
                shown["title"] = alert["title"]  # names, for people
            shown["idempotency_key"] = key
            shown["pending"] = self.is_pending(key)
            yield shown

    def tickets(self) -> dict[str, list[dict[str, Any]]]:
        """What each condition's opens left at the targets, by condition key
        (``offline|<charger>``): ``[{"target", "kind", "ref", "url"}]``, ``url`` the
        ticket's web page when the target has one (Jira, ServiceNow, Zendesk)."""
        found: dict[str, list[dict[str, Any]]] = {}
        for _, entry in self.store.scan(DELIVERY_KIND):
            record = entry.value
            ref, condition = record.get("ref"), record.get("condition")
            if record.get("action") != "open" or not ref or not condition:
                continue
            found.setdefault(str(condition), []).append(
                {
                    "target": record.get("target"),
                    "kind": record.get("kind"),
                    "ref": ref,
                    "url": ref.get("url"),
                }
            )
        return found

    def steps(self, key: str) -> list[str]:
        """Steps of a multi-step action already done (a Jira transition, a note)."""
        record = self.get(key)
        return list(record.get("steps") or []) if record else []

    def requeue(self, key: str) -> bool:
        """Put a failed delivery's notice back in the outbox, to be sent again with the
        same idempotency key (``chargeops deliveries retry``). False when it has no
        notice kept (delivered, skipped, or recorded before notices were kept)."""
        record = self.get(key)
        if record is None or record.get("status") != "failed" or not record.get("notice"):
            return False
        if self.store.get(PENDING_KIND, key) is None:
            self.store.put(PENDING_KIND, key, record["notice"])
        return True

    # -- targets switched off by their receiver --------------------------------------------

    def disable(self, target: str, reason: str, at: str) -> None:
        """A receiver said it wants no more (Standard Webhooks: 410 Gone): its notices
        wait in the outbox until an operator re-enables it (``deliveries retry``)."""
        _TARGETS_WRITTEN.add(self.store)
        self.store.put(TARGET_STATE_KIND, target, {"disabled": True, "reason": reason, "at": at})

    def enable(self, target: str) -> bool:
        """Re-enable a disabled target; True when it was disabled."""
        if self.store.get(TARGET_STATE_KIND, target) is None:
            return False
        _TARGETS_WRITTEN.add(self.store)
        self.store.delete(TARGET_STATE_KIND, target)
        return True

    @property
    def targets_written(self) -> bool:
        """This process has disabled or enabled a target in this store (``Gate``)."""
        return self.store in _TARGETS_WRITTEN

    def disabled(self) -> dict[str, dict[str, Any]]:
        """Disabled targets: name -> ``{"reason", "at"}``."""
        return {
            key: {"reason": entry.value.get("reason"), "at": entry.value.get("at")}
            for key, entry in self.store.scan(TARGET_STATE_KIND)
            if entry.value.get("disabled")
        }
