"""The store contract: keyed records with versions, and append-only deduplicated logs.

Every domain repository (charger state, event log, deliveries, alerts, ledger, budget,
registry) is written once on top of these primitives, so the SQLite and Azure Table
backends give identical results (style.md: base runs the algorithm, backends supply
primitives).

- Records: ``(kind, key) -> value`` with an opaque ``version`` (a counter or an ETag);
  ``put(expect=None)`` inserts only if absent (the idempotency primitive), ``expect=<v>``
  is compare-and-swap, ``expect=ANY`` upserts.
- Logs: ``append`` assigns increasing sequence numbers and ignores entries whose dedup
  key is already present, which is what makes a replayed or redelivered input add nothing.
- ``transaction()`` groups writes atomically where the backend can (SQLite); where it
  cannot (Tables), callers order writes so that a crash between them is idempotent.
"""

from __future__ import annotations

import abc
import os
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "ANY",
    "LEASE_KEY",
    "LEASE_KIND",
    "AlreadyExists",
    "Conflict",
    "Entry",
    "LeaseKeeper",
    "LeaseWriter",
    "StateBusy",
    "Store",
    "StoreConfigError",
    "StoreError",
    "TooLarge",
    "Writer",
]


class _Any:
    def __repr__(self) -> str:
        return "ANY"


ANY: Final = _Any()
Json = dict[str, Any]


class StoreError(Exception):
    """A store operation failed for a reason the caller may handle."""


class StoreConfigError(ValueError):
    """The store cannot be opened as configured (names the setting)."""


class TooLarge(StoreError):
    """A record is larger than the backend can hold (Table Storage: 1 MiB an entity).
    Raised before anything of that record is written."""


class StateBusy(StoreConfigError):
    """Another process is writing this state (a second replay on one state)."""


class AlreadyExists(StoreError):
    """Insert-only write found the record already present."""


class Conflict(StoreError):
    """Compare-and-swap found a different version (someone else wrote first)."""


@dataclass(frozen=True, slots=True)
class Entry:
    value: Json
    version: str


class Store(abc.ABC):
    """Backend primitives. Kinds and log names are short ASCII words like ``charger``."""

    location: str = ""

    @abc.abstractmethod
    def get(self, kind: str, key: str) -> Entry | None: ...

    @abc.abstractmethod
    def get_many(self, kind: str, keys: Sequence[str]) -> dict[str, Entry]: ...

    @abc.abstractmethod
    def scan(self, kind: str, prefix: str = "") -> Iterator[tuple[str, Entry]]:
        """All records of a kind (keys starting with ``prefix``), in key order."""

    @abc.abstractmethod
    def put(self, kind: str, key: str, value: Json, *, expect: object = ANY) -> str:
        """Write one record; returns its new version. See module doc for ``expect``."""

    @abc.abstractmethod
    def put_many(self, kind: str, items: Mapping[str, Json]) -> None:
        """Upsert several records of one kind (batched where the backend can)."""

    def put_versioned(self, kind: str, items: Mapping[str, tuple[Json, object]]) -> dict[str, str]:
        """Write several records of one kind, each with its own ``expect`` (as ``put``);
        returns their new versions. A version mismatch or an insert that finds the
        record is a ``Conflict``. Batched where the backend can (Tables: 100 a request)."""
        try:
            with self.transaction():
                return {key: self.put(kind, key, value, expect=expect)
                        for key, (value, expect) in items.items()}  # fmt: skip
        except AlreadyExists as exc:
            raise Conflict(str(exc)) from None

    @abc.abstractmethod
    def delete(self, kind: str, key: str) -> None: ...

    @abc.abstractmethod
    def append(self, log: str, entries: Sequence[tuple[str, Json]]) -> list[tuple[int, Json]]:
        """Append ``(dedup_key, value)`` entries; returns only those newly added, with seq."""

    @abc.abstractmethod
    def read(self, log: str, after: int = 0, limit: int = 1000) -> list[tuple[int, Json]]:
        """Entries with ``seq > after`` in order, at most ``limit``."""

    @abc.abstractmethod
    def head(self, log: str) -> int:
        """Highest sequence number in the log (0 when empty)."""

    @abc.abstractmethod
    def seq_of(self, log: str, dedup_key: str) -> int | None:
        """Sequence number of an entry by its dedup key (None if absent)."""

    @abc.abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """Group writes: all or nothing where the backend supports it."""

    def batch(self) -> AbstractContextManager[None]:
        """Commit many units of work at once where the backend can (SQLite: one commit,
        each ``transaction()`` inside a savepoint). Elsewhere units commit as they go."""
        return nullcontext()

    def ping(self) -> bool:
        """Cheap reachability check for health endpoints."""
        self.get("meta", "ping")
        return True

    def writer(self, purpose: str) -> Writer:
        """Become the one writer of this state, or raise ``StateBusy`` naming it.

        Two replays on one state would both send every notice and append every event
        to the output files twice. Here: a lease record (Table Storage has no locks),
        renewed by the holder while it works, taken over only once it has expired (a
        killed holder). SQLite overrides this with a lock file the OS releases."""
        return LeaseWriter(self, purpose)

    def released(self) -> AbstractContextManager[None]:
        """A block in which this process holds no connection to the state, opened again
        after it: for a fork (``shared.app.beside``), whose child must not inherit a
        live SQLite connection. Nothing to do for a backend reached over HTTP."""
        return nullcontext()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Writer(abc.ABC):
    """What ``Store.writer`` holds: renew it while working, release it when done."""

    @abc.abstractmethod
    def renew(self) -> None:
        """Still the writer? Raises ``StateBusy`` if another took over meanwhile."""

    @abc.abstractmethod
    def release(self) -> None: ...


