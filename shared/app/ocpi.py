"""The OCPI API of an App: the handler of ``shared.ocpi.api`` over this App's store, its
finance ledger and its HTTP client. ``functions/ocpi.py`` (Azure) and ``chargeops serve``
both build it here, so the two serve the same thing.

The thin adapter between the ledger and the OCPI package lives here because it needs
both: ``shared.ocpi`` sits below the consumers (the push target in ``shared.notify``
shares its transport rules), so it is handed the CDRs instead of reading the ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from shared.consumers.finance.cdr import ocpi_cdr, record_of
from shared.consumers.finance.ledger import Ledger
from shared.consumers.finance.sites import SiteResolver
from shared.ocpi import transport
from shared.ocpi.api import HealthProbe, OcpiApi
from shared.ocpi.credentials import Fetch, Handshake, Party
from shared.ocpi.peers import PeerRepo

if TYPE_CHECKING:
    from shared.app.compose import App

__all__ = ["ledger_cdrs", "ocpi_api"]


def ocpi_api(
    app: App,
    *,
    health: HealthProbe | None = None,
    new_token: Callable[[], str] | None = None,
) -> OcpiApi:
    """The handler; ``health`` adds ``GET /health`` (serve: the Function has its own);
    ``new_token`` replaces the random tokens issued at registration (tests)."""
    config = app.config()
    handshake = Handshake(
        PeerRepo(app.store),
        config.ocpi,
        Party(config.finance.country_code, config.finance.party_id),
        _fetch(app, config.ocpi.peer_timeout.total_seconds()),
        app.now,
        **({"new_token": new_token} if new_token is not None else {}),
    )
    ledger = Ledger(app.store, config.finance, SiteResolver(config.finance, None))
    return OcpiApi(handshake, lambda: ledger_cdrs(ledger), config.ocpi, app.now, health)


def ledger_cdrs(ledger: Ledger) -> Iterator[dict[str, Any]]:
    """Every CDR the ledger made, once, in ledger order: bills and credits as OCPI CDRs
    (without the chargeops extension, which stays in the CloudEvent)."""
    for entry in ledger.journal():
        yield ocpi_cdr(record_of(entry["event"]))


def _fetch(app: App, timeout: float) -> Fetch:
    """GET a peer's versions endpoints with the token it gave us; transport failures
    become OSError, which the handshake answers with OCPI 3001."""
    import httpx  # noqa: PLC0415

    def fetch(url: str, token: str) -> tuple[int, bytes]:
        headers = {"Authorization": transport.authorization(token), "Accept": "application/json"}
        try:
            reply = app.http.get(url, headers=headers, timeout=timeout)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise OSError(type(exc).__name__) from None
        return reply.status_code, reply.content

    return fetch
