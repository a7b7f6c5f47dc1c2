"""The one OCPI handler: a request in, a response out, over the peers in the store and
the CDRs it is handed. Served by ``functions/ocpi.py`` in Azure and by ``chargeops serve``
(``shared.ocpi.wsgi``) locally; the OpenAPI document is ``docs/ocpi-openapi.yaml``.

Routes, below the API's base URL:
- ``GET  /ocpi/versions``                      versions (token A or C)
- ``GET  /ocpi/2.2.1``                         version details: credentials, cdrs
- ``GET|POST|PUT|DELETE /ocpi/2.2.1/credentials``  the handshake (``credentials.py``)
- ``GET  /ocpi/2.2.1/cdrs``                    CDRs, paginated (``cdrs.py``; token C only)
- ``GET  /health``                             when a health probe is given (serve)

HTTP statuses follow status_codes.asciidoc: 401 for an unknown token, 405 for the
handshake's wrong-state calls, 400 for a body that is not JSON or a parameter OCPI cannot
mean (with status 2001), 404 for other paths; everything that reached the OCPI layer is
200 with the OCPI status in the envelope. ``X-Request-ID`` and ``X-Correlation-ID`` are
echoed (made up when missing).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.ocpi import transport
from shared.ocpi.cdrs import BadQuery, page_of, parse_query
from shared.ocpi.config import OcpiConfig
from shared.ocpi.credentials import Caller, Handshake, Outcome

__all__ = ["CdrSource", "HealthProbe", "OcpiApi", "Request", "Response"]

log = logging.getLogger(__name__)

CdrSource = Callable[[], Iterable[dict[str, Any]]]  # every CDR, in ledger order
HealthProbe = Callable[[], tuple[int, dict[str, Any]]]  # (HTTP status, report)
PREFIX = "/ocpi"
DETAILS = f"{PREFIX}/{transport.VERSION}"


@dataclass(frozen=True, slots=True)
class Request:
    """What the handler needs of an HTTP request. ``base_url``: scheme, host and the
    mount point (``https://app.example.com/api``) the paths above are relative to."""

    method: str
    path: str
    base_url: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


class OcpiApi:
    def __init__(
        self,
        handshake: Handshake,
        cdrs: CdrSource,
        config: OcpiConfig,
        now: Callable[[], datetime],
        health: HealthProbe | None = None,
    ) -> None:
        self.handshake, self.cdrs, self.config = handshake, cdrs, config
        self.now, self.health = now, health

    def handle(self, request: Request) -> Response:
        """Answer one request; never raises (an internal error is a 500 with OCPI 3000,
        logged by type only: exception texts may quote what a peer sent)."""
        ids = {
            "X-Request-ID": request.header("X-Request-ID") or str(uuid.uuid4()),
            "X-Correlation-ID": request.header("X-Correlation-ID") or str(uuid.uuid4()),
        }
        try:
            response = self._route(request)
        except Exception as exc:
            log.error("ocpi: %s %s failed: %s", request.method, request.path, type(exc).__name__)
            response = self._answer(Outcome(500, transport.SERVER_ERROR, None, "internal error"))
        response.headers.update(ids)
        return response

    # -- routing -----------------------------------------------------------------------

    def _route(self, request: Request) -> Response:
        path = "/" + request.path.strip("/")
        base = (self.config.base_url or request.base_url).rstrip("/")
        if path == "/health" and self.health is not None:
            return self._only(request, "GET") or self._health()
        routes: dict[str, tuple[tuple[str, ...], Callable[[Request, Caller, str], Response]]] = {
            f"{PREFIX}/versions": (("GET",), self._versions),
            DETAILS: (("GET",), self._details),
            f"{DETAILS}/credentials": (("GET", "POST", "PUT", "DELETE"), self._credentials),
            f"{DETAILS}/cdrs": (("GET",), self._cdrs),
        }
        if path not in routes:
            return self._answer(Outcome(404, transport.CLIENT_ERROR, None, "no such endpoint"))
        methods, run = routes[path]
        refused = self._only(request, *methods)
        if refused is not None:
            return refused
        caller = self.handshake.caller(transport.token_of(request.header("Authorization")))
        if caller.token is None:
            return self._answer(
                Outcome(401, transport.CLIENT_ERROR, None, "unknown or missing token"),
                {"WWW-Authenticate": "Token"},
            )
        return run(request, caller, base)

    def _only(self, request: Request, *methods: str) -> Response | None:
        if request.method.upper() in methods:
            return None
        outcome = Outcome(405, transport.CLIENT_ERROR, None, f"use {', '.join(methods)}")
        return self._answer(outcome, {"Allow": ", ".join(methods)})

    # -- endpoints ---------------------------------------------------------------------

    def _versions(self, request: Request, caller: Caller, base: str) -> Response:
        data = [{"version": transport.VERSION, "url": base + DETAILS}]
        return self._answer(Outcome(200, transport.SUCCESS, data))

    def _details(self, request: Request, caller: Caller, base: str) -> Response:
        endpoints = [
            {"identifier": "credentials", "role": "SENDER", "url": f"{base}{DETAILS}/credentials"},
            {
                "identifier": "credentials",
                "role": "RECEIVER",
                "url": f"{base}{DETAILS}/credentials",
            },
            {"identifier": "cdrs", "role": "SENDER", "url": f"{base}{DETAILS}/cdrs"},
        ]
        data = {"version": transport.VERSION, "endpoints": endpoints}
        return self._answer(Outcome(200, transport.SUCCESS, data))

    def _credentials(self, request: Request, caller: Caller, base: str) -> Response:
        versions_url = f"{base}{PREFIX}/versions"
        method = request.method.upper()
        if method == "GET":
            return self._answer(self.handshake.get(caller, versions_url))
        if method == "DELETE":
            return self._answer(self.handshake.delete(caller))
        try:
            body = json.loads(request.body) if request.body else None
        except (ValueError, UnicodeDecodeError):
            return self._answer(Outcome(400, transport.INVALID_PARAMETERS, None, "body: not JSON"))
        if method == "POST":
            return self._answer(self.handshake.post(caller, body, versions_url))
        return self._answer(self.handshake.put(caller, body, versions_url))

    def _cdrs(self, request: Request, caller: Caller, base: str) -> Response:
        if caller.peer is None:  # token A opens the handshake, not the modules
            outcome = Outcome(401, transport.CLIENT_ERROR, None, "register first (credentials)")
            return self._answer(outcome, {"WWW-Authenticate": "Token"})
        try:
            query = parse_query(request.query)
        except BadQuery as exc:
            return self._answer(Outcome(400, transport.INVALID_PARAMETERS, None, str(exc)))
        page = page_of(self.cdrs(), query, self.config.page_limit)
        headers = page.headers(f"{base}{DETAILS}/cdrs")
        return self._answer(Outcome(200, transport.SUCCESS, page.cdrs), headers)

    def _health(self) -> Response:
        assert self.health is not None
        status, report = self.health()
        body = json.dumps(report, indent=2, sort_keys=True).encode()
        headers = {"Content-Type": "application/json", "Cache-Control": "no-store"}
        return Response(status, headers, body)

    def _answer(self, outcome: Outcome, headers: Mapping[str, str] | None = None) -> Response:
        body = transport.envelope(outcome.data, self.now(), outcome.code, outcome.message)
        return Response(
            outcome.http_status,
            {"Content-Type": "application/json", **(headers or {})},
            body,
        )
