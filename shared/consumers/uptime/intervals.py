"""Half-open time intervals ``[start, end)`` and the set arithmetic the uptime method needs.

Outage time is a *union*: a fault during an offline period must not count twice. Every
function takes and returns plain lists of ``(start, end)`` and keeps results normalised
(sorted, non-empty, disjoint, touching intervals merged), so totals are exact timedeltas.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

__all__ = ["Interval", "clip", "intersect", "subtract", "total", "union"]

Interval = tuple[datetime, datetime]


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Merge into sorted disjoint intervals; empty and inverted ones vanish."""
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[0] < i[1]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """The common part of two normalised lists (linear sweep)."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] <= b[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """The part of ``a`` not in ``b`` (both normalised)."""
    out: list[Interval] = []
    j = 0
    for start, end in a:
        cursor = start
        while j < len(b) and b[j][1] <= cursor:
            j += 1
        k = j
        while k < len(b) and b[k][0] < end:
            if b[k][0] > cursor:
                out.append((cursor, b[k][0]))
            cursor = max(cursor, b[k][1])
            k += 1
        if cursor < end:
            out.append((cursor, end))
    return out


def clip(intervals: list[Interval], lo: datetime, hi: datetime) -> list[Interval]:
    """The part inside ``[lo, hi)``."""
    return intersect(intervals, [(lo, hi)]) if lo < hi else []


def total(intervals: Iterable[Interval]) -> timedelta:
    """Summed length (of a normalised list: its measure)."""
    return sum((end - start for start, end in intervals), timedelta(0))
