"""Builders for uptime tests: real canonical events (the models ingest emits) in a real
SQLite store's event log, capture lines for the CLI, and registry records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.config.loader import Config, load_config
from shared.storage.base import Store
from shared.storage.schema import EVENTS_LOG, REGISTRY_KIND
from tests.support.builders import RELAY, charger, cleared, observation, offline, online, raised

DAY = datetime(2026, 4, 26, tzinfo=UTC)
SITE_A = "a0a0a0a0-0000-4000-8000-00000000000a"
SITE_B = "b0b0b0b0-0000-4000-8000-00000000000b"


def at(hours: float, day: datetime = DAY) -> datetime:
    return day + timedelta(hours=hours)


def period(n: int, a: datetime, b: datetime, site: str | None = None) -> list[dict[str, Any]]:
    """An offline period as its two events."""
    return [offline(n, a, site), online(n, a, b, site)]


def fault(n: int, a: datetime, b: datetime, site: str | None = None,
          kind: dict[str, Any] = RELAY) -> list[dict[str, Any]]:  # fmt: skip
    return [raised(n, a, site, kind), cleared(n, a, b, site, kind)]


def publish(store: Store, events: list[dict[str, Any]]) -> None:
    """Append to the event log exactly as ingest commits them."""
    store.append(EVENTS_LOG, [(e["id"], e) for e in events])


def register(store: Store, chargers: dict[int, str | None], zone: str = "Europe/Oslo") -> None:
    """Registry records as the refresh job writes them (site, name, time zone)."""
    for n, site in chargers.items():
        store.put(REGISTRY_KIND, charger(n), {
            "charger_id": charger(n), "serial": f"ZAP{n:06d}", "name": f"Charger {n}",
            "site_id": site, "site_name": {SITE_A: "Site A", SITE_B: "Site B"}.get(site or ""),
            "time_zone": zone,
        })  # fmt: skip


def config(text: str = "") -> Config:
    return load_config(text=text or "{}")


def frame(n: int, state_id: int, when: datetime, value: str) -> str:
    """One capture line of charger ``n`` (timestamp in milliseconds)."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return observation(state_id, stamp, value, charger=charger(n), serial=f"ZAP{n:06d}")


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), "utf-8")
    return path
