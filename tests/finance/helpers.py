"""Finance test helpers: capture lines, OCMF strings, sessions, and a local HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from shared.consumers.finance.session import BillableSession
from tests.loopback import serving

CHARGER = "5b1c3f0e-9a7d-4e2b-8c6f-1d2e3f4a5b6c"
SERIAL = "ZAP000123"
SITE = "b30adfd3-5c3e-4a7b-9d1e-2f6a8c4e1d07"


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


def observation(state_id: int, at: str, value: str | None, *, charger: str = CHARGER) -> str:
    line: dict[str, Any] = {
        "DeviceId": SERIAL,
        "DeviceType": 4,
        "ChargerId": charger,
        "StateId": state_id,
        "Timestamp": at,
    }
    if value is not None:
        line["ValueAsString"] = value
    return json.dumps(line)


def completed(
    sid: str, start: str, end: str, energy: float, *, token: str = "", signed: str | None = None
) -> str:
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


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


Reply = tuple[int, dict[str, str], Any]
Script = Callable[[Seen], Reply]


@dataclass
class Server:
    url: str
    seen: list[Seen] = field(default_factory=list)


@contextmanager
def serve(script: Script) -> Iterator[Server]:
    """A real HTTP server on 127.0.0.1:<free port>; ``script`` answers each request."""
    server_box: list[Server] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            parts = urlsplit(self.path)
            seen = Seen(
                self.command,
                parts.path,
                parse_qs(parts.query),
                {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(length) if length else b"",
            )
            with lock:
                server_box[0].seen.append(seen)
                status, headers, body = script(seen)
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            for k, v in {"content-type": "application/json", **headers}.items():
                self.send_header(k, v)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _handle  # noqa: N815

        def log_message(self, *args: Any) -> None:
            """Quiet."""

    with serving(Handler, poll=0.01) as url:
        server_box.append(Server(url))
        yield server_box[0]
