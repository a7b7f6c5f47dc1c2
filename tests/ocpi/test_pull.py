"""The CDRs module Sender interface and the credentials handshake, through the one
handler (in-process over WSGI): a client that follows ``Link: rel=next`` gets every CDR
exactly once, each strictly valid OCPI 2.2.1 (ocpi-types), and the handshake moves the
tokens as credentials.asciidoc says."""

from __future__ import annotations

import importlib
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.consumers.finance.ledger import Ledger
from shared.consumers.finance.sites import SiteResolver
from shared.timestamps import parse_utc
from tests.finance.ocpi_check import ocpi_problems
from tests.ocpi.helpers import (
    PEER_CREDENTIALS,
    PEER_TOKEN_B,
    START,
    TOKEN_A,
    State,
    auth,
    bill_sessions,
    make_state,
    peer_transport,
    pull_all,
    register,
)

# The OCPI 2.2.1 models of the PyPI package ocpi-types (generated from the specification);
# imported by name as the package ships no type information.
v2_2_1: Any = importlib.import_module("ocpi_types.v2_2_1")


@pytest.fixture
def state(tmp_path: Path) -> State:
    return make_state(tmp_path)


def journal_cdrs(state: State) -> list[dict[str, Any]]:
    """The ledger's own list of records, read straight from the journal."""
    ledger = Ledger(state.store, state.config.finance, SiteResolver(state.config.finance, None))
    return [row["event"]["data"] for row in ledger.journal()]


def test_a_client_following_next_links_gets_every_cdr_once_and_valid(state: State) -> None:
    client = state.client()
    token = register(client)
    pages = list(pull_all(client, token))
    expected = journal_cdrs(state)
    assert len(expected) == 27  # 23 bills, 2 credits, 2 rebills
    got = [cdr for page in pages for cdr in page.json()["data"]]
    assert [c["id"] for c in got] == [c["id"] for c in expected]
    assert len({c["id"] for c in got}) == len(got)
    assert got == expected  # the CDR as the ledger made it, nothing added or dropped
    assert sum(1 for c in got if c.get("credit")) == 2
    for page in pages:
        assert page.status_code == 200
        body = page.json()
        assert body["status_code"] == 1000
        assert len(body["timestamp"]) <= 25
        assert page.headers["X-Total-Count"] == "27"
        assert page.headers["X-Limit"] == "5"
        assert len(body["data"]) <= 5
    assert "link" not in pages[-1].headers
    assert len(pages) == 6
    for cdr in got:
        assert ocpi_problems(cdr) == [], cdr["id"]


WINDOW = st.tuples(st.integers(-2, 100), st.integers(0, 100)).map(
    lambda t: (START + timedelta(hours=t[0]), START + timedelta(hours=t[0] + t[1]))
)


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> tuple[State, str]:
    """One state and a registered peer's token, shared by every generated example."""
    state = make_state(tmp_path_factory.mktemp("pull"))
    return state, register(state.client())


@settings(max_examples=25, deadline=None)
@given(window=WINDOW, limit=st.integers(1, 12))
def test_any_window_and_page_size_give_each_cdr_in_it_once(
    registered: tuple[State, str], window: tuple[Any, Any], limit: int
) -> None:
    state, token = registered
    client = state.client()
    since, until = window
    query = httpx.QueryParams(
        {
            "date_from": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "date_to": until.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "limit": limit,
        }
    )
    got = [
        c["id"]
        for p in pull_all(client, token, f"/ocpi/2.2.1/cdrs?{query}")
        for c in p.json()["data"]
    ]
    expected = [
        c["id"] for c in journal_cdrs(state) if since <= parse_utc(c["last_updated"]) < until
    ]
    assert got == expected


