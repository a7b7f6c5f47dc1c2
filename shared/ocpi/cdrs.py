"""The CDRs module, Sender interface (mod_cdrs.asciidoc, GET): one page of CDRs by
``last_updated`` in [date_from, date_to), with the pagination headers of
transport_and_format.asciidoc (``Link: <…>; rel="next"``, ``X-Total-Count``, ``X-Limit``).

Pages follow the ledger's own order (the journal: every record once, appended, never
reordered), so an offset means the same records from one request to the next and a new
record only ever adds to the end: a client that follows ``next`` sees every CDR exactly
once. Credit CDRs are CDRs too and are served like the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from shared.timestamps import parse_utc

__all__ = ["BadQuery", "Page", "Query", "page_of", "parse_query"]


class BadQuery(ValueError):
    """A query parameter OCPI cannot mean (status 2001); the message names it."""


@dataclass(frozen=True, slots=True)
class Query:
    date_from: datetime | None = None
    date_to: datetime | None = None
    offset: int = 0
    limit: int = 0  # 0: the server's page size
    raw: dict[str, str] = field(default_factory=dict)  # the filters to repeat in ``next``


@dataclass(frozen=True, slots=True)
class Page:
    cdrs: list[dict[str, Any]]
    total: int
    limit: int
    next_query: str | None  # the query string of the next page, None on the last

    def headers(self, url: str) -> dict[str, str]:
        found = {"X-Total-Count": str(self.total), "X-Limit": str(self.limit)}
        if self.next_query is not None:
            found["Link"] = f'<{url}?{self.next_query}>; rel="next"'
        return found


def parse_query(params: Mapping[str, str]) -> Query:
    """The GET parameters; BadQuery names the first one that is not usable."""
    known = {"date_from", "date_to", "offset", "limit"}
    raw = {k: v for k, v in params.items() if k in known}
    date_from, date_to = _time(raw, "date_from"), _time(raw, "date_to")
    return Query(date_from, date_to, _count(raw, "offset"), _count(raw, "limit"), raw)


def page_of(cdrs: Iterable[dict[str, Any]], query: Query, max_limit: int) -> Page:
    """The page ``query`` asks for out of ``cdrs`` (in ledger order); ``limit`` above the
    server's maximum is cut to it (and X-Limit says so), 0 means the maximum."""
    limit = min(query.limit or max_limit, max_limit)
    chosen: list[dict[str, Any]] = []
    total = 0
    for cdr in cdrs:
        if not _in_window(cdr, query):
            continue
        if query.offset <= total < query.offset + limit:
            chosen.append(cdr)
        total += 1
    following = query.offset + len(chosen)
    next_query = None
    if chosen and following < total:
        filters = {k: v for k, v in query.raw.items() if k in ("date_from", "date_to")}
        next_query = urlencode({**filters, "offset": following, "limit": limit})
    return Page(chosen, total, limit, next_query)


def _in_window(cdr: dict[str, Any], query: Query) -> bool:
    if query.date_from is None and query.date_to is None:
        return True
    updated = parse_utc(str(cdr["last_updated"]))
    if query.date_from is not None and updated < query.date_from:
        return False
    return query.date_to is None or updated < query.date_to


def _time(raw: dict[str, str], name: str) -> datetime | None:
    """An RFC 3339 date-time (OCPI DateTime; without an offset it is UTC). Any year: a
    client asking for everything since 1970 asks a fair question. A window that ends
    before it starts is empty, not an error."""
    text = raw.get(name)
    if text is None:
        return None
    try:
        if len(text) < 19 or text[10] not in "Tt":
            raise ValueError(text)
        value = datetime.fromisoformat(text.upper())
    except ValueError:
        raise BadQuery(f"{name}: not an OCPI DateTime (e.g. 2026-04-26T00:00:00Z)") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _count(raw: dict[str, str], name: str) -> int:
    text = raw.get(name)
    if text is None:
        return 0
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise BadQuery(f"{name}: not a whole number 0..999999999")
    return int(text)
