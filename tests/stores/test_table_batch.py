"""On Table Storage one message can never block its batch (issue 17, finding 4): records
that would outgrow an entity (1 MiB) are split across commits, and everything in the
batch is committed; Azurite stands in for the service."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.app import ingest
from shared.app.compose import open_local
from shared.app.ingest import commit_with_retry, ingest_batch
from shared.config.loader import default_config
from shared.events.log import EventLog
from shared.inbound.envelope import Envelope
from shared.storage.base import Store
from shared.storage.schema import REJECTIONS_LOG
from shared.storage.sqlite import SqliteStore
from tests.core.nbfx_writer import element
from tests.support.azurite import Azurite

A = "4b0c2a8e-3f1d-4c5e-9a7b-1d2e3f4a5b6c"
B = "9db727b6-1e1f-5918-bcd5-121adbc0e0ed"
T0 = datetime(2026, 4, 26, 9, 0, tzinfo=UTC)


def _message(obj: dict[str, object], n: int) -> Envelope:
    body = element([(json.dumps(obj, separators=(",", ":")), "chars32")])
    return Envelope.received(body, f"m-{n}", T0 + timedelta(minutes=40, seconds=n))


def _completed(n: int) -> dict[str, object]:
    """A CompletedSession near the size limit (a long signed meter string)."""
    start, end = T0 + timedelta(minutes=5 * n), T0 + timedelta(minutes=5 * n, seconds=30)
    value = {
        "SessionId": f"s-{n}",
        "StartDateTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "EndDateTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Energy": 1.5,
        "SignedSession": "OCMF|" + "x" * 240_000,
    }
    stamp = (end + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"ChargerId": A, "StateId": 723, "Timestamp": stamp, "ValueAsString": json.dumps(value)}


def _batch() -> list[Envelope]:
    stamp = (T0 + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    online = {"ChargerId": B, "StateId": -2, "Timestamp": stamp, "ValueAsString": "0"}
    return [_message(online, 0)] + [_message(_completed(n), n) for n in range(1, 6)]


def _ingest(store: Store, tmp_path: Path) -> list[dict[str, object]]:
    app = open_local(default_config(tmp_path), store, data_clock=False)
    try:
        result = ingest_batch(app, _batch())
        assert result.rejected == 0
        again = ingest_batch(app, _batch())  # Zaptec redelivers: nothing twice
        assert (again.events, again.rejected) == (0, 0)
        assert store.read(REJECTIONS_LOG) == []
        return [e for _, e in EventLog(store).read(0, 100)]
    finally:
        app.close()


def test_a_batch_whose_records_outgrow_an_entity_still_commits_every_message(
    azurite: Azurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = _ingest(SqliteStore(tmp_path / "state.sqlite3"), tmp_path)  # no size limit
    assert sum(e["type"] == "session.completed" for e in expected) == 5
    commits: list[int] = []

    def counting(unit: Any, batch: Any, decoded: Any) -> Any:
        commits.append(len(batch))
        return commit_with_retry(unit, batch, decoded)

    monkeypatch.setattr(ingest, "commit_with_retry", counting)
    got = _ingest(azurite.store(), tmp_path)  # one charger's records: ~1.2 MB, one entity
    assert commits[0] == 6
    assert len(commits) > 2  # the whole batch did not fit: it was split
    key = lambda e: str(e["id"])  # noqa: E731
    assert sorted(got, key=key) == sorted(expected, key=key)