LEASE_KIND, LEASE_KEY = "meta", "writer"  # schema.Meta.WRITER
LEASE_SECONDS = 120.0  # a run renews at every unit of work, far more often than this


class LeaseWriter(Writer):
    """A lease in a record: insert-only to take a free state, compare-and-swap to take
    an expired lease or to renew one's own."""

    def __init__(self, store: Store, purpose: str, seconds: float = LEASE_SECONDS) -> None:
        self.store, self.seconds = store, seconds
        self.holder = f"{purpose} (pid {os.getpid()} on {socket.gethostname()})"
        self.version: str | None = None
        entry = store.get(LEASE_KIND, LEASE_KEY)
        try:
            if entry is None:
                self.version = store.put(LEASE_KIND, LEASE_KEY, self._value(), expect=None)
            elif float(entry.value.get("expires", 0)) < time.time():
                self.version = store.put(LEASE_KIND, LEASE_KEY, self._value(), expect=entry.version)
            else:
                raise self._busy(entry.value)
        except (AlreadyExists, Conflict):
            latest = store.get(LEASE_KIND, LEASE_KEY)
            raise self._busy(latest.value if latest else {}) from None

    def _value(self) -> Json:
        return {"holder": self.holder, "expires": time.time() + self.seconds}

    def _busy(self, value: Json) -> StateBusy:
        left = max(0, int(float(value.get("expires", 0)) - time.time()))
        return StateBusy(
            f"--state {self.store.location}: in use by {value.get('holder', 'another run')} "
            f"(its lease runs {left} s more unless renewed); one writer per state"
        )

    def renew(self) -> None:
        try:
            self.version = self.store.put(LEASE_KIND, LEASE_KEY, self._value(), expect=self.version)
        except Conflict:
            latest = self.store.get(LEASE_KIND, LEASE_KEY)
            raise self._busy(latest.value if latest else {}) from None

    def release(self) -> None:
        entry = self.store.get(LEASE_KIND, LEASE_KEY)
        if entry is not None and entry.version == self.version:
            self.store.delete(LEASE_KIND, LEASE_KEY)


class LeaseKeeper:
    """Renews a ``LeaseWriter`` from a background thread while a command works in one
    long step (``deliveries retry`` sending a whole outbox, ``reconcile`` fetching and
    posting), which has no unit of work to renew at as a replay does: without it a slow
    vendor could outlast the lease and let a second writer in. Writers that need no
    renewal (SQLite's lock file) get no thread. A lease lost meanwhile is kept in
    ``lost`` (the ``StateBusy`` naming the new holder) for the command to report."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self.lost: StateBusy | None = None
        self._stop = threading.Event()
        seconds = writer.seconds if isinstance(writer, LeaseWriter) else None
        self._thread = (
            threading.Thread(target=self._run, args=(seconds / 4,), daemon=True)
            if seconds and seconds > 0
            else None
        )

    def __enter__(self) -> LeaseKeeper:
        if self._thread is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                self.writer.renew()
            except StateBusy as busy:
                self.lost = busy
                return
