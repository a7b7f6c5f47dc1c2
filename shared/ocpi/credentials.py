"""The credentials module (credentials.asciidoc), server side: the handshake by which a
peer that holds our CREDENTIALS_TOKEN_A registers (POST), renews (PUT), reads (GET) and
unregisters (DELETE), and the check of every request's token.

On POST and PUT the server must fetch the peer's versions and its 2.2.1 endpoints with
the token the peer gave us (B): ``Fetch`` does that (injected: httpx in Azure and
``serve``, a fake in tests); a peer we cannot reach is answered 3001, one without 2.2.1
3002. Tokens are never logged: peers are named by ``country_code*party_id``.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.config.fields import is_safe_url
from shared.ocpi import transport
from shared.ocpi.config import OcpiConfig
from shared.ocpi.peers import Peer, PeerRepo, digest
from shared.timestamps import format_utc

__all__ = ["Caller", "Fetch", "Handshake", "Outcome", "Party", "check_credentials"]

log = logging.getLogger(__name__)

# GET url with the peer's token -> (HTTP status, body); raises OSError when unreachable.
Fetch = Callable[[str, str], tuple[int, bytes]]
_PARTY = re.compile(r"[A-Za-z0-9]{3}")  # CiString(3), ISO 15118 party ids
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_URL = re.compile(r"https?://[!-~]+")
ROLES = frozenset({"CPO", "EMSP", "HUB", "NAP", "NSP", "OTHER", "SCSP"})  # types.asciidoc Role


@dataclass(frozen=True, slots=True)
class Party:
    """Who we are in OCPI: from the finance section, so CDRs and credentials agree."""

    country_code: str
    party_id: str


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a request: a registered peer, the holder of the registration token
    (``peer`` None), or nobody we know (``token`` None)."""

    token: str | None
    peer: Peer | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """An answer: HTTP status, OCPI status code and message, and ``data``."""

    http_status: int
    code: int
    data: Any = None
    message: str = ""


class Handshake:
    def __init__(
        self,
        peers: PeerRepo,
        config: OcpiConfig,
        party: Party,
        fetch: Fetch,
        now: Callable[[], datetime],
        new_token: Callable[[], str] = lambda: secrets.token_urlsafe(32),
    ) -> None:
        self.peers, self.config, self.party = peers, config, party
        self.fetch, self.now, self.new_token = fetch, now, new_token

    def caller(self, candidates: list[str]) -> Caller:
        """The first of the header's possible tokens that we know (token_of order)."""
        registration = self.config.registration_token
        for token in candidates:
            peer = self.peers.by_token(token)
            if peer is not None:
                return Caller(token, peer)
            if registration is None:
                continue
            same = hmac.compare_digest(token.encode(), registration.encode())
            if same and not self.peers.used(registration):
                return Caller(token)
        return Caller(None)

    def get(self, caller: Caller, versions_url: str) -> Outcome:
        """Our credentials, with the token the caller used to reach us."""
        assert caller.token is not None
        return Outcome(200, transport.SUCCESS, self._ours(caller.token, versions_url))

    def post(self, caller: Caller, body: Any, versions_url: str) -> Outcome:
        """Register: fetch the peer's endpoints, issue token C, spend token A."""
        if caller.peer is not None:
            return Outcome(405, transport.CLIENT_ERROR, None, "already registered: use PUT")
        assert caller.token is not None
        theirs, failed = self._their_side(body)
        if failed is not None:
            return failed
        assert theirs is not None
        credentials, endpoints = theirs
        stamp = format_utc(self.now())
        token = self.new_token()
        peer = Peer(digest(token), credentials, endpoints, stamp, stamp, digest(caller.token))
        if not self.peers.register(caller.token, peer):
            return Outcome(405, transport.CLIENT_ERROR, None, "already registered")
        log.info("ocpi: %s registered", peer.name)
        return Outcome(200, transport.SUCCESS, self._ours(token, versions_url))

    def put(self, caller: Caller, body: Any, versions_url: str) -> Outcome:
        """Renew: fetch the peer's endpoints again, issue a new token C for the old."""
        if caller.peer is None:
            return Outcome(405, transport.CLIENT_ERROR, None, "not registered: use POST")
        theirs, failed = self._their_side(body)
        if failed is not None:
            return failed
        assert theirs is not None
        credentials, endpoints = theirs
        token = self.new_token()
        old = caller.peer
        new = Peer(
            digest(token),
            credentials,
            endpoints,
            old.registered_at,
            format_utc(self.now()),
            old.via,
        )
        self.peers.replace(old, new)
        log.info("ocpi: %s renewed its credentials", new.name)
        return Outcome(200, transport.SUCCESS, self._ours(token, versions_url))

    def delete(self, caller: Caller) -> Outcome:
        """Unregister: the token we issued stops working at once."""
        if caller.peer is None:
            return Outcome(405, transport.CLIENT_ERROR, None, "not registered")
        self.peers.remove(caller.peer)
        log.info("ocpi: %s unregistered", caller.peer.name)
        return Outcome(200, transport.SUCCESS, None)

    # -- internals ---------------------------------------------------------------------

    def _ours(self, token: str, versions_url: str) -> dict[str, Any]:
        details: dict[str, Any] = {"name": self.config.business_name}
        if self.config.website:
            details["website"] = self.config.website
        role = {
            "role": "CPO",
            "business_details": details,
            "party_id": self.party.party_id,
            "country_code": self.party.country_code,
        }
        return {"token": token, "url": versions_url, "roles": [role]}

    def _their_side(
        self, body: Any
    ) -> tuple[tuple[dict[str, Any], list[dict[str, Any]]] | None, Outcome | None]:
        problem = check_credentials(body)
        if problem:
            return None, Outcome(400, transport.INVALID_PARAMETERS, None, problem)
        token, url = body["token"], body["url"]
        versions, why = self._get(url, token)
        if versions is None:
            return None, Outcome(200, transport.UNABLE_TO_USE_CLIENT_API, None, why)
        listed = versions if isinstance(versions, list) else []
        mine = next(
            (v for v in listed if isinstance(v, dict) and v.get("version") == transport.VERSION),
            None,
        )
        if mine is None or not isinstance(mine.get("url"), str):
            message = f"no version {transport.VERSION} in the versions at the given url"
            return None, Outcome(200, transport.UNSUPPORTED_VERSION, None, message)
        details, why = self._get(mine["url"], token)
        endpoints = details.get("endpoints") if isinstance(details, dict) else None
        if not isinstance(endpoints, list):
            return None, Outcome(
                200,
                transport.UNABLE_TO_USE_CLIENT_API,
                None,
                why or "version details without endpoints",
            )
        credentials = {"token": token, "url": url, "roles": body["roles"]}
        return (credentials, [e for e in endpoints if isinstance(e, dict)]), None

    def _get(self, url: str, token: str) -> tuple[Any, str]:
        """``data`` of the peer's answer at ``url``, or None and why (never the token)."""
        try:
            safe = is_safe_url(url)
        except ValueError:  # urlsplit: e.g. a broken IPv6 literal
            safe = False
        if not safe:
            return None, "the peer's url must be https:// (http:// only for localhost)"
        try:
            status, body = self.fetch(url, token)
        except OSError as exc:
            return None, f"could not reach the peer's versions endpoint: {type(exc).__name__}"
        answer = transport.read_envelope(body)
        if status != 200 or answer is None or not answer.ok:
            got = answer.describe() if answer is not None else "no OCPI answer"
            return None, f"the peer answered HTTP {status} ({got})"
        return answer.data, ""


