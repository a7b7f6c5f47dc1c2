"""An overall deadline per HTTP request, which httpx does not have.

httpx's timeouts bound each socket operation, so a server that answers one byte a second
never trips a 2 s read timeout and holds a replay (or ``registry refresh`` past its
``run_limit``) for as long as it likes. Here every socket operation of a request gets at
most the time left before its deadline, and none starts once it has passed: the request
then fails as a timeout (``httpx.ReadTimeout``), which callers already retry or report.

The deadline is set around a request with ``overall_deadline`` (per thread; nested
deadlines keep the earlier one) and enforced by the network backend of transports made by
``deadline_transport``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

__all__ = ["deadline_transport", "overall_deadline"]

_local = threading.local()


@contextmanager
def overall_deadline(seconds: float | None) -> Iterator[None]:
    """Requests made in this block must be done within ``seconds`` (None: no bound)."""
    before: float | None = getattr(_local, "deadline", None)
    if seconds is not None:
        at = time.monotonic() + max(seconds, 0.0)
        _local.deadline = at if before is None else min(before, at)
    try:
        yield
    finally:
        _local.deadline = before


def _bounded(timeout: float | None, what: str) -> float | None:
    deadline: float | None = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout(f"overall deadline passed ({what})")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, _bounded(timeout, "read"))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, _bounded(timeout, "write"))

    def close(self) -> None:
        self.inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _Stream(self.inner.start_tls(ssl_context, server_hostname, _bounded(timeout, "tls")))

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self.inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self.inner.connect_tcp(
            host, port, _bounded(timeout, "connect"), local_address, socket_options
        )
        return _Stream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        return _Stream(
            self.inner.connect_unix_socket(path, _bounded(timeout, "connect"), socket_options)
        )

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


def deadline_transport(**options: Any) -> httpx.HTTPTransport:
    """An ``httpx.HTTPTransport`` whose sockets honour ``overall_deadline``.

    httpx builds its connection pool with no way to pass a network backend, so it is
    wrapped after construction (``tests/core/test_deadline.py`` fails if httpx moves it).
    """
    transport = httpx.HTTPTransport(**options)
    pool = transport._pool  # private: see the docstring
    pool._network_backend = _Backend(pool._network_backend)
    return transport
