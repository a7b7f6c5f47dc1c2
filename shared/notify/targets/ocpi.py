"""OCPI 2.2.1 push: each finance record POSTed to a Receiver's CDRs endpoint
(mod_cdrs.asciidoc, Receiver interface), as the eMSP or a roaming hub expects it.

The body is the CloudEvent's ``data``, the OCPI CDR alone (the chargeops extension
travels beside it and is not sent). Headers (transport_and_format.asciidoc):
``Authorization: Token <base64 of the token>``; ``X-Request-ID`` new for every attempt
(derived from the idempotency key and the attempt number, so a preview is repeatable);
``X-Correlation-ID`` the idempotency key's UUID, the same on every retry;
``OCPI-from-*`` from the CDR's own party, ``OCPI-to-*`` when configured (a Hub routes by
them). A retry sends the same CDR with the same ``id``: OCPI has no PUT for CDRs, so a
Receiver that kept the first attempt (its answer lost) sees the same CDR again.

Answers: HTTP 2xx with envelope status 1xxx (or with no envelope at all: HTTP alone then
says it arrived) is delivered, and the ``Location`` header
(where the Receiver keeps the CDR) goes into the delivery record's ``ref``. The Receiver
already holding this CDR (HTTP 409, or a 2xxx whose message says it exists) is delivered
too: the CDR is there. 401/403 is a token problem (permanent: fix ``token``); other 2xxx
are permanent (the CDR was refused, a retry would be refused again); 3xxx/4xxx and 5xx
are the Receiver's or the Hub's trouble and are retried.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, ClassVar

from shared.adapters.http import OutboundRequest, Permanent, Reply, Transient
from shared.notify.config import OCPI_TYPES
from shared.notify.config import OcpiTarget as OcpiConfig
from shared.notify.targets.base import Http, Notice, Target, TargetResult
from shared.ocpi import transport

__all__ = ["OcpiTarget"]

_NS = uuid.UUID("6f0f3f3e-9a55-4c59-8f43-0b8c1b2f7d21")  # chargeops OCPI request ids
# Client errors whose answer we read ourselves (the envelope says why); 429 and 5xx stay
# with the sender's own handling (Retry-After, backoff).
_READ = frozenset({400, 401, 403, 404, 405, 409, 410, 413, 415, 422})
_EXISTS = re.compile(r"already\s+(exists?|known|received|stored|present)|duplicate", re.I)


class OcpiTarget(Target):
    kind: ClassVar[str] = "ocpi"
    actions: ClassVar[frozenset[str]] = frozenset({"notify"})
    template_name: ClassVar[str] = ""  # the body is the CDR itself: nothing to template
    config: OcpiConfig

    @property
    def streams(self) -> bool:
        return True

    def secrets(self) -> list[str]:
        """The token, and its base64 form as the header carries it (a Receiver may echo
        the header back in an error)."""
        encoded = transport.authorization(self.config.token).removeprefix("Token ")
        return sorted({*super().secrets(), encoded}, key=len, reverse=True)

    def preview(self, notice: Notice) -> list[OutboundRequest]:
        return [self._request(notice, 1)]

    def attempt(self, notice: Notice, http: Http, number: int) -> TargetResult:
        reply = http(self._request(notice, number), _READ)
        answer = transport.read_envelope(reply.body)
        if reply.status == 409 or _exists(reply, answer):
            return TargetResult(_ref(reply, answer, duplicate=True))
        if reply.status in (401, 403):
            why = answer.describe() if answer else "no OCPI answer"
            raise Permanent(
                f"HTTP {reply.status}: the Receiver refused the token ({why})", reply.status
            )
        if not 200 <= reply.status < 300:
            why = answer.describe() if answer else "no OCPI answer"
            raise Permanent(f"HTTP {reply.status}: {why}", reply.status)
        if answer is None or answer.ok:  # 2xx without an envelope: HTTP says it is there
            return TargetResult(_ref(reply, answer))
        if 2000 <= answer.status_code < 3000:
            raise Permanent(f"CDR refused: {answer.describe()}", reply.status)
        raise Transient(f"Receiver error: {answer.describe()}", reply.status)

    def _request(self, notice: Notice, number: int) -> OutboundRequest:
        event = notice.event
        if event.get("type") not in OCPI_TYPES:
            raise ValueError(
                f"ocpi renders {', '.join(sorted(OCPI_TYPES))} only, not {event.get('type')!r}"
            )
        cdr = {k: v for k, v in (event.get("data") or {}).items() if k != "chargeops"}
        if not cdr.get("id"):
            raise ValueError("the finance record has no CDR id")
        headers = {
            "content-type": "application/json",
            "accept": "application/json",
            "authorization": transport.authorization(self.config.token),
            "x-request-id": str(uuid.uuid5(_NS, f"{notice.idempotency_key}|{number}")),
            "x-correlation-id": str(uuid.uuid5(_NS, notice.idempotency_key)),
            **_parties(cdr, self.config),
        }
        body = json.dumps(cdr, ensure_ascii=False, separators=(",", ":")).encode()
        return OutboundRequest(
            "POST", self.config.url, self.headers(headers), body, key=notice.idempotency_key
        )


def _parties(cdr: dict[str, Any], config: OcpiConfig) -> dict[str, str]:
    found = {}
    if cdr.get("country_code") and cdr.get("party_id"):
        found["ocpi-from-country-code"] = str(cdr["country_code"])
        found["ocpi-from-party-id"] = str(cdr["party_id"])
    if config.to_country_code and config.to_party_id:
        found["ocpi-to-country-code"] = config.to_country_code
        found["ocpi-to-party-id"] = config.to_party_id
    return found


def _exists(reply: Reply, answer: transport.Envelope | None) -> bool:
    """The Receiver says it holds this CDR already (OCPI has no code for it: a 2xxx
    status, or a 4xx, whose message says so)."""
    if answer is None or answer.ok:
        return False
    return (2000 <= answer.status_code < 3000 or reply.status >= 400) and bool(
        _EXISTS.search(answer.status_message)
    )


def _ref(
    reply: Reply, answer: transport.Envelope | None, *, duplicate: bool = False
) -> dict[str, Any]:
    ref: dict[str, Any] = {"location": reply.header("Location")}
    if answer is not None:
        ref["status_code"] = answer.status_code
    if duplicate:
        ref["already_there"] = True
    return ref