def check_credentials(body: Any) -> str:
    """Why a credentials object is not one (credentials.asciidoc), or "" when it is."""
    if not isinstance(body, dict):
        return "the body must be a credentials object"
    try:  # JSON escapes can spell lone surrogates, which no store or peer can take
        json.dumps(body, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return "the body: text that is not Unicode (a lone surrogate escape)"
    token = body.get("token")
    if not isinstance(token, str) or not 1 <= len(token) <= transport.MAX_TOKEN:
        return "token: a string of 1..64 characters is required"
    if not (token.isascii() and token.isprintable()) or " " in token:
        return "token: printable ASCII without spaces only"
    url = body.get("url")
    if not isinstance(url, str) or not _URL.fullmatch(url):
        return "url: the https:// URL of your versions endpoint is required"
    roles = body.get("roles")
    if not isinstance(roles, list) or not roles:
        return "roles: at least one role is required"
    for i, role in enumerate(roles):
        problem = _role_problem(role)
        if problem:
            return f"roles[{i}].{problem}"
    return ""


def _role_problem(role: Any) -> str:
    if not isinstance(role, dict):
        return "role: an object is required"
    if not isinstance(role.get("role"), str) or role["role"] not in ROLES:
        return f"role: one of {', '.join(sorted(ROLES))}"
    party, country = role.get("party_id"), role.get("country_code")
    if not isinstance(party, str) or not _PARTY.fullmatch(party):
        return "party_id: 3 letters or digits"
    if not isinstance(country, str) or not _COUNTRY.fullmatch(country):
        return "country_code: 2 letters (ISO 3166-1 alpha-2)"
    details = role.get("business_details")
    if not isinstance(details, dict) or not isinstance(details.get("name"), str):
        return "business_details.name: required"
    if len(details["name"]) > 100:  # mod_locations BusinessDetails: string(100)
        return "business_details.name: at most 100 characters"
    if "website" in details and not isinstance(details["website"], str):
        return "business_details.website: a URL"
    return ""
