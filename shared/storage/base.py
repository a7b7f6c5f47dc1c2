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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["ANY", "AlreadyExists", "Conflict", "Entry", "Store", "StoreConfigError", "StoreError"]


class _Any:
    def __repr__(self) -> str:
        return "ANY"


ANY: Final = _Any()
Json = dict[str, Any]


class StoreError(Exception):
    """A store operation failed for a reason the caller may handle."""


class StoreConfigError(ValueError):
    """The store cannot be opened as configured (names the setting)."""


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

    def ping(self) -> bool:
        """Cheap reachability check for health endpoints."""
        self.get("meta", "ping")
        return True

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
