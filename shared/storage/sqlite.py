"""SQLite store: the embedded default (one file, WAL, crash-safe under SIGKILL).

Contract: ``shared.storage.base``. Versions are integer counters; ``transaction()`` is
``BEGIN IMMEDIATE`` so two processes on one file serialise instead of interleaving, and a
killed process leaves either all of a unit of work or none of it.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

from shared.json_text import dumps, loads
from shared.storage.base import (
    ANY,
    AlreadyExists,
    Conflict,
    Entry,
    Json,
    StateBusy,
    Store,
    StoreConfigError,
    Writer,
)

__all__ = ["SCHEMA_VERSION", "SqliteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
  kind TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (kind, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log (
  log TEXT NOT NULL, seq INTEGER NOT NULL, dedup TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (log, seq)) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS log_dedup ON log (log, dedup);
"""
SCHEMA_VERSION = 1
_COLUMNS = {"kv": {"kind", "key", "version", "value"}, "log": {"log", "seq", "dedup", "value"}}


class SqliteStore(Store):
    """One SQLite file (or ``:memory:``) holding records and logs."""

    def __init__(self, path: str | Path) -> None:
        self.location = str(path)
        if self.location != ":memory:":
            Path(self.location).parent.mkdir(parents=True, exist_ok=True)
        self._db = self._connect()
        for attempt in range(50):  # switching to WAL needs a moment alone with a new file
            try:
                if self.location != ":memory:":
                    self._db.execute("PRAGMA journal_mode = WAL")
                self._check_schema()
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 49:
                    raise
                time.sleep(0.05 + attempt * 0.01)
        self._depth = 0
        self._batch = False  # inside ``batch()``: top-level units are savepoints

    def _connect(self) -> sqlite3.Connection:
        """A connection with this store's settings (WAL is the file's own, once set)."""
        db = sqlite3.connect(self.location, isolation_level=None, timeout=60.0)
        db.execute("PRAGMA busy_timeout = 60000")
        db.execute("PRAGMA synchronous = NORMAL")
        return db

    @contextmanager
    def released(self) -> Iterator[None]:
        """Closed for the block, opened again after it (SQLite forbids carrying an open
        connection across a fork: the child would inherit its locks' bookkeeping)."""
        if self._depth:
            raise RuntimeError("the store cannot be released inside a unit of work")
        if self.location == ":memory:":
            raise RuntimeError("an in-memory store would lose its data if released")
        self._db.close()
        try:
            yield
        finally:
            self._db = self._connect()

    def _check_schema(self) -> None:
        """Create a new state; refuse one this version cannot read, naming the file.

        ``user_version`` is the schema version (0 with both tables: a state written
        before versions were kept). A state missing a table would lose what belongs
        there silently (the log: every new event), so it is refused, not repaired."""
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        tables = {
            name: {row[1] for row in self._db.execute(f"PRAGMA table_info({name})")}
            for name in _COLUMNS
        }
        present = [name for name, cols in tables.items() if cols]
        if version > SCHEMA_VERSION:
            raise StoreConfigError(
                f"--state {self.location}: schema version {version}, newer than this "
                f"chargeops reads ({SCHEMA_VERSION})"
            )
        if not present and version == 0:
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            return
        for name, cols in tables.items():
            if not cols:
                raise StoreConfigError(f"--state {self.location}: table {name!r} is missing")
            if cols != _COLUMNS[name]:
                raise StoreConfigError(
                    f"--state {self.location}: table {name!r} has columns "
                    f"{sorted(cols)}, expected {sorted(_COLUMNS[name])}"
                )
        self._db.executescript(_SCHEMA)  # the index, if an older state lacks it
        if version == 0:
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def writer(self, purpose: str) -> Writer:
        """A lock file beside the state (``<state>.lock``): the OS releases it when the
        holder exits, even when killed, so a resumed run never waits for a lease."""
        if self.location == ":memory:":
            return _NoLock()
        return _FileLock(Path(self.location + ".lock"), self.location, purpose)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Many units of work, one commit: each ``transaction()`` inside is a savepoint,
        still all or nothing on its own (a unit that raises is rolled back alone), and
        a kill before the end leaves none of the batch (its work is redone, idempotently,
        by the next run). A commit per unit cost more than the units' own work."""
        if self._depth:  # inside a transaction already: it is the batch
            yield
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth, self._batch = 1, True
        try:
            yield
        except BaseException:
            self._depth, self._batch = 0, False
            self._db.execute("ROLLBACK")
            raise
        self._depth, self._batch = 0, False
        self._db.execute("COMMIT")

    def transaction(self) -> AbstractContextManager[None]:
        return _Unit(self)

    def get(self, kind: str, key: str) -> Entry | None:
        row = self._db.execute(
            "SELECT value, version FROM kv WHERE kind = ? AND key = ?", (kind, key)
        ).fetchone()
        return Entry(loads(row[0]), str(row[1])) if row else None

    def get_many(self, kind: str, keys: Sequence[str]) -> dict[str, Entry]:
        found: dict[str, Entry] = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            marks = ",".join("?" * len(chunk))
            for key, value, version in self._db.execute(
                f"SELECT key, value, version FROM kv WHERE kind = ? AND key IN ({marks})",  # noqa: S608
                (kind, *chunk),
            ):
                found[key] = Entry(loads(value), str(version))
        return found

    def scan(self, kind: str, prefix: str = "") -> Iterator[tuple[str, Entry]]:
        rows = self._db.execute(
            "SELECT key, value, version FROM kv WHERE kind = ? AND key >= ? ORDER BY key",
            (kind, prefix),
        )
        for key, value, version in rows:
            if not key.startswith(prefix):
                break
            yield key, Entry(loads(value), str(version))

    def put(self, kind: str, key: str, value: Json, *, expect: object = ANY) -> str:
        """One statement whatever ``expect`` asks (each atomic on its own, so no unit of
        work around it): a replay's consumers write ~8 records an event, and a read of
        the version before each write was half of those statements."""
        text = dumps(value)
        if expect is ANY:  # the next version, or 1
            rows = self._db.execute(_UPSERT, (kind, key, text)).fetchall()
        elif expect is None:  # insert only
            try:
                rows = self._db.execute(_INSERT, (kind, key, text)).fetchall()
            except sqlite3.IntegrityError:
                raise AlreadyExists(f"{kind}/{key}") from None
        else:  # compare and swap: versions are the counters this store wrote
            known = isinstance(expect, str) and expect.isdigit() and str(int(expect)) == expect
            rows = (
                self._db.execute(_SWAP, (text, kind, key, int(str(expect)))).fetchall()
                if known
                else []
            )
            if not rows:
                raise Conflict(f"{kind}/{key}: version changed")
        return str(rows[0][0])

    def put_many(self, kind: str, items: Mapping[str, Json]) -> None:
        if not items:
            return
        with self.transaction():
            self._db.executemany(
                "INSERT INTO kv (kind, key, version, value) VALUES (?, ?, 1, ?) "
                "ON CONFLICT (kind, key) DO UPDATE SET "
                "version = version + 1, value = excluded.value",
                [(kind, key, dumps(value)) for key, value in items.items()],
            )

    def delete(self, kind: str, key: str) -> None:
        self._db.execute("DELETE FROM kv WHERE kind = ? AND key = ?", (kind, key))

    def append(self, log: str, entries: Sequence[tuple[str, Json]]) -> list[tuple[int, Json]]:
        if not entries:
            return []
        added: list[tuple[int, Json]] = []
        # One statement an entry (it was two): the next number, unless the dedup key is
        # there already; several entries go all or nothing.
        with self.transaction() if len(entries) > 1 else nullcontext():
            for dedup, value in entries:
                rows = self._db.execute(_APPEND, (log, dedup, dumps(value), log)).fetchall()
                if rows:
                    added.append((int(rows[0][0]), value))
        return added

    def read(self, log: str, after: int = 0, limit: int = 1000) -> list[tuple[int, Json]]:
        rows = self._db.execute(
            "SELECT seq, value FROM log WHERE log = ? AND seq > ? ORDER BY seq LIMIT ?",
            (log, after, limit),
        )
        return [(seq, loads(value)) for seq, value in rows]

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


