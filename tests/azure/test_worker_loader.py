"""The app as the Azure Functions Python worker loads it: its own indexing and loading code.

``test_indexing.py`` checks what azure-functions declares; the worker then loads each function
and refuses any whose parameter annotations it cannot bind (``FunctionLoadError``): such a
function never runs in Azure, and nothing at deploy time says so. This drives the worker's
entry points with its real code (azure-functions-runtime, in .tools/functions-worker/ from
scripts/tools/functions-worker.sh) and the azure-functions pinned in requirements.txt (this
venv's site-packages), in a subprocess, as the host does at start-up: ``worker_init_request``
(binding registry, ``load_function_metadata`` -> ``loader.index_function_app`` imports
function_app and calls ``get_functions()``, ``loader.process_indexed_function`` ->
``functions.Registry.add_indexed_function`` validates each function), then
``functions_metadata_request`` and a ``function_load_request`` per function.

The host's gRPC messages are stood in for by plain records (``_PROTOS`` below) with the enum
numbers of FunctionRpc.proto: the loader only reads those numbers and builds these messages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from tests.azure.conftest import ROOT

WORKER_VENV = ROOT / ".tools" / "functions-worker"
WORKER_PYTHON = WORKER_VENV / "bin" / "python"
PINNED_AZURE_FUNCTIONS = next(
    line.split("==")[1].split()[0]
    for line in (ROOT / "requirements.txt").read_text().splitlines()
    if line.startswith("azure-functions==")
)

# Run by the worker venv's python: argv = app directory, then the project's site-packages.
_DRIVER = r"""
import asyncio, json, sys, types

app_dir, *site_dirs = sys.argv[1:]
sys.path[0:0] = [app_dir, *site_dirs]  # as the worker: the app, then its .python_packages

import azure_functions_runtime as worker
from azure_functions_runtime import handle_event
from azure_functions_runtime.utils.helpers import get_sdk_version


class _Message:
    def __init__(self, **fields):
        self.__dict__.update(fields)


class BindingInfo(_Message):  # FunctionRpc.proto: enum Direction, enum DataType
    out, inout = 1, 2
    undefined, string, binary, stream = 0, 1, 2, 3


setattr(BindingInfo, "in", 0)


class StatusResult(_Message):  # FunctionRpc.proto: enum Status
    Failure, Success, Cancelled = 0, 1, 2


protos = types.SimpleNamespace(
    BindingInfo=BindingInfo,
    StatusResult=StatusResult,
    **{
        name: type(name, (_Message,), {})
        for name in (
            "WorkerInitResponse", "WorkerMetadata", "RpcException", "FunctionMetadataResponse",
            "RpcFunctionMetadata", "RpcRetryOptions", "FunctionLoadResponse",
        )
    },
)


def request(**fields):
    return types.SimpleNamespace(
        request=types.SimpleNamespace(**fields),
        properties={"host": "127.0.0.1", "protos": protos},
    )


def status(result):
    exc = getattr(result, "exception", None)
    return {"ok": result.status == StatusResult.Success, "error": exc and exc.message}


init_request = types.SimpleNamespace(capabilities={}, function_app_directory=app_dir)
init = asyncio.run(worker.worker_init_request(request(worker_init_request=init_request)))
out = {
    "init": status(init.result),
    "sdk_version": get_sdk_version(),
    "azure_functions": getattr(sys.modules.get("azure.functions"), "__file__", None),
    "worker": worker.__file__,
    "functions": {},
}
if out["init"]["ok"]:
    metadata = asyncio.run(worker.functions_metadata_request(None))
    out["metadata"] = status(metadata.result)
    for meta in metadata.function_metadata_results:
        load_request = types.SimpleNamespace(function_id=meta.function_id)
        load = request(function_load_request=load_request)
        loaded = asyncio.run(worker.function_load_request(load))
        info = handle_event._functions.get_function(meta.function_id)
        ret = info.return_type
        out["functions"][meta.name] = {
            "load": status(loaded.result),
            "bindings": {
                name: [b.type, b.direction] for name, b in sorted(meta.bindings.items())
            },
            "raw_bindings": [json.loads(raw) for raw in meta.raw_bindings],
            "inputs": {
                name: [t.binding_name, repr(t.pytype)] for name, t in info.input_types.items()
            },
            "outputs": {
                name: [t.binding_name, repr(t.pytype)] for name, t in info.output_types.items()
            },
            "return": ret and [ret.binding_name, repr(ret.pytype)],
            "context": info.requires_context,
        }