def test_records_made_between_pages_do_not_shift_the_pages(state: State) -> None:
    client = state.client()
    token = register(client)
    first = client.get("/ocpi/2.2.1/cdrs?limit=4", headers=auth(token))
    seen = [c["id"] for c in first.json()["data"]]
    bill_sessions(state.store, state.config, 30, corrected=0)  # 7 new sessions billed
    rest = list(pull_all(client, token, first.links["next"]["url"]))
    seen += [c["id"] for page in rest for c in page.json()["data"]]
    assert seen == [c["id"] for c in journal_cdrs(state)]
    assert len(seen) == 34


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("offset=-1", "offset"),
        ("limit=ten", "limit"),
        ("date_from=yesterday", "date_from"),
        ("date_to=2026-04-26", "date_to"),
    ],
)
def test_a_query_ocpi_cannot_mean_is_refused_with_2001_naming_it(
    state: State, query: str, names: str
) -> None:
    client = state.client()
    token = register(client)
    answer = client.get(f"/ocpi/2.2.1/cdrs?{query}", headers=auth(token))
    assert answer.status_code == 400
    assert answer.json()["status_code"] == 2001
    assert answer.json()["status_message"].startswith(names)


def test_the_handshake_moves_the_tokens_as_credentials_asciidoc_says(state: State) -> None:
    client = state.client()
    # token A opens versions and details, not the modules
    versions = client.get("/ocpi/versions", headers=auth(TOKEN_A)).json()["data"]
    assert [v2_2_1.Version.from_dict(v).to_dict() for v in versions] == versions
    details = client.get("/ocpi/2.2.1", headers=auth(TOKEN_A)).json()["data"]
    assert v2_2_1.VersionDetails.from_dict(details).to_dict() == details
    assert {(e["identifier"], e["role"]) for e in details["endpoints"]} >= {
        ("credentials", "SENDER"),
        ("cdrs", "SENDER"),
    }
    assert client.get("/ocpi/2.2.1/cdrs", headers=auth(TOKEN_A)).status_code == 401
    assert client.delete("/ocpi/2.2.1/credentials", headers=auth(TOKEN_A)).status_code == 405

    token_c = register(client)
    assert token_c not in (TOKEN_A, PEER_TOKEN_B)
    mine = client.get("/ocpi/2.2.1/credentials", headers=auth(token_c)).json()["data"]
    assert v2_2_1.Credentials.from_dict(mine).to_dict() == mine
    assert mine["token"] == token_c
    assert mine["url"] == "http://chargeops.test/ocpi/versions"
    assert [(r["role"], r["country_code"], r["party_id"]) for r in mine["roles"]] == [
        ("CPO", "NO", "CPO")
    ]
    assert mine["roles"][0]["business_details"] == {"name": "Example Charging"}
    # A is thrown away; registering again is 405
    assert client.get("/ocpi/versions", headers=auth(TOKEN_A)).status_code == 401
    again = client.post("/ocpi/2.2.1/credentials", headers=auth(token_c), json=PEER_CREDENTIALS)
    assert again.status_code == 405

    # PUT: the peer's new token B is used for the call-back, a new C replaces the old
    state.app.http = httpx.Client(transport=peer_transport("emsp-token-B2-000000"))
    renewed = client.put(
        "/ocpi/2.2.1/credentials",
        headers=auth(token_c),
        json={**PEER_CREDENTIALS, "token": "emsp-token-B2-000000"},
    )
    assert renewed.json()["status_code"] == 1000, renewed.text
    token_c2 = renewed.json()["data"]["token"]
    assert token_c2 != token_c
    assert client.get("/ocpi/2.2.1/cdrs", headers=auth(token_c)).status_code == 401
    assert client.get("/ocpi/2.2.1/cdrs", headers=auth(token_c2)).status_code == 200

    # DELETE: unregistered, C2 stops working
    gone = client.delete("/ocpi/2.2.1/credentials", headers=auth(token_c2))
    assert (gone.status_code, gone.json()["status_code"]) == (200, 1000)
    assert client.get("/ocpi/2.2.1/cdrs", headers=auth(token_c2)).status_code == 401


