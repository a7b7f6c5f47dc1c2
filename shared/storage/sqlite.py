"""SQLite store: the embedded default (one file, WAL, crash-safe under SIGKILL).

Contract: ``shared.storage.base``. Versions are integer counters; ``transaction()`` is
``BEGIN IMMEDIATE`` so two processes on one file serialise instead of interleaving, and a
killed process leaves either all of a unit of work or none of it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from shared.storage.base import ANY, AlreadyExists, Conflict, Entry, Json, Store

__all__ = ["SqliteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
  kind TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (kind, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log (
  log TEXT NOT NULL, seq INTEGER NOT NULL, dedup TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (log, seq)) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS log_dedup ON log (log, dedup);
"""
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class SqliteStore(Store):
    """One SQLite file (or ``:memory:``) holding records and logs."""

    def __init__(self, path: str | Path) -> None:
        self.location = str(path)
        if self.location != ":memory:":
            Path(self.location).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.location, isolation_level=None, timeout=60.0)
        self._db.execute("PRAGMA busy_timeout = 60000")
        for attempt in range(50):  # switching to WAL needs a moment alone with a new file
            try:
                if self.location != ":memory:":
                    self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = NORMAL")
                self._db.executescript(_SCHEMA)
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 49:
                    raise
                time.sleep(0.05 + attempt * 0.01)
        self._depth = 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self._db.execute("ROLLBACK")
            raise
        self._depth = 0
        self._db.execute("COMMIT")

    def get(self, kind: str, key: str) -> Entry | None:
        row = self._db.execute(
            "SELECT value, version FROM kv WHERE kind = ? AND key = ?", (kind, key)
        ).fetchone()
        return Entry(json.loads(row[0]), str(row[1])) if row else None

    def get_many(self, kind: str, keys: Sequence[str]) -> dict[str, Entry]:
        found: dict[str, Entry] = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for key, value, version in self._db.execute(
                f"SELECT key, value, version FROM kv WHERE kind = ? AND key IN ({marks})",  # noqa: S608
                (kind, *chunk),
            ):
                found[key] = Entry(json.loads(value), str(version))
        return found

    def scan(self, kind: str, prefix: str = "") -> Iterator[tuple[str, Entry]]:
        rows = self._db.execute(
            "SELECT key, value, version FROM kv WHERE kind = ? AND key >= ? ORDER BY key",
            (kind, prefix),
        )
        for key, value, version in rows:
            if not key.startswith(prefix):
                break
            yield key, Entry(json.loads(value), str(version))

    def put(self, kind: str, key: str, value: Json, *, expect: object = ANY) -> str:
        text = _dumps(value)
        with self.transaction():
            row = self._db.execute(
                "SELECT version FROM kv WHERE kind = ? AND key = ?", (kind, key)
            ).fetchone()
            if expect is None and row is not None:
                raise AlreadyExists(f"{kind}/{key}")
            if expect is not ANY and expect is not None and (row is None or str(row[0]) != expect):
                raise Conflict(f"{kind}/{key}: version changed")
            version = (row[0] + 1) if row else 1
            self._db.execute(
                "INSERT OR REPLACE INTO kv (kind, key, version, value) VALUES (?, ?, ?, ?)",
                (kind, key, version, text),
            )
        return str(version)

    def put_many(self, kind: str, items: Mapping[str, Json]) -> None:
        if not items:
            return
        with self.transaction():
            self._db.executemany(
                "INSERT INTO kv (kind, key, version, value) VALUES (?, ?, 1, ?) "
                "ON CONFLICT (kind, key) DO UPDATE SET "
                "version = version + 1, value = excluded.value",
                [(kind, key, _dumps(value)) for key, value in items.items()],
            )

    def delete(self, kind: str, key: str) -> None:
        self._db.execute("DELETE FROM kv WHERE kind = ? AND key = ?", (kind, key))

    def append(self, log: str, entries: Sequence[tuple[str, Json]]) -> list[tuple[int, Json]]:
        if not entries:
            return []
        added: list[tuple[int, Json]] = []
        with self.transaction():
            (top,) = self._db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM log WHERE log = ?", (log,)
            ).fetchone()
            for dedup, value in entries:
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO log (log, seq, dedup, value) VALUES (?, ?, ?, ?)",
                    (log, top + 1, dedup, _dumps(value)),
                )
                if cursor.rowcount:
                    top += 1
                    added.append((top, value))
        return added

    def read(self, log: str, after: int = 0, limit: int = 1000) -> list[tuple[int, Json]]:
        rows = self._db.execute(
            "SELECT seq, value FROM log WHERE log = ? AND seq > ? ORDER BY seq LIMIT ?",
            (log, after, limit),
        )
        return [(seq, json.loads(value)) for seq, value in rows]

    def head(self, log: str) -> int:
        (top,) = self._db.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM log WHERE log = ?", (log,)
        ).fetchone()
        return int(top)

    def seq_of(self, log: str, dedup_key: str) -> int | None:
        row = self._db.execute(
            "SELECT seq FROM log WHERE log = ? AND dedup = ?", (log, dedup_key)
        ).fetchone()
        return int(row[0]) if row else None

    def close(self) -> None:
        self._db.close()
