"""One path: the capture an operator dry-runs with ``chargeops replay`` and the same
messages through the Azure functions (Service Bus played by the labelled simulation in
sbsim.py, the Table store on Azurite) give the same events, the same deliveries and the
same ledger. Replay is only worth trusting as a dry run if this holds."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from shared.app.compose import open_local
from shared.app.replay import ReplayOptions, replay
from shared.config.loader import load_config
from shared.storage.base import Store
from shared.storage.schema import DELIVERIES_LOG, EVENTS_LOG, LEDGER_LOG
from shared.storage.sqlite import SqliteStore
from shared.timestamps import format_utc
from tests.azure.conftest import config_text
from tests.azure.sbsim import SimMessage
from tests.azure.test_pipeline_sim import Run, traffic
from tests.support.azurite import Azurite
from tests.support.receivers import Receiver, serve


def capture(messages: list[SimMessage], path: Path) -> Path:
    """The messages as a capture file of raw envelopes (what ``dlq``/tools record)."""
    with path.open("w", encoding="utf-8") as out:
        for m in messages:
            envelope = {
                "body_base64": base64.b64encode(m.body).decode("ascii"),
                "message_id": m.message_id,
                "enqueued_time_utc": format_utc(m.enqueued_time_utc),
            }
            out.write(json.dumps(envelope) + "\n")
    return path


def log(store: Store, name: str) -> list[dict[str, Any]]:
    return [value for _, value in store.read(name, 0, 1_000_000)]


def delivered(store: Store) -> list[tuple[str, str, str]]:
    return sorted(
        (d["target"], d["idempotency_key"], d["event_id"])
        for d in log(store, DELIVERIES_LOG)
        if d["status"] == "delivered"
    )


def test_replay_and_the_azure_functions_agree(
    harness_factory: Any, azurite: Azurite, tmp_path: Path
) -> None:
    messages = traffic()
    source = capture(messages, tmp_path / "capture.jsonl")

    local_receiver, azure_receiver = Receiver(), Receiver()
    with serve(local_receiver), serve(azure_receiver):
        store = SqliteStore(tmp_path / "replay.sqlite3")
        app = open_local(load_config(text=config_text(local_receiver.url), env={}), store)
        replay(app, ReplayOptions(str(source), tmp_path / "out"))

        run = Run(harness_factory(store=azurite.store(), config=config_text(azure_receiver.url)))
        # A finished capture: replay lets time run session_settle past its newest input
        # (no session waits for a 723 that cannot come); the watchdog does the same here.
        settle = app.config().detection.session_settle
        run.day(messages, tail=settle)
        azure = run.h.store

        written = (tmp_path / "out" / "events.jsonl").read_text("utf-8").splitlines()
        events = {e["id"]: e for e in map(json.loads, written)}  # what the operator reads
        assert list(events.values()) == log(store, EVENTS_LOG)
        azure_events = {e["id"]: e for e in log(azure, EVENTS_LOG)}
        assert sorted(azure_events) == sorted(events)
        assert azure_events == events
        assert delivered(azure) == delivered(store)
        assert sorted(azure_receiver.keys()) == sorted(local_receiver.keys())
        ledger = sorted(json.dumps(r, sort_keys=True) for r in log(store, LEDGER_LOG))
        assert sorted(json.dumps(r, sort_keys=True) for r in log(azure, LEDGER_LOG)) == ledger
        assert ledger  # the day has finished sessions: the comparison is not vacuous
        app.close()
