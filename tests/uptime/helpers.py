"""Builders for uptime tests: real canonical events (the models ingest emits) in a real
SQLite store's event log, capture lines for the CLI, and registry records."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.config.loader import Config, load_config
from shared.events.model import ChargerOffline, ChargerOnline, FaultCleared, FaultRaised, cloudevent
from shared.registry.view import KIND as REGISTRY_KIND
from shared.storage.base import Store
from shared.storage.schema import EVENTS_LOG

DAY = datetime(2026, 4, 26, tzinfo=UTC)
SITE_A = "a0a0a0a0-0000-4000-8000-00000000000a"
SITE_B = "b0b0b0b0-0000-4000-8000-00000000000b"
RELAY = {"fault_code": "RELAY_WELDED", "ocpp_error_code": "PowerSwitchFailure",
         "severity": "critical", "bit": 49, "family": "Apollo"}  # fmt: skip
TEMPERATURE = {"fault_code": "TEMPERATURE_HIGH", "ocpp_error_code": "HighTemperature",
               "severity": "warning", "bit": 1, "family": "Apollo"}  # fmt: skip


def charger(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def at(hours: float, day: datetime = DAY) -> datetime:
    return day + timedelta(hours=hours)


def offline(n: int, since: datetime, site: str | None = None) -> dict[str, Any]:
    return cloudevent(
        ChargerOffline(
            charger_id=charger(n),
            serial=f"ZAP{n:06d}",
            site_id=site,
            observed_at=since,
            offline_since=since,
            cause="is_online",
        )
    )


def online(n: int, since: datetime, back: datetime, site: str | None = None) -> dict[str, Any]:
    return cloudevent(
        ChargerOnline(
            charger_id=charger(n),
            serial=f"ZAP{n:06d}",
            site_id=site,
            observed_at=back,
            offline_since=since,
            online_at=back,
            offline_seconds=(back - since).total_seconds(),
            cause="is_online",
        )
    )


def raised(n: int, when: datetime, site: str | None = None, fault: dict[str, Any] = RELAY
           ) -> dict[str, Any]:  # fmt: skip
    return cloudevent(
        FaultRaised(
            charger_id=charger(n), serial=f"ZAP{n:06d}", site_id=site, observed_at=when, **fault
        )
    )


def cleared(n: int, since: datetime, when: datetime, site: str | None = None,
            fault: dict[str, Any] = RELAY) -> dict[str, Any]:  # fmt: skip
    return cloudevent(
        FaultCleared(
            charger_id=charger(n),
            serial=f"ZAP{n:06d}",
            site_id=site,
            observed_at=when,
            raised_at=since,
            duration_seconds=(when - since).total_seconds(),
            **fault,
        )
    )


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
    """One capture line: a Zaptec observation as it sits in a message body."""
    return json.dumps({
        "DeviceId": f"ZAP{n:06d}", "DeviceType": 4, "ChargerId": charger(n),
        "StateId": state_id, "Timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "ValueAsString": value,
    })  # fmt: skip


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), "utf-8")
    return path
