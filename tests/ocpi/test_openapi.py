"""The OCPI API against its OpenAPI document (docs/ocpi-openapi.yaml), with schemathesis:
generated requests to every operation (valid and invalid parameters and bodies, with and
without the token) go to the handler in-process over WSGI, and every answer must match
the document (status, headers, body schema) and never be a server error.

The generated requests may unregister the peer (DELETE) or rotate its token (PUT): the
test app puts the registered peer back before each request, so every operation is
exercised with a valid token, not only the 401 paths."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from shared.app.compose import open_local
from shared.app.ocpi import ocpi_api
from shared.config.loader import load_config
from shared.ocpi.peers import PeerRepo
from shared.ocpi.wsgi import wsgi_app
from shared.storage.schema import OCPI_PEER_KIND
from shared.storage.sqlite import SqliteStore
from tests.ocpi.helpers import CONFIG, auth, bill_sessions, peer_transport, register

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "ocpi-openapi.yaml"
TOKEN_C = "schemathesis-token-C-000000000000"


def build_app(tmp: Path) -> Callable[..., Iterable[bytes]]:
    config = load_config(text=CONFIG)
    store = SqliteStore(tmp / "state.sqlite3")
    bill_sessions(store, config, 12)
    http = httpx.Client(transport=peer_transport())
    app = open_local(config, store, data_clock=False, http=http)
    health = (200, {"status": "ok", "problems": []})
    api = ocpi_api(app, health=lambda: health, new_token=lambda: TOKEN_C)
    wsgi = wsgi_app(api.handle)
    with httpx.Client(transport=httpx.WSGITransport(app=wsgi), base_url="http://t") as client:
        assert register(client) == TOKEN_C
    registered = {k: e.value for k, e in store.scan(OCPI_PEER_KIND, "peer:")}

    def keep_registered(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if PeerRepo(store).by_token(TOKEN_C) is None:
            store.put_many(OCPI_PEER_KIND, registered)
        return wsgi(environ, start_response)

    return keep_registered


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Iterable[bytes]]:
    return build_app(tmp_path_factory.mktemp("openapi"))


# Schema-valid requests must be accepted (schemathesis' positive_data_acceptance), except
# that credentials.asciidoc requires 405 for a POST by a peer already registered (ours
# is) and for PUT/DELETE by one that is not: that is state, not data.
CONFIG_ = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "403", "404", "405", "409", "429", "5xx"]
            }
        }
    }
)
schema = schemathesis.openapi.from_path(DOCUMENT, config=CONFIG_)


@schema.auth()
class OcpiToken:
    """The registered peer's token, as OCPI 2.2.1 sends it. Declared as the schema's
    auth, so schemathesis also sends requests without it or with a wrong one and
    requires those refused (its ``ignored_auth`` check)."""

    def get(self, case: schemathesis.Case[Any], context: schemathesis.AuthContext) -> str:
        return TOKEN_C

    def set(
        self, case: schemathesis.Case[Any], data: str, context: schemathesis.AuthContext
    ) -> None:
        case.headers.update(auth(data))


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_matches_the_document(case: schemathesis.Case[Any], app: Any) -> None:
    case.operation.schema.app = app  # in-process, for the checks' own requests too
    case.call_and_validate(app=app)
