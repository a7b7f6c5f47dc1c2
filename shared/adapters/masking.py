"""What of a request may be shown (``chargeops render``, the ``file://`` outbox, dry
runs): an allow-list, not a deny-list.

A deny-list of header names ("authorization", anything with "token") misses the next
vendor's ``X-Auth-Whatever``; so every header is masked except the few known to carry
nothing secret. URLs lose their userinfo (``https://user:pass@host``) and the value of
any query parameter that is not known harmless (Teams' ``sig``, ``code``, ``key`` …).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["HARMLESS_HEADERS", "HARMLESS_QUERY", "MASK", "mask_headers", "mask_url"]

MASK = "***"
HARMLESS_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "connection",
        "host",
        "content-type",
        "content-length",
        "user-agent",
        "idempotency-key",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",  # an HMAC: proves the key, does not reveal it
        "x-request-id",
        "x-correlation-id",  # OCPI: a UUID per record and target
        "ocpi-from-country-code",  # OCPI routing headers: party ids, public
        "ocpi-from-party-id",
        "ocpi-to-country-code",
        "ocpi-to-party-id",
    }
)
# Query parameters that name what is asked for, never who asks.
HARMLESS_QUERY = frozenset(
    {
        "api-version",
        "identifiertype",
        "jql",
        "fields",
        "maxresults",
        "external_id",
        "sysparm_query",
        "sysparm_fields",
        "sysparm_limit",
        "sp",
        "sv",
    }
)


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Every header value masked unless its name is on the allow-list."""
    return {k: (v if k.lower() in HARMLESS_HEADERS else MASK) for k, v in headers.items()}


def mask_url(url: str) -> str:
    """The URL without its userinfo password and with unknown query values masked."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{MASK}@{host}"
    query = [
        (k, v if k.lower() in HARMLESS_QUERY else MASK)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    text = urlencode(query, safe="*/:=") if query else parts.query
    return urlunsplit(parts._replace(netloc=netloc, query=text))
