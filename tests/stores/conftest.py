"""The store contract runs against every backend: SQLite and Azure Tables on Azurite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shared.storage.base import Store
from shared.storage.sqlite import SqliteStore
from tests.support.azurite import Azurite, fresh

Opener = Callable[[], Store]


@pytest.fixture(params=["sqlite", "table"])
def opener(request: pytest.FixtureRequest, tmp_path: Path, azurite: Azurite) -> Opener:
    """Opens stores that share one backing state (a file, or a table)."""
    if request.param == "sqlite":
        path = tmp_path / "state.sqlite3"
        return lambda: SqliteStore(path)
    table = fresh()
    return lambda: azurite.store(table)


@pytest.fixture
def store(opener: Opener) -> Iterator[Store]:
    backend = opener()
    try:
        yield backend
    finally:
        backend.close()
