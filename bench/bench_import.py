"""Cold start of the function app (issue: Azure Functions for real).

Measures, each in a fresh interpreter as a new Functions worker would be:
- ``import function_app`` (what the worker does to index the app; the target is < 1 s);
- the first ``ingest`` invocation after that: worker resources built from app settings
  (SQLite stand-in for Table Storage, an in-memory stand-in for our topic's sender), then
  a 100-message batch of real-shaped NBFX bodies decoded, committed and published;
- the same batch again in the same worker (the warm path).

Usage: .venv/bin/python bench/bench_import.py [--runs 10]
Prints a Markdown table (median and worst of the runs); numbers go to docs/benchmarks.md.
No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_IMPORT = """
import time
t = time.perf_counter()
import function_app
elapsed = time.perf_counter() - t
import json, sys
print(json.dumps({"import": elapsed, "functions": len(function_app.app.get_functions())}))
"""

_FIRST_CALL = """
import time
t0 = time.perf_counter()
import function_app
t1 = time.perf_counter()
import json, uuid
from datetime import UTC, datetime, timedelta
from azure.functions.servicebus import ServiceBusMessage
from simulators.traffic import nbfx_body

class Sent:
    count = 0
    def send_messages(self, message, **kwargs):
        self.count += len(message) if isinstance(message, list) else 1

class Ctx:
    invocation_id = str(uuid.uuid4())
    function_name = "ingest"

def batch(offset):
    start = datetime(2026, 4, 26, tzinfo=UTC)
    out = []
    for i in range(100):
        at = start + timedelta(seconds=offset + i)
        obs = {"DeviceId": "ZAP%06d" % (i % 20), "DeviceType": 4,
               "ChargerId": str(uuid.uuid5(uuid.NAMESPACE_URL, str(i % 20))),
               "StateId": -2 if i % 10 == 0 else 150,
               "Timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:23],
               "ValueAsString": ("1" if offset else "0") if i % 10 == 0 else "230.0"}
        out.append(ServiceBusMessage(
            body=nbfx_body(json.dumps(obs).encode()), message_id=str(uuid.uuid4()),
            enqueued_time_utc=at, application_properties={}, user_properties={}))
    return out

first, second = batch(0), batch(1000)
sent = Sent()
t2 = time.perf_counter()
import httpx
from functions import worker
from shared.adapters.app_settings import AppSettings
from shared.storage.sqlite import SqliteStore
from shared.adapters.telemetry import Counters, setup
from shared.app.compose import App
from shared.app.topic import ServiceBusTopic
from shared.events.log import EventLog
setup({})
store = SqliteStore(STATE)
worker.install(App(env={}, store=store, http=httpx.Client(), counters=Counters(),
    settings=AppSettings(), topic=ServiceBusTopic(EventLog(store), lambda: sent)))
ingest = {f.get_function_name(): f.get_user_function()
          for f in function_app.app.get_functions()}["ingest"]
ingest(first, Ctx())
t3 = time.perf_counter()
ingest(second, Ctx())
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first": t3 - t2, "warm": t4 - t3, "published": sent.count}))
"""


def run(code: str, state: Path | None = None) -> dict[str, float]:
    script = code.replace("STATE", repr(str(state))) if state else code
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    import tempfile  # noqa: PLC0415

    run(_IMPORT)  # warm the bytecode cache: a deployed app ships compiled .pyc files
    imports = [run(_IMPORT) for _ in range(args.runs)]
    calls = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            calls.append(run(_FIRST_CALL, Path(tmp) / f"s{i}.sqlite3"))

    def row(name: str, values: list[float]) -> str:
        ms = sorted(v * 1000 for v in values)
        return f"| {name} | {statistics.median(ms):.0f} ms | {ms[-1]:.0f} ms |"

    print(
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"{args.runs} fresh interpreters each; functions indexed: {int(imports[0]['functions'])}"
    )
    print()
    print("| measure | median | worst |")
    print("|---|---|---|")
    print(row("`import function_app`", [r["import"] for r in imports]))
    print(row("first `ingest` (100 NBFX msgs, builds the worker)", [c["first"] for c in calls]))
    print(row("next `ingest` (100 msgs, warm worker)", [c["warm"] for c in calls]))
    print(f"\nevents published per run: {int(calls[0]['published'])}")


if __name__ == "__main__":
    main()
