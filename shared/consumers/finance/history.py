"""Vendor charge histories as billable sessions, for reconciliation.

``HistorySource`` is what reconciliation reads: finished sessions in a window. The
Zaptec adapter takes any object with ``charge_history(since, until)`` yielding
``/api/chargehistory`` items (the Zaptec client, inside the shared API budget); the EOSVOLT
adapter reads the v1 sessions export. Both parse tolerantly (zaptec.md pitfall 11: fields
come and go): an item that cannot be read is reported, never fatal.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from shared.consumers.finance.session import BillableSession, SessionError
from shared.timestamps import parse_utc

__all__ = [
    "ChargeHistoryClient",
    "EosvoltHistory",
    "HistorySource",
    "SessionExport",
    "Unreadable",
    "ZaptecHistory",
    "eosvolt_session",
    "zaptec_session",
]

VOID, RELIABLE_CLOCK = 32, 4  # SessionCommitMetadata flags (zaptec.md "Sessions")


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A history item that could not be turned into a session."""

    vendor_id: str | None
    reason: str


class HistorySource(Protocol):
    vendor: str

    def sessions(
        self, since: datetime, until: datetime
    ) -> Iterator[BillableSession | Unreadable]: ...


class ChargeHistoryClient(Protocol):
    def charge_history(self, since: datetime, until: datetime) -> Iterable[dict[str, Any]]: ...


class SessionExport(Protocol):
    def sessions(self, since: datetime, until: datetime) -> Iterable[dict[str, Any]]: ...


class ZaptecHistory:
    """Zaptec ``/api/chargehistory`` items as sessions."""

    vendor = "zaptec"

    def __init__(self, client: ChargeHistoryClient) -> None:
        self.client = client

    def sessions(self, since: datetime, until: datetime) -> Iterator[BillableSession | Unreadable]:
        for item in self.client.charge_history(since, until):
            try:
                yield zaptec_session(item)
            except SessionError as exc:
                yield Unreadable(
                    _text(item.get("Id")) if isinstance(item, dict) else None, str(exc)
                )


class EosvoltHistory:
    """EOSVOLT session export items as sessions."""

    vendor = "eosvolt"

    def __init__(self, client: SessionExport) -> None:
        self.client = client

    def sessions(self, since: datetime, until: datetime) -> Iterator[BillableSession | Unreadable]:
        for item in self.client.sessions(since, until):
            try:
                yield eosvolt_session(item)
            except SessionError as exc:
                vendor_id = (
                    _pick(item, "id", "sessionId", "session_id") if isinstance(item, dict) else None
                )
                yield Unreadable(_text(vendor_id), str(exc))


def zaptec_session(item: Any) -> BillableSession:
    """One ``/api/chargehistory`` item (Id, ChargerId, DeviceId, Start/EndDateTime, Energy,
    SignedSession, CommitMetadata, …); SessionError when it cannot be billed."""
    if not isinstance(item, dict):
        raise SessionError("history item is not an object")
    flags = item.get("CommitMetadata")
    flags = flags if isinstance(flags, int) and not isinstance(flags, bool) else None
    start, end = _time(item, "StartDateTime"), _time(item, "EndDateTime")
    committed = item.get("CommitEndDateTime")
    observed = _parse(committed) if isinstance(committed, str) and committed else None
    signed = item.get("SignedSession")
    token = _text(item.get("AuthenticationCode")) or _text(item.get("TokenName"))
    return BillableSession(
        vendor="zaptec",
        session_id=_need(_text(item.get("Id")), "Id"),
        charger_id=_need(_text(item.get("ChargerId")), "ChargerId"),
        serial=_text(item.get("DeviceId")),
        site_id=_text(item.get("InstallationId")),
        connector_id="1",
        started_at=start,
        ended_at=max(start, end),
        energy_kwh=_kwh(item.get("Energy")),
        energy_source="history",
        auth_token=token,
        signed_data=signed if isinstance(signed, str) and signed else None,
        reliable_clock=bool(flags & RELIABLE_CLOCK) if flags is not None else None,
        derived=False,
        start_estimated=False,
        observed_at=max(observed or end, end),
        void=bool(flags & VOID) if flags is not None else False,
    )


def eosvolt_session(item: Any) -> BillableSession:
    """One EOSVOLT export item. ⚠ The export's field names were not captured (finance.md):
    common spellings are accepted; connector ids stay dotted strings (``242.2.1``)."""
    if not isinstance(item, dict):
        raise SessionError("export item is not an object")
    connector = _text(_pick(item, "connectorId", "connector_id"))
    charger = _text(_pick(item, "chargerId", "charger_id", "stationId", "station_id"))
    if charger is None and connector:
        charger = connector.split(".")[0]
    start = _time(item, "startedAt", "started_at", "startTime", "start_time", "start")
    end = _time(item, "endedAt", "ended_at", "endTime", "end_time", "end", "stoppedAt")
    wh = _pick(item, "energyWh", "energy_wh")
    energy = (
        _kwh(wh) / 1000
        if wh is not None
        else _kwh(_pick(item, "energyKwh", "energy_kwh", "kwh", "energy"))
    )
    status = str(_pick(item, "status", "state") or "").lower()
    signed = _pick(item, "signedData", "signed_data", "ocmf")
    return BillableSession(
        vendor="eosvolt",
        session_id=_need(_text(_pick(item, "id", "sessionId", "session_id")), "id"),
        charger_id=_need(charger, "chargerId"),
        serial=_text(_pick(item, "serial", "chargerSerial")),
        site_id=_text(_pick(item, "siteId", "site_id", "locationId", "location_id")),
        connector_id=connector or "1",
        started_at=start,
        ended_at=max(start, end),
        energy_kwh=energy,
        energy_source="history",
        auth_token=_text(_pick(item, "idTag", "id_tag", "authToken", "token", "rfid")),
        signed_data=signed if isinstance(signed, str) and signed else None,
        reliable_clock=None,
        derived=False,
        start_estimated=False,
        observed_at=end,
        void=status in {"void", "voided", "cancelled", "canceled", "invalid"},
    )


def _pick(item: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if item.get(key) not in (None, ""):
            return item[key]
    return None


def _time(item: dict[str, Any], *keys: str) -> datetime:
    value = _pick(item, *keys)
    if not isinstance(value, str):
        raise SessionError(f"{keys[0]} missing")
    return _parse(value)


def _parse(value: str) -> datetime:
    try:
        return parse_utc(value)
    except ValueError as exc:
        raise SessionError(str(exc)) from None


def _kwh(value: Any) -> Decimal:
    if value is None or isinstance(value, bool):
        return Decimal(0)
    try:
        energy = Decimal(str(value))
    except InvalidOperation:
        raise SessionError(f"energy {value!r} is not a number") from None
    if not energy.is_finite() or energy < 0:
        raise SessionError(f"energy {value!r} is not a non-negative number")
    return energy


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _need(value: str | None, key: str) -> str:
    if value is None:
        raise SessionError(f"{key} missing")
    return value
