"""``health``: GET /api/health -> store reachability, budget, registry freshness, backlog.

Function-key protected (``authLevel: function``), like every HTTP endpoint of the app; an
availability test passes the key. 200 while the store answers (``ok`` or ``degraded``
with reasons), 503 when it does not.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import azure.functions as func

from functions.worker import Worker, current

if TYPE_CHECKING:
    from shared.zaptec.budget import Policy

__all__ = ["bp"]

bp = func.Blueprint()  # type: ignore[no-untyped-call]


@bp.function_name("health")
@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def health(req: func.HttpRequest) -> func.HttpResponse:
    from shared.app.health import check  # noqa: PLC0415

    worker = current()
    report = check(worker.store, worker.now(), _policy(worker))
    return func.HttpResponse(
        json.dumps(report.as_json(), indent=2, sort_keys=True),
        status_code=report.http_status,
        mimetype="application/json",
        headers={"cache-control": "no-store"},
    )


def _policy(worker: Worker) -> Policy | None:
    """The budget policy from the config (None while the config does not load)."""
    from shared.zaptec.budget import Policy  # noqa: PLC0415

    try:
        zc = worker.config().zaptec
    except Exception:
        return None
    return Policy.from_limits(zc.limits, zc.backoff.total_seconds(), zc.max_backoff.total_seconds())
