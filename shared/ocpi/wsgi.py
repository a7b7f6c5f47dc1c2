"""The handler as a WSGI application: what ``chargeops serve`` runs (stdlib ``wsgiref``)
and what the schemathesis tests call in-process. No logic of its own: it only turns
the WSGI environ into a ``Request`` and the ``Response`` back into WSGI."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl
from wsgiref.util import application_uri

from shared.ocpi.api import Request, Response

__all__ = ["MAX_BODY", "wsgi_app"]

MAX_BODY = 64 * 1024  # a credentials object is a few hundred bytes
StartResponse = Callable[..., Any]


def wsgi_app(handle: Callable[[Request], Response]) -> Callable[..., Iterable[bytes]]:
    """A WSGI callable answering every request with ``handle``."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        response = handle(request_of(environ))
        phrase = HTTPStatus(response.status).phrase
        headers = [*response.headers.items(), ("Content-Length", str(len(response.body)))]
        start_response(f"{response.status} {phrase}", headers)
        return [response.body]

    return app


def request_of(environ: dict[str, Any]) -> Request:
    try:
        length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    headers = {
        key[5:].replace("_", "-").title(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    query: dict[str, str] = {}
    for key, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
        query.setdefault(key, value)  # the first of a repeated parameter
    return Request(
        method=environ.get("REQUEST_METHOD", "GET"),
        path=environ.get("PATH_INFO", "/"),
        base_url=application_uri(environ).rstrip("/"),
        query=query,
        headers=headers,
        body=body,
    )
