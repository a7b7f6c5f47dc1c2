"""The app as the Functions worker indexes it: every function, every binding, the app
settings the bindings name, host.json, and an import that builds nothing."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
from typing import Any

from tests.azure.conftest import ROOT, indexed

SAMPLE = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
HOST = json.loads((ROOT / "host.json").read_text())


def bindings() -> dict[str, list[dict[str, Any]]]:
    return {f.get_function_name(): [json.loads(b) for b in f.get_raw_bindings()] for f in indexed()}


def test_every_function_and_binding() -> None:
    assert bindings() == {
        "ingest": [
            {
                "direction": "IN",
                "type": "serviceBusTrigger",
                "name": "msgs",
                "connection": "ZAPTEC_SERVICEBUS",
                "topicName": "%ZAPTEC_TOPIC%",
                "subscriptionName": "%ZAPTEC_SUBSCRIPTION%",
                "cardinality": "MANY",
            }
        ],
        "tickets": [
            {
                "direction": "IN",
                "type": "serviceBusTrigger",
                "name": "msg",
                "connection": "CHARGEOPS_SERVICEBUS",
                "topicName": "%CHARGEOPS_TOPIC%",
                "subscriptionName": "%CHARGEOPS_TICKETS_SUBSCRIPTION%",
                "isSessionsEnabled": True,
            }
        ],
        "finance": [
            {
                "direction": "IN",
                "type": "serviceBusTrigger",
                "name": "msg",
                "connection": "CHARGEOPS_SERVICEBUS",
                "topicName": "%CHARGEOPS_TOPIC%",
                "subscriptionName": "%CHARGEOPS_FINANCE_SUBSCRIPTION%",
                "isSessionsEnabled": True,
            }
        ],
        "offline_watchdog": [
            {
                "direction": "IN",
                "type": "timerTrigger",
                "name": "timer",
                "schedule": "%OFFLINE_WATCHDOG_SCHEDULE%",
                "runOnStartup": False,
            }
        ],
        "registry_refresh": [
            {
                "direction": "IN",
                "type": "timerTrigger",
                "name": "timer",
                "schedule": "%REGISTRY_REFRESH_SCHEDULE%",
                "runOnStartup": False,
            }
        ],
        "uptime_report": [
            {
                "direction": "IN",
                "type": "timerTrigger",
                "name": "timer",
                "schedule": "%UPTIME_REPORT_SCHEDULE%",
                "runOnStartup": False,
            }
        ],
        "health": [
            {
                "direction": "IN",
                "type": "httpTrigger",
                "name": "req",
                "methods": ["GET"],
                "authLevel": "FUNCTION",
                "route": "health",
            },
            {"direction": "OUT", "type": "http", "name": "$return"},
        ],
        "ocpi": [
            {
                "direction": "IN",
                "type": "httpTrigger",
                "name": "req",
                "methods": ["GET", "POST", "PUT", "DELETE"],
                "authLevel": "ANONYMOUS",
                "route": "ocpi/{*rest}",
            },
            {"direction": "OUT", "type": "http", "name": "$return"},
        ],
    }


def test_function_parameters_match_their_bindings() -> None:
    """The worker passes triggers by parameter name, and ``context`` when asked for.
    (Names only: test_worker_loader.py loads each function through the worker itself,
    which also validates the annotations.)"""
    for f in indexed():
        params = set(inspect.signature(f.get_user_function()).parameters)
        names = {json.loads(b)["name"] for b in f.get_raw_bindings()} - {"$return"}
        assert names <= params, f.get_function_name()
        assert params - names <= {"context"}, f.get_function_name()


def test_every_setting_a_binding_names_has_a_safe_sample() -> None:
    for name, items in bindings().items():
        for binding in items:
            for value in binding.values():
                for setting in re.findall(r"%([^%]+)%", str(value)):
                    assert SAMPLE.get(setting), f"{name}: {setting} missing from the sample"
            conn = binding.get("connection")
            if conn:
                assert SAMPLE.get(conn) or SAMPLE.get(f"{conn}__fullyQualifiedNamespace"), conn
    for name, value in SAMPLE.items():
        assert "AccountKey=" not in value, name
        assert not re.search(r"SharedAccessKey=[A-Za-z0-9+/]{20,}", value), name


def test_timer_samples_are_six_field_ncrontab() -> None:
    for setting in (
        "REGISTRY_REFRESH_SCHEDULE",
        "OFFLINE_WATCHDOG_SCHEDULE",
        "UPTIME_REPORT_SCHEDULE",
    ):
        assert len(SAMPLE[setting].split()) == 6, setting


def test_host_json_is_tuned_for_this_workload() -> None:
    sb = HOST["extensions"]["serviceBus"]
    assert HOST["version"] == "2.0"
    assert HOST["extensionBundle"] == {
        "id": "Microsoft.Azure.Functions.ExtensionBundle",
        "version": "[4.*, 5.0.0)",
    }
    assert sb["autoCompleteMessages"] is True  # settlement: complete on return, abandon on raise
    assert 1 <= sb["minMessageBatchSize"] < sb["maxMessageBatchSize"]
    # the batch wait must stay under half of a 1-minute lock (Zaptec's and ours)
    h, m, s = (int(x) for x in sb["maxBatchWaitTime"].split(":"))
    assert h * 3600 + m * 60 + s < 30
    assert sb["clientRetryOptions"]["mode"] == "exponential"
    assert sb["maxAutoLockRenewalDuration"] == "00:05:00"
    sampling = HOST["logging"]["applicationInsights"]["samplingSettings"]
    assert "Request" in sampling["excludedTypes"]  # every invocation is kept
    assert "Exception" in sampling["excludedTypes"]


def test_importing_the_app_builds_nothing() -> None:
    """Cold start: no SDK client, store, HTTP client or runtime at import (bench/ measures
    the time; this checks the cause)."""
    code = (
        "import sys, function_app\n"
        "heavy = ['azure.servicebus', 'azure.data.tables', 'azure.identity', 'httpx',\n"
        "         'opentelemetry', 'azure.monitor', 'shared.app.compose', 'shared.config.loader']\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
