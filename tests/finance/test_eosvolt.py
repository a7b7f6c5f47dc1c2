"""EOSVOLT v1 client against a real local HTTP server that pages, rate-limits and errors
the way the vendor's API description says it does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.consumers.finance.config import EosvoltConfig
from shared.consumers.finance.eosvolt import (
    EosvoltAuthError,
    EosvoltClient,
    EosvoltConflict,
    EosvoltError,
    EosvoltUnavailable,
)
from tests.finance.helpers import utc
from tests.support.receivers import Seen
from tests.support.receivers import serve_script as serve

TOKEN = "eos_live_s3cr3t"
SESSIONS = [{"id": f"s{i}", "chargerId": "242", "connectorId": "242.2.1"} for i in range(7)]


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def client(url: str, http: httpx.Client, sleeps: list[float], **kw: Any) -> EosvoltClient:
    cfg = EosvoltConfig.model_validate(
        {"base_url": url, "token": TOKEN, "page_size": 3, "attempts": 3, **kw}
    )
    return EosvoltClient(cfg, http, sleep=sleeps.append)


def error(status: int, code: str, message: str = "nope") -> tuple[int, dict[str, str], Any]:
    return status, {}, {"success": False, "code": code, "message": message}


def paged(seen: Seen) -> tuple[int, dict[str, str], Any]:
    """page+limit (1-based) or offset+limit, answering with a plain data list."""
    if seen.headers.get("authorization") != f"Bearer {TOKEN}":
        return error(401, "unauthorized")
    limit = int(seen.query["limit"][0])
    if "page" in seen.query:
        start = (int(seen.query["page"][0]) - 1) * limit
    else:
        start = int(seen.query["offset"][0])
    return 200, {}, {"success": True, "data": SESSIONS[start : start + limit]}


@pytest.mark.parametrize("style", ["page", "offset"])
def test_both_pagination_styles_read_every_item_once(http: httpx.Client, style: str) -> None:
    with serve(paged) as server:
        sleeps: list[float] = []
        c = client(server.url, http, sleeps, pagination=style)
        items = list(c.sessions(utc("2026-04-01T00:00:00"), utc("2026-05-01T00:00:00")))
    assert [i["id"] for i in items] == [s["id"] for s in SESSIONS]
    assert len(server.seen) == 3  # 3 + 3 + 1
    first = server.seen[0]
    assert first.path == "/v1/sessions/export"
    assert first.query["from"] == ["2026-04-01T00:00:00Z"]
    assert first.query["to"] == ["2026-05-01T00:00:00Z"]
    assert sleeps == []


def test_reply_metadata_ends_paging_without_an_extra_request(http: httpx.Client) -> None:
    def with_total(seen: Seen) -> tuple[int, dict[str, str], Any]:
        page = int(seen.query["page"][0])
        data = SESSIONS[(page - 1) * 3 : page * 3][:2]  # short pages, total says 6
        return 200, {}, {"data": data, "meta": {"total": 6}}

    with serve(with_total) as server:
        items = list(
            client(server.url, http, []).sessions(
                utc("2026-04-01T00:00:00"), utc("2026-04-02T00:00:00")
            )
        )
    assert len(items) == 4
    assert len(server.seen) == 2


def test_429_waits_retry_after_then_succeeds(http: httpx.Client) -> None:
    calls = {"n": 0}

    def limited(seen: Seen) -> tuple[int, dict[str, str], Any]:
        calls["n"] += 1
        if calls["n"] == 1:
            status, _, body = error(429, "rate_limited")
            return status, {"Retry-After": "2"}, body
        return 200, {}, {"data": []}

    sleeps: list[float] = []
    with serve(limited) as server:
        assert client(server.url, http, sleeps).get("chargers", {"limit": 25}) == {"data": []}
    assert sleeps == [2.0]


def test_5xx_is_retried_with_backoff_and_gives_up_after_the_attempts(http: httpx.Client) -> None:
    sleeps: list[float] = []
    with (
        serve(lambda _: error(503, "unavailable")) as server,
        pytest.raises(EosvoltUnavailable, match="HTTP 503 unavailable"),
    ):
        client(server.url, http, sleeps).get("chargers", {})
    assert len(server.seen) == 3
    assert len(sleeps) == 2
    assert all(0 <= s <= 60 for s in sleeps)


def test_a_long_retry_after_is_not_waited_out(http: httpx.Client) -> None:
    def slow(_: Seen) -> tuple[int, dict[str, str], Any]:
        status, _headers, body = error(429, "rate_limited")
        return status, {"Retry-After": "3600"}, body

    with serve(slow) as server, pytest.raises(EosvoltUnavailable, match="Retry-After"):
        client(server.url, http, []).get("chargers", {})
    assert len(server.seen) == 1


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (409, "export_in_progress", EosvoltConflict),
        (400, "invalid_parameter", EosvoltError),
        (403, "insufficient_scope", EosvoltError),
        (404, "not_found", EosvoltError),
        (401, "invalid_token", EosvoltAuthError),
    ],
)
def test_client_errors_are_not_retried_and_carry_the_code(
    http: httpx.Client, status: int, code: str, kind: type[EosvoltError]
) -> None:
    sleeps: list[float] = []
    with (
        serve(lambda _: error(status, code, f"token {TOKEN} rejected")) as server,
        pytest.raises(kind) as caught,
    ):
        client(server.url, http, sleeps).get("sessions/export", {})
    assert caught.value.code == code
    assert caught.value.status == status
    assert len(server.seen) == 1
    assert sleeps == []
    assert TOKEN not in str(caught.value)


def test_success_false_in_a_200_is_an_error(http: httpx.Client) -> None:
    with (
        serve(lambda _: error(200, "invalid_parameter")) as server,
        pytest.raises(EosvoltError) as caught,
    ):
        client(server.url, http, []).get("x", {})
    assert caught.value.code == "invalid_parameter"


def test_a_server_that_ignores_paging_is_detected(http: httpx.Client) -> None:
    with serve(lambda _: (200, {}, {"data": SESSIONS[:3]})) as server:
        c = client(server.url, http, [])
        with pytest.raises(EosvoltError, match="same page came back twice"):
            list(c.sessions(utc("2026-04-01T00:00:00"), utc("2026-04-02T00:00:00")))
    assert len(server.seen) == 2


def test_no_token_and_unsafe_urls_are_configuration_errors(http: httpx.Client) -> None:
    with pytest.raises(EosvoltAuthError):
        EosvoltClient(EosvoltConfig(), http)
    with pytest.raises(ValueError, match="https"):
        EosvoltConfig.model_validate({"base_url": "http://api.eosvolt.com/"})
    assert EosvoltConfig(environment="staging").root() == "https://api-staging.eosvolt.com/"
    assert EosvoltConfig().root() == "https://api.eosvolt.com/"
