"""OCPI test builders: a state whose ledger holds real finance records (bills, and a
credit + rebill), the handler over it, a fake eMSP for the handshake to call back, and
a fake OCPI Receiver (the push side) that behaves like one on a bad day."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from shared.app.compose import App, open_local
from shared.app.ocpi import ocpi_api
from shared.config.loader import Config, load_config
from shared.consumers.finance.cdr import Change
from shared.consumers.finance.ledger import Ledger
from shared.consumers.finance.sites import SiteResolver
from shared.ocpi import transport
from shared.ocpi.api import OcpiApi
from shared.storage.sqlite import SqliteStore
from tests.finance.helpers import session
from tests.support.receivers import Answer, Seen, Vendor

TOKEN_A = "registration-token-A-0123456789"
PEER_TOKEN_B = "emsp-token-B-9876543210"
PEER_VERSIONS = "https://emsp.example.com/ocpi/versions"
PEER_DETAILS = "https://emsp.example.com/ocpi/2.2.1"
CONFIG = f"""
finance:
  country_code: NO
  party_id: CPO
  tariffs:
    default: {{energy_per_kwh: "0.30", vat_rate: "0.25", session_fee: "0.50"}}
ocpi:
  registration_token: {TOKEN_A}
  business_name: Example Charging
  page_limit: 5
"""
# credentials.asciidoc Credentials object, as an eMSP registers with it
PEER_CREDENTIALS: dict[str, Any] = {
    "token": PEER_TOKEN_B,
    "url": PEER_VERSIONS,
    "roles": [
        {
            "role": "EMSP",
            "business_details": {"name": "Example eMSP"},
            "party_id": "EMS",
            "country_code": "NL",
        }
    ],
}
START = datetime(2026, 4, 24, 6, 0, tzinfo=UTC)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": transport.authorization(token)}


def bill_sessions(store: SqliteStore, config: Config, count: int, corrected: int = 2) -> None:
    """``count`` sessions over three days, each billed once, then ``corrected`` of them
    corrected (credit + rebill): ``count + 2 * corrected`` records in the journal."""
    ledger = Ledger(store, config.finance, SiteResolver(config.finance, None))
    sessions = []
    for n in range(count):
        begin = START + timedelta(hours=5 * n)
        end = begin + timedelta(minutes=40 + n)
        s = session(
            begin.strftime("%Y-%m-%dT%H:%M:%S"),
            end.strftime("%Y-%m-%dT%H:%M:%S"),
            f"{5 + n % 7}.{n % 10}",
            sid=f"0aeea058-0000-4000-8000-{n:012d}",
            token="nfc-1A2B3C4D",
        )
        ledger.post(s, Change("test", "session completed", end + timedelta(seconds=5)))
        sessions.append(s)
    for s in sessions[:corrected]:
        found = ledger.find(s)
        assert found is not None
        fixed = session(
            s.started_at.strftime("%Y-%m-%dT%H:%M:%S"),
            s.ended_at.strftime("%Y-%m-%dT%H:%M:%S"),
            str(s.energy_kwh + 1),
            sid=s.session_id,
            token="nfc-1A2B3C4D",
        )
        when = START + timedelta(days=3)
        ledger.correct(found, fixed, Change("test", "meter reading corrected", when))


def peer_transport(
    token: str = PEER_TOKEN_B, versions: list[str] | None = None
) -> httpx.MockTransport:
    """The eMSP's versions endpoints, as the handshake calls them back with token B."""
    offered = ["2.2.1"] if versions is None else versions

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != transport.authorization(token):
            return httpx.Response(
                401, json={"status_code": 2000, "timestamp": "2026-01-01T00:00:00Z"}
            )
        now = "2026-04-27T00:00:00Z"
        if str(request.url) == PEER_VERSIONS:
            data: Any = [{"version": v, "url": PEER_DETAILS} for v in offered]
        elif str(request.url) == PEER_DETAILS:
            data = {
                "version": "2.2.1",
                "endpoints": [
                    {
                        "identifier": "credentials",
                        "role": "RECEIVER",
                        "url": PEER_DETAILS + "/credentials",
                    },
                    {"identifier": "cdrs", "role": "RECEIVER", "url": PEER_DETAILS + "/cdrs"},
                ],
            }
        else:
            return httpx.Response(404, json={"status_code": 2000, "timestamp": now})
        return httpx.Response(200, json={"data": data, "status_code": 1000, "timestamp": now})

    return httpx.MockTransport(answer)


