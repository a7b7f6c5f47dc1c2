"""A store that forwards every call to a real one: tests subclass it to inject one
failure (a storage outage, a lost race) and keep everything else real."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager

from shared.storage.base import ANY, Entry, Json, Store


class DelegatingStore(Store):
    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.location = inner.location

    def get(self, kind: str, key: str) -> Entry | None:
        return self.inner.get(kind, key)

    def get_many(self, kind: str, keys: Sequence[str]) -> dict[str, Entry]:
        return self.inner.get_many(kind, keys)

    def scan(self, kind: str, prefix: str = "") -> Iterator[tuple[str, Entry]]:
        return self.inner.scan(kind, prefix)

    def put(self, kind: str, key: str, value: Json, *, expect: object = ANY) -> str:
        return self.inner.put(kind, key, value, expect=expect)

    def put_many(self, kind: str, items: Mapping[str, Json]) -> None:
        self.inner.put_many(kind, items)

    def delete(self, kind: str, key: str) -> None:
        self.inner.delete(kind, key)

    def append(self, log: str, entries: Sequence[tuple[str, Json]]) -> list[tuple[int, Json]]:
        return self.inner.append(log, entries)

    def read(self, log: str, after: int = 0, limit: int = 1000) -> list[tuple[int, Json]]:
        return self.inner.read(log, after, limit)

    def head(self, log: str) -> int:
        return self.inner.head(log)

    def seq_of(self, log: str, dedup_key: str) -> int | None:
        return self.inner.seq_of(log, dedup_key)

    def transaction(self) -> AbstractContextManager[None]:
        return self.inner.transaction()

    def close(self) -> None:
        self.inner.close()
