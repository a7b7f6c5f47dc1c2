"""``health``: GET /api/health -> store reachability, budget, registry freshness, backlog.

Function-key protected (``authLevel: function``), like every HTTP endpoint of the app; an
availability test passes the key. 200 while the store answers (``ok`` or ``degraded``
with reasons), 503 when it does not.
"""

from __future__ import annotations

import json

import azure.functions as func

from functions.worker import current

__all__ = ["bp"]

bp = func.Blueprint()  # type: ignore[no-untyped-call]


@bp.function_name("health")
@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def health(req: func.HttpRequest) -> func.HttpResponse:
    from shared.app.health import report  # noqa: PLC0415

    found = report(current())
    return func.HttpResponse(
        json.dumps(found.as_json(), indent=2, sort_keys=True),
        status_code=found.http_status,
        mimetype="application/json",
        headers={"cache-control": "no-store"},
    )