@dataclass
class State:
    """A state with finance records, and the OCPI handler over it."""

    store: SqliteStore
    config: Config
    app: App
    api: OcpiApi
    path: Path

    def client(self) -> httpx.Client:
        """An HTTP client talking to the handler in-process (WSGI)."""
        from shared.ocpi.wsgi import wsgi_app  # noqa: PLC0415

        wsgi = httpx.WSGITransport(app=wsgi_app(self.api.handle))
        return httpx.Client(transport=wsgi, base_url="http://chargeops.test")


def make_state(
    tmp_path: Path, count: int = 23, *, peer: httpx.MockTransport | None = None, text: str = CONFIG
) -> State:
    path = tmp_path / "state.sqlite3"
    config = load_config(text=text)
    store = SqliteStore(path)
    bill_sessions(store, config, count)
    app = open_local(
        config, store, data_clock=False, http=httpx.Client(transport=peer or peer_transport())
    )
    return State(store, config, app, ocpi_api(app), path)


def register(client: httpx.Client, token_a: str = TOKEN_A) -> str:
    """The Sender side of the handshake as credentials.asciidoc orders it: versions,
    version details, then POST credentials; returns the token issued to us (C)."""
    versions = client.get("/ocpi/versions", headers=auth(token_a)).json()
    (v221,) = [v for v in versions["data"] if v["version"] == "2.2.1"]
    details = client.get(v221["url"], headers=auth(token_a)).json()["data"]
    (creds,) = {e["url"] for e in details["endpoints"] if e["identifier"] == "credentials"}
    answer = client.post(creds, headers=auth(token_a), json=PEER_CREDENTIALS)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status_code"] == 1000, body
    return str(body["data"]["token"])


def pull_all(
    client: httpx.Client, token: str, url: str = "/ocpi/2.2.1/cdrs"
) -> Iterator[httpx.Response]:
    """Follow ``Link: rel=next`` (as httpx parses it) from ``url`` to the last page."""
    next_url: str | None = url
    while next_url:
        page = client.get(next_url, headers=auth(token))
        yield page
        next_url = page.links.get("next", {}).get("url")


class OcpiReceiver(Vendor):
    """An eMSP's CDRs endpoint (mod_cdrs.asciidoc, Receiver POST): keeps each CDR by
    (country_code, party_id, id), answers 201 with the envelope and a ``Location``; a
    CDR it already holds is answered per ``duplicate`` ("409": HTTP 409; "2001": HTTP 200
    with status 2001 "CDR already exists", as some platforms do). Checks the 2.2.1 token.
    ``refuse`` makes it answer a status code in the envelope (a bad day)."""

    def __init__(self, token: str, duplicate: str = "2001") -> None:
        super().__init__()
        self.token, self.duplicate = token, duplicate
        self.cdrs: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.posts = 0
        self.refuse: list[tuple[int, int, str]] = []  # (HTTP, OCPI status, message) per POST

    def authorised(self, headers: dict[str, str]) -> bool:
        value = headers.get("authorization", "")
        return value == "Token " + base64.b64encode(self.token.encode()).decode()

    def answer(self, req: Seen) -> Answer:
        now = "2026-04-27T00:00:00Z"
        self.posts += 1
        if self.refuse:
            http, code, message = self.refuse.pop(0)
            return http, {}, {"status_code": code, "status_message": message, "timestamp": now}
        cdr = json.loads(req.body)
        key = (cdr["country_code"], cdr["party_id"], cdr["id"])
        if key in self.cdrs:
            if self.duplicate == "409":
                return (
                    409,
                    {},
                    {"status_code": 2001, "status_message": "conflict", "timestamp": now},
                )
            message = "CDR already exists"
            return 200, {}, {"status_code": 2001, "status_message": message, "timestamp": now}
        self.cdrs[key] = cdr
        location = f"{self.url}/ocpi/emsp/2.2.1/cdrs/{cdr['id']}"
        return 201, {"Location": location}, {"status_code": 1000, "timestamp": now}


def emsp_versions(seen: Seen) -> Answer:
    """An eMSP's versions endpoints served on loopback (``serve_script``), for the
    handshake's call-back to a ``chargeops serve`` in another process."""
    if seen.headers.get("authorization") != transport.authorization(PEER_TOKEN_B):
        return 401, {}, {"status_code": 2000, "timestamp": "2026-04-27T00:00:00Z"}
    base = seen.headers["host"]
    data: Any = [{"version": "2.2.1", "url": f"http://{base}/ocpi/2.2.1"}]
    if seen.path == "/ocpi/2.2.1":
        data = {"version": "2.2.1", "endpoints": [
            {"identifier": "cdrs", "role": "RECEIVER", "url": f"http://{base}/ocpi/2.2.1/cdrs"},
        ]}  # fmt: skip
    return 200, {}, {"data": data, "status_code": 1000, "timestamp": "2026-04-27T00:00:00Z"}
