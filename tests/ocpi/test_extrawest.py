"""chargeops' pull API used by a real OCPI 2.2.1 implementation from PyPI: extrawest-ocpi
(py_ocpi), in its own venv (scripts/tools/ocpi-peer.sh; its pydantic 1 and httpx 0.24 pins
cannot live beside this project's).

py_ocpi is a server framework: it has no client for a Sender's paginated CDRs. What it does
have is real client code for the versions endpoints: its credentials module, on a POST,
reads the other party's versions and 2.2.1 version details with that party's token and
keeps the endpoints (``modules/credentials/v_2_2_1/api/emsp.py``). So the driver below
hands py_ocpi's own POST handler our credentials (token C, our versions URL), as a CPO
registering with a py_ocpi eMSP would; py_ocpi then calls ``chargeops serve`` over HTTP,
finds the ``cdrs`` SENDER endpoint among the endpoints it stored, and the driver follows
``Link: rel=next`` from there and loads every CDR into py_ocpi's own 2.2.1 ``Cdr`` model.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx

from tests.ocpi.helpers import PEER_CREDENTIALS, TOKEN_A, auth, emsp_versions
from tests.support.receivers import serve_script

ROOT = Path(__file__).resolve().parents[2]
PEER_PYTHON = ROOT / ".tools" / "extrawest-ocpi" / "bin" / "python"

DRIVER = r"""
import asyncio, json, sys, types

import httpx
from py_ocpi.modules.cdrs.v_2_2_1.schemas import Cdr
from py_ocpi.modules.credentials.v_2_2_1.api.emsp import post_credentials
from py_ocpi.modules.credentials.v_2_2_1.schemas import Credentials

versions_url, token = sys.argv[1:]
kept = {}


class Crud:  # what py_ocpi's POST handler stores: our credentials and endpoints
    async def create(self, module, role, data, auth_token=None, version=None):
        kept.update(data)
        return data["credentials"]


class Keep:  # the one adapter method the POST handler calls
    def credentials_adapter(self, data, version=None):
        return Credentials(**data)


ours = Credentials(token=token, url=versions_url, roles=[{
    "role": "CPO", "party_id": "CPO", "country_code": "NO",
    "business_details": {"name": "chargeops"},
}])
request = types.SimpleNamespace(headers={"authorization": "Token ZW1zcC1zaWRl"})
answer = asyncio.run(post_credentials(request, ours, Crud(), Keep(), ""))
endpoints = kept.get("endpoints", {}).get("endpoints", [])
(cdrs_url,) = [e["url"] for e in endpoints if e["identifier"] == "cdrs" and e["role"] == "SENDER"]

ids, problems, url = [], [], cdrs_url
header = {"authorization": "Token " + __import__("base64").b64encode(token.encode()).decode()}
while url:
    page = httpx.get(url, headers=header)
    for cdr in page.json()["data"]:
        ids.append(cdr["id"])
        try:
            Cdr.parse_obj(cdr)
        except Exception as exc:
            problems.append(f"{cdr['id']}: {exc}")
    url = page.links.get("next", {}).get("url")
print(json.dumps({
    "status_code": answer.status_code, "cdrs_url": cdrs_url, "ids": ids, "problems": problems,
}))
"""


def test_py_ocpi_reads_our_versions_and_every_cdr_loads_into_its_model(
    served: tuple[str, subprocess.Popen[str]], tmp_path: Path
) -> None:
    assert PEER_PYTHON.exists(), "run scripts/tools/ocpi-peer.sh (./test.sh does)"
    url, _ = served
    with serve_script(emsp_versions) as emsp, httpx.Client(base_url=url, timeout=10) as client:
        theirs = {**PEER_CREDENTIALS, "url": f"{emsp.url}/ocpi/versions"}
        posted = client.post("/ocpi/2.2.1/credentials", headers=auth(TOKEN_A), json=theirs)
        token = posted.json()["data"]["token"]
        expected = [c["id"] for c in _all(client, token)]
    done = subprocess.run(
        [str(PEER_PYTHON), "-c", DRIVER, f"{url}/ocpi/versions", token],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status_code"] == 1000
    assert result["cdrs_url"] == f"{url}/ocpi/2.2.1/cdrs"
    assert result["ids"] == expected
    assert len(set(result["ids"])) == len(result["ids"]) == 27
    assert result["problems"] == []


def _all(client: httpx.Client, token: str) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    url: str | None = "/ocpi/2.2.1/cdrs"
    while url:
        page = client.get(url, headers=auth(token))
        found += page.json()["data"]
        url = page.links.get("next", {}).get("url")
    return found
