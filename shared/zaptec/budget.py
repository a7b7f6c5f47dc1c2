"""The Zaptec API budget as pure functions over one JSON-able state. No I/O.

Every request belongs to limit classes (``classify``): ``rate`` (the 10 req/s token bucket,
kept as GCRA), ``api`` (1000/min), ``lists`` (the chargers/installation lists: 30/min and
150/30 min), ``lookups`` (our own cap on unknown-serial lookups) and ``token``. Windowed
classes keep a log of ``[slot, count]`` pairs; a slot counts until ``slot + granularity +
window + margin``, so the log never undercounts what Zaptec sees in any window of its own.
A 429 blocks its class until Retry-After (at least) plus jittered exponential backoff.

``shared.zaptec.limiter`` keeps this state in the store and applies it with
compare-and-swap, so every process and instance spends one budget.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.zaptec.config import Limits

__all__ = [
    "API",
    "LISTS",
    "LOOKUPS",
    "RATE",
    "TOKEN",
    "Kind",
    "Policy",
    "block",
    "classify",
    "grant",
    "recover",
    "usage",
    "wait_for",
]

RATE, API, LISTS, LOOKUPS, TOKEN = "rate", "api", "lists", "lookups", "token"
_RESERVED = frozenset({API, LISTS})  # background work leaves a share of these unused
State = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Kind:
    """The classes a request spends and the one a 429 on it blocks."""

    classes: tuple[str, ...]
    blocks: str


_TOKEN = Kind((TOKEN,), TOKEN)
_LIST = Kind((RATE, API, LISTS), LISTS)
_LOOKUP = Kind((RATE, API, LISTS, LOOKUPS), LISTS)
_OTHER = Kind((RATE, API), API)
_LIST_PATHS = frozenset({"/api/chargers", "/api/installation", "/api/installations"})


def classify(method: str, path: str, query: Mapping[str, str]) -> Kind:
    """Limit classes of a request (⚠ zaptec.md: both installation spellings are lists)."""
    path = path.rstrip("/").lower()
    if path.endswith("/oauth/token"):
        return _TOKEN
    if method.upper() == "GET" and path in _LIST_PATHS:
        names = {k.lower() for k, v in query.items() if v}
        return _LOOKUP if "namefilter" in names else _LIST
    return _OTHER


@dataclass(frozen=True, slots=True)
class Policy:
    """Limits in seconds, ready for the arithmetic below."""

    rate: float
    burst: int
    windows: Mapping[str, tuple[tuple[int, float], ...]]
    reserve: float
    margin: float
    burst_margin: int
    backoff: float
    max_backoff: float

    @classmethod
    def from_limits(cls, limits: Limits, backoff: float, max_backoff: float) -> Policy:
        def pairs(ws: list[Any]) -> tuple[tuple[int, float], ...]:
            return tuple((w.requests, w.per.total_seconds()) for w in ws)

        return cls(
            rate=limits.rate.per_second,
            burst=limits.rate.burst,
            windows={
                API: pairs(limits.api),
                LISTS: pairs(limits.lists),
                LOOKUPS: pairs(limits.lookups),
                TOKEN: pairs(limits.token),
            },
            reserve=limits.reserve,
            margin=limits.margin.total_seconds(),
            burst_margin=limits.burst_margin,
            backoff=backoff,
            max_backoff=max_backoff,
        )

    def granularity(self, cls: str) -> float:
        """Slot width of a class log: fine for short windows, 1 s for long ones."""
        shortest = min((w for _, w in self.windows.get(cls, ())), default=60.0)
        return min(1.0, shortest / 100)

    def allowed(self, cls: str, requests: int, background: bool) -> int:
        if background and cls in _RESERVED:
            return max(1, requests - math.ceil(requests * self.reserve))
        return requests

    def tolerance(self) -> float:
        """GCRA burst tolerance: (burst - margin - 1) emission intervals."""
        return max(0, self.burst - self.burst_margin - 1) / self.rate


def wait_for(
    state: State, kind: Kind, policy: Policy, now: float, background: bool
) -> tuple[float, str]:
    """Seconds until ``kind`` may be sent (0 = now) and the class that holds it back."""
    wait, why = 0.0, ""
    blocked = state.get("blocked", {})
    for cls in sorted({*kind.classes, kind.blocks}):
        if float(blocked.get(cls, 0.0)) - now > wait:
            wait, why = float(blocked[cls]) - now, f"{cls} (after 429)"
    for cls in kind.classes:
        if cls == RATE:
            pause = float(state.get("tat", 0.0)) - policy.tolerance() - now
            if pause > wait:
                wait, why = pause, RATE
            continue
        log = state.get("logs", {}).get(cls, [])
        for requests, seconds in policy.windows.get(cls, ()):
            limit = policy.allowed(cls, requests, background)
            pause = _window_wait(log, limit, seconds, policy, cls, now)
            if pause > wait:
                wait, why = pause, f"{cls} ({limit}/{seconds:g}s)"
    return max(0.0, wait), why


def _window_wait(
    log: list[list[float]], limit: int, seconds: float, policy: Policy, cls: str, now: float
) -> float:
    span = policy.granularity(cls) + seconds + policy.margin
    live = [(t, n) for t, n in log if t + span > now]
    excess = sum(n for _, n in live) + 1 - limit
    if excess <= 0:
        return 0.0
    for t, n in sorted(live):
        excess -= int(n)
        if excess <= 0:
            return t + span - now
    return seconds  # unreachable with a positive limit; be safe


def grant(state: State, kind: Kind, policy: Policy, now: float, waited: float = 0.0) -> State:
    """New state with one request of ``kind`` recorded at ``now``."""
    new: State = dict(state)
    logs = {k: list(v) for k, v in state.get("logs", {}).items()}
    used = dict(state.get("used", {}))
    for cls in kind.classes:
        used[cls] = int(used.get(cls, 0)) + 1
        if cls == RATE:
            new["tat"] = max(float(state.get("tat", 0.0)), now) + 1.0 / policy.rate
            continue
        logs[cls] = _record(logs.get(cls, []), cls, policy, now)
    new["logs"], new["used"] = logs, used
    new["waited"] = round(float(state.get("waited", 0.0)) + waited, 3)
    return new


def _record(log: list[list[float]], cls: str, policy: Policy, now: float) -> list[list[float]]:
    g = policy.granularity(cls)
    longest = max((w for _, w in policy.windows.get(cls, ())), default=0.0)
    span = g + longest + policy.margin
    slot = math.floor(now / g) * g
    kept = [[t, n] for t, n in log if t + span > now]
    if kept and kept[-1][0] == slot:
        kept[-1] = [slot, kept[-1][1] + 1]
    else:
        kept.append([slot, 1])
    return kept


def block(
    state: State, kind: Kind, policy: Policy, now: float, retry_after: float | None, jitter: float
) -> tuple[State, float]:
    """After a 429: nothing of the class before Retry-After, backing off on repeats.

    ``jitter`` in [0, 1) spreads instances apart; returns the new state and the pause.
    """
    strikes = dict(state.get("strikes", {}))
    strikes[kind.blocks] = int(strikes.get(kind.blocks, 0)) + 1
    backoff = min(policy.max_backoff, policy.backoff * 2 ** (strikes[kind.blocks] - 1))
    pause = max(retry_after if retry_after is not None else 0.0, backoff * (0.5 + jitter / 2))
    blocked = dict(state.get("blocked", {}))
    blocked[kind.blocks] = max(float(blocked.get(kind.blocks, 0.0)), now + pause)
    throttled = dict(state.get("throttled", {}))
    throttled[kind.blocks] = int(throttled.get(kind.blocks, 0)) + 1
    new = {**state, "strikes": strikes, "blocked": blocked, "throttled": throttled}
    return new, pause


def recover(state: State, kind: Kind) -> State | None:
    """A success after 429s resets the backoff; None when there is nothing to reset."""
    strikes = dict(state.get("strikes", {}))
    if not strikes.get(kind.blocks):
        return None
    strikes[kind.blocks] = 0
    return {**state, "strikes": strikes}


def usage(state: State, policy: Policy, now: float) -> dict[str, Any]:
    """Per-window use right now plus running totals: the budget as metrics."""
    windows: dict[str, list[dict[str, Any]]] = {}
    for cls, limits in policy.windows.items():
        log = state.get("logs", {}).get(cls, [])
        rows = []
        for requests, seconds in limits:
            span = policy.granularity(cls) + seconds + policy.margin
            count = sum(int(n) for t, n in log if t + span > now)
            rows.append({"used": count, "limit": requests, "per_seconds": seconds})
        windows[cls] = rows
    blocked = {
        cls: round(until - now, 3)
        for cls, until in state.get("blocked", {}).items()
        if float(until) > now
    }
    return {
        "windows": windows,
        "blocked_for_seconds": blocked,
        "totals": dict(state.get("used", {})),
        "throttled": dict(state.get("throttled", {})),
        "waited_seconds": float(state.get("waited", 0.0)),
    }
