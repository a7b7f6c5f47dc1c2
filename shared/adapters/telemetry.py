"""Logs that say which invocation, message, event and charger they are about; counters;
Azure Monitor (OpenTelemetry) when ``APPLICATIONINSIGHTS_CONNECTION_STRING`` is set.

Correlation fields live in a context variable, so code deep in the core logs plainly and
still gets tagged. Every record's text is redacted (keys, signatures, URL passwords,
bearer tokens) before any handler sees it: nothing secret reaches the host's log stream
or Application Insights.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

__all__ = [
    "CORRELATION_FIELDS",
    "Counters",
    "azure_monitor_options",
    "correlate",
    "correlation",
    "redact",
    "setup",
    "teardown",
]

CORRELATION_FIELDS = ("invocation_id", "function", "message_id", "event_id", "charger_id")
_fields: ContextVar[Mapping[str, str] | None] = ContextVar("chargeops_correlation", default=None)
_SECRETS = (
    (
        re.compile(
            r"((?:AccountKey|SharedAccessKey|SharedAccessSignature|InstrumentationKey|Password)=)"
            r"[^;\s\"']+",
            re.IGNORECASE,
        ),
        r"\1***",
    ),
    (re.compile(r"([?&](?:sig|code|key|token)=)[^&\s\"']+", re.IGNORECASE), r"\1***"),
    (re.compile(r"(://[^/\s:@]+:)[^@/\s]+(@)"), r"\1***\2"),
    (re.compile(r"((?:Bearer|Basic|SharedAccessSignature)\s+)[^\s\"']+", re.IGNORECASE), r"\1***"),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]+"), "whsec_***"),
)
_configured = False


def redact(text: str) -> str:
    """Mask keys, signatures, URL passwords, bearer tokens and webhook secrets."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def correlation() -> dict[str, str]:
    """The correlation fields in force here (empty outside an invocation)."""
    return dict(_fields.get() or {})


@contextmanager
def correlate(**fields: str | None) -> Iterator[None]:
    """Tag every log record made inside the block (nested blocks add fields)."""
    merged = {**(_fields.get() or {}), **{k: v for k, v in fields.items() if v}}
    token = _fields.set(merged)
    try:
        yield
    finally:
        _fields.reset(token)


def _record_factory(base: Any) -> Any:
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = base(*args, **kwargs)
        fields = _fields.get() or {}
        record.correlation = dict(fields)
        try:
            text = record.getMessage()
        except Exception:  # a bad format string: leave it to the handler to report
            return record
        if fields:
            text += " [" + " ".join(f"{k}={fields[k]}" for k in sorted(fields)) + "]"
        record.msg, record.args = redact(text), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    make.chargeops = True  # type: ignore[attr-defined]
    make.base = base  # type: ignore[attr-defined]
    return make


def setup(env: Mapping[str, str]) -> None:
    """Once per process: tagging and redaction for every record; Azure Monitor if set."""
    global _configured  # noqa: PLW0603 - process-wide logging setup happens once
    if _configured:
        return
    _configured = True
    current = logging.getLogRecordFactory()
    if not getattr(current, "chargeops", False):
        logging.setLogRecordFactory(_record_factory(current))
    logging.getLogger("chargeops").setLevel(env.get("CHARGEOPS_LOG_LEVEL") or "INFO")
    if env.get("APPLICATIONINSIGHTS_CONNECTION_STRING"):
        _azure_monitor(env)


def teardown() -> None:
    """Undo ``setup``'s record factory (for embedders and tests sharing a process)."""
    global _configured  # noqa: PLW0603
    current = logging.getLogRecordFactory()
    base = getattr(current, "base", None)
    if base is not None:
        logging.setLogRecordFactory(base)
    _configured = False


def _azure_monitor(env: Mapping[str, str]) -> None:
    from azure.monitor.opentelemetry import configure_azure_monitor  # noqa: PLC0415

    try:
        configure_azure_monitor(**azure_monitor_options(env))
    except Exception as exc:  # telemetry must never stop the functions
        logging.getLogger("chargeops").warning("Azure Monitor not configured: %s", exc)


def azure_monitor_options(env: Mapping[str, str]) -> dict[str, Any]:
    """Metrics and traces to Application Insights; logs stay on the host's pipeline (which
    already exports them), so nothing is sent twice. Entra ID auth with the app's identity
    when APPLICATIONINSIGHTS_AUTHENTICATION_STRING says so (infra/ turns local auth off).
    Trace sampling follows OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG."""
    options: dict[str, Any] = {
        "connection_string": env["APPLICATIONINSIGHTS_CONNECTION_STRING"],
        "disable_logging": True,
        "enable_live_metrics": False,
    }
    parts = env.get("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "").split(";")
    auth = dict(part.split("=", 1) for part in parts if "=" in part)
    if auth.get("Authorization", "").upper() == "AAD":
        from azure.identity import ManagedIdentityCredential  # noqa: PLC0415

        options["credential"] = ManagedIdentityCredential(client_id=auth.get("ClientId") or None)
    return options


class Counters:
    """The numbers an operator watches, as OpenTelemetry counters (no-ops until a meter
    provider is configured: Azure Monitor in Azure, an in-memory reader in tests)."""

    def __init__(self, provider: MeterProvider | None = None) -> None:
        from opentelemetry import metrics  # noqa: PLC0415 - only when first counting

        meter = (provider or metrics.get_meter_provider()).get_meter("chargeops")
        self._messages = meter.create_counter(
            "chargeops.messages", unit="{message}", description="Service Bus messages handled"
        )
        self._events = meter.create_counter(
            "chargeops.events", unit="{event}", description="canonical events produced"
        )
        self._published = meter.create_counter(
            "chargeops.published", unit="{message}", description="events sent to our topic"
        )
        self._deliveries = meter.create_counter(
            "chargeops.deliveries", unit="{delivery}", description="delivery outcomes"
        )
        self._budget = meter.create_counter(
            "chargeops.zaptec.requests", unit="{request}", description="Zaptec API budget used"
        )

    def messages(self, count: int, function: str, outcome: str) -> None:
        if count:
            self._messages.add(count, {"function": function, "outcome": outcome})

    def events(self, event_type: str, count: int = 1) -> None:
        self._events.add(count, {"type": event_type})

    def published(self, count: int) -> None:
        if count:
            self._published.add(count)

    def delivery(self, target: str, status: str) -> None:
        self._deliveries.add(1, {"target": target, "status": status})

    def budget(self, count: int, purpose: str) -> None:
        """For the Zaptec client: requests spent from the shared budget, by purpose."""
        self._budget.add(count, {"purpose": purpose})
