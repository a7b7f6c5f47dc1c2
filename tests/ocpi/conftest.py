"""Fixtures of the OCPI tests: ``chargeops serve`` over a state with finance records."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.config.loader import load_config
from shared.storage.sqlite import SqliteStore
from tests.ocpi.helpers import CONFIG, bill_sessions
from tests.support.cli import CHARGEOPS, environment


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """The console script serving a state of 23 sessions (27 records) on a free port;
    yields its base URL and the process (stderr piped, for the access log)."""
    store = SqliteStore(tmp_path / "state.sqlite3")
    bill_sessions(store, load_config(text=CONFIG), 23)
    store.close()
    (tmp_path / "c.yaml").write_text(CONFIG)
    args = ["serve", "--port", "0", "--config", "c.yaml", "--state", "state.sqlite3"]
    proc = subprocess.Popen(
        [str(CHARGEOPS), *args],
        cwd=tmp_path,
        env=environment(),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    first = proc.stderr.readline()
    assert first.startswith("serve: listening on http://127.0.0.1:"), first
    url = first.split()[3]
    try:
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
