"""``ocpi``: the OCPI 2.2.1 API under /api/ocpi/… (versions, credentials, CDRs).

Anonymous at the Functions level (``authLevel: anonymous``): OCPI peers authenticate with
their own ``Authorization: Token …`` (credentials.asciidoc), which the handler checks on
every request; a function key would be a second secret no OCPI client can send. Binds,
calls ``shared.app.ocpi`` and returns: the same handler ``chargeops serve`` runs.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from urllib.parse import urlsplit

import azure.functions as func

from functions.worker import current

__all__ = ["bp"]

bp = func.Blueprint()  # type: ignore[no-untyped-call]
log = logging.getLogger(__name__)
ROUTE_PREFIX = "/api"  # host.json sets no routePrefix: the Functions default


@bp.function_name("ocpi")
@bp.route(
    route="ocpi/{*rest}",
    methods=["GET", "POST", "PUT", "DELETE"],
    auth_level=func.AuthLevel.ANONYMOUS,
)
def ocpi(req: func.HttpRequest) -> func.HttpResponse:
    from shared.app.ocpi import ocpi_api  # noqa: PLC0415
    from shared.ocpi.api import Request  # noqa: PLC0415
    from shared.ocpi.transport import SERVER_ERROR, envelope  # noqa: PLC0415

    url = urlsplit(req.url)
    path = url.path[len(ROUTE_PREFIX) :] if url.path.startswith(ROUTE_PREFIX) else url.path
    request = Request(
        method=req.method,
        path=path,
        base_url=f"{url.scheme}://{url.netloc}{ROUTE_PREFIX}",
        query={k: req.params[k] for k in req.params},
        headers=dict(req.headers.items()),
        body=req.get_body() or b"",
    )
    try:
        api = ocpi_api(current())
    except Exception as exc:  # no store or no usable configuration: say so, no traceback
        log.error("ocpi: the API cannot start: %s", type(exc).__name__)
        body = envelope(None, datetime.now(UTC), SERVER_ERROR, "service unavailable")
        return func.HttpResponse(body, status_code=503, mimetype="application/json")
    response = api.handle(request)
    return func.HttpResponse(response.body, status_code=response.status, headers=response.headers)
