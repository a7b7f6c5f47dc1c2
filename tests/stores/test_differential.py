"""Random operation sequences give the same observable results on SQLite and on Azure
Tables (Azurite): the backends are interchangeable (``--state table`` vs the default)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.storage.base import ANY, AlreadyExists, Conflict, Store
from shared.storage.sqlite import SqliteStore
from tests.support.azurite import Azurite

KEYS = st.sampled_from(["", "a", "a/b", "a#1", "ab", "b", "caf\u00e9", "~", "x?y", "\t"])
KINDS = st.sampled_from(["charger", "alert"])
LOGS = st.sampled_from(["events", "deliveries"])
VALUES = st.dictionaries(st.sampled_from(["n", "s"]), st.integers(-5, 5) | st.text(max_size=5))

OPS = st.one_of(
    st.tuples(st.just("put"), KINDS, KEYS, VALUES, st.sampled_from(["any", "new", "cur", "old"])),
    st.tuples(st.just("put_many"), KINDS, st.dictionaries(KEYS, VALUES, max_size=4)),
    st.tuples(st.just("delete"), KINDS, KEYS),
    st.tuples(st.just("append"), LOGS, st.lists(st.tuples(KEYS, VALUES), max_size=5)),
    st.tuples(st.just("get"), KINDS, KEYS),
    st.tuples(st.just("get_many"), KINDS, st.lists(KEYS, max_size=4)),
    st.tuples(st.just("scan"), KINDS, st.sampled_from(["", "a", "c", "~", "z"])),
    st.tuples(st.just("read"), LOGS, st.integers(0, 6), st.integers(1, 4)),
    st.tuples(st.just("head"), LOGS),
    st.tuples(st.just("seq_of"), LOGS, KEYS),
)


class Runner:
    """Applies operations to one store, remembering versions to make CAS meaningful."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.previous: dict[tuple[str, str], str] = {}

    def apply(self, op: tuple[Any, ...]) -> Any:
        s = self.store
        name = op[0]
        if name == "put":
            _, kind, key, value, mode = op
            current = s.get(kind, key)
            expect: object = {"any": ANY, "new": None}.get(mode, ANY)
            if mode == "cur":
                expect = current.version if current else "missing"
            elif mode == "old":
                expect = self.previous.get((kind, key), "missing")
            try:
                version = s.put(kind, key, value, expect=expect)
            except (AlreadyExists, Conflict) as exc:
                return type(exc).__name__
            if current is not None:
                self.previous[(kind, key)] = current.version
            return version == s.get(kind, key).version  # type: ignore[union-attr]
        if name == "put_many":
            s.put_many(op[1], op[2])
            return None
        if name == "delete":
            s.delete(op[1], op[2])
            return None
        if name == "append":
            return s.append(op[1], op[2])
        if name == "get":
            entry = s.get(op[1], op[2])
            return entry.value if entry else None
        if name == "get_many":
            return {k: e.value for k, e in s.get_many(op[1], op[2]).items()}
        if name == "scan":
            return [(k, e.value) for k, e in s.scan(op[1], op[2])]
        if name == "read":
            return s.read(op[1], op[2], op[3])
        if name == "head":
            return s.head(op[1])
        return s.seq_of(op[1], op[2])


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(OPS, min_size=1, max_size=25))
def test_sqlite_and_table_agree(
    ops: list[tuple[Any, ...]], azurite: Azurite, tmp_path: Path
) -> None:
    lite = SqliteStore(":memory:")
    table = azurite.store()
    try:
        a, b = Runner(lite), Runner(table)
        for op in ops:
            assert a.apply(op) == b.apply(op), op
    finally:
        lite.close()
        table.close()
