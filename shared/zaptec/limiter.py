"""The shared budget limiter: ``shared.zaptec.budget`` state kept in the store under CAS.

One record (kind ``budget``, key per Zaptec user and API base) holds every window, the
token bucket, 429 blocks and running totals. ``acquire`` reads it, waits if the budget
says so, and records the request with compare-and-swap; a lost race re-reads and decides
again. The store contract is all it needs, so SQLite (locally) and Table Storage with
ETags (Azure) share one budget across processes and scaled-out instances alike.
``BudgetRecords`` is the only code that reads or writes those records (``health`` and
``chargeops registry status`` list them through it).
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Iterator
from typing import Any, Protocol

from shared.storage.base import AlreadyExists, Conflict, Store
from shared.storage.schema import BUDGET_KIND
from shared.zaptec import budget
from shared.zaptec.budget import Kind, Policy
from shared.zaptec.errors import BudgetExhausted

__all__ = ["BudgetRecords", "Clock", "Limiter", "SystemClock", "budget_key"]

log = logging.getLogger("chargeops.zaptec.budget")


class Clock(Protocol):
    """Wall clock in epoch seconds; benches and the simulator substitute a virtual one."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def budget_key(api_base: str, username: str) -> str:
    """Budgets are per Zaptec user (JWT ``sub``); the key names neither in clear."""
    digest = hashlib.sha256(f"{api_base}|{username}".encode()).hexdigest()[:16]
    return f"zaptec-{digest}"


class BudgetRecords:
    """The budget state records (one per ``budget_key``), read and swapped whole."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def load(self, key: str) -> tuple[budget.State, str | None]:
        """The state and its version (``({}, None)`` before the first request)."""
        entry = self._store.get(BUDGET_KIND, key)
        return (entry.value, entry.version) if entry else ({}, None)

    def swap(self, key: str, state: budget.State, version: str | None) -> bool:
        """Compare-and-swap over ``version`` (None: insert only); False when another
        process wrote first, so the caller re-reads and decides again."""
        try:
            self._store.put(BUDGET_KIND, key, state, expect=version)
        except (Conflict, AlreadyExists):
            return False
        return True

    def all(self) -> Iterator[tuple[str, budget.State]]:
        """Every budget's key and state, in key order."""
        for key, entry in self._store.scan(BUDGET_KIND):
            yield key, entry.value


class Limiter:
    """Decides and records every Zaptec request against the one shared budget."""

    def __init__(
        self,
        store: Store,
        key: str,
        policy: Policy,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.budgets, self.key, self.policy = BudgetRecords(store), key, policy
        self.clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.spent: dict[str, int] = {}  # this process's own use, by class
        self.throttled = 0
        self.waited = 0.0

    def acquire(self, kind: Kind, *, background: bool, deadline: float | None) -> None:
        """Return when one request of ``kind`` may go; BudgetExhausted past ``deadline``."""
        waited = 0.0
        while True:
            state, version = self.budgets.load(self.key)
            now = self.clock.now()
            wait, why = budget.wait_for(state, kind, self.policy, now, background)
            if wait <= 0:
                new = budget.grant(state, kind, self.policy, now, waited)
                if not self.budgets.swap(self.key, new, version):
                    continue  # another process spent budget first: decide again
                for cls in kind.classes:
                    self.spent[cls] = self.spent.get(cls, 0) + 1
                self.waited += waited
                return
            if deadline is not None and now + wait > deadline:
                raise BudgetExhausted(why, now + wait)
            if wait >= 5:
                log.info("zaptec budget: waiting %.1fs for %s", wait, why)
            self.clock.sleep(wait)
            waited += wait

    def throttled_by(self, kind: Kind, retry_after: float | None) -> float:
        """Record a 429: block its class for every instance; returns the pause."""
        self.throttled += 1
        while True:
            state, version = self.budgets.load(self.key)
            now = self.clock.now()
            new, pause = budget.block(state, kind, self.policy, now, retry_after, self.rng.random())
            if not self.budgets.swap(self.key, new, version):
                continue
            log.warning(
                "zaptec 429 on %s: Retry-After %s, holding %s for %.1fs",
                kind.blocks,
                "none" if retry_after is None else f"{retry_after:g}s",
                kind.blocks,
                pause,
            )
            return pause

    def recovered(self, kind: Kind) -> None:
        """A success: reset the backoff if 429s had raised it (one write, only then)."""
        state, version = self.budgets.load(self.key)
        if version is None:
            return
        new = budget.recover(state, kind)
        if new is None:
            return
        # lost to another writer: nothing to do, the next success resets it
        self.budgets.swap(self.key, new, version)

    def snapshot(self) -> dict[str, Any]:
        """Windows in use now and running totals (shared), plus this process's use."""
        state, _ = self.budgets.load(self.key)
        shared = budget.usage(state, self.policy, self.clock.now())
        return {
            **shared,
            "this_process": {
                "requests": dict(self.spent),
                "throttled": self.throttled,
                "waited_seconds": round(self.waited, 3),
            },
        }
