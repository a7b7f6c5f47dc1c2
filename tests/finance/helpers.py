"""Finance test helpers: OCMF strings, sessions, and a session's capture lines (the
shared builders and the scripted HTTP server are in ``tests/support``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from shared.consumers.finance.session import BillableSession
from tests.support.builders import CHARGER, SERIAL, completed, observation


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def ocmf(
    readings: list[tuple[str, str, str]],
    *,
    serial: str = SERIAL,
    status: str = "G",
    unit: str = "kWh",
    extra: str = "",
) -> str:
    """OCMF string with readings (UTC time 'YYYY-MM-DDTHH:MM:SS', TX, RV as written)."""
    rows = []
    for i, (t, tx, rv) in enumerate(readings):
        row = f'{{"TM":"{t},000+00:00 R","TX":"{tx}","RV":{rv}'
        if i == 0:
            row += f',"RI":"1-0:1.8.0","RU":"{unit}"'
        row += f',"ST":"{status if i == len(readings) - 1 else "G"}"{extra}}}'
        rows.append(row)
    payload = (
        f'{{"FV":"1.0","GI":"ZAPTEC GO","GS":"{serial}","GV":"2.6.0.6","PG":"T1",'
        f'"RD":[{",".join(rows)}]}}'
    )
    return f'OCMF|{payload}|{{"SA":"ECDSA-secp256r1-SHA256","SD":"3045022100ab"}}'


def session(
    start: str,
    end: str,
    energy: str,
    *,
    sid: str = "0aeea058-1111-2222-3333-444455556666",
    token: str | None = None,
    signed: str | None = None,
    derived: bool = False,
    site: str | None = None,
    vendor: str = "zaptec",
    charger: str = CHARGER,
    void: bool = False,
) -> BillableSession:
    return BillableSession(
        vendor=vendor,
        session_id=sid,
        charger_id=charger,
        serial=SERIAL,
        site_id=site,
        connector_id="1",
        started_at=utc(start),
        ended_at=utc(end),
        energy_kwh=Decimal(energy),
        energy_source="bus" if derived else "completed_session",
        auth_token=token,
        signed_data=signed,
        reliable_clock=None if derived else True,
        derived=derived,
        start_estimated=False,
        observed_at=utc(end) + timedelta(seconds=5),
        void=void,
    )


def bus_session(
    sid: str,
    start: str,
    end: str,
    energy: float,
    *,
    token: str = "",
    signed: str | None = None,
    with_723: bool = True,
    charger: str = CHARGER,
) -> list[str]:
    """Bus lines of one session: 710 charging, 721, 553, 710 disconnected (+ 723)."""
    s, e = utc(start), utc(end)

    def iso(t: datetime) -> str:
        return t.strftime("%Y-%m-%dT%H:%M:%S")

    lines = [
        observation(710, iso(s - timedelta(seconds=30)), "1", charger=charger),
        observation(710, iso(s), "3", charger=charger),
        observation(721, iso(s + timedelta(seconds=1)), sid, charger=charger),
        observation(553, iso(e - timedelta(seconds=10)), f"{energy}", charger=charger),
        observation(710, iso(e), "1", charger=charger),
    ]
    if with_723:
        payload = completed(sid, iso(s), iso(e), energy, token=token, signed=signed)
        lines.append(observation(723, iso(e + timedelta(seconds=5)), payload, charger=charger))
    return lines
