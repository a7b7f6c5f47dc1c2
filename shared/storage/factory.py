"""Pick the store from ``--state``: a path is SQLite, ``table`` is Azure Table Storage."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from shared.storage.base import Store, StoreConfigError

__all__ = ["StoreConfigError", "open_store"]


def open_store(state: str, env: Mapping[str, str] | None = None) -> Store:
    """``table`` -> Azure Tables (CHARGEOPS_STORAGE, else AzureWebJobsStorage); else SQLite."""
    env = os.environ if env is None else env
    if state == "table":
        from shared.storage.table import TableStore  # noqa: PLC0415 - azure SDK only when asked

        return TableStore.from_settings(env)
    path = Path(state)
    if path.is_dir():
        raise StoreConfigError(f"--state {state}: is a directory; give a file path or 'table'")
    return _sqlite(path)


def _sqlite(path: Path) -> Store:
    from shared.storage.sqlite import SqliteStore  # noqa: PLC0415

    try:
        return SqliteStore(path)
    except StoreConfigError:
        raise
    except Exception as exc:  # sqlite3 raises several types for a bad file
        raise StoreConfigError(f"--state {path}: cannot open as SQLite ({exc})") from exc