json.dump(out, sys.stdout)
"""

SB = "azure.functions._servicebus.ServiceBusMessage"
IN, OUT = 0, 1


def load_in_worker(app_dir: Path) -> dict[str, Any]:
    """Start the worker's init + metadata + load sequence on app_dir/function_app.py."""
    if not WORKER_PYTHON.exists():
        pytest.fail(
            f"{WORKER_PYTHON.relative_to(ROOT)} is missing: run ./test.sh "
            "(or bash scripts/tools/functions-worker.sh) to install the Functions worker",
            pytrace=False,
        )
    site_dirs = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "FUNCTIONS_"))}
    proc = subprocess.run(
        [str(WORKER_PYTHON), "-c", _DRIVER, str(app_dir), *site_dirs],
        cwd=app_dir,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        pytest.fail(f"the worker driver failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(proc.stdout)
    # The worker's own code ran, validating with the azure-functions this app pins.
    assert Path(result["worker"]).is_relative_to(WORKER_VENV), result["worker"]
    assert Path(result["azure_functions"]).parent.parent.parent.as_posix() in site_dirs
    assert result["sdk_version"] == PINNED_AZURE_FUNCTIONS
    return result


def test_the_worker_loads_every_function_of_the_app() -> None:
    loaded = load_in_worker(ROOT)
    assert loaded["init"] == {"ok": True, "error": None}
    assert loaded["metadata"] == {"ok": True, "error": None}
    functions = loaded["functions"]
    assert sorted(functions) == sorted(
        [
            "ingest",
            "tickets",
            "finance",
            "offline_watchdog",
            "registry_refresh",
            "uptime_report",
            "health",
            "ocpi",
        ]
    )
    for name, fn in functions.items():
        assert fn["load"] == {"ok": True, "error": None}, name
        # every binding the decorators declare reached the host's metadata
        assert sorted(fn["bindings"]) == sorted(b["name"] for b in fn["raw_bindings"]), name

    def loaded_as(name: str) -> dict[str, Any]:
        fn = functions[name]
        return {k: fn[k] for k in ("bindings", "inputs", "outputs", "return", "context")}

    assert loaded_as("ingest") == {
        "bindings": {"msgs": ["serviceBusTrigger", IN]},
        "inputs": {"msgs": ["serviceBusTrigger", f"typing.List[{SB}]"]},
        "outputs": {},
        "return": None,
        "context": True,
    }
    for name in ("tickets", "finance"):
        assert loaded_as(name) == {
            "bindings": {"msg": ["serviceBusTrigger", IN]},
            "inputs": {"msg": ["serviceBusTrigger", f"<class '{SB}'>"]},
            "outputs": {},
            "return": None,
            "context": True,
        }, name
    for name in ("offline_watchdog", "registry_refresh", "uptime_report"):
        assert loaded_as(name) == {
            "bindings": {"timer": ["timerTrigger", IN]},
            "inputs": {"timer": ["timerTrigger", "<class 'azure.functions._abc.TimerRequest'>"]},
            "outputs": {},
            "return": None,
            "context": True,
        }, name
    for name in ("health", "ocpi"):
        assert loaded_as(name) == {
            "bindings": {"$return": ["http", OUT], "req": ["httpTrigger", IN]},
            "inputs": {"req": ["httpTrigger", "<class 'azure.functions._http.HttpRequest'>"]},
            "outputs": {},
            "return": ["http", "<class 'azure.functions._http.HttpResponse'>"],
            "context": False,
        }, name


THROWAWAY_APP = """
from __future__ import annotations

import typing

import azure.functions as func

app = func.FunctionApp()


@app.service_bus_topic_trigger(
    arg_name="msgs", connection="SB", topic_name="t", subscription_name="s", cardinality="many"
)
def ingest(msgs: {annotation}, context: func.Context) -> None:
    pass
"""


@pytest.mark.parametrize(
    ("annotation", "error"),
    [
        ("typing.List[func.ServiceBusMessage]", None),
        (
            "list[func.ServiceBusMessage]",
            "FunctionLoadError: cannot load the ingest function: binding msgs has invalid "
            f"non-type annotation list[{SB}]",
        ),
    ],
)
def test_the_worker_refuses_a_builtin_list_batch(
    tmp_path: Path, annotation: str, error: str | None
) -> None:
    """The finding this test exists for: a Service Bus batch typed ``list[...]`` is refused
    by the worker (the app starts with that function missing); ``typing.List`` loads."""
    (tmp_path / "function_app.py").write_text(THROWAWAY_APP.format(annotation=annotation))
    loaded = load_in_worker(tmp_path)
    assert loaded["init"] == {"ok": error is None, "error": error}
    if error is None:
        assert loaded["functions"]["ingest"]["inputs"] == {
            "msgs": ["serviceBusTrigger", f"typing.List[{SB}]"]
        }
