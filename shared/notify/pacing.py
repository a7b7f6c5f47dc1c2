"""Pacing: at most a target's ``rate_limit`` requests in any minute, however many chains
send to it at once.

Vendors throttle per credential (PagerDuty: about 120 events a minute per routing key;
Slack: about one message a second). Going over costs 429s, backoff and, at worst,
notices left pending; waiting our turn costs only the wait. Each request reserves the
earliest slot that keeps the last ``limit`` requests within a minute, then sleeps until
it (a sliding window, reserved under a lock so concurrent chains share it fairly). Slots
are reserved on the clock, not measured after sleeping, so a test's recorded sleeps
pace exactly as real ones would.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["WINDOW", "Pacer"]

WINDOW = 60.0  # seconds: rate limits are per minute


@dataclass
class Pacer:
    """Sliding-window pacing per key (a target name)."""

    clock: Callable[[], float] = time.monotonic
    _slots: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reserve(self, key: str, limit: int | None) -> float:
        """Reserve the next slot for ``key``; returns how long to wait before sending."""
        if limit is None:
            return 0.0
        with self._lock:
            now = self.clock()
            slots = self._slots.setdefault(key, deque())
            at = now
            if len(slots) >= limit:
                at = max(now, slots[0] + WINDOW)
                while len(slots) >= limit:
                    slots.popleft()
            slots.append(at)
            return at - now

    def wait(self, key: str, limit: int | None, sleep: Callable[[float], None]) -> float:
        """Reserve and sleep; returns the time slept (for tests and logs)."""
        delay = self.reserve(key, limit)
        if delay > 0:
            sleep(delay)
        return delay
