"""Builders shared by the suites: real canonical events (the models ingest emits, as
CloudEvents), Zaptec capture lines and CompletedSession (723) payloads, and the ids they use;
a store's contents as the jobs write them (the event log, registry records).

Times are given as datetimes here; a suite that counts in minutes or hours from its own
origin wraps these (``tests/tickets/helpers.py``, ``tests/core/builders.py``,
``tests/uptime/helpers.py``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.config.loader import Config, load_config
from shared.events.model import ChargerOffline, ChargerOnline, FaultCleared, FaultRaised, cloudevent
from shared.storage.base import Store
from shared.storage.schema import EVENTS_LOG, REGISTRY_KIND

__all__ = [
    "CHARGER",
    "DAY",
    "RELAY",
    "SERIAL",
    "SITE",
    "SITE_A",
    "SITE_B",
    "T0",
    "TEMPERATURE",
    "at",
    "charger",
    "cleared",
    "completed",
    "config",
    "observation",
    "offline",
    "online",
    "period",
    "publish",
    "raised",
    "register",
]

CHARGER = "5b1c3f0e-9a7d-4e2b-8c6f-1d2e3f4a5b6c"
SERIAL = "ZAP000123"
SITE = "b30adfd3-5c3e-4a7b-9d1e-2f6a8c4e1d07"
SITE_A = "a0a0a0a0-0000-4000-8000-00000000000a"  # the two named sites of ``register``
SITE_B = "b0b0b0b0-0000-4000-8000-00000000000b"
DAY = datetime(2026, 4, 26, tzinfo=UTC)
T0 = datetime(2026, 4, 26, 8, 0, tzinfo=UTC)
RELAY = {"fault_code": "RELAY_WELDED", "ocpp_error_code": "PowerSwitchFailure",
         "severity": "critical", "bit": 49, "family": "Apollo"}  # fmt: skip
TEMPERATURE = {"fault_code": "TEMPERATURE_HIGH", "ocpp_error_code": "HighTemperature",
               "severity": "warning", "bit": 1, "family": "Apollo"}  # fmt: skip


def at(minutes: float) -> datetime:
    """``minutes`` after ``T0``."""
    return T0 + timedelta(minutes=minutes)


def charger(n: int) -> str:
    """Charger number ``n``'s id (its serial is ``ZAP`` and ``n`` in six digits)."""
    return f"00000000-0000-4000-8000-{n:012d}"


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


def period(n: int, a: datetime, b: datetime, site: str | None = None) -> list[dict[str, Any]]:
    """An offline period of charger ``n`` as its two events."""
    return [offline(n, a, site), online(n, a, b, site)]


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


def observation(
    state_id: int, timestamp: str, value: str | None, *, charger: str = CHARGER,
    serial: str = SERIAL,
) -> str:  # fmt: skip
    """One capture line: a Zaptec observation as it sits in a message body (``timestamp``
    as Zaptec writes it; no ``ValueAsString`` when ``value`` is None)."""
    line: dict[str, Any] = {
        "DeviceId": serial,
        "DeviceType": 4,
        "ChargerId": charger,
        "StateId": state_id,
        "Timestamp": timestamp,
    }
    if value is not None:
        line["ValueAsString"] = value
    return json.dumps(line)


def completed(
    sid: str, start: str, end: str, energy: float, *, token: str = "", signed: str | None = None
) -> str:
    """A CompletedSession (723) payload; ``start``/``end`` are UTC times without the "Z"."""
    return json.dumps(
        {
            "SessionId": sid,
            "Energy": energy,
            "StartDateTime": start + "Z",
            "EndDateTime": end + "Z",
            "ReliableClock": True,
            "StoppedByRFID": False,
            "AuthenticationCode": token,
            "FirstAuthenticatedDateTime": "",
            "SignedSession": signed,
        }
    )


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
    """The config of ``text`` (empty: every default)."""
    return load_config(text=text or "{}")
