"""The Azure Functions app: one ``FunctionApp`` registering the blueprints in ``functions/``.

Importing this module only declares functions and bindings; SDK clients, the store and
the configuration are built on the first invocation (``functions.worker``), which keeps
indexing and cold start fast (bench/bench_import.py).
"""

from __future__ import annotations

import azure.functions as func

from functions import consumers, health, ingest, ocpi, timers

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (ingest.bp, consumers.bp, timers.bp, health.bp, ocpi.bp):
    app.register_functions(blueprint)
