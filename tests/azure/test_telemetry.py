"""Structured logs with correlation, redaction, and the Azure Monitor wiring."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from azure.identity import ManagedIdentityCredential

from shared.adapters.telemetry import (
    azure_monitor_options,
    correlate,
    correlation,
    redact,
    setup,
    teardown,
)
from tests.azure.conftest import CHARGER, Harness, app_functions, nbfx, observation, zaptec_message
from tests.azure.sbsim import Context


@pytest.fixture(autouse=True)
def _telemetry() -> Iterator[None]:
    """Install the record factory as the app does, and take it away afterwards."""
    setup({})
    yield
    teardown()


SECRETS = [
    ("AccountName=st;AccountKey=c2VjcmV0a2V5PT0=;EndpointSuffix=x", "c2VjcmV0a2V5PT0="),
    ("Endpoint=sb://ns/;SharedAccessKeyName=l;SharedAccessKey=Zm9vYmFy", "Zm9vYmFy"),
    ("https://st.table.core.windows.net/t?sv=2021&sig=abc%2Bdef&se=1", "abc%2Bdef"),
    ("https://user:hunter2@example.com/hook", "hunter2"),
    ("Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi.payload.sig"),
    ("signing with whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    ("InstrumentationKey=00000000-1111;IngestionEndpoint=https://x", "00000000-1111"),
]


@pytest.mark.parametrize(("text", "secret"), SECRETS)
def test_secrets_are_masked(text: str, secret: str) -> None:
    masked = redact(text)
    assert secret not in masked
    assert "***" in masked


def test_records_carry_the_correlation_and_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    log = logging.getLogger("shared.somewhere")  # core code logs plainly
    with correlate(invocation_id="inv-1", function="tickets"):
        with correlate(event_id="ev-9", charger_id=CHARGER):
            assert correlation()["event_id"] == "ev-9"
            log.warning("target said %s", "SharedAccessKey=topsecret")
        log.info("outer")
    assert correlation() == {}
    inner, outer = caplog.records[-2:]
    assert inner.getMessage().startswith("target said SharedAccessKey=***")
    assert f"charger_id={CHARGER}" in inner.getMessage()
    assert "event_id=ev-9" in inner.getMessage()
    assert "invocation_id=inv-1" in inner.getMessage()
    assert inner.correlation == {  # type: ignore[attr-defined]
        "invocation_id": "inv-1",
        "function": "tickets",
        "event_id": "ev-9",
        "charger_id": CHARGER,
    }
    assert "event_id" not in outer.getMessage()


def test_tracebacks_are_redacted_too(caplog: pytest.LogCaptureFixture) -> None:
    try:
        raise ValueError("connect failed: AccountKey=dG9wc2VjcmV0")
    except ValueError:
        logging.getLogger("chargeops").exception("store")
    assert "dG9wc2VjcmV0" not in caplog.text
    assert "AccountKey=***" in caplog.text


def test_an_invocation_tags_its_logs(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    t0 = harness.clock.now - timedelta(minutes=1)
    msgs = [
        zaptec_message(b"{not json", "poison-1", t0),
        zaptec_message(nbfx(observation(CHARGER, -2, "0", t0)), "ok-1", t0),
    ]
    app_functions()["ingest"](msgs, Context("ingest", invocation_id="inv-42"))
    rejected = [r for r in caplog.records if "rejected Zaptec message poison-1" in r.getMessage()]
    assert rejected
    assert "invocation_id=inv-42" in rejected[0].getMessage()
    assert "function=ingest" in rejected[0].getMessage()


def test_azure_monitor_uses_the_apps_identity_and_leaves_logs_to_the_host() -> None:
    env = {
        "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=0000;IngestionEndpoint=https://x/",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "ClientId=1234-abcd;Authorization=AAD",
    }
    options = azure_monitor_options(env)
    assert options["connection_string"] == env["APPLICATIONINSIGHTS_CONNECTION_STRING"]
    assert options["disable_logging"] is True
    assert isinstance(options["credential"], ManagedIdentityCredential)
    plain = azure_monitor_options({"APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=1"})
    assert "credential" not in plain


def test_teardown_restores_plain_records() -> None:
    teardown()
    record = logging.getLogger("x").makeRecord(
        "x", logging.INFO, "f", 1, "k=AccountKey=s3", (), None
    )
    assert record.getMessage() == "k=AccountKey=s3"
    setup({})
    record = logging.getLogger("x").makeRecord(
        "x", logging.INFO, "f", 1, "k=AccountKey=s3", (), None
    )
    assert record.getMessage() == "k=AccountKey=***"
