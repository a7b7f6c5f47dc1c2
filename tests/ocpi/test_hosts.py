"""The one handler in both of its hosts: the Azure function ``ocpi`` (called as the worker
indexes it from ``function_app``) and ``chargeops serve`` (the console script, over real
HTTP on loopback). In each, a client registers and pulls every CDR once."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import azure.functions as func
import httpx

from functions import worker
from shared.storage.sqlite import SqliteStore
from tests.azure.conftest import app_functions
from tests.ocpi.helpers import (
    PEER_CREDENTIALS,
    PEER_TOKEN_B,
    TOKEN_A,
    auth,
    emsp_versions,
    make_state,
    pull_all,
)
from tests.support.cli import CHARGEOPS, environment
from tests.support.receivers import serve_script

AZURE = "https://chargeops-func.azurewebsites.net"


class FunctionClient(httpx.BaseTransport):
    """httpx requests handed to the ``ocpi`` function as the host would build them."""

    def __init__(self) -> None:
        self.function = app_functions()["ocpi"]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        req = func.HttpRequest(
            request.method,
            str(request.url),
            headers=dict(request.headers),
            params=dict(request.url.params),
            body=request.read(),
        )
        resp = self.function(req)
        return httpx.Response(resp.status_code, headers=dict(resp.headers), content=resp.get_body())


def test_the_azure_function_serves_the_handshake_and_every_cdr(tmp_path: Path) -> None:
    state = make_state(tmp_path)
    worker.install(state.app)
    try:
        client = httpx.Client(transport=FunctionClient(), base_url=AZURE)
        versions = client.get("/api/ocpi/versions", headers=auth(TOKEN_A)).json()["data"]
        assert versions == [{"version": "2.2.1", "url": f"{AZURE}/api/ocpi/2.2.1"}]
        posted = client.post(
            f"{AZURE}/api/ocpi/2.2.1/credentials", headers=auth(TOKEN_A), json=PEER_CREDENTIALS
        ).json()
        assert posted["status_code"] == 1000
        assert posted["data"]["url"] == f"{AZURE}/api/ocpi/versions"
        token = posted["data"]["token"]
        pages = list(pull_all(client, token, "/api/ocpi/2.2.1/cdrs"))
        assert all(
            urlsplit(p.links["next"]["url"]).path == "/api/ocpi/2.2.1/cdrs" for p in pages[:-1]
        )
        ids = [c["id"] for p in pages for c in p.json()["data"]]
        assert len(ids) == len(set(ids)) == 27
        refused = client.get("/api/ocpi/2.2.1/cdrs", headers=auth("guess"))
        assert refused.status_code == 401
        assert client.get("/api/ocpi/nowhere", headers=auth(token)).status_code == 404
    finally:
        worker.uninstall()
        state.app.close()


def test_chargeops_serve_answers_health_and_a_client_pulls_every_cdr_once(
    served: tuple[str, subprocess.Popen[str]],
) -> None:
    url, proc = served
    with serve_script(emsp_versions) as emsp, httpx.Client(base_url=url, timeout=10) as client:
        health = client.get("/health")
        assert health.status_code == 200
        assert health.json()["status"] in ("ok", "degraded")
        theirs = {**PEER_CREDENTIALS, "url": f"{emsp.url}/ocpi/versions"}
        posted = client.post("/ocpi/2.2.1/credentials", headers=auth(TOKEN_A), json=theirs)
        assert posted.json()["status_code"] == 1000, posted.text
        token = posted.json()["data"]["token"]
        ids = [c["id"] for p in pull_all(client, token) for c in p.json()["data"]]
    assert len(ids) == len(set(ids)) == 27
    assert [s.path for s in emsp.seen] == ["/ocpi/versions", "/ocpi/2.2.1"]
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == 0
    assert proc.stderr is not None
    rest = proc.stderr.read()
    assert "serve: stopped" in rest
    assert "GET /ocpi/2.2.1/cdrs?offset=5&limit=5" in rest  # the access log
    for secret in (TOKEN_A, PEER_TOKEN_B, token):
        assert secret not in rest


def test_serve_without_a_state_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(CHARGEOPS), "serve", "--state", "missing.sqlite3", "--port", "0"],
        cwd=tmp_path, env=environment(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--state missing.sqlite3: no such state file" in done.stderr


def test_serve_on_a_port_in_use_is_a_usage_error(
    served: tuple[str, subprocess.Popen[str]], tmp_path: Path
) -> None:
    url, _ = served
    port = urlsplit(url).port
    args = ["serve", "--port", str(port), "--config", "c.yaml", "--state", "state.sqlite3"]
    done = subprocess.run(
        [str(CHARGEOPS), *args],
        cwd=tmp_path, env=environment(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr


def test_the_function_answers_503_when_the_configuration_is_unusable(tmp_path: Path) -> None:
    state = make_state(tmp_path, 1)
    state.app._config = None  # as a worker whose app settings hold a broken config
    state.app.env = {"CHARGEOPS_CONFIG": "ocpi: {registration_token: short}"}
    worker.install(state.app)
    try:
        client = httpx.Client(transport=FunctionClient(), base_url=AZURE)
        answer = client.get("/api/ocpi/versions", headers=auth(TOKEN_A))
    finally:
        worker.uninstall()
        state.app.close()
    assert answer.status_code == 503
    assert answer.json()["status_code"] == 3000
    assert "short" not in answer.text


def test_serve_json_prints_where_it_listens_on_stdout(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.sqlite3")
    store.close()
    args = ["serve", "--port", "0", "--json", "--state", "state.sqlite3"]
    proc = subprocess.Popen(
        [str(CHARGEOPS), *args], cwd=tmp_path, env=environment(),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        where = json.loads(proc.stdout.readline())
        assert set(where) == {"url", "health", "ocpi_versions"}
        assert httpx.get(where["health"], timeout=10).status_code == 200
        assert httpx.get(where["ocpi_versions"], timeout=10).status_code == 401  # no token
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