_UPSERT = (
    "INSERT INTO kv (kind, key, version, value) VALUES (?, ?, 1, ?) ON CONFLICT (kind, key) "
    "DO UPDATE SET version = version + 1, value = excluded.value RETURNING version"
)
_INSERT = "INSERT INTO kv (kind, key, version, value) VALUES (?, ?, 1, ?) RETURNING version"
_SWAP = (
    "UPDATE kv SET version = version + 1, value = ? "
    "WHERE kind = ? AND key = ? AND version = ? RETURNING version"
)
_APPEND = (
    "INSERT OR IGNORE INTO log (log, seq, dedup, value) "
    "SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ? FROM log WHERE log = ? RETURNING seq"
)


class _Unit:
    """One ``transaction()``: a savepoint inside ``batch()``, a level deeper inside
    another unit, else ``BEGIN IMMEDIATE`` ... ``COMMIT``; rolled back when its block
    raises. A plain class rather than a generator: a replay's consumers open ~12 units
    an event, mostly nested, where the generator machinery cost more than the unit."""

    __slots__ = ("_mode", "_store")

    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        self._mode = ""

    def __enter__(self) -> None:
        store = self._store
        if store._batch and store._depth == 1:  # a unit of work inside a batch
            store._db.execute("SAVEPOINT unit")
            store._depth, self._mode = 2, "savepoint"
        elif store._depth:
            store._depth += 1
            self._mode = "nested"
        else:
            store._db.execute("BEGIN IMMEDIATE")
            store._depth, self._mode = 1, "outer"

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        store = self._store
        if self._mode == "savepoint":
            store._depth = 1
            if kind is not None:
                store._db.execute("ROLLBACK TO unit")
            store._db.execute("RELEASE unit")
        elif self._mode == "nested":
            store._depth -= 1
        else:
            store._depth = 0
            store._db.execute("COMMIT" if kind is None else "ROLLBACK")


class _FileLock(Writer):
    def __init__(self, path: Path, state: str, purpose: str) -> None:
        self._file = path.open("a+")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.seek(0)
            holder = self._file.read(200).strip() or "another chargeops"
            self._file.close()
            raise StateBusy(
                f"--state {state}: in use by {holder} (lock {path}); one writer per state"
            ) from None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"{purpose} (pid {os.getpid()})\n")
        self._file.flush()

    def renew(self) -> None:
        """The OS holds the lock for as long as the file is open."""

    def release(self) -> None:
        if not self._file.closed:
            self._file.seek(0)
            self._file.truncate()
            self._file.close()


class _NoLock(Writer):
    """``:memory:`` is private to its connection: nobody else can write it."""

    def renew(self) -> None:
        pass

    def release(self) -> None:
        pass
