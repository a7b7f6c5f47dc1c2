"""A server that answers one byte at a time cannot outlast a request's timeout (issue 17,
finding 11: httpx's timeouts bound each socket read, not the answer)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.adapters.deadline import deadline_transport, overall_deadline
from shared.adapters.http import OutboundRequest, Sender, Transient
from shared.app.compose import http_client
from shared.storage.sqlite import SqliteStore
from shared.zaptec.client import ZaptecClient
from shared.zaptec.config import ZaptecConfig
from shared.zaptec.errors import ZaptecError

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n" + b"x" * 40
PAUSE = 0.04  # between bytes: each read succeeds well within any read timeout


@pytest.fixture
def trickle() -> Iterator[str]:
    """A loopback server sending ``ANSWER`` one byte per ``PAUSE`` (about 3 s in all)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                for byte in ANSWER:
                    if stop.is_set():
                        break
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break
                    time.sleep(PAUSE)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    stop.set()
    thread.join(timeout=5)
    server.close()


def test_a_trickling_target_fails_as_a_timeout_within_its_timeout(trickle: str) -> None:
    sender = Sender(http_client())
    started = time.monotonic()
    with pytest.raises(Transient, match="timeout"):
        sender.exchange(OutboundRequest("POST", trickle, {}, b"{}"), timeout=1.0)
    assert time.monotonic() - started < 2.0  # not the 3 s the server would take


def test_the_deadline_bounds_every_socket_operation_of_a_request(trickle: str) -> None:
    client = httpx.Client(transport=deadline_transport(), timeout=5.0)
    started = time.monotonic()
    with overall_deadline(0.8), pytest.raises(httpx.ReadTimeout):
        client.get(trickle)
    assert time.monotonic() - started < 1.5
    plain = httpx.Client(transport=deadline_transport(), timeout=5.0)  # no deadline set:
    started = time.monotonic()
    assert plain.get(trickle).content == b"x" * 40  # per-read timeouts only, as httpx
    assert time.monotonic() - started > len(ANSWER) * PAUSE * 0.8


def test_a_trickling_zaptec_api_cannot_outlast_the_client_timeout(
    trickle: str, tmp_path: Path
) -> None:
    """The Zaptec client: each attempt (the token request here) gets ``zaptec.timeout``
    for its whole answer; with one attempt the call fails in about that time."""
    api = trickle.removesuffix("/hook")
    zc = ZaptecConfig.model_validate(
        {"api_base": api, "username": "u", "password": "p", "timeout": "1s", "attempts": 1}
    )
    with SqliteStore(tmp_path / "s.sqlite3") as store:
        client = ZaptecClient(zc, store)
        started = time.monotonic()
        with pytest.raises((ZaptecError, httpx.TimeoutException)):
            client.installations_page(0)
        client.close()
    assert time.monotonic() - started < 2.5
