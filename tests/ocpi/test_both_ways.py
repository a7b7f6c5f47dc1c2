"""Both ways over one replay of the sample day: every finance record is pushed once to an
eMSP's Receiver by an ``ocpi`` target, and an eMSP pulling from the same state gets
exactly the CDRs that were pushed. A second replay pushes nothing more."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import yaml

from shared.app.compose import open_local
from shared.app.ocpi import ocpi_api
from shared.config.loader import load_config
from shared.ocpi.wsgi import wsgi_app
from shared.storage.sqlite import SqliteStore
from tests.finance.ocpi_check import ocpi_problems
from tests.ocpi.helpers import TOKEN_A, OcpiReceiver, peer_transport, pull_all, register
from tests.support.cli import RunCli
from tests.support.receivers import serve

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "sample-day.jsonl"
EMSP_TOKEN = "token-the-emsp-issued-us-77"


def test_the_sample_day_is_pushed_once_and_pulls_back_the_same(
    tmp_path: Path, cli_main: RunCli
) -> None:
    receiver = OcpiReceiver(EMSP_TOKEN)
    with serve(receiver):
        config = {
            "targets": {
                "emsp": {
                    "kind": "ocpi",
                    "url": f"{receiver.url}/ocpi/emsp/2.2.1/cdrs",
                    "token": "${EMSP_TOKEN}",
                }
            },
            "routes": [{"match": {"types": ["finance.record.created"]}, "targets": ["emsp"]}],
            "finance": {
                "country_code": "NO",
                "party_id": "CPO",
                "tariffs": {"default": {"energy_per_kwh": "0.30", "vat_rate": "0.25"}},
            },
            "ocpi": {"registration_token": TOKEN_A},
        }
        path = tmp_path / "c.yaml"
        path.write_text(yaml.safe_dump(config))
        out = tmp_path / "out"
        args = ["replay", str(SAMPLE), "--config", str(path), "--out", str(out), "--quiet"]
        env = {"EMSP_TOKEN": EMSP_TOKEN}
        first = cli_main(*args, "--json", env=env)
        assert first.returncode == 0, first.stderr
        records = json.loads(first.stdout)["events"]["finance.record.created"]
        assert records > 0
        assert cli_main(*args, env=env).returncode == 0  # a redelivery of the whole day
    pushed = list(receiver.cdrs.values())
    assert receiver.posts == len(pushed) == records  # each once, the rerun sent nothing
    lines = [json.loads(x) for x in (out / "deliveries.jsonl").read_text().splitlines()]
    ocpi_lines = [x for x in lines if x["kind"] == "ocpi"]
    assert len(ocpi_lines) == records
    assert {x["status"] for x in ocpi_lines} == {"delivered"}
    where = f"{receiver.url}/ocpi/emsp/2.2.1/cdrs/"
    locations = sorted(x["ref"]["location"] for x in ocpi_lines)
    assert locations == sorted(where + c["id"] for c in pushed)
    for cdr in pushed:
        assert ocpi_problems(cdr) == [], cdr["id"]

    store = SqliteStore(out / "state.sqlite3")
    loaded = load_config(path=path, env={"EMSP_TOKEN": EMSP_TOKEN})
    app = open_local(loaded, store, data_clock=False, http=httpx.Client(transport=peer_transport()))
    try:
        wsgi = httpx.WSGITransport(app=wsgi_app(ocpi_api(app).handle))
        with httpx.Client(transport=wsgi, base_url="http://chargeops.test") as client:
            token = register(client)
            pulled = [c for page in pull_all(client, token) for c in page.json()["data"]]
    finally:
        app.close()
    assert pulled == pushed