def test_a_peer_we_cannot_call_back_gets_3001_and_keeps_its_token_a(tmp_path: Path) -> None:
    state = make_state(tmp_path, 1, peer=peer_transport(token="a-different-token-B"))
    client = state.client()
    answer = client.post("/ocpi/2.2.1/credentials", headers=auth(TOKEN_A), json=PEER_CREDENTIALS)
    assert (answer.status_code, answer.json()["status_code"]) == (200, 3001)
    assert "401" in answer.json()["status_message"]
    assert PEER_TOKEN_B not in answer.text
    state.app.http = httpx.Client(transport=peer_transport())
    assert register(client)  # token A still works after the failed attempt


def test_a_peer_without_2_2_1_gets_3002(tmp_path: Path) -> None:
    state = make_state(tmp_path, 1, peer=peer_transport(versions=["2.1.1"]))
    answer = state.client().post(
        "/ocpi/2.2.1/credentials", headers=auth(TOKEN_A), json=PEER_CREDENTIALS
    )
    assert answer.json()["status_code"] == 3002


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({**PEER_CREDENTIALS, "token": "x" * 65}, "token"),
        ({**PEER_CREDENTIALS, "roles": []}, "roles"),
        ({**PEER_CREDENTIALS, "roles": [{"role": "EMSP"}]}, "roles[0].party_id"),
        ({**PEER_CREDENTIALS, "url": "http://emsp.example.com/ocpi/versions"}, None),
        ([], "the body"),
    ],
)
def test_bad_credentials_are_refused_naming_the_field(
    state: State, body: Any, names: str | None
) -> None:
    answer = state.client().post("/ocpi/2.2.1/credentials", headers=auth(TOKEN_A), json=body)
    if names is None:  # a plain-http peer off this machine: we do not call it
        assert answer.json()["status_code"] == 3001
        assert "https" in answer.json()["status_message"]
        return
    assert (answer.status_code, answer.json()["status_code"]) == (400, 2001)
    assert answer.json()["status_message"].startswith(names)


def test_unknown_tokens_are_401_and_plain_2_1_1_tokens_work(state: State) -> None:
    client = state.client()
    for headers in ({}, {"Authorization": "Token bm9wZQ=="}, {"Authorization": "Bearer x"}):
        answer = client.get("/ocpi/versions", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"] == "Token"
        assert answer.json()["status_code"] == 2000
    token = register(client)
    plain = client.get("/ocpi/2.2.1/cdrs", headers={"Authorization": f"Token {token}"})
    assert plain.status_code == 200


def test_request_and_correlation_ids_are_echoed(state: State) -> None:
    ids = {"X-Request-ID": "req-1", "X-Correlation-ID": "corr-1"}
    answer = state.client().get("/ocpi/versions", headers={**auth(TOKEN_A), **ids})
    assert (answer.headers["X-Request-ID"], answer.headers["X-Correlation-ID"]) == (
        "req-1",
        "corr-1",
    )


def test_tokens_are_never_logged_and_token_c_is_not_stored(
    state: State, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = state.client()
    token = register(client)
    client.get("/ocpi/2.2.1/cdrs", headers=auth(token))
    put = client.put("/ocpi/2.2.1/credentials", headers=auth(token), json=PEER_CREDENTIALS)
    renewed = put.json()["data"]["token"]
    logged = caplog.text
    assert "NL*EMS registered" in logged
    assert "NL*EMS renewed its credentials" in logged
    for secret in (TOKEN_A, PEER_TOKEN_B, token, renewed):
        assert secret not in logged
    state.app.close()
    stored = b"".join(p.read_bytes() for p in state.path.parent.glob("state.sqlite3*"))
    assert PEER_TOKEN_B.encode() in stored  # kept: we need it to call the peer
    for secret in (TOKEN_A, token, renewed):  # kept only as digests
        assert secret.encode() not in stored
