"""Builders for uptime tests: times in hours after ``DAY``, outages as faults, capture
lines for the CLI (the shared events, store contents and config are in
``tests/support/builders.py``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.support.builders import DAY, RELAY, charger, cleared, observation, raised


def at(hours: float, day: datetime = DAY) -> datetime:
    return day + timedelta(hours=hours)


def fault(n: int, a: datetime, b: datetime, site: str | None = None,
          kind: dict[str, Any] = RELAY) -> list[dict[str, Any]]:  # fmt: skip
    return [raised(n, a, site, kind), cleared(n, a, b, site, kind)]


def frame(n: int, state_id: int, when: datetime, value: str) -> str:
    """One capture line of charger ``n`` (timestamp in milliseconds)."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return observation(state_id, stamp, value, charger=charger(n), serial=f"ZAP{n:06d}")


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), "utf-8")
    return path
