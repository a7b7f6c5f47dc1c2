"""Batched reads and writes (issue 16) keep the store contract on every backend: many
records compared-and-swapped at once, a whole partition read instead of keyed queries,
the event log's head read with its dedup index, and SQLite's batch of units of work
(each one still all or nothing on its own)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.storage.base import Conflict, Store
from shared.storage.sqlite import SqliteStore
from tests.stores.conftest import Opener


def _value(store: Store, key: str) -> Any:
    entry = store.get("charger", key)
    return entry.value if entry is not None else None


def test_put_versioned_inserts_swaps_and_refuses_a_stale_version(store: Store) -> None:
    versions = store.put_versioned("charger", {f"c{i:03d}": ({"n": i}, None) for i in range(150)})
    assert sorted(versions) == [f"c{i:03d}" for i in range(150)]  # two transactions on Tables
    assert store.get("charger", "c149") is not None

    again = store.put_versioned("charger", {"c001": ({"n": 10}, versions["c001"])})
    assert _value(store, "c001") == {"n": 10}
    with pytest.raises(Conflict):  # the old version is stale now
        store.put_versioned(
            "charger",
            {"c002": ({"n": 20}, versions["c002"]), "c001": ({"n": 11}, versions["c001"])},
        )
    assert _value(store, "c001") == {"n": 10}
    assert _value(store, "c002") == {"n": 2}  # all or nothing
    with pytest.raises(Conflict):  # an insert that finds the record is a conflict too
        store.put_versioned("charger", {"c003": ({"n": 30}, None)})
    store.put_versioned("charger", {"c001": ({"n": 12}, again["c001"])})
    assert _value(store, "c001") == {"n": 12}


@pytest.mark.parametrize("wanted", [3, 40, 200])
def test_get_many_reads_what_single_gets_read(store: Store, wanted: int) -> None:
    store.put_many("charger", {f"k{i:04d}": {"n": i} for i in range(120)})
    keys = [f"k{i:04d}" for i in range(0, wanted * 3, 3)]  # some beyond the 120 stored
    for _ in range(2):  # the second time a table store knows the partition's size
        found = store.get_many("charger", keys)
        expected = {k: store.get("charger", k) for k in keys}
        assert found == {k: e for k, e in expected.items() if e is not None}


def test_append_after_many_appends_keeps_sequence_and_dedup(store: Store) -> None:
    first = store.append("events", [(f"e{i}", {"i": i}) for i in range(60)])  # 2 transactions
    assert [seq for seq, _ in first] == list(range(1, 61))
    again = store.append("events", [(f"e{i}", {"i": i}) for i in range(55, 70)])
    assert [(seq, v["i"]) for seq, v in again] == [(61 + n, 60 + n) for n in range(10)]
    assert store.head("events") == 70


def test_two_writers_racing_on_a_batch_leave_one_winner(opener: Opener) -> None:
    a, b = opener(), opener()
    try:
        va = a.put_versioned("charger", {"x": ({"by": "a"}, None), "y": ({"by": "a"}, None)})
        b.put_versioned("charger", {"x": ({"by": "b"}, va["x"])})
        with pytest.raises(Conflict):
            a.put_versioned("charger", {"y": ({"by": "a2"}, va["y"]), "x": ({"by": "a2"}, va["x"])})
        assert _value(a, "x") == {"by": "b"}
        assert _value(a, "y") == {"by": "a"}
    finally:
        a.close()
        b.close()


def test_a_sqlite_batch_rolls_back_only_the_unit_that_failed(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")

    def poisoned() -> None:
        with store.transaction():
            store.put("k", "b", {"v": 2})
            store.append("log", [("x", {"v": 2})])
            raise RuntimeError("a poisoned event")

    def killed() -> None:
        with store.batch():
            store.put("k", "d", {"v": 4})
            raise RuntimeError("killed")

    with store.batch():
        store.put("k", "a", {"v": 1})
        with pytest.raises(RuntimeError):
            poisoned()
        with store.transaction():
            store.put("k", "c", {"v": 3})
    assert store.get("k", "a") is not None
    assert store.get("k", "b") is None
    assert store.head("log") == 0
    assert store.get("k", "c") is not None
    with pytest.raises(RuntimeError):  # a batch that fails leaves nothing
        killed()
    assert store.get("k", "d") is None
    store.close()
